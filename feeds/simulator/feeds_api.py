"""Feeds API 2021-06-30 and the pre-signed document URLs it hands out.

Documents live on the simulator itself, behind URLs signed like S3's: the signature covers
the method, the document and the time, and an upload must carry the Content-Type given to
createFeedDocument (S3 signs that header too), else it is refused 403 as S3 refuses it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from feeds.simulator.orderbook import iso
from feeds.simulator.state import Document, Feed, SimState
from feeds.simulator.wire import Answer, BadInput, NotFound, Request, json_answer

if TYPE_CHECKING:
    from feeds.simulator.processing import Report

log = logging.getLogger(__name__)

URL_LIFETIME = timedelta(minutes=5)
PROCESSING_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


# -- signed URLs -------------------------------------------------------------------------


def _signature(sim: SimState, method: str, doc_id: str, amz_date: str) -> str:
    msg = f"{method}\n{doc_id}\n{amz_date}".encode()
    return hmac.new(sim.signing_key, msg, hashlib.sha256).hexdigest()


def signed_url(sim: SimState, method: str, doc_id: str) -> str:
    amz_date = datetime.now(UTC).strftime(_AMZ_DATE)
    sig = _signature(sim, method, doc_id, amz_date)
    return (
        f"{sim.url}/s3/feed-documents/{quote(doc_id)}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Date={amz_date}&X-Amz-Expires={int(URL_LIFETIME.total_seconds())}"
        f"&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature={sig}"
    )


def _s3_error(status: int, code: str, message: str) -> Answer:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()
    return Answer(status, body, "application/xml")


def _check_signature(sim: SimState, req: Request, method: str) -> Answer | None:
    doc_id = req.params["documentId"]
    sig = req.one("X-Amz-Signature")
    amz_date = req.one("X-Amz-Date")
    if not sig or not amz_date:
        return _s3_error(
            403,
            "AccessDenied",
            "Query-string authentication requires the X-Amz-Signature and X-Amz-Date parameters.",
        )
    if not hmac.compare_digest(sig, _signature(sim, method, doc_id, amz_date)):
        return _s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    signed = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
    if datetime.now(UTC) > signed + URL_LIFETIME:
        return _s3_error(403, "AccessDenied", "Request has expired")
    return None


def upload_document(sim: SimState, req: Request) -> Answer:
    refused = _check_signature(sim, req, "PUT")
    if refused:
        return refused
    with sim.lock:
        doc = sim.documents.get(req.params["documentId"])
        if doc is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if req.headers.get("content-type", "") != doc.content_type:
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated "
                "does not match the signature you provided. Check the "
                "Content-Type: it must be the one given to createFeedDocument.",
            )
        doc.content = req.body
    return Answer(200, b"", "text/plain", {"ETag": f'"{hashlib.md5(req.body).hexdigest()}"'})


def download_document(sim: SimState, req: Request) -> Answer:
    refused = _check_signature(sim, req, "GET")
    if refused:
        return refused
    with sim.lock:
        doc = sim.documents.get(req.params["documentId"])
    if doc is None or doc.content is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    body = gzip.compress(doc.content, mtime=0) if doc.compressed else doc.content
    return Answer(200, body, doc.content_type)


# -- operations --------------------------------------------------------------------------


def create_feed_document(sim: SimState, req: Request) -> Answer:
    spec = req.json()
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("contentType"), str)
        or not spec["contentType"]
    ):
        raise BadInput(
            "The request body must be a CreateFeedDocumentSpecification with contentType."
        )
    doc_id = sim.new_document_id()
    with sim.lock:
        sim.documents[doc_id] = Document(doc_id, spec["contentType"], account=req.partner)
    return json_answer(201, {"feedDocumentId": doc_id, "url": signed_url(sim, "PUT", doc_id)})


def create_feed(sim: SimState, req: Request) -> Answer:
    spec = req.json()
    if not isinstance(spec, dict):
        raise BadInput("The request body must be a CreateFeedSpecification object.")
    feed_type = spec.get("feedType")
    marketplaces = spec.get("marketplaceIds")
    doc_id = spec.get("inputFeedDocumentId")
    options = spec.get("feedOptions") or {}
    if not isinstance(feed_type, str) or not feed_type:
        raise BadInput("feedType is required.")
    if (
        not isinstance(marketplaces, list)
        or not 1 <= len(marketplaces) <= 25
        or not all(isinstance(m, str) and m for m in marketplaces)
    ):
        raise BadInput("marketplaceIds must list 1 to 25 marketplace ids.")
    if not isinstance(doc_id, str) or not doc_id:
        raise BadInput("inputFeedDocumentId is required.")
    if not isinstance(options, dict):
        raise BadInput("feedOptions must be an object of strings.")
    with sim.lock:
        doc = sim.documents.get(doc_id)
        if doc is None or doc.account != req.partner:  # another account's document
            raise BadInput(f"Invalid inputFeedDocumentId {doc_id}.")
    fate = "normal"
    if sim.faults.hits("fatal", "createFeed"):
        fate = "fatal"
        sim.counters.fault("fatal", "createFeed")
    elif sim.faults.hits("corrupt_report", "createFeed"):
        fate = "corrupt_report"
        sim.counters.fault("corrupt_report", "createFeed")
    elif sim.faults.hits("garbled_report", "createFeed"):
        fate = "garbled_report"
        sim.counters.fault("garbled_report", "createFeed")
    # Slowness is apart from the ending: a slow feed may still end FATAL or misreported.
    held: str | None = None
    for kind in ("stuck", "queued"):
        if sim.faults.hits(kind, "createFeed"):
            held = kind
            sim.counters.fault(kind, "createFeed")
            break
    feed_id = sim.new_feed_id()
    feed = Feed(
        feed_id=feed_id,
        feed_type=feed_type,
        marketplace_ids=list(marketplaces),
        input_document_id=doc_id,
        created=datetime.now(UTC),
        fate=fate,
        held=held,
        feed_options={str(k): str(v) for k, v in options.items()},
        account=req.partner,
    )
    with sim.lock:
        sim.feeds[feed_id] = feed
    sim.counters.feed_created(req.partner)
    sim.wake()
    return json_answer(202, {"feedId": feed_id})


def feed_json(feed: Feed) -> dict[str, object]:
    data: dict[str, object] = {
        "feedId": feed.feed_id,
        "feedType": feed.feed_type,
        "marketplaceIds": feed.marketplace_ids,
        "createdTime": iso(feed.created),
        "processingStatus": feed.status,
    }
    if feed.started:
        data["processingStartTime"] = iso(feed.started)
    if feed.ended:
        data["processingEndTime"] = iso(feed.ended)
    if feed.result_document_id:
        data["resultFeedDocumentId"] = feed.result_document_id
    return data


def _feed(sim: SimState, feed_id: str, account: str) -> Feed:
    """The feed, as its own account sees it: another account's feed does not exist."""
    feed = sim.feeds.get(feed_id)
    if feed is None or feed.account != account:
        raise NotFound(f"Requested feed {feed_id} not found.")
    return feed


def get_feed(sim: SimState, req: Request) -> Answer:
    advance(sim)
    with sim.lock:
        return json_answer(200, feed_json(_feed(sim, req.params["feedId"], req.partner)))


def cancel_feed(sim: SimState, req: Request) -> Answer:
    advance(sim)
    with sim.lock:
        feed = _feed(sim, req.params["feedId"], req.partner)
        if feed.status != "IN_QUEUE":
            raise BadInput(
                f"The feed cannot be cancelled: its processingStatus is {feed.status}; only "
                "IN_QUEUE feeds can be cancelled."
            )
        feed.status = "CANCELLED"
        feed.ended = datetime.now(UTC)
    return Answer(200, b"", "application/json")


def get_feed_document(sim: SimState, req: Request) -> Answer:
    doc_id = req.params["feedDocumentId"]
    with sim.lock:
        doc = sim.documents.get(doc_id)
    if doc is None or doc.account != req.partner:
        raise NotFound(f"Requested feed document {doc_id} not found.")
    data: dict[str, object] = {"feedDocumentId": doc_id, "url": signed_url(sim, "GET", doc_id)}
    if doc.compressed:
        data["compressionAlgorithm"] = "GZIP"
    return json_answer(200, data)


def _encode_token(state: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def get_feeds(sim: SimState, req: Request) -> Answer:
    advance(sim)
    token = req.one("nextToken")
    if token is not None:
        if set(req.query) - {"nextToken"}:
            raise BadInput("nextToken must be the only parameter when it is given.")
        with sim.lock:
            page = sim.page_tokens.get(token)
        if page is None:
            raise BadInput("Invalid nextToken.")
        ids, offset, size = page
    else:
        feed_types = req.many("feedTypes")
        if not feed_types:
            raise BadInput("Either feedTypes or nextToken is required.")
        if len(feed_types) > 10:
            raise BadInput("feedTypes may list at most 10 feed types.")
        marketplaces = req.many("marketplaceIds")
        if marketplaces is not None and not 1 <= len(marketplaces) <= 10:
            raise BadInput("marketplaceIds must list 1 to 10 marketplace ids.")
        statuses = req.many("processingStatuses")
        if statuses is not None:
            unknown = [s for s in statuses if s not in PROCESSING_STATUSES]
            if unknown or not statuses:
                raise BadInput(f"Invalid processingStatuses {unknown}.")
        size = req.integer("pageSize", 1, 100, 10)
        now = datetime.now(UTC)
        since = req.date("createdSince") or now - timedelta(days=90)
        until = req.date("createdUntil") or now
        if since > until:
            raise BadInput("createdSince must be before createdUntil.")
        with sim.lock:
            chosen = [
                f
                for f in sim.feeds.values()
                if f.feed_type in feed_types
                and f.account == req.partner
                and (statuses is None or f.status in statuses)
                and (marketplaces is None or set(f.marketplace_ids) & set(marketplaces))
                and since <= f.created <= until
            ]
        chosen.sort(key=lambda f: (f.created, f.feed_id), reverse=True)
        ids, offset = [f.feed_id for f in chosen], 0
    page_ids = ids[offset : offset + size]
    with sim.lock:
        feeds = [
            feed_json(sim.feeds[i])
            for i in page_ids
            if i in sim.feeds and sim.feeds[i].account == req.partner
        ]
        data: dict[str, object] = {"feeds": feeds}
        if offset + size < len(ids):
            next_token = _encode_token({"n": secrets.token_hex(8), "o": offset + size})
            sim.page_tokens[next_token] = (ids, offset + size, size)
            data["nextToken"] = next_token
    return json_answer(200, data)


def _corrupt(report: Report) -> None:
    """The report disagrees with its feed: a result for a MessageID the feed never sent."""
    from feeds.simulator.processing import ORDER_NOT_FOUND, Result

    report.results.append(
        Result(
            report.processed + 1,
            ORDER_NOT_FOUND,
            "We are unable to find the order for this message. Please re-enter the order ID "
            "and resubmit.",
        )
    )


def finish_feed(sim: SimState, feed: Feed) -> None:
    """Process a feed leaving IN_PROGRESS and attach its result document."""
    from feeds.simulator.processing import fatal_report, process_feed, render_report

    with sim.lock:
        doc = sim.documents.get(feed.input_document_id)
        content = doc.content if doc else None
    status = "DONE"
    if feed.fate == "fatal" or content is None:
        report = fatal_report(feed.feed_id)
        status = "FATAL"
    else:
        report = process_feed(
            feed.feed_id,
            feed.feed_type,
            content,
            sim.orderbook,
            sim.counters,
            merchant_id=sim.merchant_of(feed.account),
            auto_create=sim.config.auto_create_orders,
            strict_tracking=sim.config.strict_tracking,
            account=feed.account,
            marketplace_id=feed.marketplace_ids[0] if feed.marketplace_ids else None,
        )
        if feed.fate == "corrupt_report":
            _corrupt(report)
    result_id = sim.new_document_id()
    rendered = render_report(report, sim.merchant_of(feed.account))
    if feed.fate == "garbled_report":  # the messages were applied; their report is cut off
        rendered = rendered[: len(rendered) // 2]
    result = Document(
        result_id,
        "text/xml; charset=UTF-8",
        rendered,
        compressed=sim.config.gzip_reports or sim.config.faults.gzip,
        account=feed.account,
    )
    with sim.lock:
        sim.documents[result_id] = result
        feed.result_document_id = result_id
        feed.status = status
        feed.ended = datetime.now(UTC)


def advance(sim: SimState) -> None:
    """Move feeds along IN_QUEUE -> IN_PROGRESS -> DONE as their time comes."""
    delay = sim.config.processing_delay
    with sim.advancing:
        with sim.lock:
            moving = [f for f in sim.feeds.values() if f.status in ("IN_QUEUE", "IN_PROGRESS")]
        for feed in sorted(moving, key=lambda f: f.feed_id):
            elapsed = (datetime.now(UTC) - feed.created).total_seconds()
            with sim.lock:
                if feed.status == "IN_QUEUE" and elapsed >= delay and feed.held != "queued":
                    feed.status = "IN_PROGRESS"
                    feed.started = datetime.now(UTC)
                finish = feed.status == "IN_PROGRESS" and feed.held is None and elapsed >= 2 * delay
            if finish:
                try:
                    finish_feed(sim, feed)
                except Exception:  # a simulator bug must not wedge the feed queue
                    log.exception("simulator: processing feed %s failed", feed.feed_id)
                    with sim.lock:
                        feed.fate = "fatal"
                    finish_feed(sim, feed)


def release_feeds(sim: SimState) -> int:
    """Let every feed held by a ``stuck`` or ``queued`` fault go on and finish: Amazon
    ending a feed hours late. Returns how many were held."""
    with sim.lock:
        held = [f for f in sim.feeds.values() if f.held is not None]
        for f in held:
            f.held = None
    sim.wake()
    return len(held)
