"""Every card the bot builds validates against the official Adaptive Cards 1.3 schema, and shows
user text escaped."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain import form
from bot.domain.model import InterceptSettings, Request, Status
from cards import approval
from cards import form as form_card
from cards.golden import golden_cards
from tests.cardtools import inputs_of
from webex_emulator.schemas import card_errors

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NASTY = "**bold** [click](https://evil.example) <@personEmail:ceo@example.com> {{DATE(2026-01-01)}} # h\n- x" * 60


def build_form(values: dict[str, str], errors: dict[str, str] | None = None, note: str = "") -> dict[str, Any]:
    return form_card.request_form(person_name="Alice Adler", values=values, errors=errors or {},
                                  zone="Europe/Berlin", note=note, max_days=30, custom_greeting="", now=NOW)


def prefilled() -> dict[str, str]:
    return {**form.settings_values(InterceptSettings(enabled=True)), "until.date": "2026-12-04",
            "until.time": "17:00", "from.date": "", "from.time": "", "reason": ""}


def sample_request(reason: str = "Parental leave", name: str = "Alice Adler") -> Request:
    return Request(id="r1", person_id="p1", person_email="alice@example.com", person_name=name,
                   zone="Europe/Berlin", room_id="room", status=Status.AWAITING_APPROVAL, created_at=NOW,
                   updated_at=NOW, start_at=None, end_at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC),
                   requested=InterceptSettings(enabled=True, new_number_enabled=True,
                                               new_number_destination="+493012345678"),
                   reason=reason)


@pytest.mark.parametrize("card", [
    pytest.param(build_form({}), id="form-empty"),
    pytest.param(build_form(prefilled()), id="form-prefilled"),
    pytest.param(build_form({**prefilled(), "reason": NASTY}, {
        "incoming.announcements.newNumber.destination": "Required while this option is on.",
        "until.date": "This end time has already passed", "": "general <b>problem</b>"},
        note='I could not read "until blursday" as a time.'), id="form-errors"),
    pytest.param(approval.approval_card(sample_request(), viewer_zone="America/New_York", now=NOW), id="approval"),
    pytest.param(approval.approval_card(sample_request(NASTY, name="*Eve* <@all>"), viewer_zone=None, now=NOW),
                 id="approval-nasty"),
])
def test_card_is_valid_adaptive_card_1_3(card: dict[str, Any]) -> None:
    assert card_errors(card) == []
    assert card["version"] == "1.3"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"


def test_form_holds_every_input_id_of_the_contract_with_submitted_values() -> None:
    values = {**prefilled(), "outgoing.destination": "12 34", "reason": "Leave"}
    ids = inputs_of(build_form(values))
    assert set(ids) == set(form.ALL_FIELDS)
    assert ids["until.date"]["value"] == "2026-12-04"
    assert ids["outgoing.destination"]["value"] == "12 34"
    assert ids["incoming.voicemailEnabled"]["valueOn"] == "true"
    assert ids["incoming.voicemailEnabled"]["valueOff"] == "false"


def test_form_shows_each_error_right_after_its_input() -> None:
    card = build_form(prefilled(), {"outgoing.destination": "Not a number I can dial"})
    body = json.dumps(card)
    assert body.index('"id": "outgoing.destination"') < body.index("Not a number I can dial")
    assert body.index("Not a number I can dial") < body.index('"id": "reason"')


def test_form_states_the_resolved_end_with_weekday_and_zone() -> None:
    assert "Fri 4 Dec 17:00 Europe/Berlin" in json.dumps(build_form(prefilled()))


def test_buttons_carry_only_their_intent() -> None:
    actions = build_form(prefilled())["actions"]
    assert [a["data"] for a in actions] == [{"intent": "submit"}, {"intent": "cancel"}]
    card = approval.approval_card(sample_request(), viewer_zone=None, now=NOW)
    assert [a["data"] for a in card["actions"]] == [{"intent": "approve"}, {"intent": "reject"}]


def test_user_text_is_escaped_and_shortened_in_the_approval_card() -> None:
    card = approval.approval_card(sample_request(NASTY, name="*Eve*"), viewer_zone=None, now=NOW)
    body = json.dumps(card)
    assert "[click](https" not in body
    assert "<@personEmail" not in body
    assert "{{DATE" not in body
    assert "\\\\*Eve\\\\*" in body  # JSON-escaped backslash before each asterisk
    assert len(body) < 8000


def test_approval_card_shows_times_in_the_approvers_zone_too() -> None:
    body = json.dumps(approval.approval_card(sample_request(), viewer_zone="America/New_York", now=NOW))
    assert "Fri 4 Dec 17:00 Europe/Berlin" in body
    assert "Fri 4 Dec 11:00 America/New_York" in body


@pytest.mark.parametrize("name", sorted(golden_cards()))
def test_every_golden_card_is_valid_adaptive_card_1_3(name: str) -> None:
    card = golden_cards()[name]
    assert card_errors(card) == []
    assert card["version"] == "1.3"


def test_golden_cards_carry_only_intents_in_their_buttons() -> None:
    for name, card in golden_cards().items():
        for action in card.get("actions", []):
            assert set(action.get("data", {})) <= {"intent"}, name
