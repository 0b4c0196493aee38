"""The request form: every field of the intercept PUT body, plus when and why.

Input ids are the API's field paths (`bot.domain.form`). A server-side error is shown directly
under its input, and the submitted values are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from webexpythonsdk.models.cards import (
    AssociatedInputs,
    ChoiceInputStyle,
    ChoiceSet,
    Column,
    ColumnSet,
    Date,
    Submit,
    Text,
    TextInputStyle,
    Time,
    Toggle,
)
from webexpythonsdk.models.cards import Choice as _Choice

from bot.domain import form as f
from bot.domain.text import escape_markdown
from bot.domain.timeparse import describe
from bot.domain.values import Intent
from cards.common import card, error_line, heading, paragraph, title, warning

LABELS: dict[str, str] = {
    f.INCOMING_TYPE: "Calls to your number",
    f.VOICEMAIL: "Send intercepted calls to voicemail",
    f.GREETING: "Greeting callers hear",
    f.NEW_NUMBER_ENABLED: "Announce a new number",
    f.NEW_NUMBER_DESTINATION: "New number to announce",
    f.ZERO_TRANSFER_ENABLED: "Transfer callers who press 0",
    f.ZERO_TRANSFER_DESTINATION: "Number to transfer to on 0",
    f.OUTGOING_TYPE: "Calls you make",
    f.OUTGOING_TRANSFER: "Transfer outgoing calls to a number",
    f.OUTGOING_DESTINATION: "Number outgoing calls go to",
    f.UNTIL_DATE: "Until (date)",
    f.UNTIL_TIME: "Until (time)",
    f.FROM_DATE: "From (date; empty: as soon as approved)",
    f.FROM_TIME: "From (time)",
    f.REASON: "Reason (approvers see it)",
    f.GENERAL: "Form",
}
INCOMING_CHOICES = (("Intercept all incoming calls", "INTERCEPT_ALL"), ("Let all incoming calls through", "ALLOW_ALL"))
OUTGOING_CHOICES = (("Intercept all outgoing calls", "INTERCEPT_ALL"), ("Allow local calls only", "ALLOW_LOCAL_ONLY"))
GREETING_CHOICES = (("Default system greeting", "DEFAULT"), ("My custom greeting", "CUSTOM"))
# the server normalises separators and checks E.164 / extension strictly; the client hint is loose
_PHONE_HINT = r"^[+]?[0-9 ().\-]*$"
_KEPT_VALUE_MAX = 2000  # a submitted value longer than this is shown cut (it is refused anyway)


def request_form(
    *,
    person_name: str,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    zone: str,
    note: str,
    max_days: int,
    custom_greeting: str,
    now: datetime,
) -> dict[str, Any]:
    """`custom_greeting`: the name of a greeting the form may offer (one uploaded before, or the
    .wav the requester sent with this request); empty: only the default greeting."""
    body: list[Any] = [title(f"Intercept request for {person_name}")]
    end = _resolved_end(values, zone)
    start = _resolved_start(values, zone)
    if end and not errors.keys() & set(f.TIME_FIELDS):  # not a time the form itself says is wrong
        since = f"from **{start}** " if start else ""
        body.append(paragraph(f"Your phone would be intercepted {since}until **{end}**."))
    if note:
        body.append(warning(note))
    if errors.get(f.GENERAL):
        body.append(error_line(errors[f.GENERAL]))
    body += _when(values, errors, zone, max_days, now)
    body += _incoming(values, errors, custom_greeting)
    body.append(heading("Outgoing calls"))
    body += _choice(values, errors, f.OUTGOING_TYPE, OUTGOING_CHOICES)
    body += _toggle(values, errors, f.OUTGOING_TRANSFER)
    body += _destination(values, errors, f.OUTGOING_DESTINATION)
    body.append(heading("Why"))
    body.append(Text(id=f.REASON, label=LABELS[f.REASON], value=_v(values, f.REASON) or None, isMultiline=True,
                     maxLength=f.REASON_MAX, placeholder="e.g. parental leave; calls go to the team line"))
    body += _error(errors, f.REASON)
    body.append(paragraph(
        "Numbers: + and country code (E.164), or an extension of 2 to 10 digits. "
        f"An intercept lasts at most {max_days} days.", subtle=True))
    actions = [Submit(title="Send for approval", data=Intent.SUBMIT.data())]
    if other := _other_reading(values, zone):
        actions.append(Submit(title=other, data=Intent.OTHER_READING.data()))
    actions.append(Submit(title="Cancel", data=Intent.CANCEL.data(), associatedInputs=AssociatedInputs.NONE))
    return card(body, actions)


def _other_reading(values: Mapping[str, str], zone: str) -> str:
    """The button's title for the other reading of the requester's phrase: "Meant until Wed 17 Jun 05:00?"."""
    other = {field_id: values.get(f.OTHER + field_id, "") for field_id in f.TIME_FIELDS}
    end = _short(other, f.UNTIL_DATE, f.UNTIL_TIME, "23:59", zone, start=False)
    if not end:
        return ""
    start = _short(other, f.FROM_DATE, f.FROM_TIME, "00:00", zone, start=True)
    if start and start != _short(values, f.FROM_DATE, f.FROM_TIME, "00:00", zone, start=True):
        return f"Meant {start} to {end}?"
    return f"Meant until {end}?"


def _short(values: Mapping[str, str], date_id: str, time_id: str, default: str, zone: str, *, start: bool) -> str:
    moment = _moment(values, date_id, time_id, default, zone, start=start)
    return moment.strftime("%a %-d %b %H:%M") if moment is not None else ""


def _when(values: Mapping[str, str], errors: Mapping[str, str], zone: str, max_days: int,
          now: datetime) -> list[Any]:
    local_now = now.astimezone(ZoneInfo(zone))
    day_limits = {"min": local_now.strftime("%Y-%m-%d"),
                  "max": (local_now + timedelta(days=max_days)).strftime("%Y-%m-%d")}
    return [
        heading(f"When (times in {zone})"),
        _pair([Date(id=f.UNTIL_DATE, label=LABELS[f.UNTIL_DATE], value=_v(values, f.UNTIL_DATE) or None,
                    isRequired=True, errorMessage=f"Choose the day the intercept ends, from today up to {max_days} "
                                                  "days ahead.", **day_limits),
               *_error(errors, f.UNTIL_DATE)],
              [Time(id=f.UNTIL_TIME, label=LABELS[f.UNTIL_TIME], value=_v(values, f.UNTIL_TIME) or None,
                    placeholder="23:59"), *_error(errors, f.UNTIL_TIME)]),
        _pair([Date(id=f.FROM_DATE, label=LABELS[f.FROM_DATE], value=_v(values, f.FROM_DATE) or None, **day_limits),
               *_error(errors, f.FROM_DATE)],
              [Time(id=f.FROM_TIME, label=LABELS[f.FROM_TIME], value=_v(values, f.FROM_TIME) or None),
               *_error(errors, f.FROM_TIME)]),
    ]


def _incoming(values: Mapping[str, str], errors: Mapping[str, str], custom_greeting: str) -> list[Any]:
    body: list[Any] = [heading("Incoming calls")]
    body += _choice(values, errors, f.INCOMING_TYPE, INCOMING_CHOICES)
    body += _toggle(values, errors, f.VOICEMAIL)
    greetings: tuple[tuple[str, str], ...] = GREETING_CHOICES[:1]
    if custom_greeting or _v(values, f.GREETING) == "CUSTOM":
        greetings += ((f"Custom: {custom_greeting}" if custom_greeting else GREETING_CHOICES[1][0], "CUSTOM"),)
    body += _choice(values, errors, f.GREETING, greetings)
    if not custom_greeting:
        body.append(paragraph("To have callers hear your own greeting, send me a .wav file in this chat.",
                              subtle=True))
    body += _toggle(values, errors, f.NEW_NUMBER_ENABLED)
    body += _destination(values, errors, f.NEW_NUMBER_DESTINATION)
    body += _toggle(values, errors, f.ZERO_TRANSFER_ENABLED)
    body += _destination(values, errors, f.ZERO_TRANSFER_DESTINATION)
    return body


def form_markdown(errors: Mapping[str, str]) -> str:
    """The message text that goes with the form: what to do, or what needs another look."""
    if not errors:
        return ("Here is your intercept request form. Check the options, choose the end time, "
                "and press **Send for approval**.")
    return "Some answers need another look: " + "; ".join(
        f"{escape_markdown(LABELS.get(k, 'form'))}: {escape_markdown(v)}" for k, v in errors.items())


def _resolved_end(values: Mapping[str, str], zone: str) -> str:
    return _resolved(values, f.UNTIL_DATE, f.UNTIL_TIME, "23:59", zone, start=False)


def _resolved_start(values: Mapping[str, str], zone: str) -> str:
    return _resolved(values, f.FROM_DATE, f.FROM_TIME, "00:00", zone, start=True)


def _resolved(values: Mapping[str, str], date_id: str, time_id: str, default: str, zone: str, *,
              start: bool) -> str:
    """The form's date and time as the server will read them (`form.wall_time`), described."""
    moment = _moment(values, date_id, time_id, default, zone, start=start)
    return describe(moment) if moment is not None else ""


def _moment(values: Mapping[str, str], date_id: str, time_id: str, default: str, zone: str, *,
            start: bool) -> datetime | None:
    day, at = values.get(date_id, ""), values.get(time_id, "") or default
    try:
        wall = datetime.fromisoformat(f"{day}T{at}")
    except ValueError:
        return None
    return f.wall_time(wall.date(), wall.time(), ZoneInfo(zone), start=start)


def _v(values: Mapping[str, str], field_id: str) -> str:
    return values.get(field_id, "")[:_KEPT_VALUE_MAX]


def _error(errors: Mapping[str, str], field_id: str) -> list[Any]:
    return [error_line(errors[field_id])] if errors.get(field_id) else []


def _pair(left: list[Any], right: list[Any]) -> ColumnSet:
    return ColumnSet(columns=[Column(items=left, width="stretch"), Column(items=right, width="stretch")])


def _choice(values: Mapping[str, str], errors: Mapping[str, str], field_id: str,
            choices: tuple[tuple[str, str], ...]) -> list[Any]:
    allowed = [value for _, value in choices]
    value = _v(values, field_id)
    return [ChoiceSet(id=field_id, label=LABELS[field_id], style=ChoiceInputStyle.EXPANDED, isRequired=True,
                      errorMessage="Choose one.", value=value if value in allowed else allowed[0],
                      choices=[_Choice(title=text, value=v) for text, v in choices]),
            *_error(errors, field_id)]


def _toggle(values: Mapping[str, str], errors: Mapping[str, str], field_id: str) -> list[Any]:
    on = _v(values, field_id).lower() == "true"
    return [Toggle(title=LABELS[field_id], id=field_id, value="true" if on else "false", valueOn="true",
                   valueOff="false", wrap=True),
            *_error(errors, field_id)]


def _destination(values: Mapping[str, str], errors: Mapping[str, str], field_id: str) -> list[Any]:
    return [Text(id=field_id, label=LABELS[field_id], value=_v(values, field_id) or None,
                 style=TextInputStyle.TEL, placeholder="+14155550100 or 1234", maxLength=32,
                 regex=_PHONE_HINT, errorMessage=f.DESTINATION_HELP),
            *_error(errors, field_id)]
