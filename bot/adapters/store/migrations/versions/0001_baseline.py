"""Baseline: the schema of the versions before migrations (what `metadata.create_all` made, with the
indexes on the request rows' times and, on SQLite, the triggers keeping the audit log append-only).

A database made by one of those versions is not built by this revision but recognised and stamped
with it (`bot.adapters.store.migrate`).

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_VERBS = ("UPDATE", "DELETE")


def _time() -> sa.String:
    """An aware UTC time, stored as ISO text (the model's UTCDateTime)."""
    return sa.String(40)


def upgrade() -> None:
    _requests()
    _audit_log()
    op.create_table(
        "card_messages",
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("room_id", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(400), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "webhook_inbox",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("received_at", _time(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_table(
        "greetings",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "people_directory",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("person_id", sa.String(200), nullable=False),
    )
    op.create_table(
        "bot_settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def _requests() -> None:
    op.create_table(
        "intercept_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(200), nullable=False, index=True),
        sa.Column("person_email", sa.String(320), nullable=False),
        sa.Column("person_name", sa.String(400), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("start_at", _time()),
        sa.Column("end_at", _time()),
        sa.Column("requested", sa.JSON()),
        sa.Column("snapshot", sa.JSON()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.String(200)),
        sa.Column("decided_by_name", sa.String(400)),
        sa.Column("decided_at", _time()),
        sa.Column("decision_comment", sa.Text(), nullable=False),
        sa.Column("applied_at", _time()),
        sa.Column("reverted_at", _time()),
        sa.Column("replaces_id", sa.String(64)),
        sa.Column("extends_id", sa.String(64)),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("greeting_file", sa.String(300), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", _time()),
        sa.Column("draft", sa.JSON()),
        sa.Column("draft_note", sa.Text(), nullable=False),
    )
    # what is due is found by status and time: one index per time a rule reads
    for name in ("start_at", "end_at", "retry_at", "updated_at"):
        op.create_index(f"ix_intercept_requests_status_{name}", "intercept_requests", ["status", name])


def _audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", _time(), nullable=False, index=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("person_id", sa.String(200), nullable=False, index=True),
        sa.Column("actor_id", sa.String(200)),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32)),
        sa.Column("target", sa.String(32)),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON()),
        sa.Column("tracking_id", sa.String(200)),
    )
    if op.get_context().dialect.name == "sqlite":
        for verb in AUDIT_VERBS:
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")


def downgrade() -> None:
    for table in ("bot_settings", "people_directory", "greetings", "webhook_inbox", "card_messages", "audit_log",
                  "intercept_requests"):
        op.drop_table(table)  # with its indexes and triggers
