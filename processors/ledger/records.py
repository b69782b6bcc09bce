"""The plain values the ledger hands out: callers never see SQLAlchemy rows.

Frozen dataclasses so that the batcher, tracker, reports and CLI can pass them around and
compare them in tests without a database session behind them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import RowMapping

from feeds.model import Shipment

#: A plain dict or a SQLAlchemy result row: both read by column name.
Rowish = Mapping[str, Any] | RowMapping


@dataclass(frozen=True, slots=True)
class LineRow:
    """One order line as the ledger holds it now."""

    id: int
    file_id: int
    seller: str
    line: int  # the line number in its input file
    order_id: str
    order_item_id: str | None
    quantity: int | None
    ship_date: datetime
    carrier_code: str | None
    carrier_name: str | None
    tracking_number: str | None
    ship_method: str | None
    status: str
    attempts: int  # times resent after the first send
    feed_id: int | None  # the feed it is reserved in or was last sent in
    message_id: int | None  # its MessageID inside that feed
    result_code: str | None
    message: str | None
    duplicate_of: int | None
    status_changed_at: datetime
    updated_at: datetime

    def to_shipment(self, *, line: int | None = None) -> Shipment:
        """The shipment to write into a feed, exactly as it was accepted; ``line``: what to
        put in its line field instead of the input line number (the batcher's ledger id)."""
        return Shipment(
            line=self.line if line is None else line,
            order_id=self.order_id,
            ship_date=self.ship_date,
            order_item_id=self.order_item_id,
            quantity=self.quantity,
            carrier_code=self.carrier_code,
            carrier_name=self.carrier_name,
            tracking_number=self.tracking_number,
            ship_method=self.ship_method,
        )

    @classmethod
    def from_mapping(cls, m: Rowish) -> LineRow:
        return cls(
            id=m["id"],
            file_id=m["file_id"],
            seller=m["seller"],
            line=m["line_no"],
            order_id=m["order_id"],
            order_item_id=m["order_item_id"],
            quantity=m["quantity"],
            ship_date=m["ship_date"],
            carrier_code=m["carrier_code"],
            carrier_name=m["carrier_name"],
            tracking_number=m["tracking_number"],
            ship_method=m["ship_method"],
            status=m["status"],
            attempts=m["attempts"],
            feed_id=m["feed_id"],
            message_id=m["message_id"],
            result_code=m["result_code"],
            message=m["message"],
            duplicate_of=m["duplicate_of"],
            status_changed_at=m["status_changed_at"],
            updated_at=m["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One input file and what became of its lines at intake."""

    id: int
    seller: str
    name: str
    sha256: str
    size: int
    received_at: datetime
    lines: int
    accepted: int  # stored in_queue
    rejected: int  # failed validation: in rejected_lines, for the error report
    duplicates: int  # stored as status 'duplicate', not sent
    conflicts: int  # stored as status 'conflict', sent only if an operator forces it
    status: str
    result_report: str | None = None
    error_report: str | None = None
    claim_name: str | None = None  # where the inbox archived it (Inbox.open_archived)
    reported_at: datetime | None = None  # when its result report was last written

    @classmethod
    def from_mapping(cls, m: Rowish) -> FileRecord:
        return cls(
            id=m["id"],
            seller=m["seller"],
            name=m["name"],
            sha256=m["sha256"],
            size=m["size"],
            received_at=m["received_at"],
            lines=m["lines"],
            accepted=m["accepted"],
            rejected=m["rejected"],
            duplicates=m["duplicates"],
            conflicts=m["conflicts"],
            status=m["status"],
            result_report=m["result_report"],
            error_report=m["error_report"],
            claim_name=m.get("claim_name"),
            reported_at=m.get("reported_at"),
        )


@dataclass(frozen=True, slots=True)
class DuplicateFile:
    """The same content from the same seller was received before: nothing was recorded."""

    earlier: FileRecord
    name: str  # the name this copy arrived under


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One feed and where it is on its way to Amazon."""

    id: int
    seller: str
    state: str
    messages: int
    content_sha256: str
    feed_document_id: str | None
    upload_url: str | None
    amazon_feed_id: str | None
    created_at: datetime
    uploaded_at: datetime | None
    submitted_at: datetime | None
    last_polled_at: datetime | None
    poll_count: int
    processing_status: str | None
    result_document_id: str | None
    summary: dict[str, Any] | None
    reason: str | None
    content: bytes | None = None  # loaded only where the bytes are needed (resume)
    # createFeed was called then and its answer is not recorded: it may exist on Amazon.
    create_called_at: datetime | None = None

    @property
    def next_poll_at(self) -> datetime:
        """When polling this feed is due: quickly at first, then backing off to 15 min.

        getFeed is rate limited and a big feed takes minutes to process, so each poll
        that finds it still in progress doubles the wait (30 s, 1, 2, 4, 8, 15 min...).
        """
        if self.last_polled_at is None:
            return self.submitted_at or self.created_at
        wait = min(30 * 2 ** min(self.poll_count - 1, 10), 900)
        return self.last_polled_at + timedelta(seconds=max(wait, 30))

    @classmethod
    def from_mapping(cls, m: Rowish, with_content: bool = False) -> FeedRow:
        return cls(
            id=m["id"],
            seller=m["seller"],
            state=m["state"],
            messages=m["messages"],
            content_sha256=m["content_sha256"],
            feed_document_id=m["feed_document_id"],
            upload_url=m["upload_url"],
            amazon_feed_id=m["amazon_feed_id"],
            created_at=m["created_at"],
            uploaded_at=m["uploaded_at"],
            submitted_at=m["submitted_at"],
            last_polled_at=m["last_polled_at"],
            poll_count=m["poll_count"],
            processing_status=m["processing_status"],
            result_document_id=m["result_document_id"],
            summary=m["summary"],
            reason=m["reason"],
            content=bytes(m["content"]) if with_content else None,
            create_called_at=m["create_called_at"],
        )


class Outcome(NamedTuple):
    """What Amazon's processing report said about one line."""

    status: str  # 'confirmed' or 'error'
    code: str | None = None  # Amazon's result code, e.g. '25'
    message: str | None = None  # plain words for the seller


@dataclass(frozen=True, slots=True)
class ResendResult:
    """What a resend did to each selected line."""

    requeued: list[int] = field(default_factory=list)
    needs_attention: list[int] = field(default_factory=list)  # over max_resends, not forced
    skipped: dict[int, str] = field(default_factory=dict)  # line id -> why it was left alone
