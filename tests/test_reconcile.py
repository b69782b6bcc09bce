"""Reconciliation (issue 11): which orders Amazon is still waiting for, from the order
mirror kept up from the simulator over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from alert_support import Webhook
from lifecycle_support import World, row
from pydantic import SecretStr

from config.settings import AlertSecrets, AlertSettings
from processors.alerts import destinations, send_alerts
from processors.mirror import SYNC_EVERY
from processors.reconcile import (
    DUE_CSV,
    DUE_JSON,
    NOT_MENTIONED,
    order_facts,
    order_facts_lines,
    run_reconcile,
    status_lines,
    status_section,
)

O1, O2, O3 = "111-0000001-0000001", "111-0000002-0000001", "111-0000003-0000001"
I1, I2 = "10000000000001", "10000000000002"


def _reconcile(w: World) -> list[dict[str, str]]:
    run_reconcile(w.ctx, w.seller, w.outbox)
    text = (w.outbox_dir / DUE_CSV).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_an_unshipped_order_no_file_mentioned_near_its_ship_by_date_is_listed(
    world: World,
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    world.book.add_order(O1, [(I1, 1)], latest_ship_date=soon)
    world.mirror()
    listed = _reconcile(world)
    assert [(r["order_id"], r["late"], r["reason"]) for r in listed] == [
        (O1, "False", NOT_MENTIONED)
    ]
    assert listed[0]["latest_ship_date"] == soon.isoformat()


def test_an_order_past_its_ship_by_date_is_listed_as_late(world: World) -> None:
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    world.book.add_order(O1, [(I1, 1)], latest_ship_date=past)
    world.mirror()
    assert [r["late"] for r in _reconcile(world)] == ["True"]


def test_orders_far_from_their_ship_by_date_or_mentioned_by_a_file_are_not_listed(
    world: World,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    world.book.add_order(O1, [(I1, 1)], latest_ship_date=now + timedelta(days=5))
    world.book.add_order(O2, [(I2, 1)], latest_ship_date=now + timedelta(hours=1))
    world.drop("f.csv", [row(O2, I2, "1")])
    world.intake()
    world.mirror()
    assert _reconcile(world) == []


def test_the_due_list_is_also_written_as_json(world: World) -> None:
    world.book.add_order(O1, [(I1, 1)], latest_ship_date=datetime.now(UTC))
    world.mirror()
    run_reconcile(world.ctx, world.seller, world.outbox)
    doc = json.loads((world.outbox_dir / DUE_JSON).read_text(encoding="utf-8"))
    assert [(o["order_id"], o["order_total"], o["currency"]) for o in doc["orders"]] == [
        (O1, "19.99", "USD")
    ]


def test_a_file_confirming_fewer_units_than_ordered_is_listed_with_the_units_left(
    world: World,
) -> None:
    world.order(O1, [(I1, 3)])
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    world.until_settled()
    world.clock.advance(SYNC_EVERY.total_seconds())
    world.mirror()
    listed = _reconcile(world)
    assert [(r["order_id"], r["status"], r["units_left"]) for r in listed] == [
        (O1, "PartiallyShipped", "2")
    ]
    assert "2 unit(s) left" in listed[0]["reason"]


def test_a_confirmed_line_amazon_still_shows_unshipped_hours_later_needs_attention(
    world: World,
) -> None:
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    world.until_settled()
    assert world.statuses() == {f"{O1}/{I1}": "confirmed"}
    order = world.book.get(O1)
    assert order is not None
    order.items[0].quantity_shipped = 0  # Amazon lost the confirmation
    order.refresh_status(datetime.now(UTC))
    world.clock.advance(4 * 3600 + 1)
    world.mirror()
    result = run_reconcile(world.ctx, world.seller, world.outbox)
    line = world.all_lines()[0]
    assert (line.status, line.message) == ("needs_attention", "Amazon still shows this unshipped")
    assert result.needs_attention == [line.id]


def test_a_confirmed_line_is_left_alone_before_the_waiting_time(world: World) -> None:
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    world.until_settled()
    order = world.book.get(O1)
    assert order is not None
    order.items[0].quantity_shipped = 0
    order.refresh_status(datetime.now(UTC))
    world.clock.advance(SYNC_EVERY.total_seconds())
    world.mirror()
    run_reconcile(world.ctx, world.seller, world.outbox)
    assert world.statuses() == {f"{O1}/{I1}": "confirmed"}


def test_status_lists_each_sellers_due_orders_soonest_first(world: World) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    world.book.add_order(O2, [(I2, 1)], latest_ship_date=now + timedelta(hours=5))
    world.book.add_order(O1, [(I1, 1)], latest_ship_date=now - timedelta(hours=1))
    world.mirror()
    section = status_section(world.ledger, world.ctx.settings, None, now)
    assert [r["order_id"] for r in section["acme"]] == [O1, O2]
    assert status_lines(section)[1] == (
        f"  {O1} ship by {(now - timedelta(hours=1)).isoformat()} LATE: {NOT_MENTIONED}"
    )


def test_a_due_order_in_no_file_reaches_the_alert_digest_once(
    world: World, webhook: Webhook
) -> None:
    world.book.add_order(O1, [(I1, 1)], latest_ship_date=datetime.now(UTC) + timedelta(hours=2))
    world.mirror()
    targets = destinations(AlertSecrets(operators=[SecretStr(webhook.url)]))
    settings = AlertSettings(digest_seconds=0)
    send_alerts(world.ledger, settings, targets, datetime.now(UTC))
    send_alerts(world.ledger, settings, targets, datetime.now(UTC) + timedelta(seconds=1))
    (message,) = webhook.messages()
    assert "Orders Amazon is waiting for, in no file" in message
    assert O1 in message


def test_order_shows_the_mirrored_order_facts_with_item_prices(world: World) -> None:
    order = world.book.add_order(O1, [(I1, 1), (I2, 2)])
    order.items[0].quantity_shipped = 1
    order.refresh_status(datetime.now(UTC))
    world.drop("f.csv", [row(O1, I2, "2")])
    world.intake()
    world.mirror()  # partially shipped with a line naming an item: its items are read
    (facts,) = order_facts(world.ledger, O1)
    assert (facts["seller"], facts["status"], facts["total_amount"]) == (
        "acme",
        "PartiallyShipped",
        "59.97",
    )
    assert order_facts_lines([facts])[1:] == [
        f"  item {I1}: 1 of 1 shipped, price 19.99 USD",
        f"  item {I2}: 0 of 2 shipped, price 39.98 USD",
    ]
