"""The one place the domain sends from: replies, cards (recorded as the bot's own once Webex took
them), acknowledgements in spaces, and withdrawn cards.

Handlers return a `Reply`; the router hands it here. A reply to a message that Webex does not take
raises (the event is tried again); a reply to a click is best effort, in the card's thread (the
state change it answers has happened already). News, what happened to a request, is told by
`bot.domain.announce` from the audit log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.domain.ports import Card, CardAction, ChatMessage, SentMessage, Webex, WebexError
from bot.domain.stores import CardRecord, CardStore
from bot.domain.values import CardKind, Recipient, Where

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Keep:
    """A card to record as the bot's own once Webex has taken it."""

    kind: CardKind
    request_id: str
    recipient: Recipient


@dataclass(frozen=True)
class Reply:
    """What to say to whoever acted. `to`: somewhere else than the default (the room or direct
    message for a message, the card's thread for a click); `then`: what to do once it is sent."""

    markdown: str
    card: Mapping[str, Any] | None = None
    keep: Keep | None = None
    to: Where | None = None
    then: Callable[[], object] | None = None

    @classmethod
    def showing(cls, card: Card, *, keep: Keep | None = None, to: Where | None = None) -> Reply:
        return cls(card.markdown, card=card.content, keep=keep, to=to)


PEER_RECORD_WAIT = 0.5  # seconds a click on an unknown card waits for another process to record it


class Outbox:
    def __init__(self, webex: Webex, cards: CardStore, *, peers: bool = False) -> None:
        self.webex = webex
        self.cards = cards
        self.peers = peers  # other processes post cards too (several instances on one database)
        self._posting = 0
        self._posted = threading.Condition()

    def send(self, where: Where, markdown: str, *, card: Mapping[str, Any] | None = None,
             parent_id: str | None = None) -> SentMessage:
        return self.webex.send(markdown=markdown, room_id=where.room_id, to_person_id=where.to_person_id,
                               to_person_email=where.to_person_email, card=card, parent_id=parent_id)

    def show(self, where: Where, card: Card) -> SentMessage:
        """Send a card nobody acts on (no buttons): not recorded."""
        return self.send(where, card.markdown, card=card.content)

    def post(self, where: Where, card: Card, keep: Keep) -> CardRecord:
        """Send a card and record it as the bot's own."""
        with self._in_flight():
            sent = self.send(where, card.markdown, card=card.content)
            record = CardRecord(sent.id, keep.request_id, keep.kind, sent.room_id, keep.recipient, True)
            self.cards.add(record)
        return record

    def deliver(self, reply: Reply, where: Where) -> None:
        """A reply to a message, to `where` unless it says otherwise. Webex refusing it raises."""
        self._send_reply(reply, reply.to or where)
        if reply.then is not None:
            reply.then()

    def answer(self, action: CardAction, reply: Reply) -> None:
        """A reply to a click: text in the card's thread (in the room when the card is gone
        already), never raising; a card goes to the reply's `to`, or the room."""
        if reply.card is not None or reply.to is not None:
            self._send_reply(reply, reply.to or Where(room_id=action.room_id))
        else:
            self._in_thread(action.room_id, action.message_id, reply.markdown, "could not answer a card action")
        if reply.then is not None:
            reply.then()

    def acknowledge(self, message: ChatMessage, markdown: str) -> None:
        """A short pointer in a group space, in the thread of the mention when Webex allows it."""
        self._in_thread(message.room_id, message.id, markdown, "could not acknowledge in the space")

    def withdraw(self, card: CardRecord) -> bool:
        """Take a card's buttons away: the message goes first, then the record, so a crash or a
        Webex failure in between leaves the record live and the sweep tries again. True for the
        one call that withdrew it."""
        if not card.live or card.message_id is None or not self.delete(card.message_id):
            return False
        return self.cards.withdrawn(card.message_id)

    def withdraw_all(self, request_id: str, kind: CardKind) -> None:
        for card in self.cards.for_request(request_id, kind):
            self.withdraw(card)

    def delete(self, message_id: str) -> bool:
        """True when the message is gone (deleted now, or before); False when Webex did not answer."""
        try:
            self.webex.delete_message(message_id)
        except WebexError as error:
            if error.transient:
                log.warning("could not delete card message (trying again later): %s", error)
                return False
            if error.status != 404:
                log.warning("could not delete card message: %s", error)
        return True

    def find_card(self, message_id: str, timeout: float) -> CardRecord | None:
        """The bot's record of a card. Webex may deliver a click on a card before the bot has
        recorded that the card is its own: a click on an unknown card waits for the cards this
        process is posting and, when other processes post cards too, looks again for a moment (the
        record follows the post within milliseconds; a worker must not wait long on a card that is
        not the bot's, e.g. one Webex took just before a process died)."""
        record = self.cards.get(message_id)
        if record is not None:
            return record
        deadline = time.monotonic() + timeout
        with self._posted:
            self._posted.wait_for(lambda: self._posting == 0, timeout=timeout)
        pause, deadline = 0.02, min(deadline, time.monotonic() + PEER_RECORD_WAIT)
        while (record := self.cards.get(message_id)) is None and self.peers and time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(2 * pause, 0.5)
        return record

    def _send_reply(self, reply: Reply, where: Where) -> None:
        if reply.keep is not None and reply.card is not None:
            self.post(where, Card(reply.markdown, reply.card), reply.keep)
        else:
            self.send(where, reply.markdown, card=reply.card)

    def _in_thread(self, room_id: str, parent_id: str, markdown: str, what: str) -> None:
        for parent in (parent_id, None):
            try:
                self.send(Where(room_id=room_id), markdown, parent_id=parent)
                return
            except WebexError as error:
                if error.transient or parent is None:
                    log.warning("%s: %s", what, error)
                    return

    @contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._posted:
            self._posting += 1
        try:
            yield
        finally:
            with self._posted:
                self._posting -= 1
                self._posted.notify_all()
