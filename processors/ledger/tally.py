"""Running totals of lines per seller and status, and per day of the lines that reached
each status: what the console's overview shows, without counting a million lines.

Counting the lines in a status reads one index entry per line: 400,000 waiting lines
took over half a second on PostgreSQL, on every view of the overview. Here the totals
are written as they change, by the same statements that change them: the one place a
status changes (processors.ledger.moves) and the intake that creates lines add a row of
deltas each, in their own transaction, so a total is exactly as committed as the lines.

Rows are only ever inserted, never updated: two workers changing lines at once never
wait for each other on a shared counter row (no lock, no deadlock). A read sums the
rows; once there are more than FOLD_AT, the reader folds them into one row per key
(DELETE ... RETURNING, then the sums inserted, in one transaction: exactly the rows it
deleted are folded, so a delta committed meanwhile is neither lost nor counted twice).

``rebuild`` recounts everything from the lines and events (the migration that creates
the tables, and a ledger changed behind the ledger's back, as the benchmark's setup is).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, literal, select

from processors.ledger.idlists import ids_in
from processors.ledger.schema import events, line_counts, lines, status_days

#: More delta rows than this and a read folds them first.
FOLD_AT = 1_000
_CHUNK = 5_000


def _lines_by_status(conn: Connection, ids: list[int], sign: int, day: date | None) -> None:
    target = line_counts if day is None else status_days
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        n = func.count() if sign > 0 else -func.count()
        cols: list[Any] = [lines.c.seller, lines.c.status]
        names = ["seller", "status"]
        if day is not None:
            cols.append(literal(day, status_days.c.day.type))
            names.append("day")
        q = select(*cols, n).where(ids_in(conn, lines.c.id, part))
        q = q.group_by(lines.c.seller, lines.c.status)
        conn.execute(insert(target).from_select([*names, "n"], q))


def leaving(conn: Connection, line_ids: Iterable[int]) -> None:
    """Before a status change: these lines leave their current status."""
    _lines_by_status(conn, sorted(set(line_ids)), -1, None)


def arriving(conn: Connection, line_ids: Iterable[int], now: datetime) -> None:
    """After a status change: these lines are in their new status, reached today (UTC)."""
    ids = sorted(set(line_ids))
    _lines_by_status(conn, ids, +1, None)
    _lines_by_status(conn, ids, +1, now.astimezone(UTC).date())


def moved(conn: Connection, changes: Iterable[tuple[str, str, str]], now: datetime) -> None:
    """(seller, from status, to status) of each status change just made: the same
    totals as ``leaving`` and ``arriving`` give, counted without reading the lines.
    A line moved twice in one call counts in each status it reached, as its events do."""
    counts: Counter[tuple[str, str]] = Counter()
    reached: Counter[tuple[str, str]] = Counter()
    for seller, frm, to in changes:
        counts[(seller, frm)] -= 1
        counts[(seller, to)] += 1
        reached[(seller, to)] += 1
    rows = [{"seller": s, "status": st, "n": n} for (s, st), n in counts.items() if n]
    if rows:
        conn.execute(insert(line_counts), rows)
    day = now.astimezone(UTC).date()
    days = [{"seller": s, "status": st, "day": day, "n": n} for (s, st), n in reached.items()]
    if days:
        conn.execute(insert(status_days), days)


def created(conn: Connection, seller: str, per_status: Mapping[str, int]) -> None:
    """New lines of ``seller`` (the intake), so many in each status."""
    rows = [{"seller": seller, "status": s, "n": n} for s, n in per_status.items() if n]
    if rows:
        conn.execute(insert(line_counts), rows)


def current(conn: Connection, seller: str | None = None) -> dict[str, dict[str, int]]:
    """Lines now in each status: {seller: {status: n}} (statuses with none left out)."""
    q = select(line_counts.c.seller, line_counts.c.status, func.sum(line_counts.c.n))
    if seller is not None:
        q = q.where(line_counts.c.seller == seller)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for s, st, n in conn.execute(q.group_by(line_counts.c.seller, line_counts.c.status)):
        if n:
            out[s][st] = int(n)
    return dict(out)


def reached(
    conn: Connection, since: date, statuses: Iterable[str], seller: str | None = None
) -> dict[tuple[str, str, date], int]:
    """Lines that reached each of ``statuses`` per seller and day since ``since``."""
    t = status_days
    q = select(t.c.seller, t.c.status, t.c.day, func.sum(t.c.n)).where(
        t.c.day >= since, t.c.status.in_(list(statuses))
    )
    if seller is not None:
        q = q.where(t.c.seller == seller)
    found = conn.execute(q.group_by(t.c.seller, t.c.status, t.c.day))
    return {(s, st, _as_date(d)): int(n) for s, st, d, n in found if n}


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def needs_folding(conn: Connection) -> bool:
    return any(
        conn.execute(select(func.count()).select_from(t)).scalar_one() > FOLD_AT
        for t in (line_counts, status_days)
    )


def fold(conn: Connection) -> None:
    """One row per key instead of many, in the caller's (write) transaction."""
    _fold(conn, line_counts, ("seller", "status"))
    _fold(conn, status_days, ("seller", "status", "day"))


def _fold(conn: Connection, table: Table, keys: tuple[str, ...]) -> None:
    cols = [table.c[k] for k in keys]
    gone = conn.execute(delete(table).returning(*cols, table.c.n)).all()
    sums: dict[tuple[Any, ...], int] = defaultdict(int)
    for r in gone:
        sums[tuple(r[: len(keys)])] += int(r[-1])
    rows = [{**dict(zip(keys, k, strict=True)), "n": n} for k, n in sums.items() if n]
    if rows:
        conn.execute(insert(table), rows)


def rebuild(conn: Connection) -> None:
    """Recount from the lines and the events, in the caller's transaction."""
    conn.execute(delete(line_counts))
    conn.execute(delete(status_days))
    conn.execute(
        insert(line_counts).from_select(
            ["seller", "status", "n"],
            select(lines.c.seller, lines.c.status, func.count()).group_by(
                lines.c.seller, lines.c.status
            ),
        )
    )
    day = _event_day(conn)
    conn.execute(
        insert(status_days).from_select(
            ["seller", "status", "day", "n"],
            select(lines.c.seller, events.c.to_status, day, func.count())
            .join(lines, lines.c.id == events.c.line_id)
            .group_by(lines.c.seller, events.c.to_status, day),
        )
    )


def _event_day(conn: Connection) -> Any:
    if conn.dialect.name == "sqlite":
        return func.date(events.c.at)  # stored as naive UTC text
    return func.date(func.timezone("UTC", events.c.at))
