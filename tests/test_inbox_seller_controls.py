"""The inbox controls a legacy exporter needs, set per seller in the settings and applied
by the service: ``done_marker``, ``settle_seconds``, ``include`` and ``exclude``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service_support import order_lines, service, settings_for, sim_secrets, write_orders
from simulator_support import config

from feeds.simulator import OrderBook, start_simulator


def _taken(tmp_path: Path, **controls: Any) -> list[str]:
    """The names one intake pass of the service takes from the seller's inbox."""
    with start_simulator(config(auto_create_orders=True), OrderBook()) as sim:
        seller = {
            "name": "legacy",
            "merchant_id": "A1LEGACY",
            "inbox": str(tmp_path / "in"),
            "outbox": str(tmp_path / "out"),
            **controls,
        }
        settings = settings_for(tmp_path / "var", sim, sellers=[seller])
        with service(settings, sim_secrets(sim)) as svc:
            return sorted(r.name for r in svc.intake())


def test_a_done_marker_makes_a_file_ready_before_the_sellers_settle_time(tmp_path: Path) -> None:
    write_orders(tmp_path / "in" / "marked.csv", order_lines(1, 1))
    (tmp_path / "in" / "marked.csv.done").write_bytes(b"")
    write_orders(tmp_path / "in" / "unmarked.csv", order_lines(2, 1))
    assert _taken(tmp_path, done_marker=True, settle_seconds=3600) == ["marked.csv"]
    assert sorted(p.name for p in (tmp_path / "in").iterdir() if p.is_file()) == ["unmarked.csv"]


def test_include_and_exclude_patterns_leave_other_files_untouched(tmp_path: Path) -> None:
    write_orders(tmp_path / "in" / "orders-1.CSV", order_lines(1, 1))
    write_orders(tmp_path / "in" / "orders-2_draft.csv", order_lines(2, 1))
    (tmp_path / "in" / "export.log").write_text("exporter ran\n")
    taken = _taken(tmp_path, settle_seconds=0, include=["orders-*.csv"], exclude=["*_draft*"])
    assert taken == ["orders-1.CSV"]
    left = sorted(p.name for p in (tmp_path / "in").iterdir() if p.is_file())
    assert left == ["export.log", "orders-2_draft.csv"]
    assert not any((tmp_path / "in" / ".shipfeed" / "quarantine").iterdir())
