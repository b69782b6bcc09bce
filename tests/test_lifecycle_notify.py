"""Opt-in shipped notices, delivered to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Callable

from lifecycle_support import World, row
from smtp_support import Mailbox

from processors.notify import send_shipped_notices

O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"


def _confirmed(w: World) -> list[int]:
    w.book.add_order(O1, [(I1, 1)]).buyer_email = "buyer1@marketplace.amazon.com"
    w.order(O2, [(I2, 1)])  # Amazon shows no address for this one
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    w.intake()
    w.batch()
    return w.track().confirmed_lines


def test_shipped_notice_reaches_the_buyer_when_enabled(
    world_factory: Callable[..., World], smtp: tuple[Mailbox, int]
) -> None:
    received, port = smtp
    w = world_factory(email={"enabled": True, "smtp_port": port, "sender": "shop@example.com"})
    sent = send_shipped_notices(w.ctx, _confirmed(w))
    assert sent == 1  # the order without a buyer address is skipped
    (msg,) = received.messages
    assert msg["To"] == "buyer1@marketplace.amazon.com"
    assert msg["From"] == "shop@example.com"
    assert O1 in msg["Subject"]
    assert "1Z999AA10123456784" in msg.get_payload()


def test_nothing_is_sent_with_the_default_settings(world: World, smtp: tuple[Mailbox, int]) -> None:
    received, port = smtp
    world.ctx.settings.email.smtp_port = port  # a live server, yet email stays disabled
    assert send_shipped_notices(world.ctx, _confirmed(world)) == 0
    assert received.messages == []
