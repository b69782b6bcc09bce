"""amazon_identity: which Amazon (simulated or real, region, endpoint, merchant) a ledger
confirms each seller's lines with, so that a start with other settings is refused.

Additive: a ledger from before this revision gets an empty table, and its next service
start records the Amazon its settings name (see processors/ledger/identity.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "amazon_identity",
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seller", name=op.f("pk_amazon_identity")),
    )


def downgrade() -> None:
    op.drop_table("amazon_identity")
