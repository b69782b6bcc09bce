"""What the operator commands (status, queue, order, resend, correct, cancel) do and print.

The ledger answers; this module renders: a rich table on a terminal, plain text when
piped, JSON with ``--json``. Opening the ledger takes no instance lock, so every command
works while the service runs: each is one short transaction.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from config.settings import Settings
from processors.health_view import health_data, health_lines
from processors.ledger.corrections import originals_of, request_correction
from processors.ledger.identity import describe, ledger_simulated, recorded
from processors.ledger.inboxleases import lease_holders, live_workers
from processors.ledger.queries import ATTENTION, order_history, queue, status_counts
from processors.ledger.records import LineRow
from processors.ledger.store import Ledger

#: The first line of every operator command's text on a ledger confirmed by the simulator.
SIMULATED_BANNER = (
    "SIMULATED: this ledger runs against the built-in simulator; nothing reached Amazon"
)


def open_ledger(settings: Settings) -> Ledger:
    return Ledger.open(settings.resolved_ledger_url, max_resends=settings.service.max_resends)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(_plain(value), indent=1, ensure_ascii=False)


def age_text(age: timedelta) -> str:
    s = int(age.total_seconds())
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


# -- status -------------------------------------------------------------------------------


ATTENTION_SHOWN = 20  # lines listed by `status`; `queue --status S` shows them all


def status_data(ledger: Ledger, seller: str | None = None) -> dict[str, Any]:
    c = status_counts(ledger, seller)
    attention = []
    for status in ATTENTION:
        for r in queue(ledger, status=status, seller=seller, limit=ATTENTION_SHOWN).rows:
            attention.append(
                {"order_id": r.order_id, "line_id": r.line_id, "status": r.status,
                 "message": r.message}
            )  # fmt: skip
    amazon = recorded(ledger)
    return {
        "simulated": any(i.simulated for i in amazon) if amazon else None,
        "amazon": describe(amazon),
        "counts": c.counts,
        "total": c.total,
        "oldest_waiting_since": c.oldest_waiting,
        "feeds_in_flight": c.feeds_in_flight,
        "feeds_stuck": c.feeds_stuck,
        "last_error": asdict(c.last_error) if c.last_error else None,
        "attention": attention,
        "workers": _workers(ledger, seller),
        **health_data(ledger),
    }


def _workers(ledger: Ledger, seller: str | None) -> dict[str, Any] | None:
    """Which live worker polls which inbox, where several workers share the ledger
    (PostgreSQL); None where there is nothing to divide (SQLite: one worker holds all)."""
    if ledger.is_sqlite:
        return None
    holders = lease_holders(ledger)
    if seller is not None:
        holders = {s: h for s, h in holders.items() if s == seller}
    alive = live_workers(ledger)
    if not alive and not holders:
        return None
    return {
        "alive": alive,
        "inboxes": {w: sorted(s for s, h in holders.items() if h == w) for w in alive},
        "without_worker": sorted(s for s, h in holders.items() if h is None),
    }


def _worker_lines(w: dict[str, Any] | None) -> list[str]:
    if w is None:
        return []
    out = [f"workers alive: {len(w['alive'])}"]
    out += [f"  {name}: {len(w['inboxes'][name])} inbox(es)" for name in w["alive"]]
    if w["without_worker"]:
        shown = ", ".join(w["without_worker"][:10])
        more = len(w["without_worker"]) - 10
        out.append(
            f"inboxes no live worker holds: {len(w['without_worker'])} ({shown}"
            + (f", and {more} more" if more > 0 else "")
            + "); a live worker takes them at its next lease round"
        )
    return out


#: What an operator can do about a line waiting for a person, by status.
ATTENTION_HINTS = {
    "needs_attention": "python run.py resend ORDER --force",
    "error": "python run.py resend ORDER (after the cause is fixed)",
    "conflict": "python run.py correct ORDER (sends the new tracking as a correction)",
}


def _banner(data: dict[str, Any]) -> list[str]:
    """SIMULATED first, as the ledger recorded it (not as today's settings would have it):
    a simulated run's confirmations must never pass for real ones."""
    return [SIMULATED_BANNER] if data["simulated"] else []


def status_text(data: dict[str, Any]) -> str:
    health = health_lines(data)
    # SIMULATED first, then a refused login and failing steps; the last error at the end.
    out = [*_banner(data), *health[:-1], f"amazon: {data['amazon']}"]
    out += [f"{status:<16} {n:>8}" for status, n in data["counts"].items()]
    out.append(f"{'total':<16} {data['total']:>8}")
    oldest = data["oldest_waiting_since"]
    out.append(f"oldest waiting line: {_plain(oldest) if oldest else 'none'}")
    out.append(f"feeds in flight: {data['feeds_in_flight']}")
    out += _worker_lines(data.get("workers"))
    if data["feeds_stuck"]:
        out.append(
            f"feeds stuck: {data['feeds_stuck']} (past stuck_after_seconds; still with Amazon, "
            "polled until it answers, never resent)"
        )
    waiting = {st: data["counts"].get(st, 0) for st in ATTENTION}
    out.append(
        "waiting for an operator: "
        + ", ".join(f"{n} {st}" for st, n in waiting.items())
        + (" (all: python run.py queue --status STATUS)" if any(waiting.values()) else "")
    )
    for a in data["attention"]:
        out.append(f"  {a['order_id']} [{a['status']}] {a['message'] or ''}".rstrip())
    for st, n in waiting.items():
        if n:
            out.append(f"  {st}: {ATTENTION_HINTS[st]}")
    e = data["last_error"]
    out.append(
        f"last error: order {e['order_id']} ({e['status']}, {_plain(e['at'])}): {e['message']}"
        if e
        else "last error: none"
    )
    out.append(health[-1])
    return "\n".join(out)


# -- queue --------------------------------------------------------------------------------


def queue_data(
    ledger: Ledger, status: str | None, seller: str | None, limit: int
) -> dict[str, Any]:
    page = queue(ledger, status=status, seller=seller, limit=limit)
    rows = [
        {
            "order_id": r.order_id,
            "seller": r.seller,
            "status": r.status,
            "order_item_id": r.order_item_id,
            "tracking_number": r.tracking_number,
            "carrier": r.carrier,
            "ship_date": r.ship_date,
            "age_seconds": r.age,
            "attempts": r.attempts,
            "message": r.message,
        }
        for r in page.rows
    ]
    return {
        "simulated": ledger_simulated(ledger),
        "rows": rows,
        "shown": len(rows),
        "total": page.total,
    }


def print_queue(data: dict[str, Any], console: Console) -> None:
    for line in _banner(data):
        console.print(line, markup=False, highlight=False)
    table = Table(title=f"{data['shown']} of {data['total']} lines", title_justify="left")
    for col in ("order", "status", "item", "tracking", "ship date", "age", "last message"):
        table.add_column(col, overflow="fold")
    for r in data["rows"]:
        table.add_row(
            r["order_id"],
            r["status"],
            r["order_item_id"] or "",
            r["tracking_number"] or "",
            r["ship_date"].date().isoformat(),
            age_text(r["age_seconds"]),
            r["message"] or "",
        )
    console.print(table)
    console.print(f"total: {data['total']} lines")


# -- order --------------------------------------------------------------------------------


def order_data(ledger: Ledger, order_id: str) -> dict[str, Any]:
    lines = []
    for h in order_history(ledger, order_id):
        ln = h.line
        lines.append(
            {
                "line_id": ln.id,
                "seller": ln.seller,
                "file": h.file_name,
                "line": ln.line,
                "received_at": h.received_at,
                "order_item_id": ln.order_item_id,
                "quantity": ln.quantity,
                "ship_date": ln.ship_date,
                "carrier": ln.carrier_code or ln.carrier_name,
                "tracking_number": ln.tracking_number,
                "ship_method": ln.ship_method,
                "status": ln.status,
                "attempts": ln.attempts,
                "feed_id": ln.feed_id,
                "result_code": ln.result_code,
                "message": ln.message,
                "history": [asdict(e) for e in h.events],
            }
        )
    return {"simulated": ledger_simulated(ledger), "order_id": order_id, "lines": lines}


def order_text(data: dict[str, Any]) -> str:
    out = [*_banner(data), f"order {data['order_id']}"]
    for ln in data["lines"]:
        item = f" item {ln['order_item_id']}" if ln["order_item_id"] else ""
        out.append(
            f"- line {ln['line']} of {ln['file']}{item}: {ln['status'].upper()}"
            f" (tracking {ln['tracking_number'] or '-'}, carrier {ln['carrier'] or '-'},"
            f" shipped {ln['ship_date'].date().isoformat()}, resent {ln['attempts']}x)"
        )
        if ln["message"]:
            out.append(f"    {ln['message']}")
        out.append(f"    {_plain(ln['received_at'])}  received")
        for e in ln["history"]:
            feed = f" [feed {e['feed_id']}]" if e["feed_id"] else ""
            msg = f": {e['message']}" if e["message"] else ""
            out.append(f"    {_plain(e['at'])}  {e['from_status']} -> {e['to_status']}{feed}{msg}")
    return "\n".join(out)


# -- resend / cancel ----------------------------------------------------------------------


def resend_text(
    ledger: Ledger, requeued: list[int], attention: list[int], skipped: dict[int, str]
) -> str:
    ids = [*requeued, *attention, *skipped]
    orders = {ln.id: ln.order_id for ln in ledger.lines(ids)} if ids else {}
    out = [f"requeued: {len(requeued)}"]
    out += [f"  {orders[i]} (line {i})" for i in requeued]
    out.append(f"needs attention (resent too often; use --force): {len(attention)}")
    out += [f"  {orders[i]} (line {i})" for i in attention]
    out.append(f"skipped: {len(skipped)}")
    out += [f"  {orders[i]} (line {i}): {why}" for i, why in skipped.items()]
    return "\n".join(out)


# -- correct ------------------------------------------------------------------------------


def correct(ledger: Ledger, order_id: str | None, line_id: int | None) -> list[LineRow]:
    """Queue an order's (or one line's) conflict lines as corrections."""
    return request_correction(ledger, order_id=order_id, line_id=line_id)


def correct_text(ledger: Ledger, queued: list[LineRow]) -> str:
    originals = {o.id: o for o in originals_of(ledger, [ln.id for ln in queued])}
    out = [f"queued as corrections: {len(queued)}"]
    for ln in queued:
        o = originals[ln.duplicate_of or 0]
        item = f" item {ln.order_item_id}" if ln.order_item_id else ""
        out.append(
            f"  {ln.order_id}{item} (line {ln.id}): tracking {ln.tracking_number or '-'} "
            f"replaces {o.tracking_number or '-'} (line {o.id})"
        )
    out.append(
        "the service sends them with confirmShipment in its next batch; "
        "see `python run.py order ORDER` for the outcome"
    )
    by_feed = sorted({o.id for o in originals.values() if o.feed_id is not None})
    if by_feed:
        out.append(
            f"note: line(s) {', '.join(map(str, by_feed))} were confirmed through a feed, "
            "whose package reference Amazon assigned itself; Amazon may refuse the edit, "
            "and the line then says to edit the shipment in Seller Central"
        )
    return "\n".join(out)
