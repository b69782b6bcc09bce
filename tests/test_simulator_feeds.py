"""Feeds API operations over HTTP: documents, feeds, listing, cancelling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from simulator_support import (
    FEEDS,
    MARKETPLACE,
    XML_TYPE,
    Api,
    Msg,
    api_for,
    config,
    feed_xml,
    running,
)

from feeds.simulator import OrderBook, Simulator


@pytest.fixture
def book() -> OrderBook:
    b = OrderBook()
    b.add_order("111-1111111-1111111", [("11111111111111", 1)])
    return b


@pytest.fixture
def sim(book: OrderBook) -> Iterator[Simulator]:
    with running(config(), book) as s:
        yield s


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    yield from api_for(sim)


def _valid_feed() -> bytes:
    return feed_xml(Msg("111-1111111-1111111", [("11111111111111", 1)]))


def test_create_feed_document_returns_id_and_presigned_url(api: Api) -> None:
    r = api.call("createFeedDocument", "POST", f"{FEEDS}/documents", json={"contentType": XML_TYPE})
    assert r.status_code == 201
    assert r.json()["feedDocumentId"].startswith("amzn1.tortuga")
    assert "X-Amz-Signature=" in r.json()["url"]


def test_create_feed_document_without_content_type_is_invalid_input(api: Api) -> None:
    r = api.call("createFeedDocument", "POST", f"{FEEDS}/documents", json={})
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "InvalidInput"


def test_upload_with_other_content_type_is_refused_like_s3(api: Api) -> None:
    r = api.call("createFeedDocument", "POST", f"{FEEDS}/documents", json={"contentType": XML_TYPE})
    put = api.http.put(r.json()["url"], content=b"<x/>", headers={"Content-Type": "text/plain"})
    assert put.status_code == 403
    assert b"SignatureDoesNotMatch" in put.content


def test_upload_without_signature_is_refused(api: Api) -> None:
    r = api.call("createFeedDocument", "POST", f"{FEEDS}/documents", json={"contentType": XML_TYPE})
    url = r.json()["url"].split("?")[0]
    put = api.http.put(url, content=b"<x/>", headers={"Content-Type": XML_TYPE})
    assert put.status_code == 403


def test_upload_needs_no_access_token(api: Api) -> None:
    r = api.call("createFeedDocument", "POST", f"{FEEDS}/documents", json={"contentType": XML_TYPE})
    put = api.http.put(r.json()["url"], content=b"<x/>", headers={"Content-Type": XML_TYPE})
    assert put.status_code == 200


def test_create_feed_is_accepted_with_a_numeric_feed_id(api: Api) -> None:
    feed_id = api.submit(_valid_feed())
    assert feed_id.isdigit()


def test_create_feed_with_unknown_document_is_invalid_input(api: Api) -> None:
    r = api.call(
        "createFeed",
        "POST",
        f"{FEEDS}/feeds",
        json={
            "feedType": "POST_ORDER_FULFILLMENT_DATA",
            "marketplaceIds": [MARKETPLACE],
            "inputFeedDocumentId": "amzn1.tortuga.nope",
        },
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "InvalidInput"


def test_create_feed_without_marketplaces_is_invalid_input(api: Api) -> None:
    doc = api.upload(_valid_feed())
    r = api.call(
        "createFeed",
        "POST",
        f"{FEEDS}/feeds",
        json={
            "feedType": "POST_ORDER_FULFILLMENT_DATA",
            "marketplaceIds": [],
            "inputFeedDocumentId": doc,
        },
    )
    assert r.status_code == 400


def test_get_feed_with_no_delay_is_done_with_result_document(api: Api) -> None:
    feed = api.get_feed(api.submit(_valid_feed()))
    assert feed["processingStatus"] == "DONE"
    assert feed["resultFeedDocumentId"]
    assert feed["feedType"] == "POST_ORDER_FULFILLMENT_DATA"


def test_get_unknown_feed_is_404(api: Api) -> None:
    r = api.call("getFeed", "GET", f"{FEEDS}/feeds/123")
    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] == "NotFound"


def test_feed_waits_in_queue_during_processing_delay(book: OrderBook) -> None:
    with running(config(processing_delay=60), book) as sim:
        for api in api_for(sim):
            feed = api.get_feed(api.submit(_valid_feed()))
            assert feed["processingStatus"] == "IN_QUEUE"
            assert "resultFeedDocumentId" not in feed


def test_cancel_feed_in_queue_makes_it_cancelled(book: OrderBook) -> None:
    with running(config(processing_delay=60), book) as sim:
        for api in api_for(sim):
            feed_id = api.submit(_valid_feed())
            r = api.call("cancelFeed", "DELETE", f"{FEEDS}/feeds/{feed_id}")
            assert r.status_code == 200
            assert api.get_feed(feed_id)["processingStatus"] == "CANCELLED"


def test_cancel_feed_already_done_is_invalid_input(api: Api) -> None:
    feed_id = api.submit(_valid_feed())
    api.get_feed(feed_id)
    r = api.call("cancelFeed", "DELETE", f"{FEEDS}/feeds/{feed_id}")
    assert r.status_code == 400


def test_cancel_unknown_feed_is_404(api: Api) -> None:
    r = api.call("cancelFeed", "DELETE", f"{FEEDS}/feeds/42")
    assert r.status_code == 404


def test_get_feed_document_gives_download_url_of_report(api: Api) -> None:
    _, raw = api.result(api.submit(_valid_feed()))
    assert b"<ProcessingReport>" in raw


def test_get_unknown_feed_document_is_404(api: Api) -> None:
    r = api.call("getFeedDocument", "GET", f"{FEEDS}/documents/amzn1.tortuga.none")
    assert r.status_code == 404


def test_get_feeds_requires_feed_types_or_next_token(api: Api) -> None:
    r = api.call("getFeeds", "GET", f"{FEEDS}/feeds")
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "InvalidInput"


def test_get_feeds_filters_by_feed_type(api: Api) -> None:
    mine = api.submit(_valid_feed())
    api.create_feed(api.upload(b"x"), feed_type="POST_PRODUCT_DATA")
    r = api.call(
        "getFeeds", "GET", f"{FEEDS}/feeds", params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA"}
    )
    assert [f["feedId"] for f in r.json()["feeds"]] == [mine]


def test_get_feeds_filters_by_processing_status(book: OrderBook) -> None:
    with running(config(processing_delay=60), book) as sim:
        for api in api_for(sim):
            queued = api.submit(_valid_feed())
            cancelled = api.submit(_valid_feed())
            api.call("cancelFeed", "DELETE", f"{FEEDS}/feeds/{cancelled}")
            r = api.call(
                "getFeeds",
                "GET",
                f"{FEEDS}/feeds",
                params={
                    "feedTypes": "POST_ORDER_FULFILLMENT_DATA",
                    "processingStatuses": "IN_QUEUE",
                },
            )
            assert [f["feedId"] for f in r.json()["feeds"]] == [queued]


def test_get_feeds_filters_by_creation_window(api: Api) -> None:
    api.submit(_valid_feed())
    past = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = api.call(
        "getFeeds",
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA", "createdUntil": past},
    )
    assert r.json()["feeds"] == []


def test_get_feeds_pages_with_next_token(api: Api) -> None:
    created = {api.submit(_valid_feed()) for _ in range(5)}
    r = api.call(
        "getFeeds",
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA", "pageSize": 2},
    )
    seen = [f["feedId"] for f in r.json()["feeds"]]
    while "nextToken" in r.json():
        r = api.call(
            "getFeeds", "GET", f"{FEEDS}/feeds", params={"nextToken": r.json()["nextToken"]}
        )
        seen += [f["feedId"] for f in r.json()["feeds"]]
    assert sorted(seen) == sorted(created)


def test_get_feeds_next_token_with_other_parameters_is_invalid(api: Api) -> None:
    for _ in range(3):
        api.submit(_valid_feed())
    r = api.call(
        "getFeeds",
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA", "pageSize": 1},
    )
    r = api.call(
        "getFeeds",
        "GET",
        f"{FEEDS}/feeds",
        params={"nextToken": r.json()["nextToken"], "pageSize": 1},
    )
    assert r.status_code == 400


def test_get_feeds_page_size_out_of_range_is_invalid(api: Api) -> None:
    r = api.call(
        "getFeeds",
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA", "pageSize": 101},
    )
    assert r.status_code == 400


def test_get_feeds_bad_created_since_is_invalid(api: Api) -> None:
    r = api.call(
        "getFeeds",
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA", "createdSince": "yesterday"},
    )
    assert r.status_code == 400
