"""Opt-in shipped notices to buyers by email (``email.enabled``; off by default).

Amazon already tells buyers their order shipped, so this is an extra some sellers want
(their own wording, their own sender). The address is the one Amazon shows on the order
(getOrder BuyerInfo.BuyerEmail, an anonymised relay address, restricted data on the real
API); without one the notice is skipped and the log says so. One message per order,
naming every confirmed tracking number of the given lines.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage

from feeds.errors import ShipfeedError
from processors.context import Context
from processors.ledger.records import LineRow
from processors.ledger.statuses import LineStatus

log = logging.getLogger(__name__)


def send_shipped_notices(ctx: Context, line_ids: Sequence[int]) -> int:
    """Email the buyers of these lines' orders (confirmed lines only); returns the count sent."""
    email = ctx.settings.email
    if not email.enabled or not line_ids:
        return 0
    by_order: dict[str, list[LineRow]] = {}
    for ln in ctx.ledger.lines(line_ids):
        if ln.status == LineStatus.CONFIRMED:
            by_order.setdefault(ln.order_id, []).append(ln)
    messages: list[EmailMessage] = []
    for order_id, rows in by_order.items():
        to = _buyer_email(ctx, order_id)
        if to is None:
            log.info("order %s: no buyer email known; shipped notice skipped", order_id)
            continue
        messages.append(_message(email.sender, to, order_id, rows))
    if not messages:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=30) as smtp:
            for msg in messages:
                try:
                    smtp.send_message(msg)
                    sent += 1
                except smtplib.SMTPRecipientsRefused:
                    log.warning("shipped notice for %s refused by the mail server", msg["X-Order"])
    except (OSError, smtplib.SMTPException) as exc:
        log.warning(
            "mail server %s:%s unavailable (%s); %d shipped notices not sent",
            email.smtp_host,
            email.smtp_port,
            exc,
            len(messages) - sent,
        )
    return sent


def _buyer_email(ctx: Context, order_id: str) -> str | None:
    try:
        order = ctx.client.orders.get_order(order_id)
    except ShipfeedError as exc:
        log.info("order %s: cannot look the buyer up (%s)", order_id, exc)
        return None
    info = order.raw.get("BuyerInfo")
    address = info.get("BuyerEmail") if isinstance(info, dict) else None
    return str(address) if address else None


def _message(sender: str, to: str, order_id: str, rows: list[LineRow]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = f"Your order {order_id} has shipped"
    msg["X-Order"] = order_id
    parcels = sorted(
        {
            (r.carrier_code or r.carrier_name or "the carrier", r.tracking_number)
            for r in rows
            if r.tracking_number
        }
    )
    body = [f"Good news: your order {order_id} is on its way."]
    for carrier, tracking in parcels:
        body.append(f"Tracking: {tracking} ({carrier})")
    body.append("Thank you for your order.")
    msg.set_content("\n".join(body) + "\n")
    return msg
