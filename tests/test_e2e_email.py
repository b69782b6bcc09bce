"""The service sends the opt-in shipped notice once Amazon has confirmed a line.

A real SMTP server (aiosmtpd) on loopback receives what the service sends; the simulator
shows the buyer's relay address on the order, as getOrder's BuyerInfo does on Amazon.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import (
    item_id,
    order_id,
    order_lines,
    service,
    settings_for,
    sim_secrets,
    write_orders,
)
from simulator_support import config
from smtp_support import Mailbox

from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.service import RunExit


@pytest.fixture
def sim() -> Iterator[Simulator]:
    book = OrderBook()
    book.add_order(order_id(1), [(item_id(1), 1)]).buyer_email = "buyer@marketplace.example"
    s = start_simulator(config(), book)
    try:
        yield s
    finally:
        s.stop()


def _run(tmp_path: Path, sim: Simulator, email: dict[str, object]) -> RunExit:
    settings = settings_for(tmp_path / "var", sim, email=email)
    write_orders(tmp_path / "var" / "inbox" / "a.csv", order_lines(1, 1))
    with service(settings, sim_secrets(sim)) as svc:
        return svc.run_once(60).exit


def test_service_emails_the_buyer_when_enabled(
    tmp_path: Path, sim: Simulator, smtp: tuple[Mailbox, int]
) -> None:
    received, port = smtp
    exit_code = _run(tmp_path, sim, {"enabled": True, "smtp_port": port})
    assert exit_code == RunExit.OK
    (msg,) = received.messages
    assert msg["To"] == "buyer@marketplace.example"
    assert order_id(1) in msg["Subject"]


def test_service_sends_no_email_by_default(
    tmp_path: Path, sim: Simulator, smtp: tuple[Mailbox, int]
) -> None:
    received, port = smtp
    exit_code = _run(tmp_path, sim, {"smtp_port": port})
    assert exit_code == RunExit.OK
    assert received.messages == []
