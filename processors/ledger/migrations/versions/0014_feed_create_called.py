"""feeds.create_called_at: when createFeed was last called for a feed whose answer is not
recorded yet.

A lost createFeed answer is found again by asking Amazon for the unknown feed created
since the call. That answer is unambiguous only while one call per account is unresolved
(processors/batcher.py), and only a feed that was really sent to createFeed may be looked
up: this column records both.

An older ledger's uploaded feeds may have been sent to createFeed by a worker that died,
so they are marked as called at their upload time: the next batch looks each one up
before any other feed of its account is created.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite has it for a nullable column): batch mode would copy the
    # table and drop the old one, which the lines' foreign key to feeds refuses.
    op.add_column("feeds", sa.Column("create_called_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE feeds SET create_called_at = uploaded_at WHERE state = 'uploaded'")


def downgrade() -> None:
    # DROP COLUMN in place (SQLite 3.35+, PostgreSQL), not batch mode's copy: see upgrade.
    op.execute("ALTER TABLE feeds DROP COLUMN create_called_at")
