"""uploads_not_taken: byte-identical re-uploads and files refused for their name, which
the files table cannot hold, so the console lists them and alerts tell of refused names.

Additive: an older ledger gets an empty table; uploads before it stay unrecorded (their
intake reports in the outbox still say what happened).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 16:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uploads_not_taken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("upload_key", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("intake_report", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["files.id"], name=op.f("fk_uploads_not_taken_duplicate_of_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads_not_taken")),
        sa.UniqueConstraint(
            "seller", "upload_key", name=op.f("uq_uploads_not_taken_seller_upload_key")
        ),
    )
    op.create_index(
        op.f("ix_uploads_not_taken_duplicate_of"), "uploads_not_taken", ["duplicate_of"]
    )
    op.create_index(op.f("ix_uploads_not_taken_received_at"), "uploads_not_taken", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_uploads_not_taken_received_at"), table_name="uploads_not_taken")
    op.drop_index(op.f("ix_uploads_not_taken_duplicate_of"), table_name="uploads_not_taken")
    op.drop_table("uploads_not_taken")
