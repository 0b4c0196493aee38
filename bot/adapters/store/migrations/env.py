"""Alembic's environment. At run time `bot.adapters.store.migrate` passes the connection to use in
`config.attributes["connection"]`, inside its transaction and lock. A developer's `alembic
revision --autogenerate` (alembic.ini at the repository root) has none: then the database is the one
of `sqlalchemy.url`, else of `DATABASE_URL`, else the default file."""

from __future__ import annotations

import logging.config
import os
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from bot.adapters.store.schema import UTCDateTime, make_engine, metadata


def _render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes the model's UTCDateTime as what it is on disk: revisions use plain types."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.String(length=40)"
    return False


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_item=_render_item,
                      render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters a table by copying it
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if context.config.config_file_name:  # a developer's alembic.ini: its logging
        logging.config.fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    url = (context.config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
           or "sqlite:///intercept-bot.db")
    if context.is_offline_mode():  # `alembic upgrade --sql`: the SQL is printed, not run
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as own:
            _run(own)
            own.commit()
    finally:
        engine.dispose()


_main()
