"""Initial ledger schema: files, lines, rejected lines, feeds, events.

Times are plain timezone-aware DateTime here: the UTC handling is a Python-side
TypeDecorator, and migrations must not import the live schema module.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:26:27.679430
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("feed_document_id", sa.Text(), nullable=True),
        sa.Column("upload_url", sa.Text(), nullable=True),
        sa.Column("amazon_feed_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("poll_count", sa.Integer(), nullable=False),
        sa.Column("processing_status", sa.String(length=30), nullable=True),
        sa.Column("result_document_id", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
    )
    op.create_index(op.f("ix_feeds_state"), "feeds", ["state"], unique=False)

    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("result_report", sa.Text(), nullable=True),
        sa.Column("error_report", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("seller", "sha256", name=op.f("uq_files_seller_sha256")),
    )
    op.create_table(
        "lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=50), nullable=False),
        sa.Column("order_item_id", sa.String(length=50), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("ship_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("carrier_code", sa.String(length=100), nullable=True),
        sa.Column("carrier_name", sa.Text(), nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("ship_method", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("result_code", sa.String(length=20), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "duplicate_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], name=op.f("fk_lines_feed_id_feeds")),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_lines_file_id_files")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
    )
    op.create_index(op.f("ix_lines_feed_id"), "lines", ["feed_id"], unique=False)
    op.create_index(op.f("ix_lines_file_id_line_no"), "lines", ["file_id", "line_no"], unique=False)
    op.create_index(op.f("ix_lines_order_id"), "lines", ["order_id"], unique=False)
    op.create_index(
        op.f("ix_lines_seller_status_id"), "lines", ["seller", "status", "id"], unique=False
    )
    op.create_index(
        op.f("ix_lines_status_status_changed_at"),
        "lines",
        ["status", "status_changed_at"],
        unique=False,
    )

    op.create_table(
        "rejected_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_rejected_lines_file_id_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_lines")),
    )
    op.create_index(
        op.f("ix_rejected_lines_file_id_line_no"),
        "rejected_lines",
        ["file_id", "line_no"],
        unique=False,
    )

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"], name=op.f("fk_events_line_id_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_line_id_id"), "events", ["line_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_events_line_id_id"), table_name="events")

    op.drop_table("events")
    op.drop_index(op.f("ix_rejected_lines_file_id_line_no"), table_name="rejected_lines")

    op.drop_table("rejected_lines")
    op.drop_index(op.f("ix_lines_status_status_changed_at"), table_name="lines")
    op.drop_index(op.f("ix_lines_seller_status_id"), table_name="lines")
    op.drop_index(op.f("ix_lines_order_id"), table_name="lines")
    op.drop_index(op.f("ix_lines_file_id_line_no"), table_name="lines")
    op.drop_index(op.f("ix_lines_feed_id"), table_name="lines")

    op.drop_table("lines")
    op.drop_table("files")
    op.drop_index(op.f("ix_feeds_state"), table_name="feeds")

    op.drop_table("feeds")
