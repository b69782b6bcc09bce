"""An order not on Amazon for this seller (issue 11): told at intake when the mirror
already knows, decided by the mirror's lookup before sending otherwise, never waited for.
Against the simulator over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Any

import pytest
from lifecycle_support import World, row

from processors.ledger import orders as mirror
from processors.results import ArchiveSource, ReportWriter
from processors.unknownorders import NOT_FOUND

MARKET = "ATVPDKIKX0DER"
O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"


def intake_report(w: World, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((w.outbox_dir / f"{name}.intake.json").read_text("utf-8"))
    return data


def write_reports(w: World) -> list[str]:
    sources = {"acme": ArchiveSource(w.inbox, w.seller)}
    writer = ReportWriter(w.ledger, {"acme": w.outbox}, simulated=True, sources=sources)
    return writer.write_finished()


def json_report(w: World, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((w.outbox_dir / f"{name}.result.json").read_text("utf-8"))
    return data


def _known_unknown(w: World) -> None:
    """A first file makes the mirror ask Amazon about O2, which it does not know."""
    w.drop("mon.csv", [row(O2, I2, "1")])
    w.intake()
    w.mirror()
    assert mirror.not_found(w.ledger, "acme", MARKET, [O2]) == {O2}


def test_a_line_naming_an_order_amazon_is_known_not_to_have_is_reported_at_intake(
    world: World,
) -> None:
    _known_unknown(world)
    world.order(O1, [(I1, 1)])
    world.drop("tue.csv", [row(O1, I1, "1"), row(O2, I2, "1", tracking="1Z999AA10123456793")])
    world.intake()
    (warning,) = intake_report(world, "tue.csv")["warnings"]
    assert (warning["line"], warning["column"], warning["value"]) == (3, "order_id", O2)
    assert warning["reason"].startswith(NOT_FOUND)
    assert "line 3 of tue.csv" in warning["reason"]


def test_intake_csv_report_names_the_file_line_column_and_value_of_an_unknown_order(
    world: World,
) -> None:
    _known_unknown(world)
    world.drop("tue.csv", [row(O2, I2, "1", tracking="1Z999AA10123456793")])
    world.intake()
    text = (world.outbox_dir / "tue.csv.intake.csv").read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert ["File", "tue.csv"] in rows
    (problem,) = [r for r in rows if r[:2] == ["2", "warning"]]
    line, _, column, value, reason = problem
    assert (line, column, value) == ("2", "order_id", O2)
    assert reason.startswith(NOT_FOUND)


def test_intake_does_not_ask_amazon_about_orders(world: World) -> None:
    world.drop("f.csv", [row(O2, I2, "1")])
    before = dict(world.sim.counters.api_calls)
    world.intake()
    calls = world.sim.counters.api_calls
    assert [op for op in ("getOrder", "getOrders") if calls[op] != before.get(op, 0)] == []
    assert intake_report(world, "f.csv")["warnings"] == []  # not asked yet: nothing to say


def test_an_order_the_mirror_finds_unknown_before_sending_ends_in_error_not_sent(
    world: World,
) -> None:
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    world.intake()
    world.batch()  # the mirror asks Amazon about both orders, then the batch
    by_order = {ln.order_id: ln for ln in world.all_lines()}
    bad = by_order[O2]
    assert (bad.status, bad.result_code, bad.feed_id) == ("error", None, None)
    assert (bad.message or "").startswith(NOT_FOUND)
    assert by_order[O1].status == "submitted"
    world.track()
    assert world.sim.counters.messages_processed == 1  # O1 only


def test_the_service_log_says_how_many_lines_were_not_sent_for_an_unknown_order(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.drop("f.csv", [row(O2, I2, "1")])
    world.intake()
    with caplog.at_level(logging.INFO, logger="processors.orderchecks"):
        world.batch()
    assert "1 of orders Amazon does not know (not sent)" in caplog.text


def test_the_result_report_says_order_not_found_on_amazon_for_this_seller(
    world: World,
) -> None:
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    world.intake()
    world.until_settled()
    assert write_reports(world) == ["f.csv.result.csv"]
    rows = json_report(world, "f.csv")["rows"]
    unknown = next(r for r in rows if r["line"] == 3)
    assert unknown["status"] == "error"
    assert unknown["message"].startswith(NOT_FOUND)
    assert unknown["amazon_result_code"] == ""
    assert "upload it again" in unknown["what_to_do"]


def test_an_old_not_found_answer_does_not_decide_a_new_line_the_mirror_asks_again(
    world: World,
) -> None:
    _known_unknown(world)
    world.order(O2, [(I2, 1)])  # the order is on Amazon now (it was not listed yet)
    world.clock.advance(60)
    world.drop("tue.csv", [row(O2, I2, "1", tracking="1Z999AA10123456793")])
    world.intake()
    world.batch()
    tue = max(world.all_lines(), key=lambda ln: ln.id)
    assert tue.status == "submitted"
    assert not mirror.not_found(world.ledger, "acme", MARKET, [O2])


def test_a_line_the_operator_resends_is_sent_and_amazon_answers_in_plain_words(
    world: World,
) -> None:
    world.drop("f.csv", [row(O2, I2, "1")])
    world.intake()
    world.batch()
    assert world.statuses() == {f"{O2}/{I2}": "error"}
    assert world.ledger.resend(errors=True).requeued
    world.batch()
    world.track()
    (line,) = world.all_lines()
    assert (line.status, line.result_code) == ("error", "18028")
    assert (line.message or "").startswith(NOT_FOUND)
