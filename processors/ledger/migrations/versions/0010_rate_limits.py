"""rate_limits: one token bucket per selling-partner account and SP-API operation, shared
by every worker on the ledger (issue 13).

Additive: an older ledger gets an empty table; each bucket starts full at its first use.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("account", sa.String(length=120), nullable=False),
        sa.Column("operation", sa.String(length=60), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.Float(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("burst", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account", "operation", name=op.f("pk_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
