"""All state, in SQLAlchemy tables (SQLite by default, PostgreSQL by URL), split by what it keeps;
and the same stores in memory, for the flow tests (`memory`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters.store import migrate
from bot.adapters.store.audit import SqlAudit
from bot.adapters.store.inbox import SqlInbox
from bot.adapters.store.records import SqlCards, SqlGreetings, SqlPeople, SqlSettings
from bot.adapters.store.requests import SqlRequests
from bot.adapters.store.schema import Database, DatabaseUnavailable, describe, make_engine, where
from bot.domain.stores import Stores

__all__ = ["DatabaseUnavailable", "SqlStores", "make_engine"]


@dataclass
class SqlStores:
    """One database: the domain's stores, and what the edge and the operator's commands use."""

    db: Database
    requests: SqlRequests
    cards: SqlCards
    people: SqlPeople
    greetings: SqlGreetings
    audit: SqlAudit
    settings: SqlSettings
    inbox: SqlInbox

    @classmethod
    def on(cls, engine: Engine) -> SqlStores:
        db = Database(engine)
        return cls(db, SqlRequests(db), SqlCards(db), SqlPeople(db), SqlGreetings(db), SqlAudit(db),
                   SqlSettings(db), SqlInbox(db))

    @classmethod
    def at(cls, url: str, *, read_only: bool = False) -> SqlStores:
        """The stores of the database at `url`; `read_only` opens an existing SQLite file read-only
        and raises `DatabaseUnavailable` when there is none (nothing is created)."""
        return cls.on(make_engine(url, read_only=read_only))

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def create_schema(self) -> None:
        """The database at this version's schema: created when empty, upgraded when behind (the
        tests' way to a database; `serve` upgrades only an empty one, see `migrate.ready`)."""
        migrate.upgrade(self.engine)

    def ping(self) -> None:
        self.db.ping()

    def reach(self, *, tables: bool = False) -> None:
        """Connect once (start-up, the operator's commands); `tables`: the bot's tables must be there
        too. `DatabaseUnavailable`, in one line, when not."""
        url = self.engine.url.render_as_string(hide_password=False)
        try:
            self.ping()
            if tables and not inspect(self.engine).has_table("audit_log"):
                raise DatabaseUnavailable(f"{where(url)} holds no intercept-bot tables")
        except (SQLAlchemyError, OSError) as error:
            raise DatabaseUnavailable(f"cannot open the database at {where(url)}: {describe(error, url)}") from None

    def domain(self) -> Stores:
        return Stores(requests=self.requests, cards=self.cards, people=self.people, greetings=self.greetings,
                      audit=self.audit, settings=self.settings)
