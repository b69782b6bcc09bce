"""The local folder inbox/outbox on a real filesystem with real watchdog events."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ingest.errors import UnsafeName
from ingest.factory import InboxOptions, open_inbox, open_outbox
from ingest.inbox import ClaimedFile, Inbox, InboxFile, Outbox
from ingest.local import LocalInbox, LocalOutbox
from ingest.names import is_partial_name, is_safe_name, original_name

SETTLE = 0.2


@pytest.fixture
def inbox_dir(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def inbox(inbox_dir: Path) -> Iterator[LocalInbox]:
    box = LocalInbox(inbox_dir, settle_seconds=0)
    yield box
    box.close()


def test_local_inbox_and_outbox_satisfy_the_interface(inbox: LocalInbox, tmp_path: Path) -> None:
    outbox = LocalOutbox(tmp_path / "outbox")
    assert isinstance(inbox, Inbox)
    assert isinstance(outbox, Outbox)


@pytest.mark.parametrize(
    "name",
    [
        "orders.csv.part",
        "orders.tmp",
        "orders.csv.filepart",
        "o.crdownload",
        ".orders.csv",
        "~$orders.xlsx",
        "orders.csv.done",
    ],
)
def test_names_uploaders_use_while_writing_are_never_offered(
    inbox: LocalInbox, inbox_dir: Path, name: str
) -> None:
    (inbox_dir / name).write_bytes(b"x")
    assert inbox.ready() == []


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "../evil.csv", "a/b.csv", "a\\b", "nul\x00.csv", "line\nbreak.csv", "x" * 256],
)
def test_unsafe_names_are_recognised(name: str) -> None:
    assert not is_safe_name(name)


@pytest.mark.parametrize("name", ["orders.csv", "Bestellungen März.csv", "注文 2026.xlsx"])
def test_names_with_spaces_and_non_ascii_are_safe_and_complete(name: str) -> None:
    assert is_safe_name(name) and not is_partial_name(name)


def test_file_is_offered_only_after_settling(inbox_dir: Path) -> None:
    box = LocalInbox(inbox_dir, settle_seconds=SETTLE, watch=False)
    path = inbox_dir / "orders.csv"
    with open(path, "wb") as fh:
        for piece in range(5):
            fh.write(b"line %d\n" % piece)
            fh.flush()
            assert box.ready() == []  # size changed since the last scan every time
    time.sleep(SETTLE + 0.05)
    assert [f.name for f in box.ready()] == ["orders.csv"]


def test_done_marker_makes_a_file_ready_at_once_and_goes_with_the_claim(inbox_dir: Path) -> None:
    box = LocalInbox(inbox_dir, settle_seconds=3600, done_marker=True, watch=False)
    (inbox_dir / "orders.csv").write_bytes(b"a,b\n")
    (inbox_dir / "other.csv").write_bytes(b"a,b\n")
    (inbox_dir / "orders.csv.done").write_bytes(b"")
    ready = box.ready()
    assert [f.name for f in ready] == ["orders.csv"]
    assert box.claim(ready[0]) is not None
    assert sorted(os.listdir(inbox_dir)) == [".shipfeed", "other.csv"]


def test_claim_moves_the_file_into_processing_with_a_readable_unique_name(
    inbox: LocalInbox, inbox_dir: Path
) -> None:
    (inbox_dir / "orders.csv").write_bytes(b"a,b\n1,2\n")
    [f] = inbox.ready()
    claim = inbox.claim(f)
    assert claim is not None
    assert original_name(claim.claim_name) == "orders.csv"
    assert not (inbox_dir / "orders.csv").exists()
    with inbox.open(claim) as fh:
        assert fh.read() == b"a,b\n1,2\n"


def test_two_inboxes_racing_claim_each_file_exactly_once(inbox_dir: Path) -> None:
    for i in range(300):
        (inbox_dir / f"f{i:04d}.csv").write_bytes(b"%d" % i)
    boxes = [LocalInbox(inbox_dir, settle_seconds=0, watch=False) for _ in range(2)]
    won: list[list[ClaimedFile]] = [[], []]
    start = threading.Barrier(2)

    def worker(i: int) -> None:
        start.wait()
        for f in boxes[i].ready():
            claim = boxes[i].claim(f)
            if claim is not None:
                won[i].append(claim)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = [c.name for c in won[0] + won[1]]
    assert sorted(names) == [f"f{i:04d}.csv" for i in range(300)]
    assert len(os.listdir(boxes[0].processing)) == 300


def test_file_changed_after_listing_is_left_for_later(inbox: LocalInbox, inbox_dir: Path) -> None:
    (inbox_dir / "orders.csv").write_bytes(b"a")
    [f] = inbox.ready()
    (inbox_dir / "orders.csv").write_bytes(b"a,b,c")
    assert inbox.claim(f) is None
    assert (inbox_dir / "orders.csv").exists()


def test_claim_refuses_a_name_reaching_outside_the_inbox(inbox: LocalInbox) -> None:
    with pytest.raises(UnsafeName):
        inbox.claim(InboxFile("../evil.csv", 1, 0.0))


def test_symlink_in_the_inbox_is_not_taken(
    inbox: LocalInbox, inbox_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_bytes(b"not yours")
    (inbox_dir / "link.csv").symlink_to(secret)
    assert inbox.ready() == []


def test_watchdog_event_wakes_wait(inbox: LocalInbox, inbox_dir: Path) -> None:
    assert inbox.wait(0) is False
    threading.Timer(0.05, (inbox_dir / "orders.csv").write_bytes, args=(b"x",)).start()
    assert inbox.wait(30) is True


def test_claimed_lists_files_left_in_processing_by_a_crash(inbox_dir: Path) -> None:
    first = LocalInbox(inbox_dir, settle_seconds=0, watch=False)
    (inbox_dir / "orders.csv").write_bytes(b"x")
    claim = first.claim(first.ready()[0])
    first.close()  # the worker dies before archiving
    restarted = LocalInbox(inbox_dir, settle_seconds=0, watch=False)
    assert restarted.claimed() == [claim]


def test_archive_moves_the_claim_into_todays_dated_folder(
    inbox: LocalInbox, inbox_dir: Path
) -> None:
    (inbox_dir / "orders.csv").write_bytes(b"x")
    claim = inbox.claim(inbox.ready()[0])
    assert claim is not None
    inbox.archive(claim)
    today = datetime.now(UTC)
    day = inbox.archive_dir / f"{today:%Y}" / f"{today:%m}" / f"{today:%d}"
    assert os.listdir(day) == [claim.claim_name]
    assert inbox.claimed() == []


def test_quarantine_keeps_the_file_with_a_reason_beside_it(
    inbox: LocalInbox, inbox_dir: Path
) -> None:
    (inbox_dir / "orders.csv").write_bytes(b"\x00\x01")
    claim = inbox.claim(inbox.ready()[0])
    assert claim is not None
    inbox.quarantine(claim, "not a spreadsheet: binary data")
    q = inbox.quarantine_dir
    assert (q / claim.claim_name).read_bytes() == b"\x00\x01"
    assert (q / f"{claim.claim_name}.reason.txt").read_text() == "not a spreadsheet: binary data"


def test_purge_archive_removes_only_days_older_than_the_retention(inbox: LocalInbox) -> None:
    for day in ("2026/01/01", "2026/03/30", "2026/03/31"):
        folder = inbox.archive_dir / day
        folder.mkdir(parents=True)
        (folder / "x.csv").write_bytes(b"x")
    removed = inbox.purge_archive(older_than_days=1, today=date(2026, 4, 1))
    assert removed == 2
    assert sorted(str(p.relative_to(inbox.archive_dir)) for p in inbox.archive_dir.rglob("*")) == [
        "2026",
        "2026/03",
        "2026/03/31",
        "2026/03/31/x.csv",
    ]


def test_outbox_write_replaces_atomically_and_leaves_no_temp(tmp_path: Path) -> None:
    outbox = LocalOutbox(tmp_path / "outbox")
    outbox.write("orders.result.csv", b"old")
    outbox.write("orders.result.csv", b"new report")
    assert os.listdir(tmp_path / "outbox") == ["orders.result.csv"]
    assert (tmp_path / "outbox" / "orders.result.csv").read_bytes() == b"new report"


def test_outbox_refuses_a_name_reaching_outside_it(tmp_path: Path) -> None:
    outbox = LocalOutbox(tmp_path / "outbox")
    with pytest.raises(UnsafeName):
        outbox.write("../escape.csv", b"x")
    assert not (tmp_path / "escape.csv").exists()


def test_factory_opens_a_local_inbox_and_outbox_for_a_path(tmp_path: Path) -> None:
    box = open_inbox(str(tmp_path / "in"), options=InboxOptions(settle_seconds=0, watch=False))
    out = open_outbox(str(tmp_path / "out"))
    assert isinstance(box, LocalInbox) and isinstance(out, LocalOutbox)
    box.close()


def test_file_untouched_for_the_settle_time_is_ready_on_first_sight(tmp_path: Path) -> None:
    inbox_dir = tmp_path / "inbox"
    inbox_dir.mkdir()
    old = inbox_dir / "waiting-since-yesterday.csv"
    old.write_bytes(b"order-id,ship-date\n")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    inbox = LocalInbox(inbox_dir, settle_seconds=60, watch=False)
    try:
        assert [f.name for f in inbox.ready()] == ["waiting-since-yesterday.csv"]
        assert inbox.settling() == 0
    finally:
        inbox.close()


def test_file_just_written_waits_to_settle_and_is_counted_as_settling(tmp_path: Path) -> None:
    inbox_dir = tmp_path / "inbox"
    inbox_dir.mkdir()
    (inbox_dir / "fresh.csv").write_bytes(b"order-id,ship-date\n")
    inbox = LocalInbox(inbox_dir, settle_seconds=60, watch=False)
    try:
        assert inbox.ready() == []
        assert inbox.settling() == 1
    finally:
        inbox.close()
