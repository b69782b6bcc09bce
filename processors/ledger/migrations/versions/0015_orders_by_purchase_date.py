"""orders (seller, marketplace_id, purchase_date): the mirror reads item prices for the
console newest order first (processors.ledger.orderfacts.unpriced_orders), a walk down
this index that stops after a few orders instead of sorting all of a seller's orders.

Additive: an index only.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_orders_seller_marketplace_id_purchase_date"


def upgrade() -> None:
    op.create_index(NAME, "orders", ["seller", "marketplace_id", "purchase_date"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="orders")
