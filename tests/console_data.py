"""A small ledger story for console tests, made through the ledger's own operations.

acme: file acme-1.csv (order A1 confirmed, A2 rejected by Amazon with code 25, one line
refused at intake), its reports written to acme's real outbox; acme-2.csv (A3 waiting).
globex: globex-1.csv (G1 in error), so a seller account of acme has something to not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger_db import sent_feed, ship, take_in

from config.settings import Settings
from feeds.model import LineError
from feeds.spapi.orders import Money, Order, OrderItem
from ingest.local import LocalOutbox
from processors.intake import intake_report_names
from processors.ledger import orders as mirror
from processors.ledger import uploads
from processors.ledger.store import Ledger
from processors.results import result_report_names

A1, A2, A3 = "111-0000001-0000001", "111-0000002-0000002", "111-0000003-0000003"
G1 = "222-0000001-0000001"
A2_TRACKING = "1Z999AA10123456785"
REPORT_BYTES = b"order-id,status\r\n111-0000001-0000001,confirmed\r\n"


@dataclass
class Story:
    acme_file: int
    globex_file: int
    feed: int
    a1: int
    a2: int
    a3: int
    g1: int


def make_story(ledger: Ledger, settings: Settings) -> Story:
    f1 = take_in(
        ledger,
        [ship(1, A1, item="10001"), ship(2, A2, item="10002", tracking=A2_TRACKING)],
        [LineError(3, "tracking", "??", "not a tracking number")],
        name="acme-1.csv",
        seller="acme",
    )
    feed, (a1, a2) = sent_feed(ledger, "acme")
    ledger.complete_feed(feed, {a2: ("error", "25", "the tracking number is not valid")},
                         others=("confirmed", None, None))  # fmt: skip
    outbox = LocalOutbox(settings.seller("acme").outbox)
    for name in (*intake_report_names("acme-1.csv"), *result_report_names("acme-1.csv")):
        outbox.write(name, REPORT_BYTES)
    ledger.set_file_reports(f1.id, result_report_names("acme-1.csv")[0], None)
    f2 = take_in(ledger, [ship(1, A3, item="10003")], name="acme-2.csv", seller="acme")
    (a3,) = [ln.id for ln in ledger.queued_lines("acme", 10)]
    g = take_in(ledger, [ship(1, G1, item="20001")], name="globex-1.csv", seller="globex")
    gfeed, (g1,) = sent_feed(ledger, "globex")
    ledger.complete_feed(gfeed, {g1: ("error", "25", "globex secret order trouble")})
    LocalOutbox(settings.seller("globex").outbox).write(
        intake_report_names("globex-1.csv")[0], b"globex report"
    )
    assert f2.id
    return Story(f1.id, g.id, feed, a1, a2, a3, g1)


@dataclass
class Uploads:
    acme_copy: int  # acme-1.csv uploaded again
    globex_refused: int  # a globex file refused for its name


ACME_COPY = "acme-1.csv.again-20261126T120000Z.intake.csv"
GLOBEX_REFUSED = "bad_name.csv"


def make_uploads(ledger: Ledger, settings: Settings, story: Story) -> Uploads:
    """Uploads not taken in, recorded as intake records them, with their intake reports."""
    at = ledger.clock()
    uploads.record(
        ledger, seller="acme", kind=uploads.UploadKind.DUPLICATE, name="acme-1.csv",
        upload_key="claim-acme-again", received_at=at, duplicate_of=story.acme_file,
        reason="this file was already taken in; its lines were not queued again",
        intake_report=ACME_COPY,
    )  # fmt: skip
    LocalOutbox(settings.seller("acme").outbox).write(ACME_COPY, b"acme copy report")
    uploads.record(
        ledger, seller="globex", kind=uploads.UploadKind.REFUSED_NAME, name=GLOBEX_REFUSED,
        upload_key="claim-globex-refused", received_at=at,
        reason="the file name contains a line break ('bad\\nname.csv'), so it was not taken in",
        intake_report=f"{GLOBEX_REFUSED}.intake.csv",
    )  # fmt: skip
    LocalOutbox(settings.seller("globex").outbox).write(f"{GLOBEX_REFUSED}.intake.csv", b"x")
    (g, a) = uploads.recent(ledger)
    return Uploads(a.id, g.id)


MARKETS = {"acme": "ATVPDKIKX0DER", "globex": "A1PA6795UKMFR9"}  # console_settings'
PURCHASED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def mirror_order(
    ledger: Ledger,
    seller: str,
    order_id: str,
    *,
    total: str,
    items: list[tuple[str, int, int, str]] | None = None,
    purchased: datetime = PURCHASED,
    status: str = "Unshipped",
) -> None:
    """Put an order in the seller's mirror as the mirror step would after getOrders
    (and getOrderItems when ``items`` is given: (item id, ordered, shipped, price))."""
    market = MARKETS[seller]
    order = Order(
        order_id=order_id,
        status=status,
        ship_service_level="Std US D2D Dom",
        shipment_service_level_category="Standard",
        purchase_date=purchased,
        raw={},
        last_update_date=purchased + timedelta(hours=1),
        latest_ship_date=purchased + timedelta(days=2),
        total=Money(total, "USD"),
    )
    mirror.save_orders(ledger, seller, market, [order], ledger.clock())
    if items is not None:
        mirror.save_items(
            ledger,
            seller,
            market,
            order_id,
            [OrderItem(i, ordered, shipped, f"SKU-{i}", Money(price, "USD"))
             for i, ordered, shipped, price in items],
        )  # fmt: skip
