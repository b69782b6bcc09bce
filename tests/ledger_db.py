"""Real databases for ledger tests: a temp SQLite file, or a fresh PostgreSQL schema.

Each PostgreSQL test gets its own schema in database ``test`` (via search_path in the
URL), dropped afterwards, so parallel runs and other helpers' runs never collide.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from feeds.model import LineError, Shipment
from processors.ledger.records import FileRecord
from processors.ledger.store import Ledger

PG_HOST = os.environ.get("SHIPFEED_TEST_PG_HOST", "127.0.0.1:5432")
PG_USERS = ("postgres", "root")
BACKENDS = ("sqlite", "postgresql")


@cache
def pg_base_url() -> str | None:
    """The first user that can connect to database ``test`` with trust auth, or None."""
    for user in PG_USERS:
        url = f"postgresql+psycopg://{user}@{PG_HOST}/test"
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return url
        except OperationalError:
            continue
        finally:
            engine.dispose()
    return None


def require_pg() -> str:
    url = pg_base_url()
    if url is None:
        msg = f"PostgreSQL not reachable at {PG_HOST} (database test, user postgres/root)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return url


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A URL whose search_path is a brand-new schema; the schema is dropped on exit."""
    base = require_pg()
    schema = f"ledger_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{base}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def ledger_db_url(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'ledger.sqlite3'}"
    else:
        with pg_schema_url() as url:
            yield url


# -- building test data ---------------------------------------------------------------

SHIP_DATE = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def ship(
    line: int,
    order_id: str = "111-0000001-0000001",
    item: str | None = None,
    tracking: str | None = "1Z999AA10123456784",
    **kw: Any,
) -> Shipment:
    return Shipment(
        line=line,
        order_id=order_id,
        ship_date=SHIP_DATE,
        order_item_id=item,
        tracking_number=tracking,
        carrier_code=kw.pop("carrier_code", "UPS"),
        **kw,
    )


def order(n: int) -> str:
    return f"111-{n:07d}-0000001"


def take_in(
    ledger: Ledger,
    shipments: list[Shipment],
    rejected: list[LineError] = (),  # type: ignore[assignment]
    *,
    name: str = "orders.csv",
    seller: str = "acme",
) -> FileRecord:
    """Record a file whose content hash is derived from its lines (distinct per call)."""
    digest = hashlib.sha256(repr((name, shipments, rejected)).encode()).hexdigest()
    lines_in_file = len(shipments) + len({e.line for e in rejected})
    rec = ledger.record_file(seller, name, digest, 100, lines_in_file, shipments, rejected)
    assert isinstance(rec, FileRecord)
    return rec


def queued_feed(ledger: Ledger, seller: str = "acme", limit: int = 1000) -> tuple[int, list[int]]:
    """Claim everything queued and prepare one feed, one message per line."""
    with ledger.claim_queued(seller, limit) as claim:
        ids = [ln.id for ln in claim.lines]
        feed_id = claim.prepare_feed(
            b"<AmazonEnvelope/>", {i + 1: [lid] for i, lid in enumerate(ids)}
        )
    return feed_id, ids


def sent_feed(ledger: Ledger, seller: str = "acme") -> tuple[int, list[int]]:
    """A feed taken all the way to created: its lines are submitted."""
    feed_id, ids = queued_feed(ledger, seller)
    ledger.feed_uploaded(feed_id, f"doc-{feed_id}")
    ledger.feed_created(feed_id, f"AMZ-{feed_id}")
    return feed_id, ids


def status_of(ledger: Ledger, line_id: int) -> str:
    return ledger.lines([line_id])[0].status
