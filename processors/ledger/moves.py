"""Status changes of order lines: the one place where a line's status is written.

Every change is checked against the transition table (processors.ledger.statuses) and
leaves an event row, in the caller's transaction. The ledger's steps (files, queue, feeds,
orders, operator actions, and the modules beside them) describe changes as ``Move``s and
hand them here; none of them writes ``lines.status`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, literal, select, update

from processors.ledger import tally
from processors.ledger.idlists import ids_in
from processors.ledger.schema import events, lines
from processors.ledger.statuses import LineStatus, check_transition

S = LineStatus
#: ids per IN (...) list: under every backend's bind parameter limit.
ID_CHUNK = 5_000
#: Lines making the same change: from here on, set-based statements pay.
ALIKE_MIN = 50
#: What a move reads of a line (and requeue, for a resend's count).
MOVE_COLUMNS = ("id", "seller", "order_id", "status", "attempts", "feed_id")
_EVENT_COLUMNS = ["line_id", "at", "from_status", "to_status", "feed_id", "message", "actor"]


@dataclass(frozen=True, slots=True)
class Move:
    """One status change of one line, with the other columns that change with it."""

    line: Mapping[str, Any]
    to: LineStatus
    message: str | None
    feed_id: int | None = None  # for the event: the feed this change concerns
    values: tuple[tuple[str, Any], ...] = ()
    actor: str | None = None  # for the event: the console account that asked for it


@dataclass(frozen=True, slots=True)
class _Change:
    """What makes moves alike: one statement can apply them all."""

    frm: str
    to: LineStatus
    message: str | None
    feed_id: int | None
    values: tuple[tuple[str, Any], ...]
    actor: str | None


def apply_moves(conn: Connection, moves: Sequence[Move], now: datetime) -> None:
    """Apply status changes and write their events, in the caller's transaction."""
    if not moves:
        return
    alike: dict[_Change, list[Move]] = {}
    odd: list[Move] = []
    for m in moves:
        check_transition(m.line["id"], m.line["order_id"], m.line["status"], m.to)
        key = _Change(m.line["status"], m.to, m.message, m.feed_id, m.values, m.actor)
        try:
            alike.setdefault(key, []).append(m)
        except TypeError:  # an unhashable value: one row at a time below
            odd.append(m)
    # The overview's totals, in this same transaction: counted here from what the moves
    # say when they carry the line's seller (MOVE_COLUMNS has it), else read from the
    # lines themselves before and after the change.
    unread = [m.line["id"] for m in moves if "seller" not in m.line]
    tally.leaving(conn, unread)
    for change, group in alike.items():
        ids = [m.line["id"] for m in group]
        if len(group) < ALIKE_MIN or len(set(ids)) != len(ids):
            odd.extend(group)
        else:
            _move_alike(conn, ids, change, now)
    _move_each(conn, odd, now)
    tally.arriving(conn, unread, now)
    told = [m for m in moves if "seller" in m.line]
    tally.moved(conn, [(m.line["seller"], str(m.line["status"]), m.to.value) for m in told], now)


def _move_alike(conn: Connection, ids: list[int], change: _Change, now: datetime) -> None:
    """Lines making the very same change (a whole feed submitted or confirmed) in one
    set-based UPDATE and one INSERT ... SELECT per id chunk: the per-row parameter
    sets of executemany cost more than the database's work at 30,000 lines a feed."""
    vals = dict(change.values)
    vals.update(
        status=change.to.value, message=change.message, status_changed_at=now, updated_at=now
    )
    for i in range(0, len(ids), ID_CHUNK):
        part = ids[i : i + ID_CHUNK]
        conn.execute(
            insert(events).from_select(
                _EVENT_COLUMNS,
                select(
                    lines.c.id,
                    literal(now, events.c.at.type),
                    literal(str(change.frm), events.c.from_status.type),
                    literal(change.to.value, events.c.to_status.type),
                    literal(change.feed_id, events.c.feed_id.type),
                    literal(change.message, events.c.message.type),
                    literal(change.actor, events.c.actor.type),
                )
                .where(ids_in(conn, lines.c.id, part))
                .order_by(lines.c.id),
            )
        )
        conn.execute(update(lines).where(ids_in(conn, lines.c.id, part)).values(**vals))


def _move_each(conn: Connection, moves: Sequence[Move], now: datetime) -> None:
    """The general case: one parameter set per line, grouped by the columns changed."""
    if not moves:
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    history: list[dict[str, Any]] = []
    for m in moves:
        frm = m.line["status"]
        vals = dict(m.values)
        vals.update(status=m.to.value, message=m.message, status_changed_at=now)
        vals["updated_at"] = now
        keys = tuple(sorted(vals))
        groups.setdefault(keys, []).append(
            {"b_id": m.line["id"], **{f"b_{k}": v for k, v in vals.items()}}
        )
        history.append(
            {
                "line_id": m.line["id"],
                "at": now,
                "from_status": frm,
                "to_status": m.to.value,
                "feed_id": m.feed_id,
                "message": m.message,
                "actor": m.actor,
            }
        )
    for keys, params in groups.items():
        stmt = (
            update(lines)
            .where(lines.c.id == bindparam("b_id"))
            .values({k: bindparam(f"b_{k}") for k in keys})
        )
        for i in range(0, len(params), ID_CHUNK):
            conn.execute(
                stmt.execution_options(synchronize_session=False), params[i : i + ID_CHUNK]
            )
    for i in range(0, len(history), ID_CHUNK):
        conn.execute(insert(events), history[i : i + ID_CHUNK])


def requeue(
    r: Mapping[str, Any],
    why: str,
    feed_id: int | None,
    *,
    max_resends: int,
    force: bool = False,
    actor: str | None = None,
) -> Move:
    """Back to the queue with one more attempt, or needs_attention past the limit."""
    if r["attempts"] >= max_resends and not force:
        msg = f"{why}; already resent {r['attempts']} times, needs attention"
        return Move(r, S.NEEDS_ATTENTION, msg, feed_id, actor=actor)
    n = r["attempts"] + 1
    return Move(
        r,
        S.IN_QUEUE,
        f"{why}; back in the queue (resend {n})",
        feed_id,
        (("attempts", n), ("feed_id", None), ("message_id", None), ("result_code", None)),
        actor,
    )
