"""Approval: asking the approvers, their decision, and the ends of a request nobody decides on
(expired, dropped, no approver reachable); also the approvers' views, `pending` and `active`.

Only approvers decide, nobody on their own request, the first decision wins (a compare-and-set)
and later clicks are told who decided. A card cannot be edited: a decided request's approval cards
are closed (withdrawn, and each replaced by the outcome without buttons).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.domain.lifecycle import Lifecycle
from bot.domain.model import OPEN_STATES, Person, Request, Status
from bot.domain.outbox import Keep, Reply
from bot.domain.ports import WebexError
from bot.domain.stores import CardRecord
from bot.domain.text import escape_markdown
from bot.domain.timeparse import describe
from bot.domain.values import Audience, CardKind, Intent, Reason, Recipient, Where

from .base import Clicked, Core, Said

log = logging.getLogger(__name__)

NO_APPROVER = ("There is nobody but you to approve this, so I cannot send it. Ask an administrator to add "
               "approvers.")
PENDING_SHOWN = 10  # approval cards `pending` sends at most


class Approval:
    def __init__(self, core: Core, lifecycle: Lifecycle) -> None:
        self.core = core
        self.lifecycle = lifecycle

    # ------------------------------------------------------------------ asking

    def recipients(self, request: Request) -> list[Recipient]:
        found = [Recipient.approver(e) for e in sorted(self.core.policy.approvers)
                 if e != request.person_email.lower()]
        if self.core.policy.approval_room_id:
            found.append(Recipient.room(self.core.policy.approval_room_id))
        return found

    def ask(self, request: Request) -> None:
        """A request now waiting for approval replaces the person's older open ones; approvers are asked."""
        self.cancel_superseded(request.person_id, keep=request.id)
        self.send_cards(request)

    def send_cards(self, request: Request) -> None:
        """Ask every approver (and the approval space) once; `request` as read under its person's
        lock. Recipients already asked are skipped, so the sweep runs this again until Webex has
        taken every card; one Webex refuses for good (an unknown address, say) counts as asked."""
        records = self.core.cards.for_request(request.id, CardKind.APPROVAL)
        asked = {card.recipient for card in records}
        wanted = self.recipients(request)
        extends = self.core.requests.get(request.extends_id) if request.extends_id else None
        for recipient in wanted:
            if recipient not in asked:
                try:
                    records.append(self._post_card(request, recipient, extends=extends))
                except WebexError as error:
                    log.warning("could not ask %s to approve request %s: %s", recipient.address, request.id, error)
                    if not error.transient:  # refused for good (an unknown address, say): asked all the same
                        refused = CardRecord(None, request.id, CardKind.APPROVAL, "", recipient, False)
                        self.core.cards.add(refused)
                        records.append(refused)
        if records and {c.recipient for c in records} >= set(wanted) and all(c.message_id is None for c in records):
            # Webex refused every card for good: nobody can decide, so do not leave it waiting
            log.error("no approver could be asked about request %s: Webex refused every approval card; "
                      "check INTERCEPT_APPROVERS and INTERCEPT_APPROVAL_ROOM_ID", request.id)
            self.core.requests.move(request.id, Status.AWAITING_APPROVAL, Status.EXPIRED, now=self.core.clock.now(),
                                    reason=Reason.NO_APPROVER_REACHED)

    def _post_card(self, request: Request, recipient: Recipient, *, extends: Request | None,
                   where: Where | None = None) -> CardRecord:
        """An approval card to `recipient` (to `where` when given), recorded once Webex took it."""
        room = recipient.address if recipient.audience is Audience.APPROVAL_ROOM else None
        approver = None if room else self.core.known_person(recipient.address)
        card = self.core.presenter.approval(request, viewer_zone=approver.timezone if approver else None,
                                            now=self.core.clock.now(), extends=extends)
        email = None if room or approver else recipient.address  # not written to yet: by email
        where = where or Where(room_id=room, to_person_id=approver.id if approver else None, to_person_email=email)
        record = self.core.outbox.post(where, card, Keep(CardKind.APPROVAL, request.id, recipient))
        if where.to_person_email:
            self._learn_member(record.room_id, where.to_person_email)
        return record

    def _learn_member(self, room_id: str, email: str) -> None:
        try:
            person_id = self.core.webex.room_member_id(room_id, email)
        except WebexError as error:
            log.warning("could not read the members of a direct room: %s", error)
            return
        if person_id:
            self.core.remember(email, person_id)

    # ------------------------------------------------------------------ deciding

    def decide(self, click: Clicked) -> Reply | None:
        """Approve or reject (the guards have checked the clicker is an approver, not the requester)."""
        request, clicker, now = click.subject, click.clicker, self.core.clock.now()
        comment = str(click.action.inputs.get("comment", "") or "").strip()[:500]
        if request.status is Status.AWAITING_APPROVAL and self.lifecycle.orphaned(request):
            if self.drop(request, Reason.EXTENSION_ORPHANED, Status.EXPIRED, source=[Status.AWAITING_APPROVAL]):
                return Reply("The intercept this would extend is no longer on, so there is nothing to extend: "
                             "nothing was changed.")
            return self._decided_already(request, clicker)  # the row was read before the lock
        if click.intent is Intent.APPROVE and request.end_at is not None and request.end_at <= now:
            expired = self.core.requests.move(request.id, Status.AWAITING_APPROVAL, Status.EXPIRED, now=now,
                                              reason=Reason.END_PASSED_UNAPPROVED)
            if expired is not None:
                self.close_cards(expired, viewer=clicker)
            return Reply("This request's end time has already passed, so it cannot be approved.")
        target = Status.APPROVED if click.intent is Intent.APPROVE else Status.REJECTED
        decided = self.core.requests.move(
            request.id, Status.AWAITING_APPROVAL, target, now=now, actor_id=clicker.id, reason=Reason.DECIDED,
            note=comment, changes={"decided_by_id": clicker.id, "decided_by_name": clicker.display_name,
                                   "decided_at": now, "decision_comment": comment})
        if decided is None:
            return self._decided_already(request, clicker)
        self.close_cards(decided, viewer=clicker)
        if decided.status is Status.APPROVED and (decided.start_at is None or decided.start_at <= now):
            self.lifecycle.apply(decided)  # a later start is due by its row (bot.domain.schedule)
        return None

    def _decided_already(self, request: Request, clicker: Person) -> Reply:
        """Someone decided first: who, as the request is now."""
        return Reply(already_decided_text(self.core.requests.get(request.id) or request, clicker.id))

    # ------------------------------------------------------------------ ending a request that waits

    def drop(self, request: Request, reason: Reason, status: Status = Status.CANCELLED, *,
             source: Iterable[Status] = OPEN_STATES) -> bool:
        """An open request (form out, waiting for approval, or approved and not started) that no
        longer stands: its cards go with it. True for the one call that moved it."""
        dropped = self.core.requests.move(request.id, source, status, now=self.core.clock.now(),
                                          actor_id=request.person_id, reason=reason)
        if dropped is None:
            return False
        self.core.outbox.withdraw_all(request.id, CardKind.FORM)
        self.close_cards(dropped)
        return True

    def expire(self, request: Request) -> None:
        """A form nobody sent, or a request nobody decided on, whose time is up."""
        ended = request.end_at is not None and request.end_at <= self.core.clock.now()
        reason = Reason.END_PASSED if ended else \
            Reason.UNDECIDED if request.status is Status.AWAITING_APPROVAL else Reason.FORM_NOT_SENT
        expired = self.core.requests.move(request.id, request.status, Status.EXPIRED, now=self.core.clock.now(),
                                          reason=reason)
        if expired is not None and request.status is Status.AWAITING_APPROVAL:
            self.close_cards(expired)
        elif expired is not None:
            self.core.outbox.withdraw_all(request.id, CardKind.FORM)

    def cancel_superseded(self, person_id: str, keep: str | None = None) -> None:
        """Of a person's open requests (waiting for approval, or approved and not started) only one
        stands: `keep`, else the newest; and, apart from them, one extension of the intercept that is
        on (an extension does not withdraw a request for later, nor the other way round). Also run by
        the sweep: a crash may have come between a submission and this."""
        open_ = self.core.requests.for_person(person_id, [Status.AWAITING_APPROVAL, Status.APPROVED])
        for group in ([r for r in open_ if r.extends_id], [r for r in open_ if not r.extends_id]):
            newest = max(group, key=lambda r: r.created_at, default=None)
            standing = keep if keep in {r.id for r in group} else (newest.id if newest else None)
            for older in group:
                if older.id != standing:
                    self.drop(older, Reason.SUPERSEDED)

    def close_orphaned_extensions(self, person_id: str | None = None) -> None:
        """Extensions whose intercept ended (its end came, it was cancelled or replaced) before an
        approver decided: dropped, the approvers' cards closed, the requester told. With
        `person_id`, that person's only: a caller holding their lock must not wait for anyone
        else's (two such callers would wait for each other); the sweep handles everyone."""
        waiting = [Status.AWAITING_APPROVAL, Status.APPROVED]
        for request in (self.core.requests.with_status(waiting) if person_id is None
                        else self.core.requests.for_person(person_id, waiting)):
            if request.extends_id:
                with self.core.locks(request.person_id):
                    latest = self.core.requests.get(request.id)
                    if latest is not None and self.lifecycle.orphaned(latest):
                        self.drop(latest, Reason.EXTENSION_ORPHANED, Status.EXPIRED)

    def close_cards(self, request: Request, *, viewer: Person | None = None) -> None:
        """Replace each live approval card of a request that no longer waits by its outcome, without
        buttons. `viewer`: a person already read (the approver who clicked), for their time zone."""
        outcome = self._outcome(request)
        for card in self.core.cards.for_request(request.id, CardKind.APPROVAL):
            if not self.core.outbox.withdraw(card):
                continue
            zone = None
            if card.recipient.audience is Audience.APPROVER:
                approver = viewer if viewer and viewer.email == card.recipient.address \
                    else self.core.known_person(card.recipient.address)
                zone = approver.timezone if approver else None
            try:
                self.core.outbox.show(Where(room_id=card.room_id),
                                      self.core.presenter.outcome(request, outcome, viewer_zone=zone))
            except WebexError as error:
                log.warning("could not post the outcome of request %s: %s", request.id, error)

    def _outcome(self, request: Request) -> str:
        """What happened to a request that is no longer waiting for approval, in a few words."""
        if request.decided_by_name and request.status not in (Status.CANCELLED, Status.EXPIRED):
            verb = "rejected" if request.status is Status.REJECTED else "approved"
            return f"{verb} by {request.decided_by_name}"
        history = self.core.requests.history(request.id)
        return (history[-1].note if history else "") or request.status.label

    # ------------------------------------------------------------------ approvers' views

    def pending(self, said: Said) -> Reply:
        """One approval card per request waiting (the oldest few), each moved to the bottom of the chat."""
        person = said.person
        waiting = [r for r in self.core.requests.with_status([Status.AWAITING_APPROVAL]) if r.person_id != person.id]
        if not waiting:
            return Reply("Nothing is waiting for a decision.")
        shown = waiting[:PENDING_SHOWN]
        more = f"; here are the oldest {PENDING_SHOWN}." if len(waiting) > PENDING_SHOWN else "."
        return Reply(f"{_count(len(waiting), 'request')} waiting for a decision{more}",
                     then=lambda: self._show(shown, person, said.private))

    def _show(self, requests: list[Request], person: Person, where: Where) -> None:
        me = Recipient.approver(person.email)
        for request in requests:
            older = [card for card in self.core.cards.for_request(request.id, CardKind.APPROVAL)
                     if card.live and card.recipient == me]
            extends = self.core.requests.get(request.extends_id) if request.extends_id else None
            try:
                self._post_card(request, me, extends=extends, where=where)
            except WebexError as error:  # the card they had stays theirs
                log.warning("could not show %s request %s again: %s", person.email, request.id, error)
                continue
            for card in older:  # one live card each, the newest: withdrawn once the new one is there
                self.core.outbox.withdraw(card)

    def active(self, said: Said) -> Reply:
        active = self.core.requests.with_status([Status.ACTIVE])
        if not active:
            return Reply("No intercept is on.")
        zone = self.core.zone(said.person.timezone)
        lines = [f"- {escape_markdown(r.person_name)}: until {describe(r.end_at.astimezone(zone))}"
                 for r in sorted(active, key=lambda r: r.end_at or r.created_at) if r.end_at]
        return Reply(f"{_count(len(active), 'intercept')} on:\n" + "\n".join(lines))


def already_decided_text(request: Request, clicker_id: str | None = None) -> str:
    if request.decided_by_name and request.status is not Status.AWAITING_APPROVAL:
        verb = "rejected" if request.status is Status.REJECTED else "approved"
        # the decider's own click seen again (a double click, or redelivered after a restart)
        by = "you" if clicker_id and clicker_id == request.decided_by_id else escape_markdown(request.decided_by_name)
        return f"Already {verb} by {by}; the request is now {request.status.label}."
    return f"This request is {request.status.label}: there is nothing to decide."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")

