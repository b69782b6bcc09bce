"""What every part of the ledger shares: the engine, the clock, transactions, row locks,
reading lines by id, and handing status changes to processors.ledger.moves.

The Ledger (processors.ledger.store) is one facade made of parts, one per thing held
(files, the queue, feeds, order checks, operator actions); each part builds on this base
so that a step in one part and the modules beside the store (tracking, corrections, ...)
use the same transactions and the same single way of changing a status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, Result, Select, select

from processors.ledger.engine import IMMEDIATE
from processors.ledger.errors import UnknownRecord
from processors.ledger.idlists import ids_in
from processors.ledger.moves import ID_CHUNK, Move, apply_moves, requeue
from processors.ledger.records import LineRow
from processors.ledger.schema import lines


def utcnow() -> datetime:
    return datetime.now(UTC)


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key (``id``) of the row an INSERT just wrote."""
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk.id)


def as_dicts(result: Result[Any]) -> list[dict[str, Any]]:
    """Rows as plain dicts, zipped with the column names from plain tuples: half the time
    of ``dict(row)`` over ``.mappings()``, which matters at a feed's 30,000 lines."""
    keys = list(result.keys())
    return [dict(zip(keys, r, strict=True)) for r in result]


class LedgerBase:
    """The shared core of the Ledger's parts."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_resends: int = 3,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.max_resends = max_resends
        self.clock = clock

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    # -- transactions -----------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on PostgreSQL; WAL on SQLite)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        conn = self.engine.connect().execution_options(**{IMMEDIATE: True})
        with conn, conn.begin():
            yield conn

    def _lock(self, q: Select[Any]) -> Select[Any]:
        """Row locks for a read-then-write; SQLite's IMMEDIATE transaction already is one."""
        return q if self.is_sqlite else q.with_for_update()

    # -- lines and their status -------------------------------------------------------

    def _lines_by_id(
        self,
        conn: Connection,
        ids: Iterable[int],
        *,
        lock: bool = True,
        columns: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """``columns``: only these (and id), where the caller needs no more: converting
        every column of 30,000 rows (three datetimes each) costs more than reading them."""
        wanted = sorted(set(ids))
        out: list[dict[str, Any]] = []
        cols = [lines.c.id, *(lines.c[c] for c in columns if c != "id")] if columns else [lines]
        for i in range(0, len(wanted), ID_CHUNK):
            part = wanted[i : i + ID_CHUNK]
            q = select(*cols).where(ids_in(conn, lines.c.id, part)).order_by(lines.c.id)
            out.extend(as_dicts(conn.execute(self._lock(q) if lock else q)))
        missing = set(wanted) - {r["id"] for r in out}
        if missing:
            raise UnknownRecord("order line", sorted(missing))
        return out

    def lines(self, line_ids: Iterable[int]) -> list[LineRow]:
        with self.reading() as conn:
            return [LineRow.from_mapping(r) for r in self._lines_by_id(conn, line_ids, lock=False)]

    def _move(self, conn: Connection, moves: Sequence[Move]) -> None:
        """Apply status changes and write their events, in the caller's transaction
        (processors.ledger.moves: the only place a line's status changes)."""
        if moves:
            apply_moves(conn, moves, self.clock())

    def _requeue(
        self,
        r: Mapping[str, Any],
        why: str,
        feed_id: int | None,
        *,
        force: bool = False,
        actor: str | None = None,
    ) -> Move:
        """Back to the queue with one more attempt, or needs_attention past the limit."""
        return requeue(r, why, feed_id, max_resends=self.max_resends, force=force, actor=actor)
