"""The migrated schema, connection settings and time handling, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from ledger_db import ship, take_in
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from processors.ledger.migrate import alembic_config
from processors.ledger.records import FileRecord
from processors.ledger.schema import metadata
from processors.ledger.store import Ledger


def test_migrated_schema_equals_the_metadata(ledger: Ledger) -> None:
    with ledger.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, metadata) == []


def test_opening_again_keeps_the_data(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as first:
        rec = take_in(first, [ship(2)])
    with Ledger.open(ledger_url) as second:
        assert second.file(rec.id).accepted == 1


def test_migration_is_at_head(ledger: Ledger) -> None:
    # One head: a revision chained on an older one would fork the history, and alembic
    # would refuse to upgrade to "head".
    (head,) = ScriptDirectory.from_config(alembic_config()).get_heads()
    with ledger.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_sqlite_uses_wal_foreign_keys_and_busy_timeout(ledger: Ledger) -> None:
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000


def test_times_come_back_aware_in_utc(ledger: Ledger) -> None:
    tokyo = timezone(timedelta(hours=9))
    got = ledger.record_file(
        "acme", "b.csv", "f" * 64, 1, 0, [], [], received_at=datetime(2026, 11, 21, 9, tzinfo=tokyo)
    )
    assert isinstance(got, FileRecord)
    assert ledger.file(got.id).received_at == datetime(2026, 11, 21, 0, tzinfo=UTC)
    assert ledger.file(got.id).received_at.utcoffset() == timedelta(0)


def test_naive_times_are_refused(ledger: Ledger) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        ledger.record_file(
            "acme", "n.csv", "e" * 64, 1, 0, [], [], received_at=datetime(2026, 1, 1)
        )


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_postgres_urls_without_driver_use_psycopg(ledger_url: str) -> None:
    plain = ledger_url.replace("postgresql+psycopg://", "postgresql://")
    with Ledger.open(plain) as lg, lg.engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert lg.engine.dialect.driver == "psycopg"
