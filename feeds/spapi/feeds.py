"""Feeds API 2021-06-30: documents, feeds, and the processing report download.

Each step is its own public method because the batcher records state in the ledger
between them (document created, uploaded, feed created), so a crash between two steps
resumes rather than repeats. ``submit`` chains them for callers that do not need that.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from feeds.spapi.errors import DocumentError, SpApiTerminalError
from feeds.spapi.transport import SpApiTransport

log = logging.getLogger(__name__)

BASE = "/feeds/2021-06-30"
ORDER_FULFILLMENT_FEED = "POST_ORDER_FULFILLMENT_DATA"
XML_CONTENT_TYPE = "text/xml; charset=UTF-8"
TERMINAL_STATUSES = frozenset({"DONE", "FATAL", "CANCELLED"})
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Feed:
    feed_id: str
    feed_type: str
    processing_status: str
    created_time: datetime
    result_feed_document_id: str | None
    marketplace_ids: list[str] = field(default_factory=list)
    processing_start_time: datetime | None = None
    processing_end_time: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.processing_status in TERMINAL_STATUSES


@dataclass(frozen=True)
class FeedDocument:
    feed_document_id: str
    url: str = field(repr=False)  # pre-signed: its query is a signature
    compression_algorithm: str | None = None


def iso8601(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, as SP-API documents; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _feed(body: Any, operation: str) -> Feed:
    try:
        created = parse_time(body["createdTime"])
        if created is None:
            raise ValueError("createdTime")
        return Feed(
            feed_id=str(body["feedId"]),
            feed_type=str(body["feedType"]),
            processing_status=str(body["processingStatus"]),
            created_time=created,
            result_feed_document_id=body.get("resultFeedDocumentId") or None,
            marketplace_ids=[str(m) for m in body.get("marketplaceIds") or []],
            processing_start_time=parse_time(body.get("processingStartTime")),
            processing_end_time=parse_time(body.get("processingEndTime")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpApiTerminalError(
            f"Amazon answered {operation} with a feed shipfeed cannot read (missing {exc})",
            operation=operation,
            hint="report this to the shipfeed maintainers",
        ) from None


def _require(body: Any, key: str, operation: str) -> str:
    if isinstance(body, dict) and body.get(key):
        return str(body[key])
    raise SpApiTerminalError(
        f"Amazon answered {operation} without {key}",
        operation=operation,
        hint="report this to the shipfeed maintainers",
    )


class FeedsApi:
    def __init__(self, transport: SpApiTransport) -> None:
        self._t = transport

    def __repr__(self) -> str:
        return "FeedsApi()"

    def create_feed_document(self, content_type: str) -> tuple[str, str]:
        """Returns ``(feedDocumentId, pre-signed upload url)``."""
        body = self._t.call(
            "createFeedDocument", "POST", f"{BASE}/documents", json={"contentType": content_type}
        )
        return (
            _require(body, "feedDocumentId", "createFeedDocument"),
            _require(body, "url", "createFeedDocument"),
        )

    def upload_document(self, url: str, data: bytes, content_type: str) -> None:
        """PUT the feed to the pre-signed URL with exactly the createFeedDocument type.

        S3 checks the content type against the signature, so it must not vary (no charset
        added or dropped) and the access token must not go along.
        """
        self._t.presigned("PUT", url, content=data, headers={"content-type": content_type})

    def create_feed(
        self, feed_type: str, marketplace_ids: list[str], input_feed_document_id: str
    ) -> str:
        """Create the feed; returns its feedId.

        Not idempotent: a timeout, dropped connection or 5xx (which on the real Amazon may
        still have created the feed) raises FeedSubmissionUnknown and is never re-sent
        here; call ``find_created_feed`` before creating again. 429 and connections that
        never opened are retried, as nothing can have been created.
        """
        body = self._t.call(
            "createFeed",
            "POST",
            f"{BASE}/feeds",
            json={
                "feedType": feed_type,
                "marketplaceIds": list(marketplace_ids),
                "inputFeedDocumentId": input_feed_document_id,
            },
            once=True,
        )
        return _require(body, "feedId", "createFeed")

    def get_feed(self, feed_id: str) -> Feed:
        body = self._t.call("getFeed", "GET", f"{BASE}/feeds/{_segment(feed_id)}")
        return _feed(body, "getFeed")

    def get_feeds(
        self,
        *,
        feed_types: list[str],
        processing_statuses: list[str] | None = None,
        created_since: datetime | None = None,
        marketplace_ids: list[str] | None = None,
        page_size: int = 100,
    ) -> list[Feed]:
        """Every feed matching the filters, following nextToken to the last page."""
        params: dict[str, str] = {"feedTypes": ",".join(feed_types), "pageSize": str(page_size)}
        if processing_statuses:
            params["processingStatuses"] = ",".join(processing_statuses)
        if created_since is not None:
            params["createdSince"] = iso8601(created_since)
        if marketplace_ids:
            params["marketplaceIds"] = ",".join(marketplace_ids)
        feeds: list[Feed] = []
        while True:
            body = self._t.call("getFeeds", "GET", f"{BASE}/feeds", params=params)
            if not isinstance(body, dict):
                body = {}
            feeds.extend(_feed(item, "getFeeds") for item in body.get("feeds") or [])
            token = body.get("nextToken")
            if not token:
                return feeds
            # Amazon: nextToken must be the only parameter of the next call.
            params = {"nextToken": str(token)}

    def cancel_feed(self, feed_id: str) -> None:
        self._t.call("cancelFeed", "DELETE", f"{BASE}/feeds/{_segment(feed_id)}")

    def get_feed_document(self, feed_document_id: str) -> FeedDocument:
        body = self._t.call(
            "getFeedDocument", "GET", f"{BASE}/documents/{_segment(feed_document_id)}"
        )
        return FeedDocument(
            feed_document_id=_require(body, "feedDocumentId", "getFeedDocument"),
            url=_require(body, "url", "getFeedDocument"),
            compression_algorithm=body.get("compressionAlgorithm") or None,
        )

    def download_document(self, doc: FeedDocument) -> bytes:
        """The document's content, decompressed exactly once when it is compressed.

        Amazon's ``compressionAlgorithm: GZIP`` and a storage-level ``Content-Encoding:
        gzip`` describe the same single layer, so at most one gunzip happens; content that
        itself starts with gzip magic after that is content, not another layer.
        """
        raw, headers = self._t.presigned("GET", doc.url)
        algorithm = (doc.compression_algorithm or "").upper()
        encoding = headers.get("content-encoding", "").lower()
        if algorithm not in ("", "GZIP"):
            raise DocumentError(
                f"feed document {doc.feed_document_id} uses {algorithm}, which shipfeed "
                "cannot decompress",
                operation="getFeedDocument",
                hint="report this to the shipfeed maintainers",
            )
        if algorithm != "GZIP" and encoding != "gzip":
            return raw
        if not raw.startswith(GZIP_MAGIC):
            # Something on the way already decompressed it; do not guess further.
            log.debug("feed document %s said gzip but is not; taken as is", doc.feed_document_id)
            return raw
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise DocumentError(
                f"feed document {doc.feed_document_id} is not valid gzip",
                operation="getFeedDocument",
                hint="the download may have been cut short; shipfeed will fetch it again",
            ) from None

    def find_created_feed(
        self, *, feed_type: str, created_since: datetime, exclude: set[str]
    ) -> Feed | None:
        """After a lost createFeed answer: the feed of that type we do not know yet.

        ``created_since`` should be taken just before the lost createFeed (minus some
        clock skew); ``exclude`` holds every feed id the ledger already has. The earliest
        unknown feed is returned; None means the createFeed did not land and may be sent
        again.
        """
        feeds = self.get_feeds(feed_types=[feed_type], created_since=created_since)
        unknown = [f for f in feeds if f.feed_id not in exclude]
        if not unknown:
            return None
        if len(unknown) > 1:
            log.warning(
                "%d unknown %s feeds since %s; taking the earliest",
                len(unknown),
                feed_type,
                iso8601(created_since),
            )
        return min(unknown, key=lambda f: f.created_time)

    def submit(
        self,
        data: bytes,
        *,
        marketplace_ids: list[str],
        feed_type: str = ORDER_FULFILLMENT_FEED,
        content_type: str = XML_CONTENT_TYPE,
    ) -> str:
        """createFeedDocument → upload → createFeed in one go; returns the feedId."""
        document_id, url = self.create_feed_document(content_type)
        self.upload_document(url, data, content_type)
        return self.create_feed(feed_type, marketplace_ids, document_id)
