"""Result reports a seller can open and trust: an XLSX that keeps long numbers as text,
the formats each seller asked for, a report written again when a line changes after it,
and an intake report that a repeated upload does not replace."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from lifecycle_support import World, row

from feeds.simulator import FaultConfig
from processors.ledger.queries import queue
from processors.ledger.statuses import FeedState
from processors.results import ArchiveSource, ReportWriter

ORDER = "111-0000001-0000001"
ITEM = "12345678901234"  # 14 digits: Excel shows 1.23457E+13 from a CSV
USPS = "9400111899223456789012"  # 22 digits: Excel keeps 15 significant digits


def writer(w: World) -> ReportWriter:
    return ReportWriter(
        w.ledger,
        {"acme": w.outbox},
        simulated=True,
        sources={"acme": ArchiveSource(w.inbox, w.seller)},
    )


def shipped(w: World, name: str = "mon.csv") -> None:
    w.order(ORDER, [(ITEM, 1)])
    w.drop(name, [f"{ORDER},{ITEM},1,{row(ORDER).split(',')[3]},USPS,{USPS},"])
    w.intake()
    w.until_settled()


def sheet_rows(w: World, name: str) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(w.outbox_dir / name)
    return list(book.active.iter_rows())


def test_xlsx_result_report_keeps_item_ids_and_tracking_numbers_as_text(world: World) -> None:
    shipped(world)
    writer(world).write_finished()
    rows = sheet_rows(world, "mon.csv.result.xlsx")
    header = next(i for i, r in enumerate(rows) if r[0].value == "Order ID")
    line = {rows[header][i].value: c for i, c in enumerate(rows[header + 1])}
    for column, value in (("Order ID", ORDER), ("Order Item ID", ITEM), ("Tracking Number", USPS)):
        assert (line[column].value, line[column].data_type) == (value, "s")
        assert line[column].number_format == "@"
    assert line["status"].value == "confirmed"


def test_reports_follow_the_sellers_report_formats(world_factory: Callable[..., World]) -> None:
    w = world_factory()
    w.seller.report_formats = ["csv"]
    shipped(w)
    writer(w).write_finished()
    assert sorted(p.name for p in w.outbox_dir.glob("mon.csv.result.*")) == [
        "mon.csv.result.csv",
        "mon.csv.result.json",
    ]


def test_default_report_formats_are_csv_and_xlsx_besides_the_json(world: World) -> None:
    shipped(world)
    writer(world).write_finished()
    assert sorted(p.name for p in world.outbox_dir.glob("mon.csv.result.*")) == [
        "mon.csv.result.csv",
        "mon.csv.result.json",
        "mon.csv.result.xlsx",
    ]


def failed_then_resent(w: World) -> ReportWriter:
    """A line Amazon refused (order unknown), reported, then resent once the order exists."""
    w.drop("mon.csv", [row(ORDER, ITEM, "1")])
    w.intake()
    w.until_settled()
    reports = writer(w)
    assert reports.write_finished() == ["mon.csv.result.csv"]
    assert w.report("mon.csv.result.json")["rows"][0]["status"] == "error"
    w.clock.advance(60)
    w.order(ORDER, [(ITEM, 1)])
    w.ledger.resend(order_ids=[ORDER], force=True)
    return reports


def test_result_report_is_written_again_when_a_resent_line_is_confirmed(world: World) -> None:
    reports = failed_then_resent(world)
    world.until_settled()
    assert reports.write_finished() == ["mon.csv.result.csv"]
    report = world.report("mon.csv.result.json")
    assert report["rows"][0]["status"] == "confirmed" and report["updated_at"]


def test_report_written_again_says_when_in_its_header(world: World) -> None:
    reports = failed_then_resent(world)
    world.until_settled()
    reports.write_finished()
    text = (world.outbox_dir / "mon.csv.result.csv").read_text("utf-8-sig")
    head = list(csv.reader(io.StringIO(text)))[:2]
    assert head[1][0] == "Updated at"


def test_result_report_is_written_again_when_a_late_feed_report_confirms_its_line(
    world_factory: Callable[..., World],
) -> None:
    """The report said needs_attention (the feed was given up while Amazon still had it,
    as an older shipfeed did); Amazon's report comes hours later and confirms the line."""
    w = world_factory(faults=FaultConfig().trigger("stuck", "createFeed"), max_resends=0)
    w.order(ORDER, [(ITEM, 1)])
    w.drop("mon.csv", [row(ORDER, ITEM, "1")])
    w.intake()
    (feed_id,) = w.batch().feeds_created
    w.ledger.fail_feed(feed_id, "stuck: still IN_PROGRESS after 1 h", state=FeedState.CANCELLED)
    reports = writer(w)
    assert reports.write_finished() == ["mon.csv.result.csv"]
    assert w.report("mon.csv.result.json")["rows"][0]["status"] == "needs_attention"
    w.clock.advance(60)
    w.sim.release_feeds()  # Amazon finishes the feed, late
    w.track()
    assert reports.write_finished() == ["mon.csv.result.csv"]
    report = w.report("mon.csv.result.json")
    assert report["rows"][0]["status"] == "confirmed" and report["updated_at"]
    text = (w.outbox_dir / "mon.csv.result.csv").read_text("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1][0] == "Updated at"


def test_result_report_says_a_resent_line_is_back_in_the_queue(world: World) -> None:
    reports = failed_then_resent(world)
    reports.write_finished()
    assert world.report("mon.csv.result.json")["rows"][0]["status"] == "in_queue"


def test_unchanged_file_is_not_written_again(world: World) -> None:
    shipped(world)
    reports = writer(world)
    reports.write_finished()
    world.clock.advance(600)
    assert reports.write_finished() == []


def test_status_note_follows_the_resent_line(world: World) -> None:
    reports = failed_then_resent(world)
    world.until_settled()
    reports.write_status_notes()
    assert "No order needs attention." in (world.outbox_dir / "status.txt").read_text()
    assert queue(world.ledger).rows == []


def test_same_file_uploaded_again_keeps_the_first_intake_report(world: World) -> None:
    world.order(ORDER, [(ITEM, 1)])
    path = world.drop("mon.csv", [row(ORDER, ITEM, "1")])
    content = path.read_bytes()
    world.intake()
    first = (world.outbox_dir / "mon.csv.intake.csv").read_bytes()
    (world.inbox_dir / "mon.csv").write_bytes(content)
    world.clock.advance(60)
    (again,) = world.intake()
    assert (world.outbox_dir / "mon.csv.intake.csv").read_bytes() == first
    assert again.report_names[0].startswith("mon.csv.again-")
    assert "already taken in" in (world.outbox_dir / again.report_names[0]).read_text("utf-8-sig")


class FailingOnce:
    """An outbox (an SFTP server, say) that refuses the next write once."""

    def __init__(self, outbox: Any) -> None:
        self.outbox = outbox
        self.fail = False

    def write(self, name: str, data: bytes) -> None:
        if self.fail:
            self.fail = False
            raise OSError("outbox unreachable")
        self.outbox.write(name, data)

    def read(self, name: str) -> bytes:
        return bytes(self.outbox.read(name))

    def sweep_temps(self, older_than_seconds: float) -> int:
        return int(self.outbox.sweep_temps(older_than_seconds))

    def close(self) -> None:
        self.outbox.close()


def test_report_not_written_again_for_a_failing_outbox_is_written_next_round(
    world: World,
) -> None:
    outbox = FailingOnce(world.outbox)
    reports = ReportWriter(
        world.ledger,
        {"acme": outbox},
        simulated=True,
        sources={"acme": ArchiveSource(world.inbox, world.seller)},
    )
    world.drop("mon.csv", [row(ORDER, ITEM, "1")])
    world.intake()
    world.until_settled()
    reports.write_finished()
    world.clock.advance(60)
    world.order(ORDER, [(ITEM, 1)])
    world.ledger.resend(order_ids=[ORDER], force=True)
    world.until_settled()
    outbox.fail = True
    with pytest.raises(OSError):
        reports.write_finished()
    world.clock.advance(600)
    assert reports.write_finished() == ["mon.csv.result.csv"]
    assert world.report("mon.csv.result.json")["rows"][0]["status"] == "confirmed"
