"""An order Amazon does not know for this seller: told at intake, decided before sending.

Why: a line naming an order that is not on Amazon for this seller (a typo, another
account's order) used to go out in a feed and come back as Amazon's 18028, hours later
and in Amazon's words. The mirror already asks Amazon about every order a file names
(getOrders by AmazonOrderIds, before each batch), so shipfeed can say it plainly, sooner,
and without holding any shipment back:

* at intake, a line whose order Amazon did not know when the mirror last asked gets a
  warning in the file's intake report: file, line, column, value and the reason. The line
  stays queued: that answer may be stale (an order Amazon had not listed yet), and intake
  never waits for Amazon;
* before sending, the mirror asks again for lines queued since it last asked
  (processors.ledger.orders.unmirrored_queued); when Amazon still does not know the order,
  the line ends in ``error`` with the same plain reason and is not sent (the result report
  shows it). A line an operator resends is sent anyway: Amazon's feed answer is then the
  final word. A line the mirror could not ask about in time is sent as before.
"""

from __future__ import annotations

from datetime import datetime

from feeds.model import LineWarning
from processors.ledger.base import LedgerBase
from processors.ledger.unknownorders import unknown_in_file

#: The words a seller reads, in the intake report, the line's message and the result report.
NOT_FOUND = "order not found on Amazon for this seller"
#: The column the reports name: the one the line rules use for the order id.
ORDER_COLUMN = "order_id"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def intake_notes(
    ledger: LedgerBase, file_id: int, file_name: str, seller: str, marketplace: str
) -> list[LineWarning]:
    """Warnings for the intake report: the file's queued lines naming an order Amazon did
    not know when last asked."""
    return [
        LineWarning(
            u.line_no,
            ORDER_COLUMN,
            u.order_id,
            f"{NOT_FOUND} ({seller}, marketplace {marketplace}): Amazon did not know order "
            f"{u.order_id} (line {u.line_no} of {file_name}) when shipfeed asked at "
            f"{_when(u.looked_up_at)}; shipfeed asks again before sending and does not send "
            "the line if Amazon still does not know it. Check the order number",
        )
        for u in unknown_in_file(ledger, file_id, seller, marketplace)
    ]


def not_sent_message(order_id: str, seller: str, marketplace: str, asked_at: datetime) -> str:
    """The message of a line ended in error because Amazon does not know its order."""
    return (
        f"{NOT_FOUND} ({seller}, marketplace {marketplace}): Amazon's Orders API did not "
        f"return order {order_id} when shipfeed asked at {_when(asked_at)}, so the line was "
        "not sent. Check the order number and upload the corrected line in a new file"
    )
