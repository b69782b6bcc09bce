"""Intake of one input file in one transaction, fed in chunks.

A million-line file must not need a million Shipments in memory, and must still land
all-or-nothing: the caller streams chunks into one open transaction and either finishes
(commit) or aborts (rollback). Every input line ends as exactly one of: a queued line, a
duplicate, a conflict (all three rows in ``lines``) or a rejected line (``rejected_lines``),
and finish_file refuses to commit a file whose count does not add up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from types import TracebackType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RootTransaction,
    Select,
    String,
    any_,
    bindparam,
    column,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from feeds.model import LineError, Shipment
from processors.ledger.engine import CACHE_KIB, INTAKE_CACHE_KIB
from processors.ledger.errors import LedgerError, UnaccountedLines
from processors.ledger.records import FileRecord
from processors.ledger.schema import files, lines, rejected_lines
from processors.ledger.statuses import BLOCKING, FileStatus, LineStatus

CHUNK = 5_000  # lines per duplicate lookup and per executemany
_BLOCKING = [s.value for s in BLOCKING]

Key = tuple[str, str | None]

_COLS = (
    "file_id",
    "seller",
    "line_no",
    "order_id",
    "order_item_id",
    "quantity",
    "ship_date",
    "carrier_code",
    "carrier_name",
    "tracking_number",
    "ship_method",
    "attempts",
    "status",
    "feed_id",
    "message",
    "duplicate_of",
    "status_changed_at",
    "updated_at",
)


def _one_of(conn: Connection, col: ColumnElement[str], values: list[str]) -> ColumnElement[bool]:
    """``col IN values`` as ONE bound parameter (an array, a JSON list): rendering and
    compiling thousands of parameters per chunk cost more than the lookup itself."""
    if conn.dialect.name == "postgresql":
        return col == any_(bindparam("ids", values, type_=ARRAY(String)))
    listed: Select[Any] = select(column("value")).select_from(
        func.json_each(bindparam("ids", json.dumps(values)))
    )
    return col.in_(listed.scalar_subquery())


class _SqliteTimes:
    """UTC datetimes as SQLAlchemy's SQLite DATETIME text, so that comparisons made later
    through SQLAlchemy (which formats its parameters the same way) sort correctly.
    Ship dates repeat a lot within a file, hence the cache."""

    def __init__(self) -> None:
        self._seen: dict[datetime, str] = {}

    def __call__(self, value: datetime) -> str:
        text = self._seen.get(value)
        if text is None:
            u = value.astimezone(UTC)
            text = f"{u:%Y-%m-%d %H:%M:%S}.{u.microsecond:06d}"
            self._seen[value] = text
        return text


class FileIntake:
    """An open intake: add_lines() any number of times, then finish_file() or abort()."""

    def __init__(
        self, conn: Connection, tx: RootTransaction, file_row: dict[str, Any], now: datetime
    ) -> None:
        self._conn = conn
        self._tx = tx
        self._file = file_row
        self._now = now
        self._accepted = 0
        self._duplicates = 0
        self._conflicts = 0
        self._rejected_lines: set[int] = set()
        self._open = True
        self._sqlite = conn.dialect.name == "sqlite"
        self._times = _SqliteTimes()  # one cache for the file: its dates repeat throughout
        if self._sqlite:
            conn.exec_driver_sql(f"PRAGMA cache_size=-{INTAKE_CACHE_KIB}")

    @property
    def file_id(self) -> int:
        return int(self._file["id"])

    # -- adding -----------------------------------------------------------------------

    def add_lines(
        self, shipments: Iterable[Shipment] = (), rejected: Iterable[LineError] = ()
    ) -> None:
        """Record a chunk of validated lines and rejected lines, in the open transaction."""
        self._check_open()
        it: Iterator[Shipment] = iter(shipments)
        while chunk := list(islice(it, CHUNK)):
            self._add_chunk(chunk)
        rows: list[dict[str, Any]] = [
            {
                "file_id": self.file_id,
                "line_no": e.line,
                "column_name": e.column,
                "value": e.value,
                "reason": e.reason,
            }
            for e in rejected
        ]
        for i in range(0, len(rows), CHUNK):
            part = rows[i : i + CHUNK]
            self._conn.execute(insert(rejected_lines), part)
            self._rejected_lines.update(r["line_no"] for r in part)

    def _earlier(self, order_ids: list[str]) -> dict[Key, list[dict[str, Any]]]:
        """Lines of this seller for these orders that are queued, sent or confirmed.

        Runs inside the intake transaction, so it also sees earlier chunks of this file.
        Only order_id is in the WHERE clause, on purpose: given seller and status too, the
        planners pick the (seller, status) index, and each chunk then scans every queued
        line of the seller (quadratic in the file size). Seller and status are filtered here.
        """
        found: dict[Key, list[dict[str, Any]]] = {}
        q = (
            select(
                lines.c.id,
                lines.c.seller,
                lines.c.order_id,
                lines.c.order_item_id,
                lines.c.tracking_number,
                lines.c.status,
                lines.c.line_no,
                files.c.name,
            )
            .join(files, files.c.id == lines.c.file_id)
            .where(_one_of(self._conn, lines.c.order_id, order_ids))
            .order_by(lines.c.id)
        )
        seller = self._file["seller"]
        for r in self._conn.execute(q).mappings():
            if r["seller"] == seller and r["status"] in _BLOCKING:
                found.setdefault((r["order_id"], r["order_item_id"]), []).append(dict(r))
        return found

    def _add_chunk(self, chunk: list[Shipment]) -> None:
        seller, file_id, now = self._file["seller"], self.file_id, self._now
        earlier = self._earlier(sorted({s.order_id for s in chunk}))
        first: list[list[Any]] = []  # rows whose fate needs no id from this chunk
        # Repeats of a line earlier in this same chunk: inserted after it, to point at its id.
        later: list[tuple[list[Any], int]] = []
        in_chunk: dict[Key, list[tuple[str | None, int]]] = {}
        queued, dup, conflict = (
            LineStatus.IN_QUEUE.value,
            LineStatus.DUPLICATE.value,
            LineStatus.CONFLICT.value,
        )
        for s in chunk:
            # Column order: _COLS. Status, message and duplicate_of are at 12, 14, 15.
            row: list[Any] = [
                file_id,
                seller,
                s.line,
                s.order_id,
                s.order_item_id,
                s.quantity,
                s.ship_date,
                s.carrier_code,
                s.carrier_name,
                s.tracking_number,
                s.ship_method,
                0,
                queued,
                None,
                None,
                None,
                now,
                now,
            ]
            key = (s.order_id, s.order_item_id)
            if key not in earlier and key not in in_chunk:  # the common case: a new line
                in_chunk[key] = [(s.tracking_number, s.line)]
                self._accepted += 1
                first.append(row)
                continue
            prior = earlier.get(key, ())
            same = [p for p in prior if p["tracking_number"] == s.tracking_number]
            confirmed = [p for p in prior if p["status"] == LineStatus.CONFIRMED]
            same_here = [ln for t, ln in in_chunk.get(key, ()) if t == s.tracking_number]
            if same:
                # Prefer pointing at a confirmed line: that is what the seller needs to know.
                p = next((p for p in same if p["status"] == LineStatus.CONFIRMED), same[0])
                row[12], row[15] = dup, p["id"]
                row[14] = (
                    f"duplicate of line {p['line_no']} of {p['name']}, already {p['status']}"
                    "; not sent again"
                )
                self._duplicates += 1
            elif confirmed:
                p = confirmed[-1]
                row[12], row[15] = conflict, p["id"]
                row[14] = (
                    f"already confirmed with tracking {p['tracking_number'] or '(none)'} "
                    f"(line {p['line_no']} of {p['name']}); not sent unless an operator "
                    "forces it"
                )
                self._conflicts += 1
            elif same_here:
                row[12] = dup
                row[14] = (
                    f"duplicate of line {same_here[0]} of {self._file['name']}, already "
                    "in_queue; not sent again"
                )
                later.append((row, same_here[0]))
                self._duplicates += 1
                continue
            else:
                in_chunk.setdefault(key, []).append((s.tracking_number, s.line))
                self._accepted += 1
            first.append(row)
        self._insert_lines(first)
        if later:
            # Status is filtered here, not in SQL: given it, the planners pick the
            # (status, ...) index and scan every queued line, once per chunk (as _earlier).
            found = self._conn.execute(
                select(lines.c.line_no, lines.c.id, lines.c.status).where(
                    lines.c.file_id == file_id,
                    lines.c.line_no.in_(sorted({ln for _, ln in later})),
                )
            )
            ids = {ln: i for ln, i, status in found if status == queued}
            for row, ln in later:
                row[15] = ids[ln]
            self._insert_lines([r for r, _ in later])

    def _insert_lines(self, rows: list[list[Any]]) -> None:
        """Bulk insert below SQLAlchemy's per-value processing, which costs more than the
        database itself at a million rows: COPY on PostgreSQL, executemany on SQLite."""
        if not rows:
            return
        cols = ", ".join(_COLS)
        if self._conn.dialect.name == "postgresql":
            raw = self._conn.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cur, cur.copy(f"COPY lines ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            return
        # Straight to the sqlite3 cursor (the same connection, so the same transaction):
        # it takes the row lists as they are, where SQLAlchemy wants each one as a tuple.
        ts = self._times
        for r in rows:
            r[6], r[16], r[17] = ts(r[6]), ts(r[16]), ts(r[17])
        marks = ", ".join("?" * len(_COLS))
        raw = self._conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            cur.executemany(f"INSERT INTO lines ({cols}) VALUES ({marks})", rows)
        finally:
            cur.close()

    # -- ending -----------------------------------------------------------------------

    def finish_file(self, lines_in_file: int | None = None) -> FileRecord:
        """Commit the file. ``lines_in_file``: the data rows the reader produced; when
        given, every one of them must have been recorded, or nothing is."""
        self._check_open()
        recorded = self._accepted + self._duplicates + self._conflicts
        counted = recorded + len(self._rejected_lines)
        if lines_in_file is not None and counted != lines_in_file:
            self.abort()
            raise UnaccountedLines(
                f"{self._file['name']}: {lines_in_file} lines read but {counted} recorded "
                f"({recorded} shipments, {len(self._rejected_lines)} rejected); nothing was "
                "recorded so that no line is lost",
                hint="this is a bug in shipfeed; keep the file and report it",
            )
        values = {
            "lines": counted if lines_in_file is None else lines_in_file,
            "accepted": self._accepted,
            "rejected": len(self._rejected_lines),
            "duplicates": self._duplicates,
            "conflicts": self._conflicts,
            "status": FileStatus.QUEUED.value,
        }
        self._conn.execute(update(files).where(files.c.id == self.file_id).values(**values))
        self._file.update(values)
        self._tx.commit()
        self._close()
        return FileRecord.from_mapping(self._file)

    def abort(self) -> None:
        """Forget everything added: the file was not taken in."""
        if self._open:
            self._tx.rollback()
            self._close()

    def _close(self) -> None:
        self._open = False
        try:
            if self._sqlite:  # back to the pool with the ordinary cache (frees the rest)
                self._conn.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")
        finally:
            self._conn.close()

    def _check_open(self) -> None:
        if not self._open:
            raise LedgerError(f"intake of {self._file['name']} is already finished or aborted")

    def __enter__(self) -> FileIntake:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()  # finish_file() already committed when it was called
