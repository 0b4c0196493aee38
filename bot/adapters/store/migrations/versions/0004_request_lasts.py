"""A request asked "for 2 hours" keeps how long it lasts (`intercept_requests.lasts`, e.g. "0 0 120": months,
days, minutes), so its end is counted from when the intercept goes on, not from when it was asked.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("intercept_requests", sa.Column("lasts", sa.String(40)))
