"""The console in a real browser (headless Chromium, JavaScript not needed), as an
operator and as a seller would use it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from console_data import A1, A2, A3, G1, REPORT_BYTES, make_story, mirror_order
from console_support import OPERATOR, SELLER, Console

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    ctx = browser.new_context(base_url=console.url, accept_downloads=True)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def log_in(page: Any, who: tuple[str, str]) -> None:
    page.goto("/")
    page.fill("input[name=username]", who[0])
    page.fill("input[name=password]", who[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def test_an_operator_logs_in_and_sees_the_overview(page: Any, console: Console) -> None:
    make_story(console.ledger, console.settings)
    log_in(page, OPERATOR)
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("svg").count() == 2


def test_an_operator_filters_the_queue_to_errors_and_opens_an_orders_history(
    page: Any, console: Console
) -> None:
    make_story(console.ledger, console.settings)
    log_in(page, OPERATOR)
    page.click("text=Queue")
    page.select_option("select[name=status]", "error")
    page.click("text=Show")
    orders = page.locator("tbody a[href^='/orders/']").all_inner_texts()
    assert sorted(orders) == sorted([A2, G1])
    page.click(f"text={A2}")
    history = page.locator("table.history").inner_text()
    assert "submitted → error" in history
    assert "the tracking number is not valid" in history


def test_an_operator_resends_a_selection_and_sees_its_status_change(
    page: Any, console: Console
) -> None:
    story = make_story(console.ledger, console.settings)
    log_in(page, OPERATOR)
    page.goto("/queue?status=error&seller=acme")
    page.check(f"input[name=line][value='{story.a2}']")
    page.click("button[value=resend]")
    assert "please confirm" in page.locator("h1").inner_text()
    page.click("text=Resend 1 line(s)")
    assert "requeued 1" in page.locator(".flash").inner_text()
    assert page.locator(f"a[href='/orders/{A2}']").count() == 0  # no longer in error
    page.goto(f"/orders/{A2}")
    assert "in_queue" in page.locator("section.line h2").first.inner_text()
    assert "olga" in page.locator("table.history").inner_text()


def test_an_operator_downloads_a_result_report(page: Any, console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    log_in(page, OPERATOR)
    page.goto("/files")
    with page.expect_download() as info:
        page.click(f"a[href='/files/{story.acme_file}/reports/result.csv']")
    download = info.value
    assert download.suggested_filename == "acme-1.csv.result.csv"
    with open(download.path(), "rb") as fh:
        assert fh.read() == REPORT_BYTES


def test_a_seller_sees_only_its_own_data(page: Any, console: Console) -> None:
    make_story(console.ledger, console.settings)
    log_in(page, SELLER)
    page.goto("/queue")
    orders = page.locator("tbody a[href^='/orders/']").all_inner_texts()
    assert sorted(orders) == sorted([A1, A2, A3])
    assert page.locator("button[value=correct]").count() == 0  # operators only
    response = page.goto(f"/orders/{G1}")
    assert response.status == 404


def test_a_seller_hands_its_failing_order_to_a_person(page: Any, console: Console) -> None:
    make_story(console.ledger, console.settings)
    log_in(page, SELLER)
    page.goto(f"/orders/{A2}")
    page.locator("form:has(input[name=order]) button[value=escalate]").click()
    assert "please confirm" in page.locator("h1").inner_text()
    page.fill("textarea[name=note]", "the buyer has it")
    page.click("text=Ask a person to look 1 line(s)")
    assert "handed to a person 1" in page.locator(".flash").inner_text()
    assert "needs_attention" in page.locator("section.line h2").first.inner_text()
    assert "the buyer has it" in page.locator("table.history").inner_text()


def test_an_operator_sees_amazons_price_date_and_total_in_the_queue_and_on_the_order(
    page: Any, console: Console
) -> None:
    make_story(console.ledger, console.settings)
    mirror_order(console.ledger, "acme", A3, total="61.40", items=[("10003", 2, 0, "54.90")])
    log_in(page, OPERATOR)
    page.goto("/queue?seller=acme")
    row = page.locator("tr", has=page.locator(f"a[href='/orders/{A3}']"))
    assert row.locator("td.price").inner_text() == "54.90 USD"
    assert row.locator("td.order-total").inner_text() == "61.40 USD"
    unmirrored = page.locator("tr", has=page.locator(f"a[href='/orders/{A1}']"))
    assert unmirrored.locator("td.price").get_attribute("title") == "not yet mirrored from Amazon"
    page.click(f"text={A3}")
    assert page.locator("dd.amazon-status").inner_text() == "Unshipped"
    assert "54.90 USD" in page.locator("table.items").inner_text()
