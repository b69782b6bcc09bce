"""/metrics, /healthz and /readyz over real HTTP: no login, counts and states from the
ledger, never order data; /readyz fails when the ledger, the login or an inbox does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from api_support import ApiConsole
from console_support import console_secrets, console_settings
from ledger_db import order, pg_schema_url, sent_feed, ship, take_in
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from console.serve import ConsoleThread
from feeds.spapi import callstats
from processors.callcounter import CallCounter
from processors.ledger import callcounts, health
from processors.ledger.store import Ledger


def scrape(api: ApiConsole) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with api.client(token=None) as c:
        r = c.get("/metrics")
    assert r.status_code == 200
    out = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def inboxes_polled(ledger: Ledger, at: datetime) -> None:
    for seller in ("acme", "globex"):
        health.record(ledger, f"inbox:{seller}", health.OK, at)


def test_metrics_count_lines_per_status_and_seller_without_order_data(api: ApiConsole) -> None:
    take_in(api.ledger, [ship(2, order(1)), ship(3, order(2))], seller="acme")
    take_in(api.ledger, [ship(2, order(3))], seller="globex", name="g.csv")
    sent_feed(api.ledger, "globex")
    with api.client(token=None) as c:
        text = c.get("/metrics").text
    m = scrape(api)
    assert m[("shipfeed_lines", (("seller", "acme"), ("status", "in_queue")))] == 2
    assert m[("shipfeed_lines", (("seller", "globex"), ("status", "submitted")))] == 1
    assert m[("shipfeed_lines", (("seller", "acme"), ("status", "error")))] == 0
    assert m[("shipfeed_feeds_in_flight", (("seller", "globex"), ("state", "created")))] == 1
    assert m[("shipfeed_intake_lines_total", (("seller", "acme"),))] == 2
    assert m[("shipfeed_oldest_queued_line_age_seconds", (("seller", "acme"),))] >= 0
    assert m[("shipfeed_ledger_up", ())] == 1
    assert order(1) not in text and "1Z999" not in text


def test_metrics_count_spapi_calls_throttles_and_errors_per_operation(api: ApiConsole) -> None:
    before = scrape(api)
    counter = CallCounter(api.ledger, every=3600).start()  # a worker in this process
    for outcome in (callstats.OK, callstats.THROTTLED, callstats.THROTTLED, callstats.ERROR):
        callstats.report("createFeed", outcome)
    counter.close()
    after = scrape(api)

    def grew(outcome: str) -> float:
        key = ("shipfeed_spapi_calls_total", (("operation", "createFeed"), ("outcome", outcome)))
        return after[key] - before.get(key, 0)

    assert (grew("ok"), grew("throttled"), grew("error")) == (1, 2, 1)


def test_metrics_sum_the_spapi_calls_of_every_worker(api: ApiConsole) -> None:
    now = datetime.now(UTC)
    callcounts.add(api.ledger, "host-a:11:t", {("getFeed", "ok"): 4}, now)
    callcounts.add(api.ledger, "host-b:22:t", {("getFeed", "ok"): 5}, now)
    key = ("shipfeed_spapi_calls_total", (("operation", "getFeed"), ("outcome", "ok")))
    assert scrape(api)[key] == 9


def test_metrics_show_inbox_poll_failures(api: ApiConsole) -> None:
    now = datetime.now(UTC)
    health.record(api.ledger, "inbox:acme", health.FAILING, now - timedelta(minutes=3), "down")
    m = scrape(api)
    assert m[("shipfeed_inbox_poll_failing", (("seller", "acme"),))] == 1
    assert m[("shipfeed_inbox_poll_failing_seconds", (("seller", "acme"),))] >= 170


def test_healthz_answers_without_a_login(api: ApiConsole) -> None:
    with api.client(token=None) as c:
        r = c.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "alive"})


def test_readyz_is_ready_when_ledger_login_and_inboxes_are_fine(api: ApiConsole) -> None:
    inboxes_polled(api.ledger, datetime.now(UTC))
    with api.client(token=None) as c:
        r = c.get("/readyz")
    assert r.status_code == 200
    assert r.json()["ready"] is True


def test_readyz_fails_while_amazon_refuses_the_login(api: ApiConsole) -> None:
    now = datetime.now(UTC)
    inboxes_polled(api.ledger, now)
    health.record(api.ledger, health.AMAZON_LOGIN, health.REFUSED, now, "invalid_grant")
    with api.client(token=None) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["amazon_login"]["ok"] is False
    assert "invalid_grant" not in r.text


def test_readyz_fails_when_an_inbox_was_not_polled_recently(api: ApiConsole) -> None:
    now = datetime.now(UTC)
    health.record(api.ledger, "inbox:acme", health.OK, now)
    health.record(api.ledger, "inbox:globex", health.OK, now - timedelta(minutes=10))
    with api.client(token=None) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["inbox:acme"]["ok"] is True
    assert checks["inbox:globex"]["ok"] is False


@contextmanager
def tcp_relay(target: tuple[str, int]) -> Iterator[tuple[int, Callable[[], None]]]:
    """A loopback port relaying to ``target`` until cut: then every relayed connection is
    closed and new ones are refused, as when the ledger's server goes away."""
    down = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    conns: list[socket.socket] = []

    def pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass

    def accept() -> None:
        while not down.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            server = socket.create_connection(target)
            conns.extend((client, server))
            threading.Thread(target=pump, args=(client, server), daemon=True).start()
            threading.Thread(target=pump, args=(server, client), daemon=True).start()
        listener.close()
        for c in conns:
            c.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def cut() -> None:
        down.set()
        thread.join(timeout=5)

    try:
        yield listener.getsockname()[1], cut
    finally:
        cut()


def test_readyz_fails_when_the_ledger_is_unreachable(tmp_path: Path) -> None:
    with pg_schema_url() as url:
        u = make_url(url)
        with tcp_relay((u.host or "127.0.0.1", u.port or 5432)) as (port, cut):
            ledger = Ledger.open(u.set(port=port).render_as_string(hide_password=False))
            settings = console_settings(tmp_path / "data")
            web = ConsoleThread(settings, console_secrets(), ledger, "127.0.0.1", 0).start()
            try:
                inboxes_polled(ledger, datetime.now(UTC))
                with httpx.Client(base_url=web.url, timeout=30) as c:
                    ready = c.get("/readyz")
                    cut()
                    unready = c.get("/readyz")
                    alive = c.get("/healthz")
                    metrics = c.get("/metrics")
            finally:
                web.stop()
                ledger.engine.dispose()
    assert ready.status_code == 200
    assert unready.status_code == 503
    assert unready.json()["checks"]["ledger"]["ok"] is False
    assert alive.status_code == 200
    assert "shipfeed_ledger_up 0.0" in metrics.text
