"""SP-API calls counted in the ledger, so every process's /metrics shows every worker's.

Calls happen in the workers; the console may run apart (`run.py web`, or on another
machine sharing the PostgreSQL ledger) and would otherwise see none of them. Each
process adds its counts under its own name (processors/callcounter.py does, every few
seconds), one row per operation and outcome, and /metrics sums the rows. One writer per
row, so an add is one small upsert without contention.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from processors.ledger.engine import IMMEDIATE
from processors.ledger.schema import spapi_calls
from processors.ledger.store import Ledger

T = spapi_calls


def add(ledger: Ledger, process: str, counts: Mapping[tuple[str, str], int], now: datetime) -> None:
    """Add ``(operation, outcome) -> n`` to this process's rows, in one transaction."""
    rows = [
        {"process": process, "operation": op, "outcome": outcome, "count": n, "updated_at": now}
        for (op, outcome), n in sorted(counts.items())
        if n
    ]
    if not rows:
        return
    conn = ledger.engine.connect().execution_options(**{IMMEDIATE: True})
    with conn, conn.begin():
        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(T)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["process", "operation", "outcome"],
                set_={"count": T.c.count + stmt.excluded.count, "updated_at": now},
            ),
            rows,
        )


def totals(ledger: Ledger) -> dict[tuple[str, str], int]:
    """``(operation, outcome) -> calls`` summed over every process that recorded any."""
    q = select(T.c.operation, T.c.outcome, func.sum(T.c.count)).group_by(T.c.operation, T.c.outcome)
    with ledger.reading() as conn:
        return {(op, outcome): int(n) for op, outcome, n in conn.execute(q).all()}
