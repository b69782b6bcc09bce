"""The service with the order checks on (the default), end to end: a 400-line file on the
embedded simulator is sent without a single per-order lookup, within getOrders' burst,
on SQLite and PostgreSQL (issue 11: --once used to wait minutes on getOrder)."""

from __future__ import annotations

from pathlib import Path

from service_support import order_lines, service, settings_for, write_orders

from feeds.errors import ExitCode
from processors.ledger.queries import status_counts


def test_once_confirms_a_400_line_file_within_the_get_orders_burst_and_no_get_order(
    ledger_url: str, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "big.csv", order_lines(1, 400))
    with service(settings_for(var, ledger_url=ledger_url)) as svc:
        outcome = svc.run_once(120)
        counts = status_counts(svc.ledger).counts
        assert svc.simulator is not None
        calls = svc.simulator.counters.api_calls
        throttled = sum(svc.simulator.counters.throttled.values())
    assert (outcome.exit, counts["confirmed"]) == (ExitCode.OK, 400)
    assert calls["getOrder"] == 0
    assert calls["getOrders"] <= 20  # 8 by id (50 each) and the seller's changed orders
    assert throttled == 0
