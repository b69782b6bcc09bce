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


def test_each_wait_past_the_burst_is_one_sleep_even_on_a_large_clock() -> None:
    # At 1e12 s a float clock moves in steps of ~1e-4 s: a bucket that loops until a whole
    # token has refilled can be left owing a sliver too small to move it, and spins.
    clock = FakeClock(start=1e12)
    bucket = TokenBucket(DEFAULT_PLANS["createFeed"].rate, 2, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == [pytest.approx(1 / 0.0083, rel=1e-3)] * 3
    assert len(clock.sleeps) == 3


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
