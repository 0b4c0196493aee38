"""Several instances on one database: news told from a mark per audit row (`audit_news`) instead
of a cursor, the process handling each inbox event (`webhook_inbox.owner`), and on PostgreSQL the
audit log append-only as on SQLite (a trigger refuses UPDATE and DELETE).

Earlier versions kept how far news had been told in `bot_settings`: `announced_up_to` ("<last row
told>", or "<that>:<row told in part>:<messages sent>:<failed tries>") and, before that,
`announce_progress` ("<row told in part>:<sent>:<tries>"). The rows after that point become
untold marks (only those of the last day: older ones are never told), a row told in part keeps
how far it got, and the old settings go.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURSOR, EARLIER = "announced_up_to", "announce_progress"
TOLD_WITHIN = timedelta(hours=24)  # the announcer passes over older rows


def upgrade() -> None:
    op.create_table(
        "audit_news",
        sa.Column("audit_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.String(40)),
        sa.Column("claimed_by", sa.String(40)),
    )
    op.add_column("webhook_inbox", sa.Column("owner", sa.String(40)))
    _untold_from_cursor()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$")
        op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")


def _untold_from_cursor() -> None:
    bind = op.get_bind()
    settings = sa.table("bot_settings", sa.column("key", sa.String), sa.column("value", sa.Text))
    audit = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("request_id", sa.String),
                     sa.column("at", sa.String))
    news = sa.table("audit_news", sa.column("audit_id", sa.Integer), sa.column("request_id", sa.String),
                    sa.column("sent", sa.Integer), sa.column("tries", sa.Integer))
    saved = dict(bind.execute(sa.select(settings.c.key, settings.c.value)
                              .where(settings.c.key.in_([CURSOR, EARLIER]))).all())
    cursor, row, sent, tries = _progress(saved.get(CURSOR), saved.get(EARLIER))
    since = (datetime.now(UTC) - TOLD_WITHIN).isoformat(timespec="microseconds")  # as the store writes times
    bind.execute(sa.insert(news).from_select(
        ["audit_id", "request_id", "sent", "tries"],
        sa.select(audit.c.id, audit.c.request_id, sa.literal(0), sa.literal(0))
        .where(audit.c.id > cursor, audit.c.at >= since)))
    if row > cursor:
        bind.execute(sa.update(news).where(news.c.audit_id == row).values(sent=sent, tries=tries))
    bind.execute(sa.delete(settings).where(settings.c.key.in_([CURSOR, EARLIER])))


def _progress(cursor: str | None, earlier: str | None) -> tuple[int, int, int, int]:
    """(last row told, row told in part, its messages sent, failed tries), as the announcer of
    earlier versions read its settings."""
    parts = _numbers(cursor or "0")
    if len(parts) == 4 and parts[1]:
        return parts[0], parts[1], parts[2], parts[3]
    told = parts[0] if parts else 0
    part = _numbers(earlier or "")
    if len(part) == 3 and part[0] > told:
        return told, part[0], part[1], part[2]
    return told, 0, 0, 0


def _numbers(raw: str) -> list[int]:
    try:
        return [int(piece) for piece in raw.split(":")]
    except ValueError:
        return []
