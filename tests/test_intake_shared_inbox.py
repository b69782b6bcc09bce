"""Several workers on one ledger and one inbox: a file in processing/ is resumed as a crash
leftover only when no live worker holds its claim (processors/ledger/fileclaims.py).

Each worker here has its own Ledger (its own database sessions) and its own inbox and
outbox opened on the same folders, local or on a real sshd. One worker is caught in the
middle of taking a file in (its real inbox or outbox, stopped at one call until the test
lets it go on) while another polls the same inbox. A killed worker is a real process,
ended with SIGKILL while it holds a file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest
from ledger_db import BACKENDS
from lifecycle_support import World, row
from sshd import SshdServer

from ingest.inbox import ClaimedFile, Inbox, Outbox
from ingest.local import LocalInbox, LocalOutbox
from ingest.sftp import SftpInbox, SftpOutbox
from ingest.sftp_conn import SftpAuth, SftpConnection, SftpLocation, SftpOptions
from processors.context import Context
from processors.intake import IntakeResult, intake_ready
from processors.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]
O1, O2, O3 = "111-0000001-0000001", "111-0000002-0000001", "111-0000003-0000001"
ROWS = [row(O1, "10000000000001", "1"), row(O2, "10000000000002", "1")]

BoxOpener = Callable[[Path, Path], tuple[Inbox, Outbox]]


@pytest.fixture(params=["local", pytest.param("sftp", marks=pytest.mark.sftp)])
def open_boxes(request: pytest.FixtureRequest, tmp_path: Path) -> BoxOpener:
    """How a worker opens the seller's inbox and outbox: local folders, or the same
    folders through a real sshd."""
    if request.param == "local":
        return lambda inbox, outbox: (
            LocalInbox(inbox, settle_seconds=0, watch=False),
            LocalOutbox(outbox),
        )
    server: SshdServer = request.getfixturevalue("sshd_server")
    known = server.write_known_hosts(tmp_path / "known_hosts")

    def conn(path: Path) -> SftpConnection:
        return SftpConnection(
            SftpLocation(server.host, server.port, "root", str(path)),
            SftpAuth(private_key_path=str(server.user_key)),
            SftpOptions(known_hosts=str(known)),
        )

    return lambda inbox, outbox: (
        SftpInbox(conn(inbox), settle_seconds=0),
        SftpOutbox(conn(outbox)),
    )


@dataclass
class Worker:
    ctx: Context
    inbox: Inbox
    outbox: Outbox

    def intake(self, stuck: list[str] | None = None) -> list[IntakeResult]:
        return intake_ready(
            self.ctx, self.ctx.settings.sellers[0], self.inbox, self.outbox, left_claimed=stuck
        )


@pytest.fixture
def new_worker(
    world: World, ledger_url: str, open_boxes: BoxOpener
) -> Iterator[Callable[[], Worker]]:
    """Another worker on the world's ledger, inbox and outbox: its own sessions and boxes."""
    closers: list[Callable[[], None]] = []

    def make() -> Worker:
        ledger = Ledger.open(ledger_url, clock=world.clock)
        inbox, outbox = open_boxes(world.inbox_dir, world.outbox_dir)
        closers.extend([ledger.close, inbox.close, outbox.close])
        return Worker(replace(world.ctx, ledger=ledger), inbox, outbox)

    yield make
    for close in reversed(closers):
        close()


class Gate:
    """Where a worker is stopped: ``inside`` is set when it gets there, and it goes on
    when the test opens the gate."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self._open = threading.Event()

    def stop_here(self) -> None:
        self.inside.set()
        if not self._open.wait(60):
            raise TimeoutError("the test never let the worker go on")

    def open(self) -> None:
        self._open.set()


class StoppedAfterDownload:
    """A worker's real inbox that stops once it has a claimed file's bytes in hand, as a
    worker reading a large file is: the file is still in processing/, under its claim."""

    def __init__(self, inner: Inbox, gate: Gate) -> None:
        self._inner, self._gate = inner, gate

    def open(self, file: ClaimedFile) -> AbstractContextManager[BinaryIO]:
        stream = self._inner.open(file)
        self._gate.stop_here()
        return stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class StoppedBeforeReport:
    """A worker's real outbox that stops before its first report: the file's lines are
    committed, the file is still in processing/ and its intake report not yet written."""

    def __init__(self, inner: Outbox, gate: Gate) -> None:
        self._inner, self._gate = inner, gate

    def write(self, name: str, data: bytes) -> None:
        if not self._gate.inside.is_set():
            self._gate.stop_here()
        self._inner.write(name, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _attempts(world: World) -> dict[str, str]:
    processing = world.inbox_dir / ".shipfeed" / "processing"
    return {p.name: p.read_text() for p in processing.glob(".*.attempts")}


def _reports(world: World) -> list[str]:
    return sorted(p.name for p in world.outbox_dir.iterdir() if not p.name.startswith("."))


def _caught(worker: Worker, gate: Gate, *, where: str) -> Worker:
    if where == "reading":
        return replace(worker, inbox=cast(Inbox, StoppedAfterDownload(worker.inbox, gate)))
    return replace(worker, outbox=cast(Outbox, StoppedBeforeReport(worker.outbox, gate)))


def _run_caught(
    pool: ThreadPoolExecutor, worker: Worker, gate: Gate, stuck: list[str]
) -> Future[list[IntakeResult]]:
    running = pool.submit(worker.intake, stuck)
    if not gate.inside.wait(30):
        running.result(timeout=1)  # shows the worker's own error, if it had one
        raise AssertionError("the first worker never claimed the file")
    return running


@pytest.mark.parametrize("ledger_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("where", ["reading", "reporting"])
def test_a_file_a_live_worker_is_taking_in_is_left_to_it(
    world: World, new_worker: Callable[[], Worker], where: str
) -> None:
    world.drop("f.csv", ROWS)
    gate = Gate()
    first, second = _caught(new_worker(), gate, where=where), new_worker()
    first_stuck: list[str] = []
    second_stuck: list[str] = []
    with ThreadPoolExecutor(1) as pool:
        running = _run_caught(pool, first, gate, first_stuck)
        counted = _attempts(world)
        assert second.intake(second_stuck) == []
        assert _attempts(world) == counted  # the second worker counted no start
        # One start while reading; none once the file was read through (Inbox.read_through).
        assert list(counted.values()) == (["1"] if where == "reading" else [])
        gate.open()
        [taken] = running.result(timeout=60)
    assert (taken.accepted, taken.file_error) == (2, None)
    assert (first_stuck, second_stuck) == ([], [])
    assert _reports(world) == ["f.csv.intake.csv", "f.csv.intake.json"]
    assert world.report("f.csv.intake.json")["lines"] == 2
    assert list((world.inbox_dir / ".shipfeed" / "processing").iterdir()) == []


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_three_workers_polling_one_inbox_take_each_file_once(
    world: World, new_worker: Callable[[], Worker]
) -> None:
    """Two workers caught in the middle of a file each, the third polls: it takes only
    the file nobody holds, and each file gets one intake report."""
    world.drop("a.csv", [ROWS[0]])
    gates = [Gate(), Gate()]
    stuck: list[list[str]] = [[], [], []]
    workers = [_caught(new_worker(), gates[0], where="reading")]
    with ThreadPoolExecutor(2) as pool:
        first = _run_caught(pool, workers[0], gates[0], stuck[0])
        world.drop("b.csv", [ROWS[1]])
        workers.append(_caught(new_worker(), gates[1], where="reporting"))
        second = _run_caught(pool, workers[1], gates[1], stuck[1])
        world.drop("c.csv", [row(O3, "10000000000003", "2")])
        third = new_worker().intake(stuck[2])
        for gate in gates:
            gate.open()
        taken = [*first.result(timeout=60), *second.result(timeout=60), *third]
    assert sorted((t.name, t.accepted) for t in taken) == [("a.csv", 1), ("b.csv", 1), ("c.csv", 1)]
    assert stuck == [[], [], []]
    assert _reports(world) == [f"{n}.csv.intake.{x}" for n in "abc" for x in ("csv", "json")]


#: A worker process that claims what is ready in the inbox and is killed (SIGKILL, as the
#: OOM killer would) while reading it: its claim stays in processing/.
KILLED_WORKER = """
import os, signal, sys
sys.path.insert(0, os.getcwd())
from config.settings import SellerSettings, Settings
from feeds.spapi.client import SpApiClient
from ingest.local import LocalInbox, LocalOutbox
from processors.context import Context
import processors.intake as intake
from processors.ledger.store import Ledger

def open_reader(stream, name, **kw):
    os.kill(os.getpid(), signal.SIGKILL)

intake.open_reader = open_reader
ledger_url, inbox, outbox, data_dir = sys.argv[1:5]
seller = SellerSettings(name="acme", merchant_id="A1SIMULATEDSELLER", inbox=inbox, outbox=outbox)
settings = Settings(data_dir=data_dir, sellers=[seller])
client = SpApiClient(endpoint="http://127.0.0.1:9", token_url="http://127.0.0.1:9/t",
                     client_id="x", client_secret="x", refresh_token="x")
ctx = Context(settings, Ledger.open(ledger_url), client, simulated=True)
intake.intake_ready(ctx, seller, LocalInbox(inbox, settle_seconds=0, watch=False),
                    LocalOutbox(outbox))
"""


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("open_boxes", ["local"], indirect=True)
def test_only_a_killed_workers_file_is_resumed_not_a_live_ones(
    world: World, new_worker: Callable[[], Worker], ledger_url: str, tmp_path: Path
) -> None:
    world.drop("live.csv", [ROWS[1]])
    gate = Gate()
    live, other = _caught(new_worker(), gate, where="reading"), new_worker()
    stuck: list[str] = []
    with ThreadPoolExecutor(1) as pool:
        running = _run_caught(pool, live, gate, [])
        world.drop("killed.csv", [ROWS[0]])
        args = [ledger_url, str(world.inbox_dir), str(world.outbox_dir), str(tmp_path / "var")]
        killed = subprocess.run(
            [sys.executable, "-c", KILLED_WORKER, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        resumed = other.intake(stuck)
        gate.open()
        [live_taken] = running.result(timeout=60)
    assert [(r.name, r.accepted) for r in resumed] == [("killed.csv", 1)]
    assert (live_taken.name, live_taken.accepted, stuck) == ("live.csv", 1, [])
    assert _reports(world) == [
        f"{n}.csv.intake.{x}" for n in ("killed", "live") for x in ("csv", "json")
    ]
