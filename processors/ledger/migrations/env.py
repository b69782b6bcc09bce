"""Alembic environment for the ledger, driven from code (Ledger.open), never from a CLI.

The caller passes an open connection in ``config.attributes["connection"]``, so the
migration runs inside the caller's transaction (and, on PostgreSQL, under its advisory
lock), and no alembic.ini or database URL is needed at run time.
"""

from __future__ import annotations

from alembic import context

from processors.ledger.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the ledger migrations run through Ledger.open(url) or processors.ledger.migrate, "
        "which pass a connection; they are not meant for the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
