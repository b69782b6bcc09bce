"""A poison file never stops intake: whatever reading it raises rejects that file alone, a
file that killed the process is given up after a set number of starts, and a file named
so that it cannot be taken is quarantined and reported. The other files go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from lifecycle_support import World, row
from sqlalchemy.exc import OperationalError

from feeds.model import RowChunk
from ingest.factory import InboxOptions, open_inbox
from ingest.readers import TextReader
from processors.intake import intake_ready
from processors.ledger.fileintake import FileIntake

O1, O2, O3 = "111-0000001-0000001", "111-0000002-0000001", "111-0000003-0000001"
#: A header past the 64 KiB sample, and a first line wider than the sampled rows: pandas
#: raised a ValueError no one caught, and the file stayed in processing/ for ever.
WIDE_HEADER = "Order ID,Tracking Number," + ",".join(f"c{i}" for i in range(15_000))
WIDE_LINE = row(O2) + "," + ",".join("v" for _ in range(15_000))


def work(w: World, folder: str, *, hidden: bool = True) -> list[Path]:
    """Files in the inbox's work folder; ``hidden``: the attempts markers too."""
    return sorted(
        p
        for p in (w.inbox_dir / ".shipfeed" / folder).iterdir()
        if p.is_file() and (hidden or not p.name.startswith("."))
    )


def quarantined(w: World) -> dict[str, str]:
    """Quarantined files (claim name → its reason file's text)."""
    found = {}
    for p in work(w, "quarantine"):
        if not p.name.endswith(".reason.txt"):
            found[p.name] = (p.parent / (p.name + ".reason.txt")).read_text()
    return found


def test_wide_header_is_quarantined_with_a_reason_and_the_good_file_goes_in(
    world: World,
) -> None:
    world.drop("wide.csv", [WIDE_LINE], header=WIDE_HEADER)
    world.drop("good.csv", [row(O1)])
    results = {r.name: r for r in world.intake()}
    assert "header row is longer than 64 KiB" in (results["wide.csv"].file_error or "")
    assert results["good.csv"].accepted == 1
    assert world.statuses() == {O1: "in_queue"}
    assert work(world, "processing") == []
    [(claim, reason)] = quarantined(world).items()
    assert claim.endswith("-wide.csv") and "64 KiB" in reason
    assert world.report("wide.csv.intake.json")["file_error"]


def test_any_exception_reading_a_file_rejects_that_file_only(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = TextReader.chunks

    def chunks(self: TextReader) -> Iterator[RowChunk]:
        if self.info.name == "bad.csv":
            raise KeyError("a pandas surprise")
        return real(self)

    monkeypatch.setattr(TextReader, "chunks", chunks)
    world.drop("bad.csv", [row(O1)])
    world.drop("good.csv", [row(O2)])
    results = {r.name: r for r in world.intake()}
    assert "could not be read (KeyError: 'a pandas surprise')" in (
        results["bad.csv"].file_error or ""
    )
    assert results["good.csv"].accepted == 1
    assert world.statuses() == {O2: "in_queue"}
    assert list(quarantined(world)) and work(world, "processing") == []
    assert "KeyError" in world.report("bad.csv.intake.json")["file_error"]


def test_a_ledger_failure_is_not_the_files_fault_and_leaves_it_claimed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def add_rows(self: FileIntake, *args: object) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(FileIntake, "add_rows", add_rows)
    world.drop("a.csv", [row(O1)])
    assert world.intake() == []
    assert quarantined(world) == {}
    [claimed] = work(world, "processing", hidden=False)
    assert claimed.name.endswith("-a.csv")


class Died(BaseException):
    """Stands for the process being killed mid-read: nothing in intake catches it."""


def restart(w: World) -> None:
    """A new process: a new inbox object on the same folders, remembering nothing."""
    w.inbox = open_inbox(str(w.inbox_dir), options=InboxOptions(settle_seconds=0, watch=False))
    w.closers.append(w.inbox.close)


def test_file_started_by_three_processes_is_quarantined_by_the_fourth(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = TextReader.__init__

    def init(self: TextReader, stream: BinaryIO, name: str, **kw: Any) -> None:
        if name == "killer.csv":
            raise Died
        real(self, stream, name, **kw)

    monkeypatch.setattr(TextReader, "__init__", init)
    world.drop("killer.csv", [row(O1)])
    for _ in range(3):
        restart(world)
        with pytest.raises(Died):
            intake_ready(world.ctx, world.seller, world.inbox, world.outbox)
    world.drop("good.csv", [row(O2)])
    restart(world)
    results = {r.name: r for r in world.intake()}
    assert "stopped 3 times while taking this file in" in (results["killer.csv"].file_error or "")
    assert results["good.csv"].accepted == 1
    [reason] = quarantined(world).values()
    assert "stopped 3 times" in reason
    assert work(world, "processing") == []  # the attempts marker went with the file


def test_retries_within_one_process_are_not_counted_as_starts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = True

    def add_rows(self: FileIntake, *args: object) -> None:
        if failing:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        real(self, *args)  # type: ignore[arg-type]

    real = FileIntake.add_rows
    monkeypatch.setattr(FileIntake, "add_rows", add_rows)
    world.drop("a.csv", [row(O1)])
    for _ in range(5):
        assert world.intake() == []
    failing = False
    (result,) = world.intake()
    assert result.accepted == 1 and result.file_error is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("line\nbreak.csv", "line break"),
        ("x" * 230 + ".csv", "234 bytes long"),
        ("tab\there.csv", "control character"),
    ],
)
def test_file_name_the_service_will_not_take_is_quarantined_and_reported(
    world: World, name: str, why: str
) -> None:
    world.drop(name, [row(O1)])
    world.drop("good.csv", [row(O2)])
    results = world.intake()
    [refused] = [r for r in results if r.file_error]
    assert why in (refused.file_error or "")
    assert refused.report_names and (world.outbox_dir / refused.report_names[1]).exists()
    assert world.report(refused.report_names[1])["file_error"] == refused.file_error
    assert not (world.inbox_dir / name).exists()
    [reason] = quarantined(world).values()
    assert why in reason
    assert world.statuses() == {O2: "in_queue"}
