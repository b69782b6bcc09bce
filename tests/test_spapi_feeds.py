"""Feeds 2021-06-30 operations: official paths, parameters, bodies and document handling."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
from spapi_fakes import FEED_JSON, FakeAmazon, json_response, raw_response

from feeds.spapi.feeds import FeedDocument

DOCS = "/feeds/2021-06-30/documents"
FEEDS = "/feeds/2021-06-30/feeds"
UPLOAD = "https://tortuga-prod-na.s3.example/upload/doc-1"
XML_TYPE = "text/xml; charset=UTF-8"


def _query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


def test_create_feed_document_posts_content_type_and_returns_id_and_url() -> None:
    amazon = FakeAmazon()
    amazon.on("POST", DOCS, json_response(201, {"feedDocumentId": "doc-1", "url": UPLOAD}))
    with amazon.client() as client:
        assert client.feeds.create_feed_document(XML_TYPE) == ("doc-1", UPLOAD)
    (req,) = amazon.calls("POST", DOCS)
    assert json.loads(req.content) == {"contentType": XML_TYPE}


def test_upload_puts_exact_content_type_without_access_token() -> None:
    amazon = FakeAmazon()
    amazon.on("PUT", "/upload/doc-1", httpx.Response(200))
    with amazon.client() as client:
        client.feeds.upload_document(UPLOAD, b"<AmazonEnvelope/>", XML_TYPE)
    (req,) = amazon.calls("PUT", "/upload/doc-1")
    assert req.headers["content-type"] == XML_TYPE
    assert "x-amz-access-token" not in req.headers
    assert req.content == b"<AmazonEnvelope/>"
    assert amazon.tokens_issued == 0


def test_create_feed_posts_the_official_body() -> None:
    amazon = FakeAmazon()
    amazon.on("POST", FEEDS, json_response(202, {"feedId": "50012345678"}))
    with amazon.client() as client:
        feed_id = client.feeds.create_feed(
            "POST_ORDER_FULFILLMENT_DATA", ["ATVPDKIKX0DER"], "doc-1"
        )
    assert feed_id == "50012345678"
    (req,) = amazon.calls("POST", FEEDS)
    assert json.loads(req.content) == {
        "feedType": "POST_ORDER_FULFILLMENT_DATA",
        "marketplaceIds": ["ATVPDKIKX0DER"],
        "inputFeedDocumentId": "doc-1",
    }


def test_submit_runs_document_upload_and_create_in_order() -> None:
    amazon = FakeAmazon()
    amazon.on("POST", DOCS, json_response(201, {"feedDocumentId": "doc-1", "url": UPLOAD}))
    amazon.on("PUT", "/upload/doc-1", httpx.Response(200))
    amazon.on("POST", FEEDS, json_response(202, {"feedId": "9"}))
    with amazon.client() as client:
        assert client.feeds.submit(b"<x/>", marketplace_ids=["ATVPDKIKX0DER"]) == "9"
    assert [(r.method, r.url.path) for r in amazon.api_requests()] == [
        ("POST", DOCS),
        ("PUT", "/upload/doc-1"),
        ("POST", FEEDS),
    ]


def test_get_feed_reads_the_feed_model() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", f"{FEEDS}/50012345678", json_response(200, FEED_JSON))
    with amazon.client() as client:
        feed = client.feeds.get_feed("50012345678")
    assert feed.feed_type == "POST_ORDER_FULFILLMENT_DATA"
    assert feed.processing_status == "DONE" and feed.finished
    assert feed.created_time == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert feed.result_feed_document_id == "amzn1.tortuga.3.report"
    assert feed.marketplace_ids == ["ATVPDKIKX0DER"]


def test_get_feeds_sends_official_filters_and_follows_next_token_alone() -> None:
    amazon = FakeAmazon()
    second = {**FEED_JSON, "feedId": "2"}
    amazon.on(
        "GET",
        FEEDS,
        json_response(200, {"feeds": [FEED_JSON], "nextToken": "tok-2"}),
        json_response(200, {"feeds": [second]}),
    )
    with amazon.client() as client:
        feeds = client.feeds.get_feeds(
            feed_types=["POST_ORDER_FULFILLMENT_DATA", "POST_FLAT_FILE_FULFILLMENT_DATA"],
            processing_statuses=["IN_QUEUE", "IN_PROGRESS"],
            created_since=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
            marketplace_ids=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
        )
    assert [f.feed_id for f in feeds] == ["50012345678", "2"]
    first, follow = amazon.calls("GET", FEEDS)
    assert _query(first) == {
        "feedTypes": ["POST_ORDER_FULFILLMENT_DATA,POST_FLAT_FILE_FULFILLMENT_DATA"],
        "processingStatuses": ["IN_QUEUE,IN_PROGRESS"],
        "createdSince": ["2026-03-01T09:30:00Z"],
        "marketplaceIds": ["ATVPDKIKX0DER,A2EUQ1WTGCTBG2"],
        "pageSize": ["100"],
    }
    assert _query(follow) == {"nextToken": ["tok-2"]}


def test_cancel_feed_deletes_the_feed() -> None:
    amazon = FakeAmazon()
    amazon.on("DELETE", f"{FEEDS}/42", httpx.Response(200))
    with amazon.client() as client:
        client.feeds.cancel_feed("42")
    assert len(amazon.calls("DELETE", f"{FEEDS}/42")) == 1


def test_get_feed_document_reads_url_and_compression() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET",
        f"{DOCS}/rep-1",
        json_response(
            200,
            {
                "feedDocumentId": "rep-1",
                "url": "https://s3.example/rep-1",
                "compressionAlgorithm": "GZIP",
            },
        ),
    )
    with amazon.client() as client:
        doc = client.feeds.get_feed_document("rep-1")
    assert doc == FeedDocument("rep-1", "https://s3.example/rep-1", "GZIP")


def test_download_gunzips_exactly_once_even_if_content_looks_gzipped() -> None:
    inner = gzip.compress(b"<AmazonEnvelope/>")  # the content itself starts with gzip magic
    amazon = FakeAmazon()
    amazon.on("GET", "/rep-1", httpx.Response(200, content=gzip.compress(inner)))
    with amazon.client() as client:
        data = client.feeds.download_document(
            FeedDocument("rep-1", "https://s3.example/rep-1", "GZIP")
        )
    assert data == inner


def test_download_with_gzip_content_encoding_and_algorithm_gunzips_once() -> None:
    inner = gzip.compress(b"<AmazonEnvelope/>")
    amazon = FakeAmazon()
    body = gzip.compress(inner)
    amazon.on("GET", "/rep-1", lambda _: raw_response(200, body, {"content-encoding": "gzip"}))
    with amazon.client() as client:
        data = client.feeds.download_document(
            FeedDocument("rep-1", "https://s3.example/rep-1", "GZIP")
        )
    assert data == inner


def test_download_uncompressed_document_is_returned_as_is() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", "/rep-1", httpx.Response(200, content=b"<AmazonEnvelope/>"))
    with amazon.client() as client:
        data = client.feeds.download_document(FeedDocument("rep-1", "https://s3.example/rep-1"))
    assert data == b"<AmazonEnvelope/>"
    (req,) = amazon.calls("GET", "/rep-1")
    assert "x-amz-access-token" not in req.headers


def test_find_created_feed_returns_the_unknown_feed_since_the_lost_call() -> None:
    amazon = FakeAmazon()
    known = {**FEED_JSON, "feedId": "1", "createdTime": "2026-03-01T10:00:00Z"}
    lost = {**FEED_JSON, "feedId": "2", "createdTime": "2026-03-01T10:05:00Z"}
    amazon.on("GET", FEEDS, json_response(200, {"feeds": [known, lost]}))
    since = datetime(2026, 3, 1, 9, 59, tzinfo=UTC)
    with amazon.client() as client:
        found = client.feeds.find_created_feed(
            feed_type="POST_ORDER_FULFILLMENT_DATA", created_since=since, exclude={"1"}
        )
    assert found is not None and found.feed_id == "2"
    query = _query(amazon.calls("GET", FEEDS)[0])
    assert query["createdSince"] == ["2026-03-01T09:59:00Z"]
    assert query["feedTypes"] == ["POST_ORDER_FULFILLMENT_DATA"]


def test_find_created_feed_is_none_when_every_feed_is_known() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEEDS, json_response(200, {"feeds": [{**FEED_JSON, "feedId": "1"}]}))
    with amazon.client() as client:
        found = client.feeds.find_created_feed(
            feed_type="POST_ORDER_FULFILLMENT_DATA",
            created_since=datetime(2026, 3, 1, tzinfo=UTC),
            exclude={"1"},
        )
    assert found is None
