"""The overview's running totals (line_counts, status_days) and lines (seller, status,
status_changed_at).

Counting lines per status read every line's index entry on each view of the overview
(1.2 s at a million lines on PostgreSQL); processors/ledger/tally.py keeps the totals
as the lines change instead. Filled here from the lines and the events, so an existing
ledger starts with its true totals. The index finds each seller's oldest waiting line
in one index step.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "line_counts",
        sa.Column("id", big, nullable=False),
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_counts")),
    )
    op.create_table(
        "status_days",
        sa.Column("id", big, nullable=False),
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_days")),
    )
    op.create_index(
        "ix_lines_seller_status_status_changed_at",
        "lines",
        ["seller", "status", "status_changed_at"],
    )
    op.execute(
        "INSERT INTO line_counts (seller, status, n) "
        "SELECT seller, status, count(*) FROM lines GROUP BY seller, status"
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    day = "date(e.at)" if sqlite else "(e.at AT TIME ZONE 'UTC')::date"
    op.execute(
        "INSERT INTO status_days (seller, status, day, n) "
        f"SELECT l.seller, e.to_status, {day}, count(*) FROM events e "
        f"JOIN lines l ON l.id = e.line_id GROUP BY l.seller, e.to_status, {day}"
    )


def downgrade() -> None:
    op.drop_index("ix_lines_seller_status_status_changed_at", table_name="lines")
    op.drop_table("status_days")
    op.drop_table("line_counts")
