"""The Order Fulfillment XML feed, written as a stream and split into parts Amazon accepts.

A feed for a million lines must not be built in memory, and must be written far faster
than lxml can build one element object per value. Each message is therefore serialised
from a fixed template in which every text value goes through XML escaping (and is refused
if XML 1.0 cannot carry it at all); the tests prove the output against Amazon's schema
with lxml, including hostile strings. Parts are split by message count and by size, where
the size limit counts the whole part: declaration, header, messages and closing tag.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

from feeds.carriers import CARRIER_CODE_SET
from feeds.errors import TerminalError
from feeds.model import Package
from feeds.packages import CompactPackage

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


class FeedWriteError(TerminalError):
    """A package or setting cannot be written into a valid Order Fulfillment feed."""


@dataclass(frozen=True)
class FeedPart:
    index: int  # 0-based part number
    messages: int
    bytes: int


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_ESCAPE = re.compile(r"[&<>\r\t\n\"]")
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\r": "&#13;",
        "\t": "&#9;",
        "\n": "&#10;",
    }
)
_PLAIN = re.compile(r"[0-9A-Za-z\-]+")
_plain = _PLAIN.fullmatch
_DOCUMENT_VERSION = re.compile(r"\d{1,2}\.\d{1,2}")
_FOOTER = b"</AmazonEnvelope>\n"
_FLUSH_EVERY = 2000
_RENDER_EVERY = 4_000
#: Bytes of "<Message><MessageID></MessageID>" around a MessageID's digits.
_PREFIX_BYTES = len("<Message><MessageID></MessageID>")


def _digits(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Decimal digits of each positive id."""
    import numpy as np

    out = np.ones(len(ids), dtype=np.int64)
    limit = 10
    while len(ids) and limit <= ids[-1]:
        out += ids >= limit
        limit *= 10
    return out


def escape(text: str, what: str = "value") -> str:
    """Text safe inside an XML element; refuses characters XML 1.0 cannot hold."""
    if _XML_INVALID.search(text):
        raise FeedWriteError(f"{what} {text!r} contains characters an XML feed cannot carry")
    if _NEEDS_ESCAPE.search(text):
        return text.translate(_ESCAPES)
    return text


def xml_date(ship_date: datetime) -> str:
    """An aware ship date as FulfillmentDate text (xsd:dateTime, seconds, its own offset)."""
    offset = ship_date.utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        # historic local mean times carry seconds in the offset; xsd:dateTime cannot
        ship_date = ship_date.astimezone(UTC)
    return ship_date.isoformat(timespec="seconds")


def _header(merchant_id: str, document_version: str) -> bytes:
    if not _DOCUMENT_VERSION.fullmatch(document_version):
        raise FeedWriteError(f"document version {document_version!r} must look like 1.01")
    if not merchant_id.strip() or len(merchant_id) > 50:
        raise FeedWriteError("merchant id must be 1 to 50 characters (your Amazon seller id)")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">\n'
        f"<Header><DocumentVersion>{document_version}</DocumentVersion>"
        f"<MerchantIdentifier>{escape(merchant_id, 'merchant id')}</MerchantIdentifier>"
        "</Header>\n<MessageType>OrderFulfillment</MessageType>\n"
    ).encode()


class _MessageRenderer:
    """Everything of a message except its MessageID, memoised for repeated carrier/date text."""

    def __init__(self) -> None:
        # Keyed by the datetime AND its offset: equal instants written with different
        # offsets (10:00Z, 05:00 New York) are equal datetimes, and each keeps its own.
        self._dates: dict[tuple[datetime, timedelta | None], str] = {}
        self._carriers: dict[tuple[str | None, str | None, str | None, bool], str] = {}

    def body(self, p: Package) -> str:
        return self.compact(
            CompactPackage(
                p.order_id,
                p.carrier_code,
                p.carrier_name,
                p.tracking_number,
                p.ship_method,
                p.ship_date,
                tuple((i.order_item_id, i.quantity) for i in p.items),
                p.lines,
            )
        )

    def compact(self, p: CompactPackage) -> str:
        """The message of a compact package (see feeds.packages.CompactPackage)."""
        order_id, code, name, tracking, method, ship_date, items, _lines = p
        date = self._dates.get((ship_date, ship_date.utcoffset()))
        if date is None:
            date = self._date(order_id, ship_date)
        tracking = tracking or None
        ckey = (code, name, method, tracking is not None)
        data = self._carriers.get(ckey)
        if data is None:
            data = self._carriers[ckey] = _carrier_data(order_id, code, name, tracking, method)
            if len(self._carriers) > 10_000:
                self._carriers.clear()
        if tracking is not None:
            if not _plain(tracking):
                tracking = escape(tracking, "tracking number")
            data = (
                f"{data}<ShipperTrackingNumber>{tracking}</ShipperTrackingNumber></FulfillmentData>"
            )
        text = ""
        for item_id, quantity in items:
            item = item_id if _plain(item_id) else escape(item_id, "order item id")
            if quantity is None:
                text += f"<Item><AmazonOrderItemCode>{item}</AmazonOrderItemCode></Item>"
            elif type(quantity) is int and quantity >= 1:
                text += (
                    f"<Item><AmazonOrderItemCode>{item}</AmazonOrderItemCode>"
                    f"<Quantity>{quantity}</Quantity></Item>"
                )
            else:
                raise FeedWriteError(
                    f"order {order_id}: quantity must be a whole number of at least 1"
                )
        oid = order_id if _plain(order_id) else escape(order_id, "order id")
        return (
            f"<OrderFulfillment><AmazonOrderID>{oid}</AmazonOrderID>"
            f"<FulfillmentDate>{date}</FulfillmentDate>{data}{text}"
            "</OrderFulfillment></Message>\n"
        )

    def _date(self, order_id: str, ship_date: datetime) -> str:
        if ship_date.tzinfo is None or ship_date.utcoffset() is None:
            raise FeedWriteError(f"order {order_id}: ship date has no time zone")
        if len(self._dates) > 100_000:
            self._dates.clear()
        date = self._dates[(ship_date, ship_date.utcoffset())] = xml_date(ship_date)
        return date


def _carrier_data(
    order_id: str,
    carrier_code: str | None,
    carrier_name: str | None,
    tracking_number: str | None,
    ship_method: str | None,
) -> str:
    """FulfillmentData up to the tracking number (left open when there is one).

    The schema makes CarrierCode and CarrierName a choice, and ShippingMethod is sent only
    together with a tracking number.
    """
    if carrier_code is not None:
        if carrier_code not in CARRIER_CODE_SET:
            raise FeedWriteError(f"order {order_id}: {carrier_code!r} is not a carrier code")
        carrier = f"<CarrierCode>{escape(carrier_code)}</CarrierCode>"
    elif carrier_name:
        carrier = f"<CarrierName>{escape(carrier_name, 'carrier name')}</CarrierName>"
    elif tracking_number:
        raise FeedWriteError(f"order {order_id}: a tracking number needs a carrier")
    else:
        return ""
    if not tracking_number:
        return f"<FulfillmentData>{carrier}</FulfillmentData>"
    if ship_method:
        method = escape(ship_method, "ship method")
        return f"<FulfillmentData>{carrier}<ShippingMethod>{method}</ShippingMethod>"
    return f"<FulfillmentData>{carrier}"


class FeedWriter:
    """Stream packages into one or more feed parts; a context manager that closes the last part.

    ``open_part(i)`` is called when part ``i`` receives its first message. With
    ``close_parts`` (the default) the writer closes each file object once its part is
    complete, so ``open_part`` may simply open a file; pass ``close_parts=False`` to keep
    them open (in-memory buffers).
    """

    def __init__(
        self,
        open_part: Callable[[int], BinaryIO],
        *,
        merchant_id: str,
        max_messages: int,
        max_bytes: int,
        document_version: str = "1.01",
        close_parts: bool = True,
    ) -> None:
        if max_messages < 1:
            raise FeedWriteError("max_messages must be at least 1")
        self._open_part = open_part
        self._header = _header(merchant_id, document_version)
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._close_parts = close_parts
        if len(self._header) + len(_FOOTER) >= max_bytes:
            raise FeedWriteError(f"max_bytes {max_bytes} leaves no room for any message")
        self._renderer = _MessageRenderer()
        self._parts: list[FeedPart] = []
        self._file: BinaryIO | None = None
        self._index = -1
        self._count = 0
        self._size = 0
        self._pending: list[bytes] = []
        self._closed = False

    def __enter__(self) -> FeedWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        elif self._file is not None and self._close_parts:
            self._file.close()  # an unfinished part stays unfinished: it is never a valid feed

    def add(self, package: Package) -> tuple[int, int]:
        """Write one package as one message; returns (part index, MessageID within the part)."""
        if self._closed:
            raise FeedWriteError("the feed is already closed")
        return self._add_body(self._renderer.body(package), package.order_id)

    def add_compact(self, package: CompactPackage) -> tuple[int, int]:
        """:meth:`add` for a compact package (see feeds.packages.CompactPackage)."""
        if self._closed:
            raise FeedWriteError("the feed is already closed")
        return self._add_body(self._renderer.compact(package), package.order_id)

    def add_compact_many(
        self, packages: Iterable[CompactPackage]
    ) -> list[tuple[CompactPackage, FeedWriteError]]:
        """:meth:`add_compact` for each package in turn; returns the refused ones and why.

        Exactly the messages, MessageIDs and parts of one call per package, with the common
        case (the message fits the open part) kept in local variables: a million calls add up.
        """
        if self._closed:
            raise FeedWriteError("the feed is already closed")
        render = self._renderer.compact
        failed: list[tuple[CompactPackage, FeedWriteError]] = []
        pending = self._pending
        room = self._max_bytes - len(_FOOTER)
        max_messages = self._max_messages
        for p in packages:
            try:
                body = render(p)
            except FeedWriteError as exc:
                failed.append((p, exc))
                continue
            count = self._count
            if self._file is not None and count < max_messages:
                msg = f"<Message><MessageID>{count + 1}</MessageID>{body}".encode()
                size = self._size + len(msg)
                if size <= room:
                    pending.append(msg)
                    self._count = count + 1
                    self._size = size
                    if len(pending) >= _FLUSH_EVERY:
                        self._flush()
                    continue
            try:
                self._add_body(body, p.order_id)
            except FeedWriteError as exc:
                failed.append((p, exc))
        return failed

    def fits_alone(self, body_bytes: int) -> bool:
        """Whether a message with a body of ``body_bytes`` fits an empty part."""
        return len(self._header) + _PREFIX_BYTES + 1 + body_bytes + len(_FOOTER) <= self._max_bytes

    def add_rendered(
        self,
        body_bytes: npt.NDArray[np.int64],
        render: Callable[[int, int, int, BinaryIO], None],
    ) -> None:
        """Messages whose bodies were rendered elsewhere (processors/columnar.py), exactly
        as :meth:`add_compact_many` places them: same MessageIDs, same parts.

        ``body_bytes[i]``: the UTF-8 length of body i (the message after its MessageID);
        ``render(start, stop, first_id, out)``: writes bodies start..stop-1 to ``out`` as
        complete messages, their MessageIDs counting from ``first_id``. Every body must
        fit an empty part alone (:meth:`fits_alone`). Parts are cut where the one-by-one
        loop cuts them, computed from running sums of the lengths instead of one step per
        message.
        """
        import numpy as np

        if self._closed:
            raise FeedWriteError("the feed is already closed")
        n = len(body_bytes)
        room = self._max_bytes - len(_FOOTER)
        i = 0
        while i < n:
            if self._file is None or self._count >= self._max_messages:
                self._finish_part()
                self._start_part()
            count = self._count
            k = min(n - i, self._max_messages - count)
            ids = np.arange(count + 1, count + k + 1, dtype=np.int64)
            sizes = body_bytes[i : i + k] + _PREFIX_BYTES + _digits(ids)
            ends = self._size + np.cumsum(sizes)
            j = int(np.searchsorted(ends, room, side="right"))
            if j == 0:
                if count == 0:  # pragma: no cover - callers check fits_alone first
                    raise FeedWriteError(f"a message is larger than max_bytes {self._max_bytes}")
                self._finish_part()
                self._start_part()
                continue
            self._flush()
            assert self._file is not None
            for at in range(0, j, _RENDER_EVERY):  # bounded: a few MB at a time
                stop = min(j, at + _RENDER_EVERY)
                render(i + at, i + stop, count + 1 + at, self._file)
            self._count = count + j
            self._size = int(ends[j - 1])
            i += j
            if i < n and self._count < self._max_messages:
                self._finish_part()  # the next message does not fit in what is left

    def _add_body(self, body: str, order_id: str) -> tuple[int, int]:
        if self._file is not None and self._count < self._max_messages:
            msg = f"<Message><MessageID>{self._count + 1}</MessageID>{body}".encode()
            if self._size + len(msg) + len(_FOOTER) <= self._max_bytes:
                return self._append(msg)
        self._finish_part()
        self._start_part()
        msg = f"<Message><MessageID>1</MessageID>{body}".encode()
        if self._size + len(msg) + len(_FOOTER) > self._max_bytes:
            raise FeedWriteError(
                f"order {order_id}: one message is larger than max_bytes {self._max_bytes}"
            )
        return self._append(msg)

    def _append(self, msg: bytes) -> tuple[int, int]:
        self._pending.append(msg)
        self._count += 1
        self._size += len(msg)
        if len(self._pending) >= _FLUSH_EVERY:
            self._flush()
        return self._index, self._count

    def _flush(self) -> None:
        if self._pending and self._file is not None:
            self._file.write(b"".join(self._pending))
            self._pending.clear()

    def _start_part(self) -> None:
        self._index += 1
        self._file = self._open_part(self._index)
        self._file.write(self._header)
        self._count = 0
        self._size = len(self._header)

    def _finish_part(self) -> None:
        if self._file is None:
            return
        self._flush()
        self._file.write(_FOOTER)
        self._size += len(_FOOTER)
        self._file.flush()
        if self._close_parts:
            self._file.close()
        self._parts.append(FeedPart(self._index, self._count, self._size))
        self._file = None

    def close(self) -> list[FeedPart]:
        """Finish the last part; the parts written, in order (empty when nothing was added)."""
        if not self._closed:
            self._finish_part()
            self._closed = True
        return list(self._parts)


def feed_bytes(
    packages: Iterable[Package], *, merchant_id: str, document_version: str = "1.01"
) -> bytes:
    """One feed in memory, however many packages (the batcher sends small feeds).

    Raises FeedWriteError for no packages: the schema requires at least one message.
    """
    buf = io.BytesIO()
    with FeedWriter(
        lambda _i: buf,
        merchant_id=merchant_id,
        max_messages=10**18,
        max_bytes=2**62,
        document_version=document_version,
        close_parts=False,
    ) as writer:
        for p in packages:
            writer.add(p)
    data = buf.getvalue()
    if not data:
        raise FeedWriteError("a feed needs at least one shipment (Amazon rejects empty feeds)")
    return data
