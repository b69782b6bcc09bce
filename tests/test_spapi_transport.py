"""Headers, retries and typed errors of every SP-API call, and createFeed's no-blind-retry rule."""

from __future__ import annotations

import httpx
import pytest
from spapi_fakes import FEED_JSON, FakeAmazon, FakeClock, error, json_response

from feeds.errors import RemoteTerminalError, RemoteTransientError
from feeds.spapi.errors import (
    ConnectionFailed,
    FeedSubmissionUnknown,
    InvalidRequest,
    NotFound,
    ServerError,
    Throttled,
)
from feeds.spapi.ratelimit import RateLimiter

FEED_PATH = "/feeds/2021-06-30/feeds/50012345678"
FEEDS_PATH = "/feeds/2021-06-30/feeds"


def _create(client_amazon: FakeAmazon, **kwargs: object) -> str:
    with client_amazon.client(**kwargs) as client:  # type: ignore[arg-type]
        return client.feeds.create_feed("POST_ORDER_FULFILLMENT_DATA", ["ATVPDKIKX0DER"], "doc-1")


def test_every_call_carries_access_token_and_user_agent() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, json_response(200, FEED_JSON))
    with amazon.client(user_agent="shipfeed/9.9 (Language=Python)") as client:
        client.feeds.get_feed("50012345678")
    (req,) = amazon.api_requests()
    assert req.headers["x-amz-access-token"] == "Atza|access-1"
    assert req.headers["user-agent"] == "shipfeed/9.9 (Language=Python)"


def test_429_waits_and_retries_until_success() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET",
        FEED_PATH,
        error(429, "QuotaExceeded", "You exceeded your quota"),
        error(429, "QuotaExceeded", "again"),
        json_response(200, FEED_JSON),
    )
    clock = FakeClock()
    with amazon.client(clock) as client:
        assert client.feeds.get_feed("50012345678").feed_id == "50012345678"
    assert len(amazon.api_requests()) == 3
    assert sum(clock.sleeps) > 0


def test_429_that_never_ends_raises_throttled_after_bounded_retries() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, error(429, "QuotaExceeded", "You exceeded your quota"))
    with amazon.client(max_retries=3) as client, pytest.raises(Throttled) as caught:
        client.feeds.get_feed("50012345678")
    assert len(amazon.api_requests()) == 4
    assert caught.value.code == "QuotaExceeded"
    assert isinstance(caught.value, RemoteTransientError)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_for_reads(status: int) -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET", FEED_PATH, error(status, "InternalFailure", "oops"), json_response(200, FEED_JSON)
    )
    with amazon.client() as client:
        assert client.feeds.get_feed("50012345678").processing_status == "DONE"
    assert len(amazon.api_requests()) == 2


def test_server_errors_that_persist_raise_a_transient_server_error() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, error(503, "ServiceUnavailable", "down"))
    with amazon.client(max_retries=2) as client, pytest.raises(ServerError) as caught:
        client.feeds.get_feed("50012345678")
    assert len(amazon.api_requests()) == 3
    assert caught.value.status == 503 and caught.value.transient


def test_timeouts_and_dropped_connections_are_retried_for_reads() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET",
        FEED_PATH,
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        json_response(200, FEED_JSON),
    )
    with amazon.client() as client:
        assert client.feeds.get_feed("50012345678").feed_id == "50012345678"
    assert len(amazon.api_requests()) == 3


def test_persistent_timeouts_raise_connection_failed() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, httpx.ReadTimeout("slow"))
    with amazon.client(max_retries=1) as client, pytest.raises(ConnectionFailed):
        client.feeds.get_feed("50012345678")
    assert len(amazon.api_requests()) == 2


def test_400_is_a_terminal_error_with_amazons_code_and_message() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "POST",
        FEEDS_PATH,
        error(400, "InvalidInput", "Invalid marketplaceIds", "marketplace XX unknown"),
    )
    with pytest.raises(InvalidRequest) as caught:
        _create(amazon)
    err = caught.value
    assert (err.status, err.code, err.amazon_message, err.details) == (
        400,
        "InvalidInput",
        "Invalid marketplaceIds",
        "marketplace XX unknown",
    )
    assert "Invalid marketplaceIds" in str(err)
    assert isinstance(err, RemoteTerminalError) and not err.transient
    assert len(amazon.api_requests()) == 1


def test_404_is_not_found_and_not_retried() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, error(404, "NotFound", "Feed not found"))
    with amazon.client() as client, pytest.raises(NotFound) as caught:
        client.feeds.get_feed("50012345678")
    assert caught.value.code == "NotFound"
    assert len(amazon.api_requests()) == 1


@pytest.mark.parametrize(
    "answer",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), httpx.WriteError("reset")],
    ids=["timeout", "dropped", "write-reset"],
)
def test_create_feed_is_never_resent_after_a_lost_answer(answer: Exception) -> None:
    amazon = FakeAmazon()
    amazon.on("POST", FEEDS_PATH, answer, json_response(202, {"feedId": "1"}))
    with pytest.raises(FeedSubmissionUnknown) as caught:
        _create(amazon)
    assert caught.value.transient
    assert len(amazon.calls("POST", FEEDS_PATH)) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_create_feed_server_error_is_treated_as_a_lost_answer(status: int) -> None:
    amazon = FakeAmazon()
    amazon.on(
        "POST",
        FEEDS_PATH,
        error(status, "InternalFailure", "x"),
        json_response(202, {"feedId": "1"}),
    )
    with pytest.raises(FeedSubmissionUnknown) as caught:
        _create(amazon)
    assert caught.value.status == status
    assert len(amazon.calls("POST", FEEDS_PATH)) == 1


def test_create_feed_429_is_retried_because_nothing_was_created() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "POST",
        FEEDS_PATH,
        error(429, "QuotaExceeded", "slow down"),
        json_response(202, {"feedId": "777"}),
    )
    assert _create(amazon) == "777"
    assert len(amazon.calls("POST", FEEDS_PATH)) == 2


def test_create_feed_connection_refused_is_retried_because_nothing_was_sent() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "POST", FEEDS_PATH, httpx.ConnectError("refused"), json_response(202, {"feedId": "778"})
    )
    assert _create(amazon) == "778"


def test_rate_limit_header_updates_the_operation_bucket() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET", FEED_PATH, json_response(200, FEED_JSON, headers={"x-amzn-RateLimit-Limit": "5.0"})
    )
    with amazon.client() as client:
        client.feeds.get_feed("50012345678")
        assert isinstance(client.limiter, RateLimiter)
        assert client.limiter.bucket("getFeed").rate == 5.0


def test_burst_beyond_the_bucket_waits_at_amazons_rate() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEEDS_PATH, json_response(200, {"feeds": []}))
    clock = FakeClock()
    with amazon.client(clock) as client:
        for _ in range(10):  # getFeeds burst is 10
            client.feeds.get_feeds(feed_types=["POST_ORDER_FULFILLMENT_DATA"])
        assert clock.sleeps == []
        client.feeds.get_feeds(feed_types=["POST_ORDER_FULFILLMENT_DATA"])
    assert clock.sleeps == [pytest.approx(1 / 0.0222)]
