"""The same order item in two files of one batch: the later upload is the correction and
the earlier line is superseded, decided before sending; a feed never holds two messages
for one order item (simulator over HTTP, SQLite and PostgreSQL ledgers)."""

from __future__ import annotations

import json
from collections import Counter

from lifecycle_support import World, row

from feeds.feedmessages import message_keys
from processors.ledger.records import LineRow
from processors.results import ArchiveSource, ReportWriter

O1 = "111-0000001-0000001"
I1, I2 = "10000000000001", "10000000000002"
UPS_A = "1Z999AA10123456784"
UPS_B = "1Z999AA10123456793"  # another parcel (valid check digit too)


def _two_files(w: World) -> tuple[LineRow, LineRow]:
    w.order(O1, [(I1, 1)])
    w.drop("first.csv", [row(O1, I1, "1", tracking=UPS_A)])
    w.intake()
    w.drop("second.csv", [row(O1, I1, "1", tracking=UPS_B)])
    w.intake()
    first, second = sorted(w.all_lines(), key=lambda ln: ln.id)
    return first, second


def _feed_messages_per_item(w: World, feed_id: int) -> Counter[tuple[str, str | None]]:
    content = w.ledger.feed(feed_id, with_content=True).content or b""
    with_counts: Counter[tuple[str, str | None]] = Counter()
    for key in message_keys(content):
        with_counts[key] += 1
    return with_counts


def test_same_item_in_two_files_sends_only_the_later_upload(world: World) -> None:
    first, second = _two_files(world)
    (feed_id,) = world.batch().feeds_created
    assert world.ledger.feed(feed_id).messages == 1
    world.track()
    by_id = {ln.id: ln for ln in world.all_lines()}
    assert (by_id[first.id].status, by_id[second.id].status) == ("superseded", "confirmed")
    order = world.book.get(O1)
    assert order is not None and [s.tracking_number for s in order.shipments] == [UPS_B]
    assert world.sim.counters.confirmations == {(O1, I1): 1}


def test_superseded_line_and_its_correction_both_say_so(world: World) -> None:
    first, second = _two_files(world)
    world.batch()
    world.track()
    by_id = {ln.id: ln for ln in world.all_lines()}
    assert "superseded by line 2 of second.csv" in (by_id[first.id].message or "")
    assert f"tracking {UPS_B}" in (by_id[first.id].message or "")
    assert "as the correction of line 2 of first.csv" in (by_id[second.id].message or "")


def test_a_feed_never_holds_two_messages_for_one_order_item(world: World) -> None:
    world.order(O1, [(I1, 2), (I2, 1)])
    # two parcels of one item in one file (a split shipment), and another item
    world.drop(
        "f.csv",
        [
            row(O1, I1, "1", tracking=UPS_A),
            row(O1, I1, "1", tracking=UPS_B),
            row(O1, I2, "1", tracking=UPS_A),
        ],
    )
    world.intake()
    world.until_settled()
    feed_ids = {ln.feed_id for ln in world.all_lines() if ln.feed_id is not None}
    assert len(feed_ids) == 2
    for feed_id in feed_ids:
        assert set(_feed_messages_per_item(world, feed_id).values()) == {1}


def test_two_parcels_of_one_item_in_one_file_are_both_confirmed(world: World) -> None:
    world.order(O1, [(I1, 2)])
    world.drop("f.csv", [row(O1, I1, "1", tracking=UPS_A), row(O1, I1, "1", tracking=UPS_B)])
    world.intake()
    world.until_settled()
    assert [ln.status for ln in world.all_lines()] == ["confirmed", "confirmed"]
    assert world.sim.counters.units_confirmed == {(O1, I1): 2}


def test_superseded_line_is_reported_to_the_seller_as_ended_with_nothing_to_do(
    world: World,
) -> None:
    _two_files(world)
    world.until_settled()
    writer = ReportWriter(
        world.ledger,
        {"acme": world.outbox},
        simulated=True,
        sources={"acme": ArchiveSource(world.inbox, world.seller)},
    )
    assert "first.csv.result.csv" in writer.write_finished()
    report = json.loads((world.outbox_dir / "first.csv.result.json").read_text("utf-8"))
    (line,) = report["rows"]
    assert line["status"] == "superseded"
    assert "it was sent instead of this one" in line["what_to_do"]
    assert not writer.any_not_confirmed
