"""Each inbox counts, beside a claim, how many processes started taking it in: durably
(a new process reads the count a killed one left), once per process, and the count goes
with the file when it is archived or quarantined. Local folder and real SFTP alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sshd import SshdServer

from ingest.inbox import ClaimedFile, Inbox
from ingest.local import LocalInbox
from ingest.sftp import SftpInbox
from ingest.sftp_conn import SftpAuth, SftpConnection, SftpLocation, SftpOptions

NewProcess = Callable[[], Inbox]


def local_kind(tmp_path: Path) -> NewProcess:
    return lambda: LocalInbox(tmp_path / "in", settle_seconds=0, watch=False)


def sftp_kind(server: SshdServer, tmp_path: Path) -> NewProcess:
    known = server.write_known_hosts(tmp_path / "known_hosts")
    return lambda: SftpInbox(
        SftpConnection(
            SftpLocation(server.host, server.port, "root", str(tmp_path / "in")),
            SftpAuth(private_key_path=str(server.user_key)),
            SftpOptions(known_hosts=str(known)),
        ),
        settle_seconds=0,
    )


@pytest.fixture(params=["local", pytest.param("sftp", marks=pytest.mark.sftp)])
def new_process(request: pytest.FixtureRequest, tmp_path: Path) -> NewProcess:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("Order ID\n1\n")
    if request.param == "local":
        return local_kind(tmp_path)
    return sftp_kind(request.getfixturevalue("sshd_server"), tmp_path)


def claim(box: Inbox) -> ClaimedFile:
    [f] = box.ready()
    claimed = box.claim(f)
    assert claimed is not None
    return claimed


def test_each_new_process_counts_one_more_start(new_process: NewProcess) -> None:
    first = new_process()
    claimed = claim(first)
    assert first.start_attempt(claimed) == 0
    assert first.start_attempt(claimed) == 0  # the same process again: not counted
    for before in (1, 2, 3):
        again = new_process()
        [resumed] = again.claimed()  # the marker is not listed as a claim
        assert again.start_attempt(resumed) == before
        again.close()
    first.close()


def test_a_file_read_through_is_no_longer_counted(new_process: NewProcess) -> None:
    first = new_process()
    claimed = claim(first)
    first.start_attempt(claimed)
    first.read_through(claimed)  # read to its end; the process is killed afterwards
    for _ in range(3):
        again = new_process()
        [resumed] = again.claimed()
        assert again.start_attempt(resumed) == 0
        again.read_through(resumed)
        again.close()
    first.close()


def test_the_count_goes_with_the_file(new_process: NewProcess, tmp_path: Path) -> None:
    box = new_process()
    claimed = claim(box)
    box.start_attempt(claimed)
    box.archive(claimed)
    processing = tmp_path / "in" / ".shipfeed" / "processing"
    assert list(processing.iterdir()) == []
    box.close()


def test_a_marker_left_by_a_process_killed_after_archiving_is_removed(
    new_process: NewProcess, tmp_path: Path
) -> None:
    """Archiving moves the claim out of processing/ first and removes its marker after: a
    process killed between the two (the chaos test met it: SIGKILL right after the SFTP
    rename) left the marker in processing/ for good. The next listing removes it, and
    leaves the markers of claims still there alone."""
    box = new_process()
    done = claim(box)
    box.start_attempt(done)
    processing = tmp_path / "in" / ".shipfeed" / "processing"
    marker = processing / f".{done.claim_name}.attempts"
    kept = marker.read_bytes()
    box.archive(done)
    marker.write_bytes(kept)  # as if killed between the move and the marker's removal
    (tmp_path / "in" / "b.csv").write_text("Order ID\n2\n")
    waiting = claim(box)
    box.start_attempt(waiting)

    again = new_process()
    assert [c.claim_name for c in again.claimed()] == [waiting.claim_name]
    assert {p.name for p in processing.iterdir()} == {
        waiting.claim_name,
        f".{waiting.claim_name}.attempts",
    }
    assert again.start_attempt(waiting) == 1  # the live claim's count is untouched
    again.close()
    box.close()
