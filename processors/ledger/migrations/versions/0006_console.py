"""The console: who made each change (events.actor), and indexes its queue pages use.

events.actor is the console account (or NULL: the service or the command line) that
asked for a resend, cancel or correction. lines (status, id) pages one status newest
first; lines (tracking_number) answers a search by tracking number without a scan;
events (to_status, at) gives the overview's 30-day chart without reading all history.

Additive: older events keep NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 14:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("actor", sa.String(length=100), nullable=True))
    op.create_index("ix_lines_status_id", "lines", ["status", "id"])
    op.create_index("ix_lines_tracking_number", "lines", ["tracking_number"])
    op.create_index("ix_events_to_status_at", "events", ["to_status", "at"])


def downgrade() -> None:
    op.drop_index("ix_events_to_status_at", table_name="events")
    op.drop_index("ix_lines_tracking_number", table_name="lines")
    op.drop_index("ix_lines_status_id", table_name="lines")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("actor")
