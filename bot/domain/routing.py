"""Routing: a message's command, or a click's card and intent, to one handler of one flow.

Two tables: `COMMANDS` (`Kind` → handler, and where the answer goes, and whether only approvers may
use it; the help card is drawn from it) and `CARDS` (card kind → the guards every click on such a
card must pass, then intent → handler). A guard such as "approvers only" or "only the person this
card is for" is written once, in the table, not in each handler. Handlers return what to say
(`Reply`); the router hands it to the one place that sends (`bot.domain.outbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.domain.commands import Kind, parse_command
from bot.domain.model import Request, Status
from bot.domain.outbox import Reply
from bot.domain.ports import CardAction, ChatMessage, HelpLine
from bot.domain.stores import CardRecord
from bot.domain.text import escape_markdown
from bot.domain.values import Audience, CardKind, Intent, Where

from .flows.approval import Approval
from .flows.base import Clicked, Core, Replies, Said, replies
from .flows.changes import Changes
from .flows.requesting import Requesting

log = logging.getLogger(__name__)

CARD_RECORD_WAIT = 10.0  # seconds a click on an unknown card waits for cards being recorded
NOT_UNDERSTOOD = "I did not catch that. Say `help` to see what I can do, or for example `intercept me until Friday`."


@dataclass(frozen=True)
class Flows:
    requesting: Requesting
    approval: Approval
    changes: Changes


# ---------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    kind: Kind
    handle: Callable[[Flows, Said], Replies]
    private: bool = True  # what concerns one person goes to them (from a space: in a direct message)
    locked: bool = True  # one of a person's messages at a time
    approvers_only: bool = False
    ack: str | None = "my answer"  # from a space: the pointer left there
    help: HelpLine | None = None


def _help(flows: Flows, said: Said) -> Reply:
    return Reply.showing(said.core.presenter.help(help_lines(approver=said.core.is_approver(said.person))))


COMMANDS: tuple[Command, ...] = (
    Command(Kind.HELP, _help, private=False, locked=False),
    Command(Kind.UNKNOWN, lambda flows, said: Reply(NOT_UNDERSTOOD), private=False, locked=False),
    Command(Kind.ATTACHMENT, lambda flows, said: flows.requesting.greeting(said), ack=None),
    Command(Kind.INTERCEPT, lambda flows, said: flows.requesting.start(said), ack="the request form",
            help=HelpLine("intercept me until Friday", "a form to check and send for approval (also: for 2 hours, "
                                                       "until tomorrow 17:00, from Monday until Friday, next week)")),
    Command(Kind.STATUS, lambda flows, said: flows.changes.status(said),
            help=HelpLine("status", "your intercept as Webex has it, and your requests")),
    Command(Kind.EXTEND, lambda flows, said: flows.changes.extend(said),
            help=HelpLine("extend until Monday 9am", "a later end (approvers are asked again) or an earlier one")),
    Command(Kind.END_AT, lambda flows, said: flows.changes.end_at(said)),
    Command(Kind.CANCEL, lambda flows, said: flows.changes.cancel(said),
            help=HelpLine("cancel", "cancel a pending request, or end your intercept now")),
    Command(Kind.PENDING, lambda flows, said: flows.approval.pending(said), approvers_only=True,
            help=HelpLine("pending", "the requests waiting for a decision, each with its buttons")),
    Command(Kind.ACTIVE, lambda flows, said: flows.approval.active(said), approvers_only=True,
            help=HelpLine("active", "the intercepts that are on now and when they end")),
)


def help_lines(*, approver: bool) -> list[HelpLine]:
    return [c.help for c in COMMANDS if c.help is not None and (approver or not c.approvers_only)]


# ---------------------------------------------------------------------------------------------- cards

Guard = Callable[[Clicked], str | None]  # a refusal, or None to let the click through


def owner_only(refusal: Callable[[Clicked], str]) -> Guard:
    """Only the person the card is about (a requester's card: its recipient)."""
    return lambda click: None if click.action.person_id == click.record.recipient.address else refusal(click)


def approvers_only(click: Clicked) -> str | None:
    return None if click.core.is_approver(click.clicker) else "Only approvers can decide on intercept requests."


def not_their_own(click: Clicked) -> str | None:
    if click.clicker.id == click.subject.person_id:
        return "You cannot decide on your own request: another approver has to."
    return None


def form_open(click: Clicked) -> str | None:
    if click.record.live and click.subject.status is Status.FORM_SENT:
        return None
    return (f"This form is no longer in use because your request is {click.subject.status.label}, and `status` "
            "shows where things stand.")


def intercept_on(click: Clicked) -> str | None:
    request = click.subject
    return None if request.status is Status.ACTIVE else f"This intercept is {request.status.label} already."


def reminder_unused(click: Clicked) -> str | None:
    if click.record.live:
        return None
    return "You have used this reminder already, and `status` shows where your intercept stands."


Handler = Callable[[Flows, Clicked], Replies]


@dataclass(frozen=True)
class CardRoute:
    guards: tuple[Guard, ...]
    intents: Mapping[Intent, Handler]
    used_once: bool = False  # withdrawn once a button of it did something
    needs_request: bool = True


def _theirs(click: Clicked) -> str:
    return (f"This form belongs to {escape_markdown(click.subject.person_name)}: only they can send it. Ask me for "
            "your own with `intercept me until ...`.")


CARDS: dict[CardKind, CardRoute] = {
    CardKind.FORM: CardRoute(
        guards=(owner_only(_theirs), form_open),
        intents={Intent.SUBMIT: lambda flows, click: flows.requesting.submit(click),
                 Intent.OTHER_READING: lambda flows, click: flows.requesting.other_reading(click),
                 Intent.CANCEL: lambda flows, click: flows.requesting.cancel(click)}),
    CardKind.APPROVAL: CardRoute(
        guards=(approvers_only, not_their_own),
        intents={Intent.APPROVE: lambda flows, click: flows.approval.decide(click),
                 Intent.REJECT: lambda flows, click: flows.approval.decide(click)}),
    CardKind.REMINDER: CardRoute(
        guards=(owner_only(lambda _: "Only the person this reminder is for can use its buttons."), intercept_on,
                reminder_unused),
        intents={Intent.END: lambda flows, click: flows.changes.reminder_end(click),
                 Intent.EXTEND: lambda flows, click: flows.changes.reminder_extend(click)},
        used_once=True),
    CardKind.STATUS: CardRoute(
        guards=(owner_only(lambda _: "Only the person this status is about can use its buttons."),),
        intents={Intent.END: lambda flows, click: flows.changes.status_button(click),
                 Intent.CANCEL: lambda flows, click: flows.changes.status_button(click)},
        needs_request=False),
}


# ---------------------------------------------------------------------------------------------- the router


@dataclass
class Router:
    core: Core
    flows: Flows
    commands: dict[Kind, Command] = field(default_factory=lambda: {c.kind: c for c in COMMANDS})

    def message(self, message: ChatMessage) -> None:
        core = self.core
        if message.person_email:
            core.remember(message.person_email, message.person_id)
        parsed = parse_command(message.text, (core.bot.display_name, core.bot.display_name.split(" ")[0]))
        kind = Kind.ATTACHMENT if parsed.kind is Kind.UNKNOWN and message.files else parsed.kind
        command = self.commands[kind]
        here = Where(room_id=message.room_id)
        private = here if message.room_type == "direct" else Where(to_person_id=message.person_id)
        said = Said(core, message, parsed, here, private)
        where = private if command.private else here
        if command.locked:
            with core.locks(message.person_id):
                self._answer(command, said, where)
        else:
            self._answer(command, said, where)
        if command.ack and where != here:
            core.outbox.acknowledge(message, f"I have sent you {command.ack} in a direct message.")

    def _answer(self, command: Command, said: Said, where: Where) -> None:
        if command.approvers_only and not self.core.is_approver(said.person):
            answer: Replies = Reply(f"Only approvers can use `{command.kind.value}`.")
        else:
            answer = command.handle(self.flows, said)
        for reply in replies(answer):
            self.core.outbox.deliver(reply, where)

    def action(self, action: CardAction) -> None:
        core = self.core
        record = core.outbox.find_card(action.message_id, CARD_RECORD_WAIT)
        if record is None or record.room_id != action.room_id:
            log.warning("card action %s on a message that is not one of the bot's cards", action.id)
            core.outbox.answer(action, Reply("This card is not one I can act on any more."))
            return
        route = CARDS[record.kind]
        # Work on one person's requests runs one at a time (a double click, two approvers at once, a
        # click and a timer). A card for the person it is about is locked by its recipient, and read
        # again under the lock (its buttons may have been used meanwhile); an approval card by the
        # request's person: deciding is a compare-and-set on fields a decision alone changes.
        if record.recipient.audience is Audience.REQUESTER:
            with core.locks(record.recipient.address):
                record = core.cards.get(record.message_id or "") or record
                request = core.requests.get(record.request_id) if record.request_id else None
                self._click(route, action, record, request)
            return
        request = core.requests.get(record.request_id)
        if request is not None:
            with core.locks(request.person_id):
                self._click(route, action, record, request)

    def _click(self, route: CardRoute, action: CardAction, record: CardRecord, request: Request | None) -> None:
        if request is None and route.needs_request:
            return
        click = Clicked(self.core, action, record, request, Intent.of(action.inputs))
        refusal = next((said for guard in route.guards if (said := guard(click)) is not None), None)
        handler = route.intents.get(click.intent) if click.intent is not None else None
        if refusal is None and handler is None:
            refusal = "I did not understand that button."
        if refusal is not None:
            self.core.outbox.answer(action, Reply(refusal))
            return
        assert handler is not None
        for reply in replies(handler(self.flows, click)):
            self.core.outbox.answer(action, reply)
        if route.used_once:
            self.core.outbox.withdraw(record)
