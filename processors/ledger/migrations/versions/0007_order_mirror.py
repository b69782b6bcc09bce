"""The order mirror: orders, order_items, orders_not_found and order_sync (issue 11).

Additive: an older ledger gets empty tables; the first mirror pass fills them from
getOrders (LastUpdatedAfter) and the ids the queued lines name.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.String(length=50), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "orders",
        *_key(),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("purchase_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latest_ship_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ship_service_level", sa.Text(), nullable=True),
        sa.Column("total_amount", sa.String(length=30), nullable=True),
        sa.Column("total_currency", sa.String(length=3), nullable=True),
        sa.Column("units_shipped", sa.Integer(), nullable=True),
        sa.Column("units_unshipped", sa.Integer(), nullable=True),
        sa.Column("last_update_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mirrored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items_as_of", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seller", "marketplace_id", "order_id", name=op.f("pk_orders")),
    )
    op.create_index(
        op.f("ix_orders_seller_status_latest_ship_date"),
        "orders",
        ["seller", "status", "latest_ship_date"],
        unique=False,
    )
    op.create_table(
        "order_items",
        *_key(),
        sa.Column("order_item_id", sa.String(length=50), nullable=False),
        sa.Column("sku", sa.Text(), nullable=True),
        sa.Column("quantity_ordered", sa.Integer(), nullable=False),
        sa.Column("quantity_shipped", sa.Integer(), nullable=False),
        sa.Column("price_amount", sa.String(length=30), nullable=True),
        sa.Column("price_currency", sa.String(length=3), nullable=True),
        sa.PrimaryKeyConstraint(
            "seller", "marketplace_id", "order_id", "order_item_id", name=op.f("pk_order_items")
        ),
    )
    op.create_table(
        "orders_not_found",
        *_key(),
        sa.Column("looked_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "seller", "marketplace_id", "order_id", name=op.f("pk_orders_not_found")
        ),
    )
    op.create_table(
        "order_sync",
        sa.Column("seller", sa.String(length=100), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("synced_through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_token", sa.Text(), nullable=True),
        sa.Column("paging_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paging_max_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seller", "marketplace_id", name=op.f("pk_order_sync")),
    )


def downgrade() -> None:
    op.drop_table("order_sync")
    op.drop_table("orders_not_found")
    op.drop_table("order_items")
    op.drop_index(op.f("ix_orders_seller_status_latest_ship_date"), table_name="orders")
    op.drop_table("orders")
