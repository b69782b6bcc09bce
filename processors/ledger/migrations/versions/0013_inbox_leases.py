"""inbox_leases and workers: several workers on one PostgreSQL ledger divide the sellers'
inboxes by leases that expire (processors/ledger/inboxleases.py).

Additive: an older ledger gets empty tables; the first worker started takes its leases.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_leases",
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seller", name=op.f("pk_inbox_leases")),
    )
    op.create_table(
        "workers",
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("alive_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_workers")),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("inbox_leases")
