"""The console's pages over HTTP, on a real uvicorn server and a real ledger."""

from __future__ import annotations

import re

import pytest
from console_data import (
    A1,
    A2,
    A2_TRACKING,
    A3,
    ACME_COPY,
    G1,
    REPORT_BYTES,
    make_story,
    make_uploads,
)
from console_support import Console, csrf_of
from ledger_db import ship, take_in

from processors.ledger import browse, health
from processors.ledger.queries import order_history


def test_overview_shows_lines_waiting_in_error_and_new_files(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login() as c:
        page = c.get("/").text
    assert re.search(r"Lines waiting</a><b>1<", page)
    assert re.search(r"In error</a><b>2<", page)
    assert re.search(r"New files today<b>3<", page)


def test_overview_draws_each_sellers_last_30_days_as_svg(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login() as c:
        page = c.get("/").text
    assert page.count("<svg") == 2
    assert "confirmed (1)" in page and "error (1)" in page and "rejected (1)" in page


def test_overview_shows_each_sellers_oldest_line_still_waiting(console: Console) -> None:
    make_story(console.ledger, console.settings)
    (a3,) = order_history(console.ledger, A3)
    with console.login() as c:
        page = c.get("/").text
    acme = page[page.index("<h3>acme</h3>") : page.index("<h3>globex</h3>")]
    globex = page[page.index("<h3>globex</h3>") :]
    waited = a3.line.status_changed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"Oldest line still waiting: {waited}" in acme
    assert "Oldest line still waiting: —" in globex


def test_queue_filtered_to_errors_shows_only_lines_in_error(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login() as c:
        page = c.get("/queue", params={"status": "error"}).text
    assert A2 in page and G1 in page
    assert A1 not in page and A3 not in page


def test_queue_counts_each_status_for_the_filter(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login() as c:
        page = c.get("/queue", params={"seller": "acme"}).text
    assert re.search(r">confirmed</a>: 1 ", page)
    assert re.search(r">error</a>: 1 ", page)
    assert re.search(r">in_queue</a>: 1 ", page)


def test_queue_counts_stop_at_the_cap_and_say_so(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browse, "COUNT_CAP", 2)
    take_in(console.ledger, [ship(i, f"555-{i:07d}-0000001") for i in range(1, 6)])
    with console.login() as c:
        page = c.get("/queue").text
    assert re.search(r">in_queue</a>: 2\+ ", page)


def test_queue_search_finds_by_tracking_order_or_file_name(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login() as c:
        by_tracking = c.get("/queue", params={"q": A2_TRACKING}).text
        by_order = c.get("/queue", params={"q": A3}).text
        by_file = c.get("/queue", params={"q": "globex-1"}).text
    assert A2 in by_tracking and A1 not in by_tracking
    assert A3 in by_order and A2 not in by_order
    assert G1 in by_file and A1 not in by_file


def test_queue_pages_through_every_line_newest_first(console: Console) -> None:
    orders = [f"333-{n:07d}-0000001" for n in range(150)]
    take_in(console.ledger, [ship(i + 1, o) for i, o in enumerate(orders)], seller="acme")
    seen: list[str] = []
    with console.login() as c:
        url: str | None = "/queue"
        while url:
            page = c.get(url).text
            seen += re.findall(r"<a href=\"/orders/[^\"]+\">(333-\d+-\d+)</a>", page)
            m = re.search(r'<a href="([^"]+)" rel="next">', page)
            url = m.group(1).replace("&amp;", "&") if m else None
    assert seen == list(reversed(orders))


def test_resend_is_confirmed_first_then_requeues_and_names_who_asked(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login() as c:
        token = csrf_of(c.get("/queue").text)
        ask = c.post(
            "/queue/action", data={"action": "resend", "line": [story.a2], "csrf_token": token}
        )
        assert "please confirm" in ask.text
        assert console.ledger.lines([story.a2])[0].status == "error"  # nothing done yet
        done = c.post(
            "/queue/action",
            data={"action": "resend", "line": [story.a2], "confirmed": "yes", "csrf_token": token},
        )
        assert done.status_code == 303
        assert "requeued 1" in c.get(done.headers["location"]).text
    (h,) = [h for h in order_history(console.ledger, A2)]
    assert h.line.status == "in_queue"
    assert (h.events[-1].to_status, h.events[-1].actor) == ("in_queue", "olga")


def test_cancel_of_a_waiting_line_is_recorded_with_who_asked(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login() as c:
        token = csrf_of(c.get("/queue").text)
        c.post(
            "/queue/action",
            data={"action": "cancel", "line": [story.a3], "confirmed": "yes", "csrf_token": token},
        )
    (h,) = order_history(console.ledger, A3)
    assert (h.line.status, h.events[-1].actor) == ("cancelled", "olga")


def test_a_refused_action_says_why(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login() as c:
        token = csrf_of(c.get("/queue").text)
        r = c.post(
            "/queue/action",
            data={"action": "correct", "line": [story.a1], "confirmed": "yes", "csrf_token": token},
            follow_redirects=True,
        )
    assert f"line {story.a1}: nothing to correct" in r.text
    assert console.ledger.lines([story.a1])[0].status == "confirmed"


def test_order_page_shows_each_lines_file_history_and_seller_central_link(
    console: Console,
) -> None:
    make_story(console.ledger, console.settings)
    with console.login() as c:
        page = c.get(f"/orders/{A2}").text
    assert "acme-1.csv</a>, line 2" in page
    assert "submitted → error" in page and "the tracking number is not valid" in page
    assert "Amazon result code 25" in page
    assert f"https://sellercentral.amazon.com/orders-v3/order/{A2}" in page


def test_order_page_of_an_unknown_order_is_404(console: Console) -> None:
    with console.login() as c:
        assert c.get("/orders/999-0000000-0000000").status_code == 404


def test_files_page_lists_counts_and_reports_to_download(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login() as c:
        page = c.get("/files").text
        assert "acme-1.csv" in page and "globex-1.csv" in page
        assert f"/files/{story.acme_file}/reports/result.csv" in page
        r = c.get(f"/files/{story.acme_file}/reports/result.csv")
    assert r.status_code == 200
    assert r.content == REPORT_BYTES
    assert "acme-1.csv.result.csv" in r.headers["content-disposition"]


def test_files_page_lists_duplicate_and_refused_uploads_with_their_reports(
    console: Console,
) -> None:
    story = make_story(console.ledger, console.settings)
    up = make_uploads(console.ledger, console.settings, story)
    with console.login() as c:
        page = c.get("/files").text
        copy = c.get(f"/uploads/{up.acme_copy}/reports/intake.csv")
    acme = page[page.index(f'id="upload-{up.acme_copy}"') :]
    acme = acme[: acme.index("</tr>")]
    link = f'<a href="/files?seller=acme#file-{story.acme_file}">acme-1.csv</a>'
    assert f"duplicate of {link}" in acme
    assert f"/uploads/{up.acme_copy}/reports/intake.csv" in acme
    globex = page[page.index(f'id="upload-{up.globex_refused}"') :]
    assert "refused</span>: the file name contains a line break" in globex
    assert (copy.status_code, copy.content) == (200, b"acme copy report")
    assert ACME_COPY in copy.headers["content-disposition"]


def test_a_report_missing_from_the_outbox_is_404(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login() as c:
        assert c.get(f"/files/{story.globex_file}/reports/intake.json").status_code == 404


def test_feeds_page_marks_fatal_feeds(console: Console) -> None:
    make_story(console.ledger, console.settings)
    take_in(console.ledger, [ship(1, "444-0000001-0000001")], name="x.csv", seller="globex")
    from ledger_db import sent_feed

    feed, _ = sent_feed(console.ledger, "globex")
    console.ledger.fail_feed(feed, "Amazon said FATAL")
    with console.login() as c:
        page = c.get("/feeds").text
    assert f"AMZ-{feed}" in page
    assert "fatal <strong>(fatal)</strong>" in page


def test_sellers_page_shows_a_refused_amazon_login(console: Console) -> None:
    now = console.ledger.clock()
    health.record(console.ledger, health.AMAZON_LOGIN, health.REFUSED, now, "invalid_grant")
    with console.login() as c:
        page = c.get("/sellers").text
    assert "refused since" in page and "invalid_grant" in page


def test_sellers_page_shows_which_accounts_login_is_refused(console: Console) -> None:
    """Several Amazon accounts: each has its own login row; the refused one is shown."""
    now = console.ledger.clock()
    health.record(console.ledger, health.login_component("acme@NA"), health.OK, now)
    refused = health.login_component("globex@EU")
    health.record(console.ledger, refused, health.REFUSED, now, "invalid_grant")
    with console.login() as c:
        page = c.get("/sellers").text
    assert "Amazon login (account globex@EU)" in page
    assert "refused since" in page and "invalid_grant" in page


def test_sellers_page_shows_an_unreachable_inbox_with_its_error(console: Console) -> None:
    now = console.ledger.clock()
    health.record(console.ledger, "outbox:acme", health.OK, now)
    health.record(console.ledger, "inbox:acme", health.FAILING, now, "connection refused")
    with console.login() as c:
        page = c.get("/sellers").text
    acme = page[page.index("<h2>acme</h2>") : page.index("<h2>globex</h2>")]
    assert "<td>inbox</td>" in acme and "connection refused" in acme
    assert '<td class="bad">failing</td>' in acme
