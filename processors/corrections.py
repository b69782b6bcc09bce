"""Sending corrections: confirmShipment again under the confirmed package's reference.

Amazon documents one way to change a shipment after confirming it through the SP-API:
call confirmShipment (Orders API v0) again with the same packageReferenceId; the other
details of that package are edited instead of a package being added ("Confirm the
shipment status", developer-docs.amazon.com/sp-api/docs/confirm-the-shipment-status). A
feed cannot do it: an OrderFulfillment message for units already shipped is refused
(18021). So a correction always goes through confirmShipment, whatever path the original
took, and carries every item of the original package: the package has one tracking
number, and an edit naming fewer items would leave the others unshipped.

Known limit: a package confirmed through a feed got its packageReferenceId from Amazon,
and Amazon does not say which. shipfeed sends the reference it would have used (the
smallest ledger id of the package's lines); if Amazon refuses, the correction ends in
``error`` with advice to edit the shipment in Seller Central.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from feeds.errors import TransientError
from feeds.model import Item, Package
from feeds.spapi.errors import ShipmentRejected
from feeds.spapi.orders import CannotConfirmDirectly
from processors.context import Context
from processors.ledger.corrections import Correction, claim_corrections

log = logging.getLogger(__name__)

FEED_PACKAGE_ADVICE = (
    "the shipment was confirmed through a feed, whose package reference Amazon assigned "
    "itself; edit the tracking number in Seller Central (Manage Orders, Edit shipment)"
)


@dataclass
class CorrectionResult:
    corrected: list[int]  # correction line ids Amazon took
    refused: list[int]  # correction line ids Amazon refused (now error)


def send_corrections(ctx: Context, seller_name: str, marketplace_id: str) -> CorrectionResult:
    """Send every queued correction of one seller; what fails for now stays queued."""
    result = CorrectionResult([], [])
    with claim_corrections(ctx.ledger, seller_name) as claim:
        for c in claim.corrections:
            ids = [ln.id for ln in c.lines]
            try:
                package = _package(ctx, c)
                ctx.client.orders.confirm_shipment(
                    c.lines[0].order_id,
                    marketplace_id=marketplace_id,
                    package=package,
                    package_reference_id=c.reference,
                )
            except TransientError as exc:
                log.warning("order %s: correction not sent for now (%s)", c.lines[0].order_id, exc)
                continue
            except CannotConfirmDirectly as exc:
                claim.refused(c, None, f"correction not sent: {exc.message}")
                result.refused.extend(ids)
                continue
            except ShipmentRejected as exc:  # Amazon's verdict; anything else stops the step
                what = exc.amazon_message or exc.message
                advice = f"; {FEED_PACKAGE_ADVICE}" if c.by_feed else ""
                claim.refused(c, exc.code, f"Amazon refused the correction: {what}{advice}")
                result.refused.extend(ids)
                continue
            items = ", ".join(i.order_item_id for i in package.items)
            claim.corrected(c, f"package {c.reference} edited with confirmShipment ({items})")
            result.corrected.extend(ids)
    return result


def _package(ctx: Context, c: Correction) -> Package:
    """The original package's items with the correction's carrier, tracking and date.

    Lines that named no item confirmed the whole order: its items are then what Amazon
    shows shipped, since confirmShipment wants each item and quantity spelt out.
    """
    first = c.lines[0]
    qty: dict[str, int] = {}
    if all(ln.order_item_id and ln.quantity for ln in c.package):
        for ln in c.package:
            assert ln.order_item_id is not None and ln.quantity is not None
            qty[ln.order_item_id] = qty.get(ln.order_item_id, 0) + ln.quantity
    else:
        shipped = _shipped(ctx, first.order_id)
        named = {ln.order_item_id for ln in c.package}
        qty = shipped if None in named else {i: shipped.get(i, 0) for i in named if i}
    items = tuple(Item(i, q) for i, q in qty.items())
    items = tuple(i for i in items if i.quantity)
    if not items:
        raise CannotConfirmDirectly(
            f"order {first.order_id}: Amazon shows no shipped item to correct",
            hint="check the order in Seller Central",
        )
    return Package(
        order_id=first.order_id,
        ship_date=first.ship_date,
        carrier_code=first.carrier_code,
        carrier_name=first.carrier_name,
        tracking_number=first.tracking_number,
        ship_method=first.ship_method or c.package[0].ship_method,
        items=items,
        lines=tuple(ln.id for ln in c.lines),
    )


def _shipped(ctx: Context, order_id: str) -> dict[str, int]:
    return {
        i.order_item_id: i.quantity_shipped for i in ctx.client.orders.get_order_items(order_id)
    }
