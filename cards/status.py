"""What the requester sees: their status, the reminder before the end, and help."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from webexpythonsdk.models.cards import AssociatedInputs, Date, Fact, FactSet, Submit, Time

from bot.domain import form as f
from bot.domain.model import FINAL_STATES, InterceptSettings, Request, Status
from bot.domain.ports import HelpLine
from bot.domain.text import escape_markdown, span
from bot.domain.timeparse import describe
from bot.domain.values import Intent
from cards.approval import settings_facts, window_text
from cards.common import card, heading, paragraph, title


def status_card(*, person_name: str, current: InterceptSettings | None, requests: Sequence[Request],
                zone: str, now: datetime, problem: str = "") -> dict[str, Any]:
    local = ZoneInfo(zone)
    body: list[Any] = [title(f"Call intercept: {person_name}")]
    if current is None:
        body.append(paragraph(f"I could not read your settings from Webex just now: {problem}"))
    else:
        state = "**on**" if current.enabled else "**off**"
        body.append(paragraph(f"Webex Calling shows your intercept as {state}."))
        if current.enabled:
            body.append(FactSet(facts=[Fact(title=k, value=v) for k, v in settings_facts(current)]))
    live = [r for r in requests if r.status not in FINAL_STATES]
    body.append(heading("Your requests"))
    if not live:
        body.append(paragraph("None with me. Say `intercept me until ...` to ask for one.", subtle=True))
    for request in live:
        facts = [("Status", request.status.label)]
        if request.end_at is not None:
            facts.append(("When", window_text(request, local)))
        if request.status is Status.ACTIVE and request.end_at is not None:
            facts.append(("Ends", describe(request.end_at.astimezone(local), now.astimezone(local))))
        body.append(FactSet(facts=[Fact(title=k, value=v) for k, v in facts]))
    actions = []
    if any(r.status is Status.ACTIVE for r in live):
        actions.append(Submit(title="End now", data=Intent.END.data()))
    elif any(r.status in (Status.FORM_SENT, Status.AWAITING_APPROVAL, Status.APPROVED) for r in live):
        actions.append(Submit(title="Cancel my request", data=Intent.CANCEL.data()))
    return card(body, actions or None)


def reminder_card(request: Request, *, now: datetime) -> dict[str, Any]:
    """Before the end: End now, or Extend to a new end (approvers are asked again)."""
    local = ZoneInfo(request.zone)
    assert request.end_at is not None
    end = request.end_at.astimezone(local)
    minutes = max(int((request.end_at - now).total_seconds() // 60), 0)
    # a later end to start from: the end of that day, or of the next one when it ends late already
    suggestion = (end if end.hour < 23 else end + timedelta(days=1)).replace(hour=23, minute=59)
    return card([
        title("Your intercept ends soon"),
        paragraph(f"It ends **{describe(end, now.astimezone(local))}** (in {minutes} minutes); then your "
                  "previous call settings come back."),
        heading(f"Need longer? (times in {request.zone})"),
        Date(id=f.UNTIL_DATE, label="New end (date)", value=suggestion.strftime("%Y-%m-%d")),
        Time(id=f.UNTIL_TIME, label="New end (time)", value=suggestion.strftime("%H:%M")),
    ], [
        Submit(title="Extend", data=Intent.EXTEND.data()),
        Submit(title="End now", data=Intent.END.data(), associatedInputs=AssociatedInputs.NONE),
    ])


def status_markdown(current: InterceptSettings | None, requests: Sequence[Request], problem: str) -> str:
    """The message text that goes with the status card."""
    if current is None:
        lines = [f"I could not read your settings from Webex ({escape_markdown(problem)})."]
    else:
        lines = [f"Webex Calling shows your intercept as **{'on' if current.enabled else 'off'}**."]
    for request in requests:
        lines.append(f"- **{request.status.label}**" + (f": {span(request)}" if request.end_at else ""))
    if not requests:
        lines.append("You have no intercept requests with me.")
    return "\n".join(lines)


def reminder_markdown(request: Request, *, now: datetime) -> str:
    assert request.end_at is not None
    until = describe(request.end_at.astimezone(ZoneInfo(request.zone)), now)
    return f"Your intercept ends {until}. Extend it or end it now on the card."


def help_card(lines: Sequence[HelpLine]) -> dict[str, Any]:
    """The commands, drawn from the router's command table (`bot.domain.routing.COMMANDS`)."""
    return card([
        title("Intercept bot"),
        paragraph("I take your Webex Calling phone out of service while you are away (call intercept), "
                  "with an approver's consent, and put your previous settings back at the end."),
        FactSet(facts=[Fact(title=line.example, value=line.meaning) for line in lines]),
        paragraph("Times are read in your Webex time zone.", subtle=True),
    ])


def help_markdown(lines: Sequence[HelpLine]) -> str:
    return ("I take your Webex Calling phone out of service while you are away (call intercept), "
            "with an approver's consent, and put your settings back at the end.\n\n"
            + "\n".join(f"- `{line.example}`: {line.meaning}" for line in lines))
