"""The running service (--once, in-process) against the simulator over HTTP: the result
report in the outbox is the seller's own file, row for row, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_db import BACKENDS, ledger_db_url
from service_support import order_lines, service, settings_for, sim_secrets
from simulator_support import config

from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.reports import ADDED_COLUMNS
from processors.service import RunExit

#: A legacy export: a title row, the seller's own names and order, columns we ignore.
TITLE = "Shipments export,,,,,,,,\r\n"
HEADER = "Warehouse,Order ID,Order Item ID,Qty,Ship Date,Carrier,Tracking Number,Service,Packer\r\n"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


def export(rows: list[str]) -> str:
    return TITLE + HEADER + "".join(f"WH-{n},{r.rstrip()},p{n}\r\n" for n, r in enumerate(rows))


@pytest.mark.parametrize("backend", BACKENDS)
def test_result_report_is_the_sellers_file_with_the_outcome_added(
    backend: str, sim: Simulator, tmp_path: Path
) -> None:
    rows = [*order_lines(1, 2), "not-an-order,,1,2020-01-01,UPS,1Z,Ground\r\n"]
    text = export(rows)
    inbox, outbox = tmp_path / "var" / "inbox", tmp_path / "var" / "outbox"
    inbox.mkdir(parents=True)
    (inbox / "a.csv").write_text(text, encoding="utf-8", newline="")
    with (
        ledger_db_url(backend, tmp_path) as url,
        service(settings_for(tmp_path / "var", sim, ledger_url=url), sim_secrets(sim)) as svc,
    ):
        outcome = svc.run_once(60)
    assert outcome.exit == RunExit.LINES_NOT_CONFIRMED
    got = list(csv.reader(io.StringIO((outbox / "a.csv.result.csv").read_text("utf-8-sig"))))
    body = got[got.index([]) + 1 :]
    original = list(csv.reader(io.StringIO(text)))[1:]
    assert body[0] == [*original[0], *ADDED_COLUMNS]
    assert [r[: len(original[0])] for r in body[1:]] == original[1:]
    assert [(r[-1], r[-5]) for r in body[1:]] == [
        ("3", "confirmed"),
        ("4", "confirmed"),
        ("5", "rejected"),
    ]
    report = json.loads((outbox / "a.csv.result.json").read_text("utf-8"))
    assert report["rows"][2]["cells"]["Packer"] == "p2"
    assert report["counts"] == {"confirmed": 2, "rejected": 1}
