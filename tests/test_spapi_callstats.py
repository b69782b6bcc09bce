"""The SP-API transport reports each attempt's outcome to callstats observers (what
/metrics counts): throttles, errors and successes per operation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from spapi_fakes import FEED_JSON, FakeAmazon, FakeClock, error, json_response

from feeds.spapi import callstats
from feeds.spapi.errors import NotFound

FEED_PATH = "/feeds/2021-06-30/feeds/50012345678"


@pytest.fixture
def seen() -> Iterator[list[tuple[str, str]]]:
    got: list[tuple[str, str]] = []
    remove = callstats.add_observer(lambda op, outcome: got.append((op, outcome)))
    yield got
    remove()


def test_a_throttled_call_counts_each_429_and_the_final_success(
    seen: list[tuple[str, str]],
) -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET",
        FEED_PATH,
        error(429, "QuotaExceeded", "slow down"),
        error(429, "QuotaExceeded", "again"),
        json_response(200, FEED_JSON),
    )
    with amazon.client(FakeClock()) as client:
        client.feeds.get_feed("50012345678")
    assert seen == [("getFeed", "throttled"), ("getFeed", "throttled"), ("getFeed", "ok")]


def test_a_refused_call_counts_as_an_error(seen: list[tuple[str, str]]) -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, error(404, "NotFound", "no such feed"))
    with amazon.client() as client, pytest.raises(NotFound):
        client.feeds.get_feed("50012345678")
    assert seen == [("getFeed", "error")]


def test_an_observer_that_fails_does_not_break_the_call(seen: list[tuple[str, str]]) -> None:
    def broken(op: str, outcome: str) -> None:
        raise RuntimeError("observer bug")

    remove = callstats.add_observer(broken)
    try:
        amazon = FakeAmazon()
        amazon.on("GET", FEED_PATH, json_response(200, FEED_JSON))
        with amazon.client() as client:
            assert client.feeds.get_feed("50012345678").feed_id == "50012345678"
    finally:
        remove()
    assert seen == [("getFeed", "ok")]
