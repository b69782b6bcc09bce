"""alerts_sent: which alert (needs_attention line, rejected file, fatal feed, ...) went to
which destination and when, so a digest never repeats an alert, whichever worker sends it.

Additive: an older ledger gets an empty table; the first pass then alerts once on what is
currently wrong.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts_sent",
        sa.Column("alert_key", sa.String(length=200), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("seller", sa.String(length=100), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alert_key", "destination", name=op.f("pk_alerts_sent")),
    )
    op.create_index(
        op.f("ix_alerts_sent_destination_sent_at"),
        "alerts_sent",
        ["destination", "sent_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alerts_sent_destination_sent_at"), table_name="alerts_sent")
    op.drop_table("alerts_sent")
