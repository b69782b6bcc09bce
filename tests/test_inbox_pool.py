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

from config.settings import Secrets, Settings, SftpSecret
from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.ledger import health
from processors.service import Service

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


def _settings(tmp_path: Path, sim: Simulator, port: int, timeout: float) -> Settings:
    """Two sellers: one whose SFTP server hangs, one with a local inbox."""
    return settings_for(
        tmp_path / "var",
        sim,
        service={"inbox_timeout_seconds": timeout},
        sellers=[
            {
                "name": "hung",
                "merchant_id": "A1HUNG",
                "inbox": f"sftp://root@127.0.0.1:{port}/in",
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


def _secrets(sim: Simulator) -> Secrets:
    secrets = sim_secrets(sim)
    secrets.sftp["default"] = SftpSecret(password="not-used")
    return secrets


def test_a_hung_sftp_server_costs_only_its_own_sellers_time(
    silent_server: int, tmp_path: Path
) -> None:
    write_orders(tmp_path / "good" / "in" / "orders.csv", order_lines(1, 2))
    with start_simulator(config(auto_create_orders=True), OrderBook()) as sim:
        settings = _settings(tmp_path, sim, silent_server, TIMEOUT)
        with service(settings, _secrets(sim)) as svc:
            started = time.monotonic()
            taken = svc.intake()
            took = time.monotonic() - started
            rows = {h.component: h for h in health.read(svc.ledger)}
    assert [(t.name, t.accepted) for t in taken] == [("orders.csv", 2)]
    assert took < TIMEOUT + 3
    hung = rows["inbox:hung"]
    assert (hung.state, rows["inbox:good"].state) == (health.FAILING, health.OK)
    assert hung.last_error is not None and "no answer within 2 s" in hung.last_error


def test_a_stop_ends_a_pass_held_up_by_a_hung_server_within_seconds(
    silent_server: int, tmp_path: Path
) -> None:
    with start_simulator(config(auto_create_orders=True), OrderBook()) as sim:
        settings = _settings(tmp_path, sim, silent_server, timeout=600)
        svc = Service.start(settings, _secrets(sim), watch=False, once=True)
        try:
            threading.Timer(1.0, svc.stop, args=("test",)).start()
            started = time.monotonic()
            svc.intake()
            stopped_after = time.monotonic() - started
        finally:
            started = time.monotonic()
            svc.close()
            closed_after = time.monotonic() - started
    assert stopped_after < 3
    assert closed_after < 3
