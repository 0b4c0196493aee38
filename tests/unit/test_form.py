"""The server-side check of a form submission (bot.domain.form)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain import form
from bot.domain.model import InterceptSettings
from bot.domain.timeparse import describe, parse_window

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Fri 10:00 in Berlin
CURRENT = InterceptSettings()


def inputs(**changes: str) -> dict[str, str]:
    base = {
        "incoming.type": "INTERCEPT_ALL",
        "incoming.voicemailEnabled": "true",
        "incoming.announcements.greeting": "DEFAULT",
        "incoming.announcements.newNumber.enabled": "true",
        "incoming.announcements.newNumber.destination": "+49 30 1234 5678",
        "incoming.announcements.zeroTransfer.enabled": "false",
        "incoming.announcements.zeroTransfer.destination": "",
        "outgoing.type": "ALLOW_LOCAL_ONLY",
        "outgoing.transferEnabled": "true",
        "outgoing.destination": "1234",
        "until.date": "2026-12-04",
        "until.time": "17:30",
        "from.date": "",
        "from.time": "",
        "reason": "  Parental leave  ",
        "intent": "submit",
    }
    base.update({k.replace("__", "."): v for k, v in changes.items()})
    return base


def read(data: dict[str, str], *, current: InterceptSettings = CURRENT, max_days: int = 30) -> form.Submission:
    return form.read_submission(data, now=NOW, zone=BERLIN, max_days=max_days, current=current)


def test_valid_submission_maps_onto_the_put_body() -> None:
    result = read(inputs())
    assert result.errors == {}
    assert result.valid is not None
    assert result.valid.settings.to_api() == {
        "enabled": True,
        "incoming": {"type": "INTERCEPT_ALL", "voicemailEnabled": True, "announcements": {
            "greeting": "DEFAULT",
            "newNumber": {"enabled": True, "destination": "+493012345678"},
            "zeroTransfer": {"enabled": False, "destination": ""}}},
        "outgoing": {"type": "ALLOW_LOCAL_ONLY", "transferEnabled": True, "destination": "1234"},
    }
    assert result.valid.start_at is None
    assert result.valid.end_at == datetime(2026, 12, 4, 16, 30, tzinfo=UTC)  # 17:30 CET
    assert result.valid.reason == "Parental leave"


def test_date_without_time_means_end_of_that_day() -> None:
    result = read(inputs(**{"until.time": ""}))
    assert result.valid is not None
    assert result.valid.end_at == datetime(2026, 12, 4, 22, 59, tzinfo=UTC)  # 23:59 CET


def test_start_time_in_the_future_is_kept_and_a_past_one_means_now() -> None:
    later = read(inputs(**{"from.date": "2026-11-30", "from.time": "08:00"}))
    assert later.valid is not None and later.valid.start_at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    past = read(inputs(**{"from.date": "2026-11-27", "from.time": "06:00"}))
    assert past.valid is not None and past.valid.start_at is None
    time_only = read(inputs(**{"from.time": "15:00"}))
    assert time_only.valid is not None and time_only.valid.start_at == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("changes", "field", "fragment"), [
    ({"incoming.type": "SOMETIMES"}, "incoming.type", "Choose one of"),
    ({"outgoing.type": ""}, "outgoing.type", "Choose one of"),
    ({"incoming.announcements.greeting": "LOUD"}, "incoming.announcements.greeting", "Choose one of"),
    ({"incoming.voicemailEnabled": "yes"}, "incoming.voicemailEnabled", '"true" or "false"'),
    ({"incoming.announcements.newNumber.destination": ""}, "incoming.announcements.newNumber.destination",
     "Required"),
    ({"incoming.announcements.newNumber.destination": "call bob"}, "incoming.announcements.newNumber.destination",
     "E.164"),
    ({"incoming.announcements.zeroTransfer.enabled": "true"}, "incoming.announcements.zeroTransfer.destination",
     "Required"),
    ({"outgoing.destination": "1"}, "outgoing.destination", "extension of 2 to 10 digits"),
    ({"outgoing.destination": "+0123456789"}, "outgoing.destination", "E.164"),
    ({"outgoing.destination": "+1234567890123456"}, "outgoing.destination", "E.164"),
    ({"incoming.announcements.greeting": "CUSTOM"}, "incoming.announcements.greeting", "No custom greeting"),
    ({"until.date": ""}, "until.date", "Choose the day"),
    ({"until.date": "04.12.2026"}, "until.date", "YYYY-MM-DD"),
    ({"until.date": "2026-02-30"}, "until.date", "YYYY-MM-DD"),
    ({"until.time": "5pm"}, "until.time", "HH:MM"),
    ({"until.time": "24:10"}, "until.time", "HH:MM"),
    ({"until.date": "2026-11-27", "until.time": "09:59"}, "until.date", "already passed"),
    ({"from.date": "2026-12-05"}, "until.date", "after the start"),
    ({"until.date": "2027-01-05"}, "until.date", "at most 30 days"),
    ({"reason": "x" * 1001}, "reason", "under 1000 characters"),
])
def test_each_problem_is_reported_against_its_input(changes: dict[str, str], field: str, fragment: str) -> None:
    result = read(inputs(**changes))
    assert result.valid is None
    assert fragment in result.errors[field], result.errors


def test_values_are_kept_as_submitted_when_there_are_errors() -> None:
    data = inputs(**{"incoming.type": "SOMETIMES", "outgoing.destination": "12 34"})
    result = read(data)
    assert result.valid is None
    assert result.values["incoming.type"] == "SOMETIMES"
    assert result.values["outgoing.destination"] == "12 34"
    assert result.values["reason"] == "Parental leave"


def test_a_destination_of_a_feature_that_is_off_is_not_sent() -> None:
    result = read(inputs(**{"outgoing.transferEnabled": "false", "outgoing.destination": "not a number"}))
    assert result.valid is not None
    assert result.valid.settings.outgoing_destination == ""


def test_absent_toggles_and_inputs_count_as_off_and_empty() -> None:
    data = inputs()
    for key in ("incoming.voicemailEnabled", "incoming.announcements.zeroTransfer.enabled", "from.date", "reason"):
        del data[key]
    result = read(data)
    assert result.valid is not None
    assert result.valid.settings.voicemail_enabled is False
    assert result.valid.reason == ""


def test_custom_greeting_is_allowed_when_one_was_uploaded() -> None:
    result = read(inputs(**{"incoming.announcements.greeting": "CUSTOM"}),
                  current=InterceptSettings(file_name="leave.wav"))
    assert result.valid is not None
    assert result.valid.settings.greeting == "CUSTOM"
    assert "fileName" not in str(result.valid.settings.to_api())


def test_a_wall_time_skipped_by_daylight_saving_is_refused() -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    result = form.read_submission(inputs(**{"until.date": "2026-03-29", "until.time": "02:30"}), now=now,
                                  zone=BERLIN, max_days=30, current=CURRENT)
    assert result.valid is None
    assert "does not exist" in result.errors["until.time"]


def test_an_end_in_the_hour_that_happens_twice_is_the_later_one_and_says_so() -> None:
    now = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # Sun 25 Oct 01:30 CEST; at 03:00 CEST it is 02:00 CET
    window = parse_window("for 2 hours", now, BERLIN)  # 02:30 CET, the second 02:30 of that night
    values = inputs(**form.window_values(window.start, window.end, BERLIN))
    result = form.read_submission(values, now=now, zone=BERLIN, max_days=30, current=CURRENT)
    assert result.valid is not None and result.valid.end_at == now + timedelta(hours=2)
    assert describe(result.valid.end_at.astimezone(BERLIN)) == "Sun 25 Oct 02:30 Europe/Berlin (CET)"
    early = inputs(**{"from.date": "2026-10-25", "from.time": "02:15", "until.date": "2026-10-26"})
    start = form.read_submission(early, now=now, zone=BERLIN, max_days=30, current=CURRENT)
    assert start.valid is not None and start.valid.start_at == datetime(2026, 10, 25, 0, 15, tzinfo=UTC)  # CEST


def test_non_string_values_from_a_forged_submission_are_refused_not_crashed() -> None:
    data: dict[str, object] = dict(inputs())
    data["incoming.type"] = {"nested": True}
    data["incoming.voicemailEnabled"] = ["true"]
    result = form.read_submission(data, now=NOW, zone=BERLIN, max_days=30, current=CURRENT)
    assert result.valid is None
    assert set(result.errors) == {"incoming.type", "incoming.voicemailEnabled"}


def test_settings_values_round_trip_through_the_form() -> None:
    settings = InterceptSettings(enabled=True, incoming_type="ALLOW_ALL", voicemail_enabled=True,
                                 zero_transfer_enabled=True, zero_transfer_destination="+14155550100",
                                 outgoing_type="ALLOW_LOCAL_ONLY")
    values = {**form.settings_values(settings), "until.date": "2026-12-01"}
    result = read(values)
    assert result.valid is not None
    assert result.valid.settings == settings
