"""What a seller account may do on its own lines, over real HTTP: resend lines in error,
cancel an order, hand a failing line to a person; each change an event naming the
account. (Refusals for other sellers' lines and for corrections: test_console_access.)"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from alert_support import Webhook
from console_data import A2, A3, make_story
from console_support import SELLER, Console, csrf_of
from ledger_db import sent_feed, ship, take_in
from pydantic import SecretStr

from config.settings import AlertSecrets, AlertSettings
from processors.alerts import destinations, send_alerts
from processors.ledger.queries import order_history


def act(c: httpx.Client, action: str, **form: object) -> httpx.Response:
    """Ask, then confirm, as the two buttons do; returns the page shown after."""
    token = csrf_of(c.get("/queue").text)
    ask = c.post("/queue/action", data={"action": action, "csrf_token": token, **form})
    assert ask.status_code == 200 and "please confirm" in ask.text, ask.text
    done = c.post(
        "/queue/action",
        data={"action": action, "csrf_token": token, "confirmed": "yes", **form},
        follow_redirects=True,
    )
    assert done.status_code == 200
    return done


def test_a_seller_resends_its_own_line_in_error_named_as_who_asked(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        page = act(c, "resend", line=[story.a2])
    assert "Resend: requeued 1" in page.text
    (h,) = order_history(console.ledger, A2)
    assert (h.line.status, h.events[-1].actor) == ("in_queue", SELLER[0])


def test_a_seller_resends_a_whole_order_from_its_order_page(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        order_page = c.get(f"/orders/{A2}").text
        assert f'name="order" value="{A2}"' in order_page
        act(c, "resend", order=A2, back=f"/orders/{A2}")
    assert console.ledger.lines([story.a2])[0].status == "in_queue"


def test_a_seller_cancels_its_waiting_order(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        act(c, "cancel", order=A3)
    (h,) = order_history(console.ledger, A3)
    assert (h.line.status, h.events[-1].actor) == ("cancelled", SELLER[0])


def test_a_seller_hands_a_failing_line_to_a_person_with_a_note(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        page = act(c, "escalate", line=[story.a2], note="the carrier says\nit was delivered")
        history = c.get(f"/orders/{A2}").text
    assert "handed to a person 1" in page.text
    (h,) = order_history(console.ledger, A2)
    e = h.events[-1]
    assert (h.line.status, e.actor) == ("needs_attention", SELLER[0])
    assert e.message == "a person is asked to look (by sam): the carrier says it was delivered"
    assert "error → needs_attention" in history and "<td>sam</td>" in history


def test_an_escalated_line_is_alerted_to_the_operators(console: Console, webhook: Webhook) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        act(c, "escalate", line=[story.a2], note="please call the carrier")
    targets = destinations(AlertSecrets(operators=[SecretStr(webhook.url)]))
    send_alerts(console.ledger, AlertSettings(), targets, datetime.now(UTC))
    (message,) = webhook.messages()
    assert "Lines that need attention (1)" in message
    assert f"order {A2}" in message and "please call the carrier" in message


def test_only_lines_in_error_are_handed_to_a_person(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        page = act(c, "escalate", line=[story.a1, story.a3])
    assert "handed to a person 0" in page.text
    assert f"line {story.a3}: it is waiting for the next batch" in page.text
    assert [ln.status for ln in console.ledger.lines([story.a1, story.a3])] == [
        "confirmed",
        "in_queue",
    ]


def test_a_sellers_resend_leaves_a_line_still_with_amazon_and_says_why(console: Console) -> None:
    take_in(console.ledger, [ship(1, "111-0000009-0000009")], name="late.csv", seller="acme")
    _, (line_id,) = sent_feed(console.ledger, "acme")
    with console.login(SELLER) as c:
        page = act(c, "resend", line=[line_id])
    assert "still with Amazon, which may yet apply it" in page.text
    assert console.ledger.lines([line_id])[0].status == "submitted"


def test_a_sellers_resend_never_forces_a_line_resent_too_often(console: Console) -> None:
    take_in(console.ledger, [ship(1, "111-0000008-0000008")], name="often.csv", seller="acme")
    for _ in range(console.ledger.max_resends + 1):  # FATAL feeds until a person must look
        feed, (line_id,) = sent_feed(console.ledger, "acme")
        console.ledger.fail_feed(feed, "Amazon could not read the feed")
    assert console.ledger.lines([line_id])[0].status == "needs_attention"
    with console.login(SELLER) as c:
        page = act(c, "resend", line=[line_id])
    assert f"already resent {console.ledger.max_resends} times" in page.text
    assert console.ledger.lines([line_id])[0].status == "needs_attention"


def test_a_seller_sees_its_own_buttons_and_an_operator_the_operators(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        seller_queue = c.get("/queue").text
    with console.login() as c:
        operator_queue = c.get("/queue").text
    assert 'value="escalate"' in seller_queue and 'value="correct"' not in seller_queue
    assert 'value="correct"' in operator_queue and 'value="escalate"' not in operator_queue
    assert 'type="checkbox" name="line"' in seller_queue
