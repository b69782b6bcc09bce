"""/metrics for Prometheus: the ledger's counts read at scrape time.

Counts come from the ledger when Prometheus asks, not from counters kept by the process,
so every worker and the console agree on them, and a restart does not reset them. SP-API
calls happen in the workers: each adds its counts to the ledger every few seconds
(processors/callcounter.py), and /metrics sums them, so a console run apart from the
workers (`run.py web`, another machine on the PostgreSQL ledger) shows them all.

No metric carries order data: labels are sellers, statuses, feed states and operations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from config.settings import Settings
from processors.alertsources import INBOX_PREFIX
from processors.callcounter import FLUSH_SECONDS
from processors.ledger import callcounts, health
from processors.ledger.schema import feeds, files, lines
from processors.ledger.statuses import FeedState, LineStatus
from processors.ledger.store import Ledger
from processors.ledger.tracking import STUCK_PREFIX

router = APIRouter()

IN_FLIGHT = [FeedState.PREPARED.value, FeedState.UPLOADED.value, FeedState.CREATED.value]
#: Intake speed is averaged over this window (a file lands all at once).
RATE_WINDOW = timedelta(minutes=5)


class LedgerCollector(Collector):
    """Everything the ledger shows, per seller, read on each scrape."""

    def __init__(self, ledger: Ledger, settings: Settings) -> None:
        self.ledger = ledger
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("shipfeed_ledger_up", "1 when the ledger answered this scrape")
        try:
            found = list(self._read(datetime.now(UTC)))
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from found

    def _read(self, now: datetime) -> Iterator[Metric]:
        sellers = [s.name for s in self.settings.sellers]
        with self.ledger.reading() as conn:
            by_status = conn.execute(
                select(lines.c.seller, lines.c.status, func.count()).group_by(
                    lines.c.seller, lines.c.status
                )
            ).all()
            oldest = conn.execute(
                select(lines.c.seller, func.min(lines.c.status_changed_at))
                .where(lines.c.status == LineStatus.IN_QUEUE.value)
                .group_by(lines.c.seller)
            ).all()
            flight = conn.execute(
                select(feeds.c.seller, feeds.c.state, func.count())
                .where(feeds.c.state.in_(IN_FLIGHT))
                .group_by(feeds.c.seller, feeds.c.state)
            ).all()
            stuck = conn.execute(
                select(feeds.c.seller, func.count())
                .where(
                    feeds.c.state == FeedState.CREATED.value,
                    feeds.c.reason.startswith(STUCK_PREFIX),
                )
                .group_by(feeds.c.seller)
            ).all()
            taken = conn.execute(
                select(files.c.seller, func.coalesce(func.sum(files.c.lines), 0)).group_by(
                    files.c.seller
                )
            ).all()
            recent = conn.execute(
                select(files.c.seller, func.coalesce(func.sum(files.c.lines), 0))
                .where(files.c.received_at >= now - RATE_WINDOW)
                .group_by(files.c.seller)
            ).all()
        yield _lines_metric(sellers, by_status)
        age = GaugeMetricFamily(
            "shipfeed_oldest_queued_line_age_seconds",
            "How long the oldest line still in the queue has waited (0: none waiting)",
            labels=["seller"],
        )
        waited = {s: (now - at).total_seconds() for s, at in oldest if at is not None}
        for s in _all(sellers, waited):
            age.add_metric([s], max(0.0, waited.get(s, 0.0)))
        yield age
        inflight = GaugeMetricFamily(
            "shipfeed_feeds_in_flight",
            "Feeds prepared, uploaded or with Amazon, not yet ended",
            labels=["seller", "state"],
        )
        for s, state, n in flight:
            inflight.add_metric([s, state], n)
        yield inflight
        stuck_m = GaugeMetricFamily(
            "shipfeed_feeds_stuck", "Feeds with Amazon past the stuck setting", labels=["seller"]
        )
        for s, n in stuck:
            stuck_m.add_metric([s], n)
        yield stuck_m
        total = CounterMetricFamily(
            "shipfeed_intake_lines", "Input lines taken in (files and API posts)", labels=["seller"]
        )
        for s, n in taken:
            total.add_metric([s], int(n))
        yield total
        rate = GaugeMetricFamily(
            "shipfeed_intake_lines_per_second",
            f"Lines taken in per second over the last {int(RATE_WINDOW.total_seconds())} s",
            labels=["seller"],
        )
        per_seller = {s: int(n) for s, n in recent}
        for s in _all(sellers, per_seller):
            rate.add_metric([s], per_seller.get(s, 0) / RATE_WINDOW.total_seconds())
        yield rate
        yield from _health_metrics(self.ledger, sellers)
        yield _spapi_metric(callcounts.totals(self.ledger))


def _spapi_metric(totals: dict[tuple[str, str], int]) -> Metric:
    calls = CounterMetricFamily(
        "shipfeed_spapi_calls",
        "SP-API requests sent by every worker on this ledger, by operation and outcome "
        f"(ok, throttled = HTTP 429, error); each retry counts; up to {FLUSH_SECONDS:g} s behind",
        labels=["operation", "outcome"],
    )
    for (op, outcome), n in sorted(totals.items()):
        calls.add_metric([op, outcome], n)
    return calls


def _all(sellers: list[str], found: Iterable[str]) -> list[str]:
    return sorted(set(sellers) | set(found))


def _lines_metric(sellers: list[str], rows: Sequence[Any]) -> Metric:
    m = GaugeMetricFamily(
        "shipfeed_lines", "Lines in the ledger by seller and status", labels=["seller", "status"]
    )
    counts = {(s, st): n for s, st, n in rows}
    for s in sorted(set(sellers) | {s for s, _ in counts}):
        for st in LineStatus:
            m.add_metric([s, st.value], counts.get((s, st.value), 0))
    return m


def _health_metrics(ledger: Ledger, sellers: list[str]) -> Iterator[Metric]:
    rows = {h.component: h for h in health.read(ledger)}
    login = GaugeMetricFamily(
        "shipfeed_amazon_login_ok", "0 while Amazon refuses the login, else 1"
    )
    refused = any(health.is_login(c) and h.state == health.REFUSED for c, h in rows.items())
    login.add_metric([], 0 if refused else 1)  # 0 while any account's login is refused
    yield login
    failing = GaugeMetricFamily(
        "shipfeed_inbox_poll_failing",
        "1 while the last poll of the seller's inbox failed",
        labels=["seller"],
    )
    failing_for = GaugeMetricFamily(
        "shipfeed_inbox_poll_failing_seconds",
        "How long the seller's inbox polls have been failing (0: the last one worked)",
        labels=["seller"],
    )
    last = GaugeMetricFamily(
        "shipfeed_inbox_last_poll_timestamp_seconds",
        "When the seller's inbox was last polled (Unix time)",
        labels=["seller"],
    )
    now = datetime.now(UTC)
    for s in sellers:
        row = rows.get(INBOX_PREFIX + s)
        if row is None:
            continue
        failing.add_metric([s], 0 if row.ok else 1)
        failing_for.add_metric([s], 0 if row.ok else (now - row.since).total_seconds())
        last.add_metric([s], row.updated_at.timestamp())
    yield failing
    yield failing_for
    yield last


def registry_for(ledger: Ledger, settings: Settings) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(ledger, settings))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        st = request.app.state.console
        registry = request.app.state.metrics_registry = registry_for(st.ledger, st.settings)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
