"""Bring a ledger database to the newest schema, configured in code.

Alembic's Config is built here rather than read from alembic.ini so that an installed
shipfeed migrates its own database with nothing but a URL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

MIGRATIONS = Path(__file__).with_name("migrations")

# Any fixed number: several PostgreSQL workers starting together migrate one at a time.
_PG_MIGRATION_LOCK = 0x5348_4950_4645_4544 & 0x7FFF_FFFF_FFFF_FFFF


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_table", "alembic_version")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection) -> None:
    """Upgrade to head inside the caller's transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    command.upgrade(alembic_config(connection), "head")
