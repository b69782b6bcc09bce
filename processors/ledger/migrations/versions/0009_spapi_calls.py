"""spapi_calls: SP-API requests per process, operation and outcome, which each worker adds
to every few seconds, so /metrics on any process (a separate `run.py web` too) shows the
calls of every worker sharing the ledger.

Additive: an older ledger gets an empty table; calls before it were counted nowhere.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spapi_calls",
        sa.Column("process", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("process", "operation", "outcome", name=op.f("pk_spapi_calls")),
    )


def downgrade() -> None:
    op.drop_table("spapi_calls")
