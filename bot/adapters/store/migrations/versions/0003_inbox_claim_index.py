"""The inbox's status index also orders by arrival: a worker's claim (the oldest pending event)
walks the index to its first row instead of sorting every pending event. With a backlog of 10,000
events the claim had become a fifth of a worker's time (measured in bench/ack.py's drain).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_webhook_inbox_status_received_at", "webhook_inbox", ["status", "received_at"])
    op.drop_index("ix_webhook_inbox_status", table_name="webhook_inbox")
