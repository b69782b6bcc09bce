"""Real databases for ledger tests: a temp SQLite file, or a fresh PostgreSQL schema.

Each PostgreSQL test gets its own schema in database ``test`` (via search_path in the
URL), dropped afterwards, so parallel runs and other helpers' runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

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
