"""The service sends the opt-in shipped notice once Amazon has confirmed a line.

A real SMTP server (aiosmtpd) on loopback receives what the service sends; the simulator
shows the buyer's relay address on the order, as getOrder's BuyerInfo does on Amazon.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
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

from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.service import RunExit


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[_Mailbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = _Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


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
    tmp_path: Path, sim: Simulator, mailbox: tuple[_Mailbox, int]
) -> None:
    received, port = mailbox
    exit_code = _run(tmp_path, sim, {"enabled": True, "smtp_port": port})
    assert exit_code == RunExit.OK
    (msg,) = received.messages
    assert msg["To"] == "buyer@marketplace.example"
    assert order_id(1) in msg["Subject"]


def test_service_sends_no_email_by_default(
    tmp_path: Path, sim: Simulator, mailbox: tuple[_Mailbox, int]
) -> None:
    received, port = mailbox
    exit_code = _run(tmp_path, sim, {"smtp_port": port})
    assert exit_code == RunExit.OK
    assert received.messages == []
