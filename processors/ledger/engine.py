"""Engines tuned per backend: SQLite safe for one writer, PostgreSQL for many workers.

SQLite: WAL (readers never block the writer), foreign keys on (off by default there),
a generous busy_timeout (a big file's intake holds the write lock for seconds), and write
transactions opened with BEGIN IMMEDIATE so two writers queue up at BEGIN instead of
failing half-way with "database is locked".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 60_000
IMMEDIATE = "shipfeed_immediate"  # execution option: begin this transaction IMMEDIATE
#: SQLite page cache per connection, in KiB. Each pooled connection keeps its own, so
#: it is paid several times over once a million-line ledger has warmed them all; the
#: batcher and tracker read lines in id order and do well with 16 MB.
CACHE_KIB = 16 * 1024
#: The page cache of a file's intake connection while it runs (FileIntake): the default
#: 2 MB thrashes once a million-line file's indexes outgrow it, halving intake speed.
#: Measured at 1M lines: 24, 64 and 160 MB take in as fast as each other, each MB costs
#: RSS; 32 MB leaves room for a ledger that grew. Set back to CACHE_KIB when it ends.
INTAKE_CACHE_KIB = 32 * 1024


def normalise_url(url: str) -> str:
    """Plain postgresql:// URLs use psycopg 3, the driver shipfeed installs."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=FULL")  # a committed transition survives power loss
        cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
