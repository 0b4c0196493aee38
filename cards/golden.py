"""The golden set: one of every card the bot sends, built from fixed sample state.

Tests validate each against the Adaptive Cards 1.3 schema and render each in Microsoft's
`adaptivecards` renderer; `python -m cards.golden DIR` writes them as DIR/<name>.json.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import form
from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.routing import help_lines
from cards import approval, status
from cards import form as form_card

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wed 2 Dec, 10:00 in Berlin
ZONE = "Europe/Berlin"
CURRENT = InterceptSettings(enabled=False, voicemail_enabled=True, zero_transfer_enabled=True,
                            zero_transfer_destination="1234")
REQUESTED = InterceptSettings(enabled=True, voicemail_enabled=True, new_number_enabled=True,
                              new_number_destination="+493098765432", zero_transfer_enabled=True,
                              zero_transfer_destination="1234", outgoing_type="ALLOW_LOCAL_ONLY")


def sample_request(status_: Status = Status.AWAITING_APPROVAL, **changes: Any) -> Request:
    values: dict[str, Any] = {
        "id": "golden", "person_id": "alice", "person_email": "alice@example.com", "person_name": "Alice Adler",
        "zone": ZONE, "room_id": "room", "status": status_, "created_at": NOW, "updated_at": NOW,
        "end_at": datetime(2026, 12, 4, 22, 59, tzinfo=UTC), "requested": REQUESTED,
        "snapshot": CURRENT, "reason": "Parental leave: calls go to the team line, 0 reaches Bob.",
    }
    values.update(changes)
    return Request(**values)


def prefilled_values() -> dict[str, str]:
    return {**form.settings_values(CURRENT.with_enabled(True)), form.UNTIL_DATE: "2026-12-04",
            form.UNTIL_TIME: "23:59", form.FROM_DATE: "", form.FROM_TIME: "", form.REASON: ""}


def golden_cards() -> dict[str, dict[str, Any]]:
    def request_form(values: dict[str, str], errors: dict[str, str], note: str,
                     greeting: str = "") -> dict[str, Any]:
        return form_card.request_form(person_name="Alice Adler", values=values, errors=errors, zone=ZONE,
                                      note=note, max_days=30, custom_greeting=greeting, now=NOW)

    decided = sample_request(Status.ACTIVE, decided_by_id="bob", decided_by_name="Bob Brandt", decided_at=NOW,
                             decision_comment="Enjoy the time off", applied_at=NOW)
    return {
        "form-empty": request_form(
            {**form.settings_values(CURRENT.with_enabled(True)), form.REASON: ""}, {},
            'I could not read "until blursday" as a time. Choose when the intercept should end.'),
        "form-prefilled": request_form(prefilled_values(), {}, ""),
        "form-two-readings": request_form(
            {**prefilled_values(), form.UNTIL_TIME: "17:00",
             **form.other_values(None, datetime(2026, 12, 5, 4, 0, tzinfo=UTC), ZoneInfo(ZONE))}, {},
            '"until 5" can be read two ways: the form has the likelier one, and the button below offers the other.'),
        "form-greeting": request_form({**prefilled_values(), form.GREETING: "CUSTOM"}, {}, "",
                                      greeting="parental-leave.wav (12 s, 8 kHz µ-law)"),
        "form-errors": request_form(
            {**prefilled_values(), form.NEW_NUMBER_ENABLED: "true", form.NEW_NUMBER_DESTINATION: "call Bob",
             form.UNTIL_DATE: "2026-12-01", form.REASON: "Parental leave"},
            {form.NEW_NUMBER_DESTINATION: form.DESTINATION_HELP,
             form.UNTIL_DATE: "This end time has already passed: choose a later one."}, ""),
        "approval": approval.approval_card(sample_request(), viewer_zone="America/New_York", now=NOW),
        "result": approval.outcome_card(decided, "approved by Bob Brandt", viewer_zone="America/New_York"),
        "status": status.status_card(person_name="Alice Adler", current=REQUESTED, requests=[decided], zone=ZONE,
                                     now=NOW),
        "reminder": status.reminder_card(decided, now=datetime(2026, 12, 4, 22, 44, tzinfo=UTC)),
        "help": status.help_card(help_lines(approver=True)),
    }


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "golden-cards")
    out.mkdir(parents=True, exist_ok=True)
    for name, content in golden_cards().items():
        (out / f"{name}.json").write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(golden_cards())} cards to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
