"""The console reads Amazon's order facts from the order mirror: the queue's price, order
date and order total, the order page's mirrored order, the REST API's same fields; each
seller's own mirror only. Real uvicorn server, real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from api_support import GLOBEX_TOKEN, ApiConsole
from console_data import A1, A2, A3, make_story, mirror_order
from console_support import SELLER, Console
from ledger_db import ship, take_in

from processors.ledger import browse

NOT_MIRRORED = 'title="not yet mirrored from Amazon">—<'


def queue_row(page: str, order_id: str) -> str:
    start = page.index(f'<a href="/orders/{order_id}">')
    return page[start : page.index("</tr>", start)]


def test_queue_shows_item_price_order_date_and_total_from_the_mirror(console: Console) -> None:
    make_story(console.ledger, console.settings)
    mirror_order(console.ledger, "acme", A3, total="61.40", items=[("10003", 2, 0, "54.90")])
    with console.login() as c:
        row = queue_row(c.get("/queue", params={"q": A3}).text, A3)
    assert '<td class="price num">54.90 USD</td>' in row
    assert '<td class="order-date nowrap">2026-11-20</td>' in row
    assert '<td class="order-total num">61.40 USD</td>' in row


def test_queue_shows_a_dash_saying_not_yet_mirrored_when_the_mirror_lacks_the_order(
    console: Console,
) -> None:
    make_story(console.ledger, console.settings)
    with console.login() as c:
        page = c.get("/queue", params={"q": A3}).text
    assert queue_row(page, A3).count(NOT_MIRRORED) == 3  # price, order date, order total
    assert "not yet mirrored from Amazon" in page[page.index('class="note"') :]


def test_queue_shows_date_and_total_of_a_mirrored_order_whose_items_are_not_read(
    console: Console,
) -> None:
    make_story(console.ledger, console.settings)
    mirror_order(console.ledger, "acme", A3, total="61.40")
    with console.login() as c:
        row = queue_row(c.get("/queue", params={"q": A3}).text, A3)
    assert 'title="items not yet read from Amazon">—<' in row
    assert "2026-11-20" in row and "61.40 USD" in row
    assert NOT_MIRRORED not in row


def test_queue_never_shows_another_sellers_mirrored_copy_of_an_order(console: Console) -> None:
    make_story(console.ledger, console.settings)
    # globex's mirror holds an order with acme's order id; acme's line must not read it.
    mirror_order(console.ledger, "globex", A3, total="999.99", items=[("10003", 1, 0, "999.99")])
    with console.login() as c:
        page = c.get("/queue", params={"q": A3}).text
    assert "999.99" not in page
    assert queue_row(page, A3).count(NOT_MIRRORED) == 3


def test_queue_totals_add_up_the_mirrored_prices_and_count_the_lines_without_one(
    console: Console,
) -> None:
    make_story(console.ledger, console.settings)
    mirror_order(console.ledger, "acme", A1, total="12.00", items=[("10001", 1, 1, "10.00")])
    mirror_order(console.ledger, "acme", A2, total="30.00", items=[("10002", 1, 0, "25.50")])
    with console.login() as c:
        page = c.get("/queue", params={"seller": "acme"}).text
    assert "total amount 35.50 USD (1 line without a price)" in page  # A3 not mirrored


def test_queue_adds_up_the_whole_filtered_view_not_just_the_page(console: Console) -> None:
    ids = [f"333-{n:07d}-0000001" for n in range(120)]
    take_in(console.ledger, [ship(i + 1, o, item=f"9{i:04d}") for i, o in enumerate(ids)])
    for i, o in enumerate(ids):
        mirror_order(console.ledger, "acme", o, total="2.50", items=[(f"9{i:04d}", 1, 0, "2.00")])
    with console.login() as c:
        page = c.get("/queue").text
    assert "Shown: 100 lines, 100 items, total amount 200.00 USD" in page
    assert "All 120 lines of this view: 120 items, total amount 240.00 USD" in page


def test_queue_adds_up_only_the_page_when_the_view_is_past_the_count_cap(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browse, "COUNT_CAP", 2)
    take_in(console.ledger, [ship(i, f"555-{i:07d}-0000001") for i in range(1, 6)])
    with console.login() as c:
        page = c.get("/queue").text
    assert "Shown: 5 lines" in page
    assert "lines of this view" not in page


def test_order_page_shows_the_mirrored_order_and_its_items(console: Console) -> None:
    make_story(console.ledger, console.settings)
    mirror_order(
        console.ledger,
        "acme",
        A2,
        total="80.00",
        items=[("10002", 3, 1, "60.00"), ("10009", 1, 0, "15.00")],
        status="PartiallyShipped",
    )
    with console.login() as c:
        page = c.get(f"/orders/{A2}").text
    assert '<dd class="amazon-status">PartiallyShipped</dd>' in page
    assert '<dd class="purchase-date">2026-11-20 09:30:00 UTC</dd>' in page
    assert '<dd class="latest-ship-date">2026-11-22 09:30:00 UTC</dd>' in page
    assert '<dd class="ship-service-level">Std US D2D Dom</dd>' in page
    assert '<dd class="order-total">80.00 USD</dd>' in page
    assert re.search(
        r"<td>10002</td><td>SKU-10002</td><td[^>]*>3</td><td[^>]*>1</td><td[^>]*>2</td>"
        r"<td[^>]*>60.00 USD</td>",
        page,
    )


def test_order_page_says_an_order_is_not_yet_mirrored(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login() as c:
        page = c.get(f"/orders/{A3}").text
    assert "Not yet mirrored from Amazon" in page


def test_a_seller_account_never_sees_another_sellers_mirrored_order(console: Console) -> None:
    make_story(console.ledger, console.settings)
    mirror_order(console.ledger, "globex", A3, total="999.99", items=[("10003", 1, 0, "999.99")])
    with console.login(SELLER) as c:
        page = c.get(f"/orders/{A3}").text
        queue = c.get("/queue").text
    assert "999.99" not in page and "999.99" not in queue
    assert "Not yet mirrored from Amazon" in page


def test_api_order_carries_the_mirrored_facts(api: ApiConsole) -> None:
    take_in(api.ledger, [ship(1, A1, item="10001")], seller="acme")
    mirror_order(api.ledger, "acme", A1, total="12.00", items=[("10001", 2, 1, "10.00")])
    with api.client() as c:
        body = c.get(f"/api/v1/orders/{A1}").json()
    amazon = body["amazon"]
    assert (amazon["status"], amazon["purchase_date"]) == ("Unshipped", "2026-11-20T09:30:00+00:00")
    assert amazon["order_total"] == {"amount": "12.00", "currency": "USD"}
    assert amazon["latest_ship_date"] == "2026-11-22T09:30:00+00:00"
    assert amazon["ship_service_level"] == "Std US D2D Dom"
    (item,) = amazon["items"]
    assert (item["quantity_shipped"], item["quantity_unshipped"]) == (1, 1)
    assert item["price"] == {"amount": "10.00", "currency": "USD"}


def test_api_order_not_yet_mirrored_has_no_amazon_facts(api: ApiConsole) -> None:
    take_in(api.ledger, [ship(1, A1, item="10001")], seller="acme")
    mirror_order(api.ledger, "globex", A1, total="999.99")  # another seller's copy
    with api.client() as c:
        body = c.get(f"/api/v1/orders/{A1}").json()
    assert body["amazon"] is None


def test_api_queue_rows_carry_price_order_date_and_total(api: ApiConsole) -> None:
    take_in(api.ledger, [ship(1, A1, item="10001"), ship(2, A2, item="10002")], seller="acme")
    mirror_order(api.ledger, "acme", A1, total="12.00", items=[("10001", 1, 0, "10.00")])
    with api.client() as c:
        body = c.get("/api/v1/queue").json()
    rows = {r["order_id"]: r for r in body["rows"]}
    assert rows[A1]["mirrored"] is True
    assert rows[A1]["price"] == {"amount": "10.00", "currency": "USD"}
    assert rows[A1]["order_date"] == "2026-11-20T09:30:00+00:00"
    assert rows[A1]["order_total"] == {"amount": "12.00", "currency": "USD"}
    assert (rows[A2]["mirrored"], rows[A2]["price"], rows[A2]["order_total"]) == (False, None, None)
    view = body["totals"]["view"]
    assert view["lines"] == 2
    assert view["amount"] == {"per_currency": {"USD": "10.00"}, "lines_without_price": 1}


def test_api_queue_never_carries_another_sellers_mirrored_data(api: ApiConsole) -> None:
    take_in(api.ledger, [ship(1, A1, item="10001")], seller="acme")
    mirror_order(api.ledger, "acme", A1, total="12.00", items=[("10001", 1, 0, "10.00")])
    with api.client(GLOBEX_TOKEN) as c:
        body = c.get("/api/v1/queue", params={"q": A1}).json()
        order = c.get(f"/api/v1/orders/{A1}")
    assert body["rows"] == []
    assert order.status_code == 404
