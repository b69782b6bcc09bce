"""Intake of one input file in one transaction, fed in chunks.

A million-line file must not need a million Shipments in memory, and must still land
all-or-nothing: the caller streams chunks into one open transaction and either finishes
(commit) or aborts (rollback). Every input line ends as exactly one of: a queued line, a
duplicate, a conflict (all three rows in ``lines``) or a rejected line (``rejected_lines``),
and finish_file refuses to commit a file whose count does not add up.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import compress, islice, repeat
from operator import itemgetter
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
from feeds.packages import Row, row_of
from processors.ledger import tally
from processors.ledger.engine import CACHE_KIB, INTAKE_CACHE_KIB
from processors.ledger.errors import LedgerError, UnaccountedLines
from processors.ledger.records import FileRecord
from processors.ledger.schema import files, lines, rejected_lines
from processors.ledger.statuses import BLOCKING, FileStatus, LineStatus

CHUNK = 5_000  # lines per duplicate lookup and per executemany
#: Bulk inserts below SQLAlchemy (COPY, the sqlite3 cursor) with times preformatted; off,
#: lines go in through SQLAlchemy's insert() with its own type handling: the reference the
#: bulk path is held equal to (tests/test_ledger_intake_bulk.py).
FAST_INSERT = True
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
# Where a built row (in _COLS order) holds what the duplicate/conflict verdicts change.
_ORDER_ID, _STATUS, _MESSAGE, _DUPLICATE_OF = map(
    _COLS.index, ("order_id", "status", "message", "duplicate_of")
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


class _SqliteTimes(dict[datetime, str]):
    """UTC datetimes as SQLAlchemy's SQLite DATETIME text, so that comparisons made later
    through SQLAlchemy (which formats its parameters the same way) sort correctly.
    Ship dates repeat a lot within a file, hence the cache; a dict with __missing__ so
    that a column of dates maps through it in C (``map(times.__getitem__, dates)``)."""

    def __missing__(self, value: datetime) -> str:
        u = value.astimezone(UTC)
        text = self[value] = f"{u:%Y-%m-%d %H:%M:%S}.{u.microsecond:06d}"
        return text


class _PgTimes(dict[datetime, Any]):
    """PostgreSQL's _SqliteTimes: an aware datetime as ISO text with its offset, which
    COPY parses to the very same instant. psycopg's own datetime dumper cost 7x the rest of
    a row's COPY (107 against 14 ms of CPU per 10,000 rows). A naive datetime is passed as
    it is, for psycopg to send as it always did."""

    def __missing__(self, value: datetime) -> Any:
        text = self[value] = value if value.tzinfo is None else value.isoformat()
        return text


class _Same(dict[datetime, datetime]):
    """The plain path's times: the datetimes themselves, for SQLAlchemy to convert."""

    def __missing__(self, value: datetime) -> datetime:
        return value


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
        self._fast = FAST_INSERT
        # One cache for the file: its dates repeat throughout.
        self._times: dict[datetime, Any] = (
            _Same() if not self._fast else _SqliteTimes() if self._sqlite else _PgTimes()
        )
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
            self._add_chunk([s.line for s in chunk], list(map(row_of, chunk)))
        self._add_rejected(rejected)

    def add_rows(
        self, line_nos: Sequence[int], rows: Sequence[Row], rejected: Iterable[LineError] = ()
    ) -> None:
        """add_lines() for validated lines in compact form (feeds.rules.validate_rows):
        ``rows[i]`` is line ``line_nos[i]``. Same verdicts, counts and messages; it exists
        because building a Shipment per line cost intake more than the ledger's work on it.
        """
        self._check_open()
        if len(line_nos) != len(rows):
            raise ValueError(f"{len(line_nos)} line numbers for {len(rows)} rows")
        for i in range(0, len(rows), CHUNK):
            self._add_chunk(list(line_nos[i : i + CHUNK]), list(rows[i : i + CHUNK]))
        self._add_rejected(rejected)

    def _add_rejected(self, rejected: Iterable[LineError]) -> None:
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

    def _add_chunk(self, line_nos: list[int], rows: list[Row]) -> None:
        """Decide and insert a chunk's lines: new, duplicate or conflict (see _earlier).

        Nearly every line of a big file is new (its order and item seen nowhere before, not
        even earlier in the chunk): those rows are built column-wise in C, and only the
        others go through the row loop, in file order, so verdicts, messages and the ids
        the rows get (insertion order) are exactly what a loop over every line gives.
        """
        seller, file_id = self._file["seller"], self.file_id
        times = self._times.__getitem__  # ship dates as the driver takes them
        now = times(self._now)
        queued, dup, conflict = (
            LineStatus.IN_QUEUE.value,
            LineStatus.DUPLICATE.value,
            LineStatus.CONFLICT.value,
        )
        # Row fields in SHIPMENT_FIELDS order (feeds/model.py).
        oids, codes, names, trackings, methods, dates, iids, qtys = zip(*rows, strict=True)
        earlier = self._earlier(sorted(set(oids)))
        keys = list(zip(oids, iids, strict=True))
        count = len(keys)
        # Every row as a new queued line; the loop below replaces the ones that are not.
        n = repeat  # columns that are the same on every row (_COLS order)
        columns = (
            n(file_id), n(seller), line_nos, oids, iids, qtys, map(times, dates),
            codes, names, trackings, methods, n(0), n(queued), n(None), n(None),
            n(None), n(now), n(now),
        )  # fmt: skip
        built: list[Sequence[Any]] = list(zip(*columns, strict=False))  # repeat() never ends
        first_at = dict(zip(reversed(keys), range(count - 1, -1, -1), strict=True))
        others = set(range(count)).difference(first_at.values())  # repeats within the chunk
        if earlier:
            others.update(i for i, k in enumerate(keys) if k in earlier)
        self._accepted += count - len(others)
        # Repeats of a line earlier in this same chunk: inserted after it, to point at its id.
        later: list[tuple[list[Any], int]] = []
        later_at: list[int] = []
        # Each key's lines so far in this chunk, as (tracking, line): for the rows in
        # ``others``, whatever the new lines before them left.
        in_chunk: dict[Key, list[tuple[str | None, int]]] = {}
        for i in sorted(others):
            key = keys[i]
            f = first_at[key]
            if key not in earlier and key not in in_chunk:  # its first line was a new line
                in_chunk[key] = [(trackings[f], line_nos[f])]
            # Here the key is in ``earlier`` or ``in_chunk``: never a plain new line.
            # Column order: _COLS.
            row = list(built[i])
            tracking, line_no = trackings[i], line_nos[i]
            prior = earlier.get(key, ())
            same = [p for p in prior if p["tracking_number"] == tracking]
            confirmed = [p for p in prior if p["status"] == LineStatus.CONFIRMED]
            same_here = [ln for t, ln in in_chunk.get(key, ()) if t == tracking]
            if same:
                # Prefer pointing at a confirmed line: that is what the seller needs to know.
                p = next((p for p in same if p["status"] == LineStatus.CONFIRMED), same[0])
                row[_STATUS], row[_DUPLICATE_OF] = dup, p["id"]
                row[_MESSAGE] = (
                    f"duplicate of line {p['line_no']} of {p['name']}, already {p['status']}"
                    "; not sent again"
                )
                self._duplicates += 1
            elif confirmed:
                p = confirmed[-1]
                row[_STATUS], row[_DUPLICATE_OF] = conflict, p["id"]
                row[_MESSAGE] = (
                    f"already confirmed with tracking {p['tracking_number'] or '(none)'} "
                    f"(line {p['line_no']} of {p['name']}); not sent unless an operator "
                    f"sends it as a correction: python run.py correct {row[_ORDER_ID]}"
                )
                self._conflicts += 1
            elif same_here:
                row[_STATUS] = dup
                row[_MESSAGE] = (
                    f"duplicate of line {same_here[0]} of {self._file['name']}, already "
                    "in_queue; not sent again"
                )
                later.append((row, same_here[0]))
                later_at.append(i)
                self._duplicates += 1
                continue
            else:
                in_chunk.setdefault(key, []).append((tracking, line_no))
                self._accepted += 1
            built[i] = row
        if later_at:
            keep = [True] * count
            for i in later_at:
                keep[i] = False
            built = list(compress(built, keep))
        self._insert_lines(built)
        made = Counter(map(itemgetter(12), built))  # the overview's totals (tally.py)
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
                row[_DUPLICATE_OF] = ids[ln]
            self._insert_lines([r for r, _ in later])
            made.update(r[12] for r, _ in later)
        tally.created(self._conn, seller, made)

    def _insert_lines(self, rows: Iterable[Sequence[Any]]) -> None:
        """Bulk insert below SQLAlchemy's per-value processing, which costs more than the
        database itself at a million rows: COPY on PostgreSQL, executemany on SQLite.
        Rows come in _COLS order with their times already as the driver takes them."""
        if not self._fast:
            params = [dict(zip(_COLS, r, strict=True)) for r in rows]
            if params:
                self._conn.execute(insert(lines), params)
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
        # it takes the rows as they are, where SQLAlchemy wants each one as a tuple.
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
