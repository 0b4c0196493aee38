"""What every flow shares: the outside world (`Core`), and the two things a flow is handed: what a
person said (`Said`) and what they clicked (`Clicked`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.commands import Command
from bot.domain.locks import PersonLocks
from bot.domain.model import Person, Request
from bot.domain.outbox import Outbox, Reply
from bot.domain.policy import Policy
from bot.domain.ports import CardAction, ChatMessage, Clock, Locks, Presenter, Webex, WebexError
from bot.domain.stores import CardRecord, Stores
from bot.domain.values import Intent, Where

log = logging.getLogger(__name__)

# What a handler returns: nothing to say, one reply, or several in order.
Replies = Reply | tuple[Reply, ...] | None


def replies(answer: Replies) -> tuple[Reply, ...]:
    if answer is None:
        return ()
    return answer if isinstance(answer, tuple) else (answer,)


def conversation(request: Request) -> Where:
    """Where a request's requester is talked to: the room their form went to, else (a request
    started in a space, before Webex named the direct room) a direct message."""
    return Where(room_id=request.room_id) if request.room_id else Where(to_person_id=request.person_id)


class Core:
    """The outside world as the flows see it, and the few questions every flow asks of it."""

    def __init__(self, *, webex: Webex, stores: Stores, presenter: Presenter, clock: Clock, policy: Policy,
                 bot: Person, locks: Locks | None = None, peers: bool = False) -> None:
        self.webex = webex
        self.stores = stores
        self.requests = stores.requests
        self.cards = stores.cards
        self.presenter = presenter
        self.clock = clock
        self.policy = policy
        self.bot = bot
        self.outbox = Outbox(webex, stores.cards, peers=peers)
        self.locks: Locks = locks or PersonLocks()
        self._directory: dict[str, str] = {}  # email -> person id, as remembered or read in this process

    def remember(self, email: str, person_id: str) -> None:
        """Remember whose an email is (approvers are configured by email, Webex addresses people by id)."""
        email = email.lower()
        if email and self._directory.get(email) != person_id:
            self.stores.people.remember(email, person_id)
            self._directory[email] = person_id

    def known_person(self, email: str) -> Person | None:
        """The person behind an email the bot has seen before (for their id and time zone)."""
        email = email.lower()
        person_id = self._directory.get(email) or self.stores.people.known(email)
        if person_id is None:
            return None
        self._directory[email] = person_id
        try:
            return self.webex.person(person_id)
        except WebexError as error:
            log.warning("could not read a known person: %s", error)
            return None

    def is_approver(self, person: Person) -> bool:
        """A configured approver; with none configured (an approval space only), an administrator
        of the organisation who may change calling settings anyway."""
        if person.type != "person":
            return False
        if self.policy.approvers:
            return person.email.lower() in self.policy.approvers
        return self.webex.is_org_admin(person.id)

    def zone(self, name: str | None) -> ZoneInfo:
        for candidate in (name, self.policy.default_zone):
            if candidate:
                try:
                    return ZoneInfo(candidate)
                except (ZoneInfoNotFoundError, ValueError):
                    log.warning("unknown time zone %r; using the default", candidate)
        return ZoneInfo("UTC")


@dataclass
class Said:
    """A message to the bot, read: the command, where it came from, and where to answer the
    person privately (the same room in a direct conversation, else a direct message)."""

    core: Core
    message: ChatMessage
    command: Command
    here: Where
    private: Where
    _person: Person | None = field(default=None, repr=False)

    @property
    def person(self) -> Person:
        """Who wrote it (read from Webex once)."""
        if self._person is None:
            self._person = self.core.webex.person(self.message.person_id)
        return self._person


@dataclass
class Clicked:
    """A click on one of the bot's cards: the record of the card (never the card's data) says which
    request it is about."""

    core: Core
    action: CardAction
    record: CardRecord
    request: Request | None
    intent: Intent | None
    _clicker: Person | None = field(default=None, repr=False)

    @property
    def clicker(self) -> Person:
        """Who clicked (read from Webex once, and remembered by email)."""
        if self._clicker is None:
            self._clicker = self.core.webex.person(self.action.person_id)
            if self._clicker.email:
                self.core.remember(self._clicker.email, self._clicker.id)
        return self._clicker

    @property
    def subject(self) -> Request:
        """The request the card is about (every card but a status card that showed none has one)."""
        assert self.request is not None
        return self.request
