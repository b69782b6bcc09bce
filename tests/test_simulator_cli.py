"""The order book on disk and the ``python run.py simulator`` command."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from simulator_support import NO_TLS

from feeds.simulator import OrderBook
from feeds.simulator.serve import build, serve_forever

ROOT = Path(__file__).resolve().parents[1]


def test_generated_book_is_reproducible_from_its_seed() -> None:
    a = OrderBook.generate(seed=5, count=20)
    b = OrderBook.generate(seed=5, count=20)
    assert [o.order_id for o in a.orders()] == [o.order_id for o in b.orders()]
    assert [[i.order_item_id for i in o.items] for o in a.orders()] == [
        [i.order_item_id for i in o.items] for o in b.orders()
    ]


def test_generated_ids_have_amazon_shapes() -> None:
    for order in OrderBook.generate(seed=1, count=50).orders():
        assert re.fullmatch(r"\d{3}-\d{7}-\d{7}", order.order_id)
        assert order.status == "Unshipped"
        assert all(re.fullmatch(r"\d{14}", i.order_item_id) for i in order.items)


def test_book_survives_dump_and_load(tmp_path: Path) -> None:
    book = OrderBook.generate(seed=2, count=5)
    book.add_order("123-1234567-1234567", [("12345678901234", 2)], status="Canceled")
    book.dump(tmp_path / "book.json")
    loaded = OrderBook.load(tmp_path / "book.json")
    assert [o.to_json() for o in loaded.orders()] == [o.to_json() for o in book.orders()]


def test_build_serves_the_loaded_book_and_stops(tmp_path: Path) -> None:
    book = OrderBook()
    book.add_order("123-1234567-1234567", 1)
    book.dump(tmp_path / "book.json")
    sim = build(orders=tmp_path / "book.json", faults=["gzip"])
    lines: list[str] = []
    stop = threading.Event()
    stop.set()
    serve_forever(sim, lines.append, stop)
    assert "SIMULATED" in lines[0] and sim.url in lines[0]
    assert "123-1234567-1234567" in sim.orderbook
    with pytest.raises(httpx.ConnectError):
        httpx.get(sim.url + "/", verify=NO_TLS)


def test_build_adds_the_accounts_it_is_given_and_names_them() -> None:
    sim = build(accounts=["Atzr|eu:one:A2EUSELLER:eu"])
    lines: list[str] = []
    stop = threading.Event()
    stop.set()
    serve_forever(sim, lines.append, stop)
    (eu,) = [p for p in sim.tokens.partners() if p.merchant_id == "A2EUSELLER"]
    assert (eu.refresh_token, eu.region) == ("Atzr|eu:one", "EU")
    assert f"account A2EUSELLER (EU): refresh token Atzr|eu:one at {sim.url}/eu" in lines[0]


def test_build_refuses_an_account_without_a_known_region() -> None:
    with pytest.raises(ValueError, match="REFRESH_TOKEN:MERCHANT:REGION"):
        build(accounts=["Atzr|x:A1:SA"])


def test_build_refuses_a_bad_fault_spec() -> None:
    with pytest.raises(ValueError):
        build(faults=["throttle=2"])


def test_run_py_simulator_prints_its_url_and_answers_there() -> None:
    proc = subprocess.Popen(
        [sys.executable, "run.py", "simulator", "--port", "0", "--seed", "3", "--no-rate-limits"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert "SIMULATED" in first and url is not None
        r = httpx.post(
            url.group(0) + "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "sim-refresh-token",
                "client_id": "sim-client-id",
                "client_secret": "sim-client-secret",
            },
            verify=NO_TLS,
        )
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
