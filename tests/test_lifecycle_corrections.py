"""Corrections: a confirmed order uploaded again with other tracking, listed and sent.

Amazon edits a confirmed package when confirmShipment is called again under the same
packageReferenceId; the simulator does the same, so these tests read the outcome a
seller cares about back from the simulated Amazon: one package, the new tracking number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lifecycle_support import UPS, World, row
from typer.testing import CliRunner

import run
from processors import operator as op
from processors.ledger.corrections import NothingToCorrect, request_correction
from processors.ledger.queries import order_history, queue
from processors.results import ArchiveSource, ReportWriter, status_note

ORDER = "111-0000001-0000001"
ITEM = "12345678901234"
FIXED = "1Z999AA10123456793"  # the seller's corrected UPS number (valid check digit)


def conflict_world(make: Callable[..., World], **kw: object) -> World:
    """An order confirmed with UPS, then uploaded again with FIXED: one conflict line."""
    w = make(**kw)
    w.order(ORDER, [(ITEM, 1)])
    w.drop("monday.csv", [row(ORDER, ITEM, "1", tracking=UPS)])
    w.intake()
    w.until_settled()
    w.drop("tuesday.csv", [row(ORDER, ITEM, "1", tracking=FIXED)])
    w.intake()
    assert sorted(r.status for r in w.all_lines()) == ["confirmed", "conflict"]
    return w


def direct(make: Callable[..., World]) -> World:
    """Orders confirmed with confirmShipment (a handful waiting: the direct path)."""
    return conflict_world(make, service={"direct_threshold": 10})


def test_conflict_is_listed_on_the_sellers_status_note(world_factory: Callable[..., World]) -> None:
    w = conflict_world(world_factory)
    listed = status_note(w.ledger, "acme", simulated=True)["needs_attention"]
    assert [(a["order_id"], a["status"]) for a in listed] == [(ORDER, "conflict")]


def test_operator_status_lists_the_conflict_with_the_command_that_acts_on_it(
    world_factory: Callable[..., World],
) -> None:
    w = conflict_world(world_factory)
    text = op.status_text(op.status_data(w.ledger))
    assert f"{ORDER} [conflict]" in text
    assert "python run.py correct ORDER" in text


def test_queue_lists_conflicts_by_default(world_factory: Callable[..., World]) -> None:
    w = conflict_world(world_factory)
    assert [r.status for r in queue(w.ledger).rows] == ["conflict"]


def test_conflict_message_names_the_correct_command(world_factory: Callable[..., World]) -> None:
    w = conflict_world(world_factory)
    (line,) = [r for r in w.all_lines() if r.status == "conflict"]
    assert f"python run.py correct {ORDER}" in (line.message or "")


def test_correction_edits_the_confirmed_package_on_amazon(
    world_factory: Callable[..., World],
) -> None:
    w = direct(world_factory)
    request_correction(w.ledger, order_id=ORDER)
    assert w.batch().corrected == 1
    order = w.book.get(ORDER)
    assert order is not None
    assert [s.tracking_number for s in order.shipments] == [FIXED]
    assert order.item(ITEM).quantity_shipped == 1  # type: ignore[union-attr]
    assert w.sim.counters.package_edits == 1


def test_correction_is_recorded_as_events_ending_confirmed(
    world_factory: Callable[..., World],
) -> None:
    w = direct(world_factory)
    request_correction(w.ledger, order_id=ORDER)
    w.batch()
    original, correction = order_history(w.ledger, ORDER)
    assert [(e.from_status, e.to_status) for e in correction.events] == [
        ("conflict", "in_queue"),
        ("in_queue", "confirmed"),
    ]
    assert "corrected on Amazon" in (correction.events[-1].message or "")
    assert (original.line.status, original.line.message or "") == (
        "confirmed",
        f"corrected: tracking {UPS} was replaced by {FIXED} (line 2 of tuesday.csv, "
        f"package {original.line.id})",
    )


def test_correction_never_goes_into_a_feed(world_factory: Callable[..., World]) -> None:
    w = direct(world_factory)
    request_correction(w.ledger, order_id=ORDER)
    assert w.ledger.queued_lines("acme", 10) == []


def test_correction_of_a_feed_confirmed_package_ends_in_error_saying_where_to_edit_it(
    world_factory: Callable[..., World],
) -> None:
    w = conflict_world(world_factory)
    request_correction(w.ledger, order_id=ORDER)
    w.batch()
    (line,) = [r for r in w.all_lines() if r.duplicate_of is not None]
    assert line.status == "error"
    assert "Seller Central" in (line.message or "")
    order = w.book.get(ORDER)
    assert order is not None and [s.tracking_number for s in order.shipments] == [UPS]


def test_correct_refuses_an_order_with_nothing_to_correct(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory()
    w.order(ORDER, [(ITEM, 1)])
    w.drop("monday.csv", [row(ORDER, ITEM, "1")])
    w.intake()
    with pytest.raises(NothingToCorrect, match=r"line \d+ is in_queue"):
        request_correction(w.ledger, order_id=ORDER)


def test_correct_command_queues_the_conflict_as_a_correction(
    world_factory: Callable[..., World], tmp_path: Path
) -> None:
    w = direct(world_factory)
    settings = tmp_path / "settings.toml"
    url = w.ledger.engine.url.render_as_string(hide_password=False)
    settings.write_text(f"ledger_url = {json.dumps(url)}\n")
    r = CliRunner().invoke(run.app, ["correct", ORDER, "--settings", str(settings)])
    assert r.exit_code == 0, r.output
    assert "queued as corrections: 1" in r.output
    assert f"tracking {FIXED} replaces {UPS}" in r.output


def test_correct_command_on_an_order_with_nothing_to_correct_is_a_refused_request(
    world_factory: Callable[..., World], tmp_path: Path
) -> None:
    """65 like an unknown order: 70 would tell the operator a step failed (ledger, bug)."""
    w = world_factory()
    w.order(ORDER, [(ITEM, 1)])
    w.drop("monday.csv", [row(ORDER, ITEM, "1")])
    w.intake()
    settings = tmp_path / "settings.toml"
    url = w.ledger.engine.url.render_as_string(hide_password=False)
    settings.write_text(f"ledger_url = {json.dumps(url)}\n")
    r = CliRunner().invoke(run.app, ["correct", ORDER, "--settings", str(settings)])
    assert r.exit_code == 65, r.output
    assert f"nothing to correct for order {ORDER}" in r.output


def test_correct_command_needs_an_order_or_a_line(tmp_path: Path) -> None:
    r = CliRunner().invoke(run.app, ["correct", "--data-dir", str(tmp_path)])
    assert r.exit_code == 64 and "name an ORDER or a --line ID" in r.output


def test_correction_writes_both_files_result_reports_again(
    world_factory: Callable[..., World],
) -> None:
    w = direct(world_factory)
    reports = ReportWriter(
        w.ledger,
        {"acme": w.outbox},
        simulated=True,
        sources={"acme": ArchiveSource(w.inbox, w.seller)},
    )
    assert reports.write_finished() == ["monday.csv.result.csv", "tuesday.csv.result.csv"]
    w.clock.advance(60)
    request_correction(w.ledger, order_id=ORDER)
    w.batch()
    assert reports.write_finished() == ["monday.csv.result.csv", "tuesday.csv.result.csv"]
    monday = w.report("monday.csv.result.json")["rows"][0]
    tuesday = w.report("tuesday.csv.result.json")["rows"][0]
    assert monday["message"].startswith(f"corrected: tracking {UPS} was replaced by {FIXED}")
    assert (tuesday["status"], tuesday["message"][:20]) == ("confirmed", "corrected on Amazon:")


def test_correct_warns_when_the_shipment_was_confirmed_through_a_feed(
    world_factory: Callable[..., World],
) -> None:
    w = conflict_world(world_factory)
    text = op.correct_text(w.ledger, op.correct(w.ledger, ORDER, None))
    assert "confirmed through a feed" in text and "Seller Central" in text


def test_correct_command_takes_one_line_by_its_id(
    world_factory: Callable[..., World], tmp_path: Path
) -> None:
    w = direct(world_factory)
    (conflict,) = [r for r in w.all_lines() if r.status == "conflict"]
    settings = tmp_path / "settings.toml"
    url = w.ledger.engine.url.render_as_string(hide_password=False)
    settings.write_text(f"ledger_url = {json.dumps(url)}\n")
    r = CliRunner().invoke(
        run.app, ["correct", "--line", str(conflict.id), "--settings", str(settings)]
    )
    assert r.exit_code == 0, r.output
    assert f"(line {conflict.id}): tracking {FIXED} replaces {UPS}" in r.output
