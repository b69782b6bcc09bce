"""One seller's dead SFTP server holds up only that seller's result reports and status
note, not every seller's.

Found by the chaos test (tests/test_chaos.py): with the sshd of ten sellers stopped for a
minute, the twenty sellers on local folders got no result report for that whole minute
either, though Amazon had confirmed their lines. The report step wrote the finished files
in ledger order and stopped at the first one whose outbox failed, and the SFTP sellers'
files came first; the status notes likewise stopped at the first SFTP seller.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_db import order, sent_feed, ship, take_in
from sshd import SshdServer

from feeds.errors import TransientError
from ingest.errors import InboxError
from ingest.factory import InboxOptions, SftpAuth, open_outbox
from processors.inboxpool import SellerPool
from processors.ledger.queries import files_to_report
from processors.ledger.store import Ledger
from processors.results import ReportWriter

pytestmark = pytest.mark.sftp


def _finished(ledger: Ledger, seller: str, n: int) -> None:
    """A file of one line that Amazon confirmed: its result report is due."""
    take_in(ledger, [ship(2, order(n))], name=f"{seller}.csv", seller=seller)
    feed_id, _ = sent_feed(ledger, seller)
    ledger.complete_feed(feed_id, {}, others=("confirmed", None, None))


def test_a_dead_sftp_outbox_does_not_hold_up_the_other_sellers_reports(
    ledger: Ledger, sshd_server: SshdServer, tmp_path: Path
) -> None:
    remote, local = tmp_path / "remote-out", tmp_path / "local-out"
    remote.mkdir()
    options = InboxOptions(
        known_hosts=str(sshd_server.write_known_hosts(tmp_path / "kh")), hold_off_seconds=0.5
    )
    down = open_outbox(
        f"sftp://root@{sshd_server.host}:{sshd_server.port}{remote}",
        options=options,
        auth=SftpAuth(private_key_path=str(sshd_server.user_key)),
    )
    writer = ReportWriter(ledger, {"down": down, "up": open_outbox(str(local))}, simulated=True)
    _finished(ledger, "down", 1)  # first in the ledger's order, as in the chaos run
    _finished(ledger, "up", 2)
    try:
        sshd_server.stop()
        with pytest.raises(TransientError):  # the step still says it failed
            writer.write_finished()
        report = json.loads((local / "up.csv.result.json").read_text())
        assert [r["status"] for r in report["rows"]] == ["confirmed"]
        assert [f.seller for f in files_to_report(ledger)] == ["down"]  # tried next round
        with pytest.raises(TransientError):
            writer.write_status_notes()
        assert json.loads((local / "status.json").read_text())["seller"] == "up"

        sshd_server.start()
        time.sleep(0.6)  # the dead server's hold-off (ingest/sftp_conn.py) ends
        writer.write_finished()
        writer.write_status_notes()
    finally:
        down.close()
    assert files_to_report(ledger) == []
    assert (remote / "down.csv.result.json").exists()
    assert json.loads((remote / "status.json").read_text())["seller"] == "down"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A server that takes the connection and never says a word (a firewall that
    swallows packets looks the same to a client): only timeouts end a call to it."""
    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                taken.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for s in [*taken, listener]:
        s.close()


def test_an_outbox_that_never_answers_holds_up_only_its_own_sellers_reports(
    ledger: Ledger, silent_server: int, tmp_path: Path
) -> None:
    local = tmp_path / "local-out"
    silent = open_outbox(
        f"sftp://root@127.0.0.1:{silent_server}{tmp_path / 'remote-out'}",
        options=InboxOptions(known_hosts=str(tmp_path / "kh")),
        auth=SftpAuth(password="never-used"),
    )
    pool = SellerPool(4, name="outbox")
    writer = ReportWriter(
        ledger,
        {"silent": silent, "up": open_outbox(str(local))},
        simulated=True,
        pool=pool,
        timeout=1.0,
    )
    _finished(ledger, "silent", 1)
    _finished(ledger, "up", 2)
    try:
        with pytest.raises(InboxError, match="outbox of silent did not answer within 1 s"):
            writer.write_finished()
        report = json.loads((local / "up.csv.result.json").read_text())
        assert [r["status"] for r in report["rows"]] == ["confirmed"]
        with pytest.raises(InboxError, match="silent"):  # still hanging: not started again
            writer.write_status_notes()
        assert json.loads((local / "status.json").read_text())["seller"] == "up"
    finally:
        silent.close()  # ends the hanging connect at once
        pool.close()
