"""Alerts to people: every kind reaches operators in one digest per interval, by email
(a real SMTP server) and by webhook (a real HTTP receiver), and no alert is sent twice,
across passes and restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alert_support import Webhook
from ledger_db import order, sent_feed, ship, take_in
from pydantic import SecretStr
from smtp_support import Mailbox

from config.settings import AlertSecrets, AlertSettings
from feeds.model import LineError
from processors.alerts import Destination, destinations, digest, send_alerts
from processors.alertsources import Alert, AlertKind
from processors.ledger import health, tracking
from processors.ledger.store import Ledger

SETTINGS = AlertSettings(digest_seconds=300, unreachable_after_seconds=900)


def now() -> datetime:
    return datetime.now(UTC)


def operators(*urls: str) -> list[Destination]:
    return destinations(AlertSecrets(operators=[SecretStr(u) for u in urls]))


def mailto(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?from=shipfeed@example.com&to=ops@example.com&mode=insecure"


@pytest.fixture
def strict(ledger_url: str) -> Iterator[Ledger]:
    """A ledger with max_resends=0: a FATAL feed puts its lines in needs_attention."""
    lg = Ledger.open(ledger_url, max_resends=0)
    try:
        yield lg
    finally:
        lg.close()


def needs_attention(ledger: Ledger, seller: str = "acme", n: int = 1) -> int:
    """A FATAL feed whose lines (already sent max_resends times) need attention."""
    take_in(ledger, [ship(i + 2, order(n * 100 + i)) for i in range(2)], seller=seller,
            name=f"{seller}-{n}.csv")  # fmt: skip
    feed_id, _ = sent_feed(ledger, seller)
    ledger.fail_feed(feed_id, "Amazon could not read the feed")
    return feed_id


def conflict(ledger: Ledger) -> None:
    rec = take_in(ledger, [ship(2, order(900), tracking="1ZFIRST")], name="first.csv")
    ids = [ln.id for ln in ledger.queued_lines("acme", 10) if ln.file_id == rec.id]
    ledger.mark_confirmed_elsewhere(ids, "Amazon shows it shipped")
    take_in(ledger, [ship(2, order(900), tracking="1ZOTHER")], name="second.csv")


def test_every_alert_kind_reaches_operators_in_one_email(
    strict: Ledger, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    needs_attention(strict)
    conflict(strict)
    take_in(strict, [ship(2, order(5))], [LineError(3, "order-id", "x", "not an order id")],
            name="half.csv")  # fmt: skip
    take_in(strict, [ship(2, order(6))], name="stuck.csv")
    stuck_feed, _ = sent_feed(strict)
    tracking.flag_stuck(strict, stuck_feed, "IN_PROGRESS", f"{tracking.STUCK_PREFIX}: 2 h")
    t = now()
    health.record(strict, health.AMAZON_LOGIN, health.REFUSED, t, "invalid_grant")
    health.record(strict, "inbox:acme", health.FAILING, t - timedelta(hours=1), "timed out")

    done = send_alerts(strict, SETTINGS, operators(mailto(port)), t)

    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    text = next(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in mail.walk()
        if part.get_content_type() == "text/plain"
    )
    for title in (
        "Amazon refuses the login",
        "Feeds Amazon ended FATAL",
        "Feeds stuck with Amazon",
        "Inboxes unreachable",
        "Files rejected",
        "Lines that need attention (2)",
        "Lines in conflict",
    ):
        assert title in text
    assert "half.csv: 1 of 2 lines rejected" in text
    assert "invalid_grant" in text
    assert mail["Subject"].startswith("shipfeed: 1 amazon_login_refused")
    assert done.sent == {"operators #1": 8}


def test_a_second_pass_and_a_restart_send_nothing_already_sent(
    strict: Ledger, ledger_url: str, webhook: Webhook
) -> None:
    needs_attention(strict)
    t = now()
    send_alerts(strict, SETTINGS, operators(webhook.url), t)
    later = t + timedelta(hours=1)
    second = send_alerts(strict, SETTINGS, operators(webhook.url), later)
    restarted = Ledger.open(ledger_url, max_resends=0)
    try:
        third = send_alerts(restarted, SETTINGS, operators(webhook.url), later)
    finally:
        restarted.close()
    assert len(webhook.bodies) == 1
    assert second.sent == third.sent == {}


def test_alerts_raised_within_the_interval_wait_for_the_next_digest(
    strict: Ledger, webhook: Webhook
) -> None:
    needs_attention(strict, n=1)
    t = now()
    send_alerts(strict, SETTINGS, operators(webhook.url), t)
    needs_attention(strict, n=2)
    early = send_alerts(strict, SETTINGS, operators(webhook.url), t + timedelta(seconds=60))
    on_time = send_alerts(strict, SETTINGS, operators(webhook.url), t + timedelta(seconds=301))
    assert early.waiting == ["operators #1"]
    assert on_time.sent == {"operators #1": 3}  # the second FATAL feed and its two lines
    assert len(webhook.bodies) == 2
    assert order(200) in webhook.messages()[1] and order(100) not in webhook.messages()[1]


def test_a_seller_who_opted_in_gets_only_its_own_alerts(strict: Ledger, webhook: Webhook) -> None:
    needs_attention(strict, "acme", n=1)
    needs_attention(strict, "other", n=2)
    health.record(strict, health.AMAZON_LOGIN, health.REFUSED, now(), "invalid_grant")
    targets = destinations(AlertSecrets(sellers={"acme": [SecretStr(webhook.url)]}))

    done = send_alerts(strict, SETTINGS, targets, now())

    assert done.sent == {"seller acme #1": 3}  # its FATAL feed and its two lines
    (message,) = webhook.messages()
    assert order(100) in message
    assert order(200) not in message and "login" not in message


def test_a_destination_that_was_down_gets_its_digest_on_a_later_pass(
    strict: Ledger, webhook: Webhook
) -> None:
    needs_attention(strict)
    webhook.status = 500
    t = now()
    down = send_alerts(strict, SETTINGS, operators(webhook.url), t)
    webhook.status = 200
    up = send_alerts(strict, SETTINGS, operators(webhook.url), t + timedelta(seconds=30))
    assert down.failed == ["operators #1"]
    assert up.sent == {"operators #1": 3}
    assert len(webhook.bodies) == 1


def test_an_inbox_failing_for_less_than_the_setting_is_not_alerted(
    ledger: Ledger, webhook: Webhook
) -> None:
    t = now()
    health.record(ledger, "inbox:acme", health.FAILING, t - timedelta(minutes=5), "timed out")
    early = send_alerts(ledger, SETTINGS, operators(webhook.url), t)
    late = send_alerts(ledger, SETTINGS, operators(webhook.url), t + timedelta(minutes=11))
    assert early.sent == {}
    assert late.sent == {"operators #1": 1}
    assert "acme: the inbox has been unreachable since" in webhook.messages()[0]


def test_a_line_back_in_needs_attention_later_is_alerted_again(
    strict: Ledger, webhook: Webhook
) -> None:
    needs_attention(strict)
    t = now()
    send_alerts(strict, SETTINGS, operators(webhook.url), t)
    strict.resend(order_ids=[order(100)], force=True)
    feed_id, _ = sent_feed(strict)
    strict.fail_feed(feed_id, "FATAL again")
    again = send_alerts(strict, SETTINGS, operators(webhook.url), now() + timedelta(hours=1))
    assert again.sent == {"operators #1": 2}  # the line, and the new FATAL feed


def test_a_digest_lists_a_few_items_of_a_kind_and_counts_the_rest() -> None:
    alerts = [
        Alert(f"line:{i}", AlertKind.NEEDS_ATTENTION, "acme", f"order {i}") for i in range(120)
    ]
    title, body = digest(alerts, max_listed=50)
    assert title == "shipfeed: 120 needs_attention"
    assert body.count("\n- acme: order") == 50
    assert "- and 70 more" in body


def test_no_destination_url_appears_in_the_log(
    strict: Ledger, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    needs_attention(strict)
    webhook.status = 500
    with caplog.at_level("DEBUG"):
        send_alerts(strict, SETTINGS, operators(webhook.url + "?token=s3cr3t"), now())
    assert "operators #1" in caplog.text
    assert "s3cr3t" not in caplog.text
