"""Intake: claimed file → ledger lines (one transaction) → intake report → archive."""

from __future__ import annotations

from lifecycle_support import World, row

O1, O2, O3 = "111-0000001-0000001", "111-0000002-0000001", "111-0000003-0000001"


def _archived(w: World) -> list[str]:
    return [p.name for p in (w.inbox_dir / ".shipfeed" / "archive").rglob("*") if p.is_file()]


def test_good_file_is_queued_reported_and_archived(world: World) -> None:
    world.drop("good.csv", [row(O1), row(O2)])
    (res,) = world.intake()
    assert (res.accepted, res.rejected, res.duplicate_file) == (2, 0, False)
    assert world.statuses() == {O1: "in_queue", O2: "in_queue"}
    assert res.report_names == ["good.csv.intake.csv", "good.csv.intake.json"]
    report = world.report("good.csv.intake.json")
    assert (report["accepted"], report["rejected"], report["encoding"]) == (2, 0, "utf-8")
    assert (world.outbox_dir / "good.csv.intake.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (world.inbox_dir / "good.csv").exists()
    assert len(_archived(world)) == 1


def test_rejected_lines_are_recorded_and_listed_in_the_report(world: World) -> None:
    world.drop("mixed.csv", [row(O1), row("12-34"), row(O2, day="2020-13-45")])
    (res,) = world.intake()
    assert res.accepted == 1
    assert res.rejected == 2
    report = world.report("mixed.csv.intake.json")
    bad = {e["line"]: e for e in report["errors"]}
    assert set(bad) == {3, 4}
    assert (bad[3]["column"], bad[3]["value"]) == ("Order ID", "12-34")
    assert (bad[4]["column"], bad[4]["value"]) == ("Ship Date", "2020-13-45")
    assert bad[3]["reason"] and bad[4]["reason"]
    from processors.ledger.queries import file_lines

    outcomes = {fl.line: fl.outcome for fl in file_lines(world.ledger, res.file_id or 0)}
    assert outcomes == {2: "in_queue", 3: "rejected", 4: "rejected"}


def test_file_rejected_whole_is_recorded_reported_and_quarantined(world: World) -> None:
    world.drop("nocols.csv", ["a,b", "c,d"], header="Foo,Bar")
    (res,) = world.intake()
    assert res.file_error is not None
    assert res.file_id is not None
    assert world.ledger.file(res.file_id).lines == 0
    report = world.report("nocols.csv.intake.json")
    assert report["file_error"]
    quarantine = world.inbox_dir / ".shipfeed" / "quarantine"
    assert [p for p in quarantine.iterdir() if not p.name.endswith(".reason.txt")]
    assert world.all_lines() == []


def test_same_content_twice_is_recognised_and_not_queued_again(world: World) -> None:
    rows = [row(O1), row(O2)]
    world.drop("a.csv", rows)
    world.intake()
    world.drop("b.csv", rows)
    (res,) = world.intake()
    assert res.duplicate_file
    assert "same content as a.csv" in (res.file_error or "")
    assert "a.csv" in world.report("b.csv.intake.json")["file_error"]
    assert len(world.all_lines()) == 2


def test_lines_already_queued_from_another_file_count_as_duplicates(world: World) -> None:
    world.drop("a.csv", [row(O1), row(O2)])
    world.intake()
    world.drop("b.csv", [row(O2), row(O3)])
    (res,) = world.intake()
    assert (res.accepted, res.duplicates) == (1, 1)
    warnings = world.report("b.csv.intake.json")["warnings"]
    assert [w["line"] for w in warnings] == [2]
    assert "duplicate" in warnings[0]["reason"]


def test_a_file_left_in_processing_is_resumed(world: World) -> None:
    world.drop("c.csv", [row(O1)])
    (f,) = world.inbox.ready()
    assert world.inbox.claim(f) is not None  # claimed, then the process died
    (res,) = world.intake()
    assert res.accepted == 1
    assert world.statuses() == {O1: "in_queue"}
