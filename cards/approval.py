"""What approvers see: the request card with Approve / Reject, and the result that replaces it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from webexpythonsdk.models.cards import Fact, FactSet, Submit, Text

from bot.domain.model import InterceptSettings, Request
from bot.domain.text import escape_card_text, escape_markdown, quote_block, shorten
from bot.domain.timeparse import describe
from bot.domain.values import Intent
from cards.common import card, paragraph, title

REASON_SHOWN = 600  # characters of the reason a card shows


def settings_facts(settings: InterceptSettings) -> list[tuple[str, str]]:
    """The settings in words, one (title, value) per part of the PUT body."""
    incoming = "intercepted" if settings.incoming_type == "INTERCEPT_ALL" else "let through"
    extras = []
    if settings.incoming_type == "INTERCEPT_ALL":
        extras.append("to voicemail" if settings.voicemail_enabled else "no voicemail")
        extras.append("custom greeting" if settings.greeting == "CUSTOM" else "default greeting")
        if settings.new_number_enabled:
            extras.append(f"callers hear the new number {settings.new_number_destination}")
        if settings.zero_transfer_enabled:
            extras.append(f"callers who press 0 go to {settings.zero_transfer_destination}")
    outgoing = "all intercepted" if settings.outgoing_type == "INTERCEPT_ALL" else "local calls only"
    if settings.outgoing_transfer_enabled:
        outgoing += f", transferred to {settings.outgoing_destination}"
    return [("Incoming", incoming + (f" ({', '.join(extras)})" if extras else "")), ("Outgoing", outgoing)]


def window_text(request: Request, zone: ZoneInfo) -> str:
    # approved "as soon as approved": it began (or begins) when it was approved
    begun = request.start_at or request.applied_at or (request.decided_at if request.status.approved else None)
    start = describe(begun.astimezone(zone)) if begun else "as soon as approved"
    end = describe(request.end_at.astimezone(zone)) if request.end_at else "(no end)"
    if request.lasts is not None and begun is None:  # "for 2 hours": the end moves with the start
        return f"{start}, for {request.lasts.words()} (approved now: → {end})"
    return f"{start} → {end}"


def approval_card(request: Request, *, viewer_zone: str | None, now: datetime,
                  extends: Request | None = None) -> dict[str, Any]:
    """`extends`: the intercept (on now) that this request would extend."""
    del now  # the card shows absolute times only
    own = ZoneInfo(request.zone)
    facts = [
        ("Who", f"{escape_card_text(request.person_name)} ({escape_card_text(request.person_email)})"),
        ("When", window_text(request, own)),
    ]
    if extends is not None and extends.end_at is not None:
        facts.insert(1, ("Now ends", describe(extends.end_at.astimezone(own))))
    viewer = _zone(viewer_zone)
    if viewer is not None and viewer.key != own.key:
        facts.append(("Your time", window_text(request, viewer)))
    if request.requested is not None:
        facts += [(k, escape_card_text(v)) for k, v in settings_facts(request.requested)]
        if request.greeting_file and request.requested.greeting == "CUSTOM":
            facts.append(("Greeting", escape_card_text(request.greeting_file)))
    kind = "Extension request" if extends is not None else "Intercept request"
    body: list[Any] = [
        title(f"{kind} from {request.person_name}"),
        FactSet(facts=[Fact(title=k, value=v) for k, v in facts]),
    ]
    if request.reason:
        body.append(paragraph("**Reason:** " + escape_card_text(shorten(request.reason, REASON_SHOWN))))
    body.append(Text(id="comment", label="Comment for the requester (optional)", maxLength=500,
                     isMultiline=True))
    actions = [Submit(title="Approve", data=Intent.APPROVE.data()),
               Submit(title="Reject", data=Intent.REJECT.data())]
    return card(body, actions)


def approval_markdown(request: Request) -> str:
    """The message text that goes with the card (and shows where cards do not render)."""
    zone = ZoneInfo(request.zone)
    reason = f" Reason: {quote_block(request.reason)}" if request.reason else ""
    return (f"{_kind(request)} from {escape_markdown(request.person_name)}: {window_text(request, zone)}."
            f"{reason} Approve or reject it on the card.")


def outcome_card(request: Request, outcome: str, *, viewer_zone: str | None = None) -> dict[str, Any]:
    """What replaces an approval card once the request is decided: the same facts, no buttons."""
    own = ZoneInfo(request.zone)
    facts = [("Who", escape_card_text(request.person_name)), ("When", window_text(request, own))]
    viewer = _zone(viewer_zone)
    if viewer is not None and viewer.key != own.key:
        facts.append(("Your time", window_text(request, viewer)))
    body: list[Any] = [
        title(f"{_kind(request)} from {request.person_name}"),
        FactSet(facts=[Fact(title=k, value=v) for k, v in facts]),
        paragraph(f"**{escape_card_text(outcome[:1].upper() + outcome[1:])}.**"),
    ]
    if request.decision_comment:
        body.append(paragraph("Comment: " + escape_card_text(shorten(request.decision_comment, 500)), subtle=True))
    return card(body)


def outcome_markdown(request: Request, outcome: str) -> str:
    zone = ZoneInfo(request.zone)
    return (f"{_kind(request)} from {escape_markdown(request.person_name)} "
            f"({window_text(request, zone)}): **{escape_markdown(outcome)}**.")


def _kind(request: Request) -> str:
    return "Extension request" if request.extends_id else "Intercept request"


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
