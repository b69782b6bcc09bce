"""Token buckets per operation, with Amazon's published plans and the rate Amazon announces."""

from __future__ import annotations

import pytest
from spapi_fakes import FakeClock

from feeds.spapi.ratelimit import DEFAULT_PLANS, RateLimiter, TokenBucket, UsagePlan


def test_published_usage_plans_are_the_defaults() -> None:
    assert DEFAULT_PLANS["createFeed"] == UsagePlan(0.0083, 15)
    assert DEFAULT_PLANS["getFeeds"] == UsagePlan(0.0222, 10)
    assert DEFAULT_PLANS["getOrders"] == UsagePlan(0.0167, 20)
    assert DEFAULT_PLANS["confirmShipment"] == UsagePlan(2.0, 10)


def test_bucket_allows_the_burst_without_waiting() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0.5, 3, clock=clock, sleep=clock.sleep)
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.sleeps == []


def test_bucket_waits_one_interval_after_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0.5, 2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    assert bucket.acquire() == pytest.approx(2.0)


def test_each_wait_past_the_burst_is_exactly_one_sleep() -> None:
    # Waiting "until a whole token has refilled" in a loop can leave a sliver owed that is
    # too small to move a float clock, and then it spins; each wait must be one sleep.
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        if len(clock.sleeps) > 100:
            raise AssertionError("the bucket keeps sleeping: it spins")
        clock.sleep(seconds)

    bucket = TokenBucket(DEFAULT_PLANS["createFeed"].rate, 1, clock=clock, sleep=sleep)
    waits = [bucket.acquire() for _ in range(20)]
    assert waits[0] == 0.0
    assert waits[1:] == [pytest.approx(1 / 0.0083)] * 19
    assert len(clock.sleeps) == 19


def test_bucket_refills_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, 2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    clock.now += 100
    assert [bucket.acquire(), bucket.acquire()] == [0.0, 0.0]
    assert bucket.acquire() == pytest.approx(1.0)


def test_throttle_empties_the_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.throttled("getFeed")
    assert limiter.acquire("getFeed") == pytest.approx(0.5)


def test_announced_rate_replaces_the_default() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.observe("createFeed", "0.0167")
    assert limiter.bucket("createFeed").rate == 0.0167
    assert limiter.bucket("createFeed").burst == 15


@pytest.mark.parametrize("header", ["", "fast", "0", "-1", "nan", "inf"])
def test_unusable_rate_header_is_ignored(header: str) -> None:
    limiter = RateLimiter()
    limiter.observe("getFeed", header)
    assert limiter.bucket("getFeed").rate == 2.0


def test_available_says_how_many_calls_go_out_now_without_taking_one() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"getOrders": UsagePlan(0.0167, 20)}, clock=clock, sleep=clock.sleep)
    for _ in range(19):
        limiter.acquire("getOrders")
    assert limiter.available("getOrders") == pytest.approx(1.0)
    assert limiter.available("getOrders") == pytest.approx(1.0)
    clock.now += 60
    assert limiter.available("getOrders") == pytest.approx(2.0, abs=0.01)
    assert clock.sleeps == []


def test_available_is_unbounded_with_the_limiter_off() -> None:
    assert RateLimiter(enabled=False).available("getOrders") == float("inf")
