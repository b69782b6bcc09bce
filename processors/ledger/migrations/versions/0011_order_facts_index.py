"""The console reads the order mirror: orders (order_id, seller).

The queue looks up its page's orders by order id and seller, and the order page one
order by its id; the primary key (seller, marketplace_id, order_id) serves neither
without the marketplace, so each would read all of a seller's mirrored orders.

Additive: an index only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 16:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_order_id_seller", "orders", ["order_id", "seller"])


def downgrade() -> None:
    op.drop_index("ix_orders_order_id_seller", table_name="orders")
