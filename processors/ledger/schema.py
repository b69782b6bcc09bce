"""The ledger's tables, as SQLAlchemy Core metadata shared by the store and the migrations.

Core (not the ORM) because intake inserts up to a million rows per file with executemany
and every transition is a set-based UPDATE; there is no object graph worth mapping.
Times are stored in UTC and always come back timezone-aware (see UTCDateTime).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# BIGINT ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the autoincrementing rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on both backends.

    SQLite has no time zone type, so values are stored as naive UTC there; refusing naive
    input stops a local wall-clock time from being mistaken for UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the ledger stores aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(name: str, nullable: bool = False) -> Column[Any]:
    return Column(name, UTCDateTime(), nullable=nullable)


files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seller", String(100), nullable=False),
    Column("name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    _ts("received_at"),
    Column("lines", Integer, nullable=False, default=0),
    Column("accepted", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("conflicts", Integer, nullable=False, default=0),
    Column("status", String(20), nullable=False),
    Column("result_report", Text),
    Column("error_report", Text),
    _ts("reported_at", nullable=True),
    # Its name in processing/ and then archive/YYYY/MM/DD (ingest.names.make_claim_name):
    # the result report opens the archived file again to mirror the seller's own rows.
    # NULL for files taken in before it was recorded, or not through an inbox.
    Column("claim_name", Text),
    # The same content from the same seller is the same file, even under another name.
    UniqueConstraint("seller", "sha256"),
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seller", String(100), nullable=False),
    Column("state", String(20), nullable=False),
    # The exact bytes built once: a resumed upload sends the same document, never a rebuild.
    Column("content", LargeBinary, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("messages", Integer, nullable=False),
    Column("feed_document_id", Text),
    # Pre-signed and short-lived, but kept so an upload cut off mid-way can be retried
    # while it is still valid; it grants only a PUT of this one document.
    Column("upload_url", Text),
    Column("amazon_feed_id", String(100)),
    _ts("created_at"),
    _ts("uploaded_at", nullable=True),
    # createFeed was called at this time and its answer is not recorded yet: the feed may
    # exist on Amazon (processors/batcher.py, "one unresolved createFeed per account").
    _ts("create_called_at", nullable=True),
    _ts("submitted_at", nullable=True),
    _ts("last_polled_at", nullable=True),
    Column("poll_count", Integer, nullable=False, default=0),
    Column("processing_status", String(30)),
    Column("result_document_id", Text),
    Column("summary", JSON),
    # Why it ended (fatal/cancelled); on a created feed, why it waits: "still with Amazon"
    # flags one past the stuck setting (polled on, never resent; processors.ledger.tracking).
    Column("reason", Text),
    _ts("finished_at", nullable=True),
    _ts("updated_at"),
    Index(None, "state"),
)

lines = Table(
    "lines",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("file_id", ForeignKey("files.id"), nullable=False),
    Column("seller", String(100), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("order_id", String(50), nullable=False),
    Column("order_item_id", String(50)),
    Column("quantity", Integer),
    _ts("ship_date"),
    Column("carrier_code", String(100)),
    Column("carrier_name", Text),
    Column("tracking_number", String(100)),
    Column("ship_method", Text),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("feed_id", ForeignKey("feeds.id")),
    Column("message_id", Integer),
    Column("result_code", String(20)),
    Column("message", Text),
    Column("duplicate_of", BigId),
    _ts("status_changed_at"),
    _ts("updated_at"),
    Index(None, "seller", "status", "id"),
    Index(None, "order_id"),
    Index(None, "file_id", "line_no"),
    Index(None, "feed_id"),
    Index(None, "status", "status_changed_at"),
    Index(None, "status", "id"),  # the console's queue, one status, newest first
    Index(None, "tracking_number"),  # the console's search by tracking number
    Index(None, "seller", "status", "status_changed_at"),  # overview: oldest waiting
)

rejected_lines = Table(
    "rejected_lines",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("file_id", ForeignKey("files.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("column_name", Text),
    Column("value", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Index(None, "file_id", "line_no"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("line_id", ForeignKey("lines.id"), nullable=False),
    _ts("at"),
    Column("from_status", String(20), nullable=False),
    Column("to_status", String(20), nullable=False),
    Column("feed_id", Integer),
    Column("message", Text),
    # Who asked for the change: a console account; NULL for the service and the CLI.
    Column("actor", String(100)),
    Index(None, "line_id", "id"),
    Index(None, "to_status", "at"),  # the console's 30-day chart
)

# Which Amazon each seller's lines are confirmed with (processors/ledger/identity.py),
# written by the first service start and never changed after: a line's seller row tells
# for good whether its confirmation was real or simulated.
amazon_identity = Table(
    "amazon_identity",
    metadata,
    Column("seller", String(100), primary_key=True),
    Column("simulated", Boolean, nullable=False),
    Column("region", String(10)),  # NULL for the simulator
    Column("endpoint", Text, nullable=False),
    Column("merchant_id", String(100), nullable=False),
    _ts("recorded_at"),
)

# How each part of the service is doing (processors/ledger/health.py): one row per
# component ("amazon_login", "step:batch", ...), so `status` can say "Amazon login
# refused since ..." and show the last step error from any process on the ledger.
health = Table(
    "health",
    metadata,
    Column("component", String(100), primary_key=True),
    Column("state", String(20), nullable=False),
    _ts("since"),
    Column("last_error", Text),
    _ts("last_error_at", nullable=True),
    _ts("updated_at"),
)

# Rate-limit buckets shared by every worker (processors/ledger/ratelimits.py): Amazon's
# usage plans are per selling-partner account and operation, so N workers must spend one
# budget between them, not N. ``tokens`` may be negative: a debt that callers sleep off.
# ``stamp`` is the database clock (epoch seconds) of the last refill: one clock for all.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("account", String(120), primary_key=True),
    Column("operation", String(60), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("stamp", Float, nullable=False),
    Column("rate", Float, nullable=False),
    Column("burst", Integer, nullable=False),
)

# Which alert went to which destination (processors/ledger/alertlog.py): an alert is
# derived from the ledger again on every pass, and only a row here stops a second sending,
# across restarts and across workers. ``destination`` is a hash of the apprise URL (never
# the URL: it holds tokens), so adding a destination later sends it what is still current.
alerts_sent = Table(
    "alerts_sent",
    metadata,
    Column("alert_key", String(200), primary_key=True),
    Column("destination", String(64), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("seller", String(100)),
    _ts("sent_at"),
    Index(None, "destination", "sent_at"),
)

# Amazon's orders as shipfeed last saw them (processors/ledger/orders.py), per seller and
# marketplace, kept up to date by processors/mirror.py. The checks before sending read
# these rows instead of asking Amazon per order, and reconciliation lists from them the
# orders Amazon is still waiting for. No buyer data: nothing here needs an RDT.
orders = Table(
    "orders",
    metadata,
    Column("seller", String(100), primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    Column("order_id", String(50), primary_key=True),
    Column("status", String(30), nullable=False),
    _ts("purchase_date", nullable=True),
    _ts("latest_ship_date", nullable=True),
    Column("ship_service_level", Text),
    # Money as Amazon writes it (a decimal string), so no float ever rounds a price.
    Column("total_amount", String(30)),
    Column("total_currency", String(3)),
    # NumberOfItemsShipped / Unshipped: units, for "partially shipped, N units left".
    Column("units_shipped", Integer),
    Column("units_unshipped", Integer),
    _ts("last_update_date"),  # Amazon's LastUpdateDate
    _ts("mirrored_at"),  # when shipfeed last wrote the row
    # The LastUpdateDate the order had when its items were read: they are current while
    # it still has that date (Amazon's clock, never compared with ours). NULL: not read.
    _ts("items_as_of", nullable=True),
    Index(None, "seller", "status", "latest_ship_date"),
    Index(None, "order_id", "seller"),  # the console: a page's orders, one order's page
    # The mirror reads item prices for the newest orders first (orderfacts.unpriced_orders).
    Index(None, "seller", "marketplace_id", "purchase_date"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("seller", String(100), primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    Column("order_id", String(50), primary_key=True),
    Column("order_item_id", String(50), primary_key=True),
    Column("sku", Text),
    Column("quantity_ordered", Integer, nullable=False),
    Column("quantity_shipped", Integer, nullable=False),
    Column("price_amount", String(30)),
    Column("price_currency", String(3)),
)

# Orders a file named that Amazon did not answer for this seller (getOrders by id).
orders_not_found = Table(
    "orders_not_found",
    metadata,
    Column("seller", String(100), primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    Column("order_id", String(50), primary_key=True),
    _ts("looked_up_at"),
)

# Where the incremental getOrders (LastUpdatedAfter) stands per seller and marketplace.
# A paging cut short by the rate limit keeps its NextToken and goes on at the next pass.
order_sync = Table(
    "order_sync",
    metadata,
    Column("seller", String(100), primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    _ts("synced_through", nullable=True),  # next LastUpdatedAfter
    Column("next_token", Text),  # paging under way
    _ts("paging_after", nullable=True),  # its LastUpdatedAfter
    _ts("paging_max_seen", nullable=True),  # the newest LastUpdateDate it met so far
    _ts("synced_at", nullable=True),
)

# Uploads that did not become a file of their own (processors/ledger/uploads.py): a copy
# of content already received (kind "duplicate", naming the file it repeats) and a file
# whose name the service refuses (kind "refused_name", quarantined under a stand-in name).
# The files table cannot hold them: its rows are one per content, and a refused file is
# never read. ``upload_key`` names the one upload (its claim name, or the API POST's
# name), so a step repeated after a crash records it once.
uploads_not_taken = Table(
    "uploads_not_taken",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seller", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", Text, nullable=False),
    Column("upload_key", String(300), nullable=False),
    _ts("received_at"),
    Column("duplicate_of", ForeignKey("files.id")),
    Column("reason", Text, nullable=False),
    Column("intake_report", Text),  # its NAME....intake.csv in the seller's outbox
    UniqueConstraint("seller", "upload_key"),
    Index(None, "duplicate_of"),
    Index(None, "received_at"),
)

# SP-API requests per process, operation and outcome (processors/ledger/callcounts.py):
# each worker adds what it sent every few seconds, so /metrics, served by any process,
# sums every worker's calls, on one machine or several. A row per process start keeps
# the sums growing across restarts, as a Prometheus counter must.
spapi_calls = Table(
    "spapi_calls",
    metadata,
    Column("process", String(200), primary_key=True),
    Column("operation", String(100), primary_key=True),
    Column("outcome", String(20), primary_key=True),
    Column("count", BigInteger, nullable=False),
    _ts("updated_at"),
)

# Running totals for the console's overview (processors/ledger/tally.py): deltas only
# ever inserted, by the statements that create lines or change their status, and summed
# (and now and then folded) by the reader. line_counts: lines now in each status;
# status_days: lines that reached a status, per UTC day.
line_counts = Table(
    "line_counts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("seller", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("n", BigInteger, nullable=False),
)

status_days = Table(
    "status_days",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("seller", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("day", Date, nullable=False),
    Column("n", BigInteger, nullable=False),
)

# Several workers on one PostgreSQL ledger divide the sellers' inboxes
# (processors/ledger/inboxleases.py): who polls which seller's inbox, until when, and
# which workers are alive, so each can take its share.
inbox_leases = Table(
    "inbox_leases",
    metadata,
    Column("seller", String(100), primary_key=True),
    Column("holder", String(100)),  # None: free
    _ts("expires_at", nullable=True),
)

workers = Table(
    "workers",
    metadata,
    Column("worker", String(100), primary_key=True),
    _ts("alive_until"),
)
