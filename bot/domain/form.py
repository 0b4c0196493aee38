"""The request form: its input ids, how settings fill it, and the server-side check of a submission.

The input ids are the intercept API's field paths (DESIGN.md), so a submission maps onto the PUT
body through one table, `SETTING_FIELDS`. Card clients validate only as a courtesy: everything is
checked again here, and every problem is reported against the input it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import GREETINGS, INCOMING_TYPES, OUTGOING_TYPES, InterceptSettings
from bot.domain.values import Duration

INCOMING_TYPE = "incoming.type"
VOICEMAIL = "incoming.voicemailEnabled"
GREETING = "incoming.announcements.greeting"
NEW_NUMBER_ENABLED = "incoming.announcements.newNumber.enabled"
NEW_NUMBER_DESTINATION = "incoming.announcements.newNumber.destination"
ZERO_TRANSFER_ENABLED = "incoming.announcements.zeroTransfer.enabled"
ZERO_TRANSFER_DESTINATION = "incoming.announcements.zeroTransfer.destination"
OUTGOING_TYPE = "outgoing.type"
OUTGOING_TRANSFER = "outgoing.transferEnabled"
OUTGOING_DESTINATION = "outgoing.destination"
UNTIL_DATE = "until.date"
UNTIL_TIME = "until.time"
FROM_DATE = "from.date"
FROM_TIME = "from.time"
REASON = "reason"
GENERAL = ""  # an error that belongs to no single input

# input id -> (InterceptSettings attribute, kind); kind is the allowed values, "bool" or "destination"
SETTING_FIELDS: dict[str, tuple[str, tuple[str, ...] | str]] = {
    INCOMING_TYPE: ("incoming_type", INCOMING_TYPES),
    VOICEMAIL: ("voicemail_enabled", "bool"),
    GREETING: ("greeting", GREETINGS),
    NEW_NUMBER_ENABLED: ("new_number_enabled", "bool"),
    NEW_NUMBER_DESTINATION: ("new_number_destination", "destination"),
    ZERO_TRANSFER_ENABLED: ("zero_transfer_enabled", "bool"),
    ZERO_TRANSFER_DESTINATION: ("zero_transfer_destination", "destination"),
    OUTGOING_TYPE: ("outgoing_type", OUTGOING_TYPES),
    OUTGOING_TRANSFER: ("outgoing_transfer_enabled", "bool"),
    OUTGOING_DESTINATION: ("outgoing_destination", "destination"),
}
# each destination is required (and only sent) while the toggle that owns it is on
DESTINATION_OF = {
    NEW_NUMBER_ENABLED: NEW_NUMBER_DESTINATION,
    ZERO_TRANSFER_ENABLED: ZERO_TRANSFER_DESTINATION,
    OUTGOING_TRANSFER: OUTGOING_DESTINATION,
}
TIME_FIELDS = (UNTIL_DATE, UNTIL_TIME, FROM_DATE, FROM_TIME)
ALL_FIELDS = (*SETTING_FIELDS, *TIME_FIELDS, REASON)

REASON_MAX = 1000
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_EXTENSION = re.compile(r"\d{2,10}")
_SEPARATORS = re.compile(r"[\s\-().]")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::\d{2})?")
DESTINATION_HELP = "Enter a number as + and country code and digits (E.164), or an extension of 2 to 10 digits."
_BOOLEANS = {"true": True, "false": False, "": False}


def settings_values(settings: InterceptSettings) -> dict[str, str]:
    """The form's values for these settings (toggles as "true"/"false")."""
    values: dict[str, str] = {}
    for field_id, (attribute, _kind) in SETTING_FIELDS.items():
        value = getattr(settings, attribute)
        values[field_id] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return values


def destination_values(number: str) -> dict[str, str]:
    """A number the requester's calls should go to: callers hear it, and those who press 0 go to it."""
    return {NEW_NUMBER_ENABLED: "true", NEW_NUMBER_DESTINATION: number,
            ZERO_TRANSFER_ENABLED: "true", ZERO_TRANSFER_DESTINATION: number}


def window_values(start: datetime | None, end: datetime | None, zone: ZoneInfo) -> dict[str, str]:
    """The form's date and time values for a window, read in `zone`."""
    values = {FROM_DATE: "", FROM_TIME: "", UNTIL_DATE: "", UNTIL_TIME: ""}
    if start is not None:
        local = start.astimezone(zone)
        values[FROM_DATE], values[FROM_TIME] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
    if end is not None:
        local = end.astimezone(zone)
        values[UNTIL_DATE], values[UNTIL_TIME] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
    return values


LASTS = "lasts"  # the draft: how long a phrase such as "for 2 hours" asked for (Duration.to_text())
LASTS_END = "lasts.until"  # ... and the end it prefilled ("YYYY-MM-DD HH:MM"): kept, the duration holds
OTHER = "other."  # the draft keeps the other reading of the requester's phrase under these keys: "other.until.date"


def other_values(start: datetime | None, end: datetime | None, zone: ZoneInfo) -> dict[str, str]:
    """The draft's values for the phrase's other reading ("until 5": 05:00 when 17:00 was taken)."""
    return {OTHER + field_id: value for field_id, value in window_values(start, end, zone).items()}


def with_other_reading(draft: Mapping[str, str], inputs: Mapping[str, Any]) -> dict[str, str] | None:
    """The form's values as last submitted (`inputs`, over the draft) with the two readings swapped, so the
    same button swaps them back; None when the draft has no other reading."""
    if not any(OTHER + field_id in draft for field_id in TIME_FIELDS):
        return None
    values = {**draft, **{field_id: _text(inputs[field_id]) for field_id in ALL_FIELDS if field_id in inputs}}
    for field_id in TIME_FIELDS:
        values[field_id], values[OTHER + field_id] = draft.get(OTHER + field_id, ""), draft.get(field_id, "")
    return values


def lasts_values(lasts: Duration, end: datetime, zone: ZoneInfo) -> dict[str, str]:
    """The draft's record of a duration and the end it prefilled."""
    return {LASTS: lasts.to_text(), LASTS_END: end.astimezone(zone).strftime("%Y-%m-%d %H:%M")}


def lasts_kept(draft: Mapping[str, str], values: Mapping[str, str]) -> Duration | None:
    """The duration the phrase asked for, when the submitted form kept the end it prefilled and named no
    start: then the intercept lasts that long from when it goes on."""
    lasts = Duration.from_text(draft.get(LASTS, ""))
    if lasts is None or values.get(FROM_DATE) or values.get(FROM_TIME):
        return None
    return lasts if f"{values.get(UNTIL_DATE, '')} {values.get(UNTIL_TIME, '')}" == draft.get(LASTS_END) else None


def carried(draft: Mapping[str, str]) -> dict[str, str]:
    """What the draft holds besides the form's inputs (the other reading, a duration): kept across a
    submission with errors."""
    return {key: value for key, value in draft.items() if key not in ALL_FIELDS}


@dataclass(frozen=True)
class ValidRequest:
    settings: InterceptSettings  # what to PUT (enabled)
    start_at: datetime | None  # UTC; None = as soon as approved
    end_at: datetime  # UTC
    reason: str


@dataclass(frozen=True)
class Submission:
    values: dict[str, str]  # every input as submitted, as text: the form shows them again on error
    errors: dict[str, str]  # input id -> message (GENERAL for the form as a whole)
    valid: ValidRequest | None


def read_submission(
    inputs: Mapping[str, Any],
    *,
    now: datetime,
    zone: ZoneInfo,
    max_days: int,
    current: InterceptSettings,
) -> Submission:
    """Check a card submission; `current` is what Webex has now (for the custom greeting file)."""
    values = {field_id: _text(inputs.get(field_id)) for field_id in ALL_FIELDS}
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for field_id, (attribute, kind) in SETTING_FIELDS.items():
        raw = values[field_id]
        if kind == "bool":
            if raw.lower() not in _BOOLEANS:
                errors[field_id] = 'Expected "true" or "false".'
            parsed[attribute] = _BOOLEANS.get(raw.lower(), False)
        elif kind == "destination":
            parsed[attribute] = _SEPARATORS.sub("", raw)
        elif raw not in kind:
            errors[field_id] = "Choose one of: " + ", ".join(kind) + "."
        else:
            parsed[attribute] = raw
    for toggle, destination in DESTINATION_OF.items():
        attribute = SETTING_FIELDS[destination][0]
        if not parsed[SETTING_FIELDS[toggle][0]]:
            parsed[attribute] = ""  # a destination is only meaningful while its feature is on
        elif not parsed[attribute]:
            errors[destination] = "Required while this option is on. " + DESTINATION_HELP
        elif not (_E164.fullmatch(parsed[attribute]) or _EXTENSION.fullmatch(parsed[attribute])):
            errors[destination] = DESTINATION_HELP
    if parsed.get("greeting") == "CUSTOM" and not current.file_name:
        errors[GREETING] = "No custom greeting has been uploaded for you yet: choose Default."

    start_at, end_at = _read_window(values, now=now, zone=zone, max_days=max_days, errors=errors)
    reason = values[REASON].strip()
    if len(reason) > REASON_MAX:
        errors[REASON] = f"Keep the reason under {REASON_MAX} characters (it has {len(reason)})."

    if errors or end_at is None:
        return Submission(values, errors, None)
    known = {f.name for f in fields(InterceptSettings)}
    settings = InterceptSettings(enabled=True, file_name=current.file_name,
                                 **{k: v for k, v in parsed.items() if k in known})
    return Submission(values, errors, ValidRequest(settings, start_at, end_at, reason))


def read_end(inputs: Mapping[str, Any], *, zone: ZoneInfo) -> tuple[datetime | None, str]:
    """Just a new end (`until.date`, `until.time`) as a reminder card's Extend submits it: the end,
    or None and a sentence saying what is wrong (the caller checks it against now and the limits)."""
    errors: dict[str, str] = {}
    day = _date(_text(inputs.get(UNTIL_DATE)), UNTIL_DATE, errors, required=True)
    at = _time(_text(inputs.get(UNTIL_TIME)), UNTIL_TIME, errors) or time(23, 59)
    end = _local(day, at, zone, UNTIL_TIME, errors) if day else None
    if end is None:
        return None, " ".join(errors.values()) or "Choose the new end."
    return end.astimezone(UTC), ""


def _read_window(
    values: Mapping[str, str], *, now: datetime, zone: ZoneInfo, max_days: int, errors: dict[str, str]
) -> tuple[datetime | None, datetime | None]:
    end_day = _date(values[UNTIL_DATE], UNTIL_DATE, errors, required=True)
    end_time = _time(values[UNTIL_TIME], UNTIL_TIME, errors) or time(23, 59)
    start_day = _date(values[FROM_DATE], FROM_DATE, errors, required=False)
    start_time = _time(values[FROM_TIME], FROM_TIME, errors)
    if errors.keys() & set(TIME_FIELDS):
        return None, None
    end = _local(end_day, end_time, zone, UNTIL_TIME, errors) if end_day else None
    start = None
    if start_day or start_time:
        day = start_day or now.astimezone(zone).date()
        start = _local(day, start_time or time(0, 0), zone, FROM_TIME, errors)
    if end is None:
        return None, None
    if start is not None and start <= now:
        start = None  # a start in the past means: as soon as approved
    if end <= now:
        errors[UNTIL_DATE] = "This end time has already passed: choose a later one."
    elif start is not None and end <= start:
        errors[UNTIL_DATE] = "The end must come after the start."
    elif end - (start or now) > timedelta(days=max_days):
        errors[UNTIL_DATE] = f"An intercept may last at most {max_days} days."
    if errors:
        return None, None
    return (start.astimezone(UTC) if start else None), end.astimezone(UTC)


def _date(raw: str, field_id: str, errors: dict[str, str], *, required: bool) -> date | None:
    if not raw:
        if required:
            errors[field_id] = "Choose the day the intercept ends."
        return None
    match = _DATE.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        errors[field_id] = "Expected a date as YYYY-MM-DD."
        return None


def _time(raw: str, field_id: str, errors: dict[str, str]) -> time | None:
    if not raw:
        return None
    match = _TIME.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return time(int(match[1]), int(match[2]))
    except ValueError:
        errors[field_id] = "Expected a time as HH:MM (24-hour)."
        return None


def wall_time(day: date, at: time, zone: ZoneInfo, *, start: bool = False) -> datetime | None:
    """`day` at `at` in `zone`, as the form means it: None when the clocks skip that time; in the
    hour the clocks go back, which happens twice, an end means the later one (an intercept lasts at
    least as long as asked; `describe` names the offset's abbreviation then) and a start the first."""
    local = datetime.combine(day, at, tzinfo=zone).replace(fold=1)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0) != local.replace(tzinfo=None, fold=0):
        return None
    return local.replace(fold=0) if start else local


def _local(day: date, at: time, zone: ZoneInfo, field_id: str, errors: dict[str, str]) -> datetime | None:
    """`day` at `at` in `zone` (see `wall_time`); a wall time skipped by a daylight-saving change is an error."""
    local = wall_time(day, at, zone, start=field_id == FROM_TIME)
    if local is None:
        errors[field_id] = f"{at:%H:%M} does not exist on {day:%Y-%m-%d} in {zone.key} (the clocks change)."
    return local


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()
