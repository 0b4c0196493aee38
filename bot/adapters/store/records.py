"""The smaller things the bot keeps, on SQLAlchemy: the cards it sent, the people it knows, the
greetings waiting to be uploaded, and its settings (`bot.domain.stores`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from bot.adapters.store.schema import Database, cards_table, directory_table, greetings_table, settings_table
from bot.domain.stores import CardRecord
from bot.domain.values import Audience, CardKind, Recipient

# How a card's recipient and a refused card are written (the layout of earlier versions): a
# requester by person id, an approver by email, the approval space as "room:<id>"; a card Webex
# refused for good has no message, so its key is "undeliverable:<unique>".
_ROOM = "room:"
_REFUSED = "undeliverable:"


def _recipient_text(recipient: Recipient) -> str:
    return _ROOM + recipient.address if recipient.audience is Audience.APPROVAL_ROOM else recipient.address


def _recipient(kind: CardKind, text: str) -> Recipient:
    if kind is not CardKind.APPROVAL:
        return Recipient.requester(text)
    if text.startswith(_ROOM):
        return Recipient.room(text.removeprefix(_ROOM))
    return Recipient.approver(text.split("#", 1)[0])  # earlier versions tagged cards `pending` sent: email#...


def _card(row: RowMapping) -> CardRecord:
    kind = CardKind(row["kind"])
    message_id = None if str(row["message_id"]).startswith(_REFUSED) else str(row["message_id"])
    return CardRecord(message_id=message_id, request_id=row["request_id"], kind=kind, room_id=row["room_id"],
                      recipient=_recipient(kind, row["recipient"]), live=bool(row["live"]))


class SqlCards:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: CardRecord) -> None:
        with self.db.write() as tx:
            tx.execute(insert(cards_table).values(
                message_id=record.message_id or f"{_REFUSED}{uuid.uuid4().hex}", request_id=record.request_id,
                kind=record.kind.value, room_id=record.room_id, recipient=_recipient_text(record.recipient),
                live=record.live))

    def get(self, message_id: str) -> CardRecord | None:
        with self.db.read() as connection:
            row = connection.execute(select(cards_table).where(cards_table.c.message_id == message_id)).first()
        return _card(row._mapping) if row else None

    def for_request(self, request_id: str, kind: CardKind) -> list[CardRecord]:
        query = select(cards_table).where(cards_table.c.request_id == request_id, cards_table.c.kind == kind.value)
        with self.db.read() as connection:
            return [_card(row._mapping) for row in connection.execute(query)]

    def live(self, kinds: Iterable[CardKind]) -> list[CardRecord]:
        query = select(cards_table).where(cards_table.c.live.is_(True),
                                          cards_table.c.kind.in_([k.value for k in kinds]))
        with self.db.read() as connection:
            return [_card(row._mapping) for row in connection.execute(query)]

    def withdrawn(self, message_id: str) -> bool:
        with self.db.write() as tx:
            result = tx.execute(update(cards_table)
                                .where(cards_table.c.message_id == message_id, cards_table.c.live.is_(True))
                                .values(live=False))
        return result.rowcount == 1


class SqlPeople:
    def __init__(self, db: Database) -> None:
        self.db = db

    def remember(self, email: str, person_id: str) -> None:
        email = email.lower()
        for last in (False, True):  # another process may insert the same email first: then update it
            try:
                with self.db.write() as tx:
                    updated = tx.execute(update(directory_table).where(directory_table.c.email == email)
                                         .values(person_id=person_id))
                    if updated.rowcount == 0:
                        tx.execute(insert(directory_table).values(email=email, person_id=person_id))
                return
            except IntegrityError:
                if last:
                    raise

    def known(self, email: str) -> str | None:
        with self.db.read() as connection:
            row = connection.execute(select(directory_table.c.person_id)
                                     .where(directory_table.c.email == email.lower())).first()
        return str(row.person_id) if row else None


class SqlGreetings:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, request_id: str, file_name: str, data: bytes) -> None:
        with self.db.write() as tx:
            tx.execute(delete(greetings_table).where(greetings_table.c.request_id == request_id))
            tx.execute(insert(greetings_table).values(request_id=request_id, file_name=file_name, data=data))

    def get(self, request_id: str) -> tuple[str, bytes] | None:
        with self.db.read() as connection:
            row = connection.execute(select(greetings_table.c.file_name, greetings_table.c.data)
                                     .where(greetings_table.c.request_id == request_id)).first()
        return (str(row.file_name), bytes(row.data)) if row else None

    def held(self) -> list[str]:
        with self.db.read() as connection:
            return [str(row.request_id) for row in connection.execute(select(greetings_table.c.request_id))]

    def drop(self, request_id: str) -> None:
        with self.db.write() as tx:
            tx.execute(delete(greetings_table).where(greetings_table.c.request_id == request_id))


class SqlSettings:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        with self.db.read() as connection:
            row = connection.execute(select(settings_table.c.value).where(settings_table.c.key == key)).first()
        return str(row.value) if row else None

    def set(self, key: str, value: str) -> None:
        self.swap(key, lambda _old: value)

    def swap(self, key: str, change: Callable[[str | None], str | None]) -> str | None:
        """Read and replace one setting in one write transaction (None deletes it); returns the new value.
        The row is locked while `change` runs; a setting that another process creates meanwhile is
        read again."""
        try:
            return self._swap(key, change)
        except IntegrityError:
            return self._swap(key, change)

    def _swap(self, key: str, change: Callable[[str | None], str | None]) -> str | None:
        with self.db.write() as tx:
            row = tx.execute(select(settings_table.c.value).where(settings_table.c.key == key)
                             .with_for_update()).first()
            old = str(row.value) if row else None
            new = change(old)
            if new == old:
                return new
            if new is None:
                tx.execute(delete(settings_table).where(settings_table.c.key == key))
            elif row is None:
                tx.execute(insert(settings_table).values(key=key, value=new))
            else:
                tx.execute(update(settings_table).where(settings_table.c.key == key).values(value=new))
        return new
