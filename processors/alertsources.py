"""What is wrong right now, as alerts, read from the ledger alone.

Every worker on a ledger sees the same lines, files, feeds and health rows, so any of
them can send the alerts, and a restart loses none: nothing here is remembered in the
process. Each alert has a key naming the fact it reports (a line entering a status at a
time, a file, a feed, a health state since a time); the key is what alertlog.py records
as sent, so the same fact is never alerted twice, while a line that goes back to
needs_attention later is a new fact with a new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select

from processors.ledger import health, uploads
from processors.ledger.orders import due_every_seller
from processors.ledger.schema import feeds, files, lines
from processors.ledger.statuses import FeedState, LineStatus
from processors.ledger.store import Ledger
from processors.ledger.tracking import STUCK_PREFIX

#: Health components recorded per seller for the inbox and the outbox.
INBOX_PREFIX = "inbox:"
OUTBOX_PREFIX = "outbox:"
#: Lines per pass at most: a ledger where a million lines fail at once needs one alert
#: saying so, not a million; the digest counts what it lists.
MAX_LINES = 10_000


class AlertKind(StrEnum):
    NEEDS_ATTENTION = "needs_attention"
    CONFLICT = "conflict"
    FILE_REJECTED = "file_rejected"
    FEED_FATAL = "feed_fatal"
    FEED_STUCK = "feed_stuck"
    LOGIN_REFUSED = "amazon_login_refused"
    INBOX_UNREACHABLE = "inbox_unreachable"
    OUTBOX_UNREACHABLE = "outbox_unreachable"
    ORDER_DUE = "order_due"


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    kind: AlertKind
    seller: str | None  # None: about the whole service (the Amazon login)
    text: str


@dataclass(frozen=True, slots=True)
class AlertWindow:
    """How far back to look, and when a state counts as alarming."""

    now: datetime
    lookback: timedelta  # older facts were alerted before, or are history
    unreachable_after: timedelta  # an inbox/outbox failing this long is alerted
    # An open order no file mentioned is alerted this close to its LatestShipDate.
    due_within: timedelta = timedelta(hours=24)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S.%f")


def current_alerts(ledger: Ledger, window: AlertWindow) -> list[Alert]:
    """Every alert the ledger shows now, oldest fact first within each kind."""
    return [
        *_line_alerts(ledger, window),
        *_file_alerts(ledger, window),
        *_refused_name_alerts(ledger, window),
        *_feed_alerts(ledger, window),
        *_health_alerts(ledger, window),
        *_due_alerts(ledger, window),
    ]


def _due_alerts(ledger: Ledger, window: AlertWindow) -> list[Alert]:
    """Orders Amazon is waiting for that no file mentioned (the order mirror), once per
    order and ship-by date."""
    out = []
    for seller, o in due_every_seller(ledger, window.now + window.due_within, MAX_LINES):
        ship_by = o.latest_ship_date
        when = ship_by.strftime("%Y-%m-%d %H:%M UTC") if ship_by else "?"
        late = "was due" if ship_by is not None and ship_by < window.now else "is due"
        out.append(
            Alert(
                f"due:{seller}:{o.order_id}:{_stamp(ship_by) if ship_by else ''}",
                AlertKind.ORDER_DUE,
                seller,
                f"order {o.order_id} ({o.status} on Amazon) {late} to ship by {when} "
                "and no file has mentioned it",
            )
        )
    return out


def _line_alerts(ledger: Ledger, window: AlertWindow) -> list[Alert]:
    kinds = {
        LineStatus.NEEDS_ATTENTION.value: AlertKind.NEEDS_ATTENTION,
        LineStatus.CONFLICT.value: AlertKind.CONFLICT,
    }
    q = (
        select(
            lines.c.id,
            lines.c.seller,
            lines.c.order_id,
            lines.c.status,
            lines.c.message,
            lines.c.status_changed_at,
        )
        .where(
            lines.c.status.in_(list(kinds)),
            lines.c.status_changed_at >= window.now - window.lookback,
        )
        .order_by(lines.c.status_changed_at, lines.c.id)
        .limit(MAX_LINES)
    )
    with ledger.reading() as conn:
        rows = conn.execute(q).all()
    return [
        Alert(
            key=f"line:{r.id}:{r.status}:{_stamp(r.status_changed_at)}",
            kind=kinds[r.status],
            seller=r.seller,
            text=f"order {r.order_id} (line {r.id}): {r.message or r.status}",
        )
        for r in rows
    ]


def _file_alerts(ledger: Ledger, window: AlertWindow) -> list[Alert]:
    """Files rejected whole (recorded with no line) and files with rejected lines."""
    q = (
        select(
            files.c.id,
            files.c.seller,
            files.c.name,
            files.c.lines,
            files.c.rejected,
            files.c.error_report,
        )
        .where(
            or_(files.c.lines == 0, files.c.rejected > 0),
            files.c.received_at >= window.now - window.lookback,
        )
        .order_by(files.c.id)
    )
    with ledger.reading() as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        if r.lines == 0:
            text = f"{r.name}: rejected whole, nothing queued"
        else:
            text = f"{r.name}: {r.rejected} of {r.lines} lines rejected"
        if r.error_report:
            text += f"; the reasons are in {r.error_report}"
        out.append(Alert(f"file:{r.id}:rejected", AlertKind.FILE_REJECTED, r.seller, text))
    return out


def _refused_name_alerts(ledger: Ledger, window: AlertWindow) -> list[Alert]:
    """Files quarantined for their name (uploads.py): rejected as surely as a file whose
    content is refused, so told of alike; the reason quotes the name as received."""
    out = []
    for u in uploads.refused_since(ledger, window.now - window.lookback):
        text = f"{u.name}: rejected whole, nothing queued: {u.reason}"
        if u.intake_report:
            text += f"; the seller's report is {u.intake_report}"
        out.append(Alert(f"upload:{u.id}:refused", AlertKind.FILE_REJECTED, u.seller, text))
    return out


def _feed_alerts(ledger: Ledger, window: AlertWindow) -> list[Alert]:
    fatal = (feeds.c.state == FeedState.FATAL.value) & (
        feeds.c.finished_at >= window.now - window.lookback
    )
    stuck = (feeds.c.state == FeedState.CREATED.value) & feeds.c.reason.startswith(STUCK_PREFIX)
    q = (
        select(
            feeds.c.id,
            feeds.c.seller,
            feeds.c.state,
            feeds.c.amazon_feed_id,
            feeds.c.messages,
            feeds.c.reason,
        )
        .where(or_(fatal, stuck))
        .order_by(feeds.c.id)
    )
    with ledger.reading() as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        name = (
            f"feed {r.id} (Amazon feed {r.amazon_feed_id or 'not created'}, {r.messages} messages)"
        )
        if r.state == FeedState.FATAL.value:
            text = f"{name} ended FATAL: {r.reason}; its lines went back to the queue"
            out.append(Alert(f"feed:{r.id}:fatal", AlertKind.FEED_FATAL, r.seller, text))
        else:
            text = f"{name}: {r.reason}"
            out.append(Alert(f"feed:{r.id}:stuck", AlertKind.FEED_STUCK, r.seller, text))
    return out


def _health_alerts(ledger: Ledger, window: AlertWindow) -> list[Alert]:
    out = []
    for h in health.read(ledger):
        since = h.since.strftime("%Y-%m-%d %H:%M UTC")
        if health.is_login(h.component) and h.state == health.REFUSED:
            account = health.login_account(h.component)
            whose = f" of account {account}" if account else ""
            out.append(
                Alert(
                    f"health:{h.component}:{_stamp(h.since)}",
                    AlertKind.LOGIN_REFUSED,
                    None,
                    f"Amazon refuses the login{whose} since {since}: {h.last_error}; "
                    f"nothing is sent{' for it' if account else ''} until it is fixed",
                )
            )
            continue
        if h.ok or window.now - h.since < window.unreachable_after:
            continue
        for prefix, kind, what in (
            (INBOX_PREFIX, AlertKind.INBOX_UNREACHABLE, "inbox"),
            (OUTBOX_PREFIX, AlertKind.OUTBOX_UNREACHABLE, "outbox"),
        ):
            if h.component.startswith(prefix):
                seller = h.component.removeprefix(prefix)
                out.append(
                    Alert(
                        f"health:{h.component}:{_stamp(h.since)}",
                        kind,
                        seller,
                        f"{seller}: the {what} has been unreachable since {since}: {h.last_error}",
                    )
                )
    return out
