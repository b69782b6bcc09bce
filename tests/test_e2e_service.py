"""Files in → the service (--once, in-process) → the simulator over HTTP → result reports.

Every test checks the ledger against the simulator's own counters: each (order, item)
confirmed by Amazon exactly once, and the report saying so line by line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_db import BACKENDS, ledger_db_url
from service_support import (
    item_id,
    order_id,
    order_lines,
    result_rows,
    service,
    settings_for,
    sim_secrets,
    write_orders,
)
from simulator_support import config

from feeds.simulator import FaultConfig, OrderBook, Simulator, start_simulator
from processors.ledger.queries import status_counts
from processors.service import RunExit


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


def confirmed_once(sim: Simulator, orders: range, batch: int = 1) -> None:
    want = {(order_id(n, batch), item_id(n)): 1 for n in orders}
    got = {
        k: v for k, v in sim.counters.confirmations.items() if k[0].startswith(f"111-{batch:07d}")
    }
    assert got == want


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_line_confirmed_once_and_reported(
    backend: str, sim: Simulator, tmp_path: Path
) -> None:
    with ledger_db_url(backend, tmp_path) as url:
        settings = settings_for(tmp_path / "var", sim, ledger_url=url)
        write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 25))
        with service(settings, sim_secrets(sim)) as svc:
            outcome = svc.run_once(60)
            counts = status_counts(svc.ledger).counts
        assert outcome.exit == RunExit.OK
        assert counts["confirmed"] == 25
        confirmed_once(sim, range(1, 26))
        rows = result_rows(tmp_path / "var" / "outbox", "a.csv")
        assert [r["line"] for r in rows] == list(range(2, 27))
        assert {r["status"] for r in rows} == {"confirmed"}


def test_embedded_simulator_labels_reports_simulated(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "var")
    write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 5))
    with service(settings) as svc:
        assert svc.simulated
        outcome = svc.run_once(60)
        assert svc.simulator is not None
        assert sum(svc.simulator.counters.confirmations.values()) == 5
    assert outcome.exit == RunExit.OK
    csv_text = (tmp_path / "var" / "outbox" / "a.csv.result.csv").read_bytes()
    assert csv_text.startswith(b"\xef\xbb\xbf") and b"\r\n" in csv_text
    assert b"SIMULATED" in csv_text.split(b"\r\n")[1]
    assert (tmp_path / "var" / "outbox" / "status.json").exists()


def test_rejected_and_duplicate_lines_mirror_the_input(sim: Simulator, tmp_path: Path) -> None:
    good = order_lines(1, 3)
    bad = "not-an-order,,1,2020-01-01,UPS,1Z,Ground\r\n"
    write_orders(tmp_path / "var" / "inbox" / "a.csv", [good[0], bad, good[1], good[1], good[2]])
    with service(settings_for(tmp_path / "var", sim), sim_secrets(sim)) as svc:
        outcome = svc.run_once(60)
    assert outcome.exit == RunExit.LINES_NOT_CONFIRMED
    rows = result_rows(tmp_path / "var" / "outbox", "a.csv")
    assert [(r["line"], r["status"]) for r in rows] == [
        (2, "confirmed"),
        (3, "rejected"),
        (4, "confirmed"),
        (5, "duplicate"),
        (6, "confirmed"),
    ]
    confirmed_once(sim, range(1, 4))


def test_reupload_of_confirmed_lines_is_reported_duplicate(sim: Simulator, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "var", sim)
    write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 5))
    with service(settings, sim_secrets(sim)) as svc:
        svc.run_once(60)
    write_orders(tmp_path / "var" / "inbox" / "b.csv", order_lines(1, 6))
    with service(settings, sim_secrets(sim)) as svc:
        outcome = svc.run_once(60)
    assert outcome.exit == RunExit.OK
    rows = result_rows(tmp_path / "var" / "outbox", "b.csv")
    assert [r["status"] for r in rows] == ["duplicate"] * 5 + ["confirmed"]
    confirmed_once(sim, range(1, 7))


def test_amazon_rejection_ends_in_error_with_advice(tmp_path: Path) -> None:
    book = OrderBook()
    with start_simulator(config(auto_create_orders=False), book) as sim:
        write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 2))
        with service(settings_for(tmp_path / "var", sim), sim_secrets(sim)) as svc:
            outcome = svc.run_once(60)
    assert outcome.exit == RunExit.LINES_NOT_CONFIRMED
    rows = result_rows(tmp_path / "var" / "outbox", "a.csv")
    assert {r["status"] for r in rows} == {"error"}
    assert all(r["message"] and r["what_to_do"] for r in rows)


def test_fatal_feed_is_resent_and_confirmed_once(tmp_path: Path) -> None:
    faults = FaultConfig().trigger("fatal", "createFeed", 1)
    with start_simulator(config(auto_create_orders=True, faults=faults), OrderBook()) as sim:
        write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 10))
        with service(settings_for(tmp_path / "var", sim), sim_secrets(sim)) as svc:
            outcome = svc.run_once(60)
        assert outcome.exit == RunExit.OK
        assert sim.counters.feeds_created == 2
        confirmed_once(sim, range(1, 11))


def test_feeds_stuck_in_amazons_queue_are_cancelled_then_need_attention(tmp_path: Path) -> None:
    faults = FaultConfig(queued=1.0)  # every feed waits in Amazon's queue: cancellable
    with start_simulator(config(auto_create_orders=True, faults=faults), OrderBook()) as sim:
        write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 3))
        settings = settings_for(
            tmp_path / "var", sim, service={"stuck_after_seconds": 0.3, "max_resends": 1}
        )
        with service(settings, sim_secrets(sim)) as svc:
            outcome = svc.run_once(60)
        assert sum(sim.counters.confirmations.values()) == 0
        assert sim.counters.feeds_created == 2  # the send and one resend, both cancelled
    assert outcome.exit == RunExit.LINES_NOT_CONFIRMED
    rows = result_rows(tmp_path / "var" / "outbox", "a.csv")
    assert {r["status"] for r in rows} == {"needs_attention"}
    note = (tmp_path / "var" / "outbox" / "status.txt").read_text()
    assert order_id(1) in note


def test_feed_stuck_in_progress_is_never_resent_and_once_times_out(tmp_path: Path) -> None:
    faults = FaultConfig(stuck=1.0)  # Amazon keeps processing: it may still apply it
    with start_simulator(config(auto_create_orders=True, faults=faults), OrderBook()) as sim:
        write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 3))
        settings = settings_for(tmp_path / "var", sim, service={"stuck_after_seconds": 0.3})
        with service(settings, sim_secrets(sim)) as svc:
            outcome = svc.run_once(3)
        assert sim.counters.feeds_created == 1
    assert outcome.exit == RunExit.TIMED_OUT
    assert outcome.open_lines == 3


def test_throttled_calls_still_confirm_every_line_once(tmp_path: Path) -> None:
    faults = (
        FaultConfig().trigger("throttle", "createFeedDocument", 1).trigger("throttle", "getFeed", 2)
    )
    with start_simulator(config(auto_create_orders=True, faults=faults), OrderBook()) as sim:
        write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 8))
        with service(settings_for(tmp_path / "var", sim), sim_secrets(sim)) as svc:
            outcome = svc.run_once(120)
        assert outcome.exit == RunExit.OK
        assert sum(sim.counters.throttled.values()) + sum(sim.counters.faults.values()) > 0
        confirmed_once(sim, range(1, 9))


def test_file_without_order_column_exits_file_rejected(sim: Simulator, tmp_path: Path) -> None:
    inbox = tmp_path / "var" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "junk.csv").write_text("colour,size\r\nred,XL\r\n")
    with service(settings_for(tmp_path / "var", sim), sim_secrets(sim)) as svc:
        outcome = svc.run_once(30)
    assert outcome.exit == RunExit.FILE_REJECTED
