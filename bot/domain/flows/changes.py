"""Changes to what a requester has: `status` (and its buttons), `cancel`, `end now`, a new end
(`end my intercept at 5pm`, `extend until Monday`), and the reminder before the end (End now,
Extend). A later end goes to the approvers; an earlier one is done at once."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import form
from bot.domain.lifecycle import Ended, Lifecycle
from bot.domain.model import OPEN_STATES, InterceptSettings, Request, Status
from bot.domain.outbox import Keep, Reply
from bot.domain.ports import WebexError
from bot.domain.text import escape_markdown
from bot.domain.timeparse import describe, parse_extension, parse_window
from bot.domain.values import CardKind, Intent, Reason, Recipient

from .approval import NO_APPROVER, Approval
from .base import Clicked, Core, Said, conversation

ON = (Status.APPLYING, Status.ACTIVE, Status.REVERTING)


class Changes:
    def __init__(self, core: Core, lifecycle: Lifecycle, approval: Approval) -> None:
        self.core = core
        self.lifecycle = lifecycle
        self.approval = approval

    # ------------------------------------------------------------------ status

    def status(self, said: Said) -> Reply:
        """A card: the intercept as Webex has it, the person's requests, and a button that acts on
        what it shows (the intercept that is on, else the newest request waiting)."""
        person = said.person
        requests = self.core.requests.for_person(person.id, [*OPEN_STATES, *ON])
        zone = requests[-1].zone if requests else self.core.zone(person.timezone).key
        try:
            current: InterceptSettings | None = self.core.webex.get_intercept(person.id)
            problem = ""
        except WebexError as error:
            if error.transient:
                raise
            current, problem = None, error.message
        card = self.core.presenter.status(person_name=person.display_name, current=current, requests=requests,
                                          zone=zone, now=self.core.clock.now(), problem=problem)
        shown = next((r for r in requests if r.status is Status.ACTIVE),
                     next((r for r in reversed(requests) if r.status in OPEN_STATES),
                          requests[-1] if requests else None))
        return Reply.showing(card, keep=Keep(CardKind.STATUS, shown.id if shown else "",
                                             Recipient.requester(person.id)))

    def status_button(self, click: Clicked) -> Reply | None:
        """End now on the intercept the card showed (or what took it over since, an extension),
        Cancel my request on the request that was waiting. Nothing else: a request for later stays.
        What changed since is explained."""
        shown = click.request
        if shown is None:
            return Reply("You have nothing to cancel.")
        if shown.status in OPEN_STATES:  # "Cancel my request" (also "end" on cards older than its intent)
            return Reply("Cancelled your pending request.") if self.approval.drop(shown, Reason.CANCELLED) else None
        current = self._successor(shown)
        if click.intent is Intent.END and current.status in ON:
            said = _end_text(self.lifecycle.end_now(current, shown.person_id))
            self.approval.close_orphaned_extensions(shown.person_id)
            return Reply(said) if said else None
        if current.status in (Status.APPLYING, Status.ACTIVE):
            until = describe(current.end_at.astimezone(ZoneInfo(current.zone)), self.core.clock.now()) \
                if current.end_at else ""
            return Reply(f"That request is on now, until {until}. Say `end now` if you want it to end.")
        return Reply(f"What this card showed is {current.status.label} now: say `status` for a fresh one.")

    def _successor(self, request: Request) -> Request:
        """The request that carries on `request`'s intercept: itself, or what took it over since."""
        while request.status is Status.REPLACED:
            heir = next((r for r in self.core.requests.for_person(request.person_id, [*ON, Status.REPLACED])
                         if r.replaces_id == request.id), None)
            if heir is None:
                break
            request = heir
        return request

    # ------------------------------------------------------------------ cancel, end, extend

    def cancel(self, said: Said) -> Reply | None:
        """Cancels what is pending and ends what is on (the announcer tells what became of an intercept)."""
        person_id = said.message.person_id
        answers = []
        acted = False
        for request in self.core.requests.for_person(person_id, OPEN_STATES):
            if self.approval.drop(request, Reason.CANCELLED):
                answers.append("Cancelled your pending request.")
        for request in self.core.requests.for_person(person_id, ON):
            ended = self.lifecycle.end_now(request, person_id)
            acted = acted or ended is not Ended.NOTHING
            answers.append(_end_text(ended))
        answers = [a for a in answers if a]
        if not answers and not acted:
            return Reply("You have nothing to cancel.")
        return Reply(" ".join(answers)) if answers else None

    def extend(self, said: Said) -> Reply | None:
        """`extend until Monday 9am`, `extend for 2 hours` (a bare duration adds to the current end)."""
        return self._new_end(said.message.person_id, said.command.rest, relative=True)

    def end_at(self, said: Said) -> Reply | None:
        """`end my intercept at 5pm`, `end it tomorrow`: a new end, read from now."""
        return self._new_end(said.message.person_id, said.command.rest, relative=False)

    def _new_end(self, person_id: str, phrase: str, *, relative: bool) -> Reply | None:
        active = next(iter(self.core.requests.for_person(person_id, [Status.ACTIVE])), None)
        if active is None:
            if self.core.requests.for_person(person_id, OPEN_STATES):
                return Reply("Your intercept is not on yet, so its end cannot change: send a new "
                             "`intercept me until ...` to change your request, or `cancel` to withdraw it.")
            return Reply("You have no intercept to change. Say `intercept me until ...` to ask for one.")
        assert active.end_at is not None
        now, zone = self.core.clock.now(), ZoneInfo(active.zone)
        if relative:
            window = parse_extension(phrase, active.end_at, now, zone)
        else:  # "end it at 5pm", "end it tomorrow", "end it in 2 hours"
            said = phrase if re.match(r"(?:in|until|till|by)\b", phrase, re.IGNORECASE) else "until " + phrase
            window = parse_window(said, now, zone)
            if window.end is None:  # quote what they wrote, not what was tried
                window = parse_window(phrase, now, zone)
        if window.end is None:
            example = ("`extend until Friday 17:00` or `extend for 2 hours`" if relative
                       else "`end my intercept at 17:00`, or `end now`")
            return Reply((escape_markdown(window.problem) if window.problem else "Tell me the new end.")
                         + f" For example: {example}.")
        return self.extend_to(active, window.end, shorten=not relative)

    def extend_to(self, active: Request, new_end: datetime, *, shorten: bool) -> Reply | None:
        """A new end for an intercept that is on. Earlier (when the requester asked to end it
        earlier, not to extend it): done at once. Later: approvers decide; the extension is a
        request of its own that takes the intercept over when approved."""
        now = self.core.clock.now()
        zone = ZoneInfo(active.zone)
        until = describe(new_end.astimezone(zone), now.astimezone(zone))
        assert active.end_at is not None
        if new_end <= now:
            return Reply(f"{until} has already passed.")
        if new_end - now > timedelta(days=self.core.policy.max_days):
            return Reply(f"An intercept may last at most {self.core.policy.max_days} days.")
        if new_end == active.end_at:
            return Reply(f"Your intercept ends {until} already.")
        if new_end < active.end_at and not shorten:
            current = describe(active.end_at.astimezone(zone), now.astimezone(zone))
            return Reply(f"{until} is before the end you have ({current}), so that would not extend it. To end your "
                         "intercept earlier, say for example `end my intercept at 17:00`.")
        if new_end < active.end_at:
            return self._shorten(active, new_end, until)
        extension = Request(
            id=uuid.uuid4().hex, person_id=active.person_id, person_email=active.person_email,
            person_name=active.person_name, zone=active.zone, room_id=active.room_id,
            status=Status.AWAITING_APPROVAL, created_at=now, updated_at=now, start_at=None, end_at=new_end,
            requested=active.requested, reason=active.reason, extends_id=active.id)
        if not self.approval.recipients(extension):
            return Reply(NO_APPROVER)
        self.core.requests.add(extension, reason=Reason.EXTENSION_REQUESTED)
        self.approval.ask(extension)
        return None  # the announcer says it was sent to the approvers

    def _shorten(self, active: Request, new_end: datetime, until: str) -> Reply:
        shortened = self.core.requests.move(active.id, Status.ACTIVE, Status.ACTIVE, now=self.core.clock.now(),
                                            actor_id=active.person_id, reason=Reason.SHORTENED,
                                            changes={"end_at": new_end})
        if shortened is None:
            return Reply("Your intercept changed meanwhile: say `status` to see where it stands.")
        for extension in self.core.requests.for_person(active.person_id,
                                                       [Status.AWAITING_APPROVAL, Status.APPROVED]):
            if extension.extends_id == active.id:  # the latest word on the end is this one
                self.approval.drop(extension, Reason.EXTENSIONS_DROPPED)
        return Reply(f"Done: your intercept now ends {until}.")

    # ------------------------------------------------------------------ the reminder

    def remind(self, request: Request) -> None:
        """Before the end (due by its row): tell the requester, with End now and Extend buttons. Once."""
        now = self.core.clock.now()
        if request.status is not Status.ACTIVE or request.end_at is None or request.end_at <= now:
            return
        if self.core.cards.for_request(request.id, CardKind.REMINDER):
            return  # reminded once already
        self.core.outbox.post(conversation(request), self.core.presenter.reminder(request, now=now),
                              Keep(CardKind.REMINDER, request.id, Recipient.requester(request.person_id)))

    def reminder_end(self, click: Clicked) -> Reply | None:
        said = _end_text(self.lifecycle.end_now(click.subject, click.action.person_id))
        return Reply(said) if said else None

    def reminder_extend(self, click: Clicked) -> Reply | None:
        request = click.subject
        end, problem = form.read_end(click.action.inputs, zone=ZoneInfo(request.zone))
        return Reply(problem) if end is None else self.extend_to(request, end, shorten=False)


def _end_text(ended: Ended) -> str:
    """What to answer besides the news the announcer tells (an ended intercept: nothing more)."""
    return {
        Ended.ENDED: "",
        Ended.CANCELLED: "Cancelled your request before anything was changed.",
        Ended.TRYING: "Ending your intercept: Webex has not taken it yet, and I keep trying. "
                      "I will tell you when your settings are back.",
        Ended.NOTHING: "",
    }[ended]
