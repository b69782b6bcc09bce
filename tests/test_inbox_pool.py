"""Inboxes are polled side by side (processors/inboxpool.py): a seller whose SFTP server
accepts the connection and then never answers costs only its own seller's time, and shows
in that seller's inbox health."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import order_lines, service, settings_for, sim_secrets, write_orders
from simulator_support import config

from config.settings import SftpSecret
from feeds.simulator import OrderBook, start_simulator
from processors.ledger import health

TIMEOUT = 2.0


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung SFTP server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_hung_sftp_server_costs_only_its_own_sellers_time(
    silent_server: int, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    write_orders(tmp_path / "good" / "in" / "orders.csv", order_lines(1, 2))
    with start_simulator(config(auto_create_orders=True), OrderBook()) as sim:
        settings = settings_for(
            var,
            sim,
            service={"inbox_timeout_seconds": TIMEOUT},
            sellers=[
                {
                    "name": "hung",
                    "merchant_id": "A1HUNG",
                    "inbox": f"sftp://root@127.0.0.1:{silent_server}/in",
                    "outbox": str(tmp_path / "hung" / "out"),
                    "trust_on_first_use": True,
                },
                {
                    "name": "good",
                    "merchant_id": "A1GOOD",
                    "inbox": str(tmp_path / "good" / "in"),
                    "outbox": str(tmp_path / "good" / "out"),
                },
            ],
        )
        secrets = sim_secrets(sim)
        secrets.sftp["default"] = SftpSecret(password="not-used")
        with service(settings, secrets) as svc:
            started = time.monotonic()
            taken = svc.intake()
            took = time.monotonic() - started
            rows = {h.component: h for h in health.read(svc.ledger)}
    assert [(t.name, t.accepted) for t in taken] == [("orders.csv", 2)]
    assert took < TIMEOUT + 3
    hung = rows["inbox:hung"]
    assert (hung.state, rows["inbox:good"].state) == (health.FAILING, health.OK)
    assert hung.last_error is not None and "no answer within 2 s" in hung.last_error
