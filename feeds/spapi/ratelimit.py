"""Client-side token buckets, one per SP-API operation, so we wait instead of being throttled.

Amazon throttles each operation with its own usage plan (a rate in requests per second and
a burst). Waiting on our side is cheaper than a 429: throttled calls still count against
the plan. The defaults are the usage plans published in the Feeds 2021-06-30 and Orders v0
models; Amazon may grant a seller more, and says so in ``x-amzn-RateLimit-Limit`` on each
answer, which updates the bucket's rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from feeds.spapi.errors import RateLimitWouldWait

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: int


#: Amazon's published default usage plans (rate per second, burst).
DEFAULT_PLANS: dict[str, UsagePlan] = {
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2.0, 15),
    "getFeeds": UsagePlan(0.0222, 10),
    "createFeedDocument": UsagePlan(0.5, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
    "cancelFeed": UsagePlan(2.0, 15),
    "getOrders": UsagePlan(0.0167, 20),
    "getOrder": UsagePlan(0.5, 30),
    "getOrderItems": UsagePlan(0.5, 30),
    "confirmShipment": UsagePlan(2.0, 10),
}
#: For an operation without a published plan: conservative, one call a second.
FALLBACK_PLAN = UsagePlan(1.0, 1)


_local = threading.local()


@contextmanager
def only_if_free() -> Iterator[None]:
    """Calls made inside (by this thread) go out only when their bucket holds a token now;
    otherwise RateLimitWouldWait is raised before sending, and nothing is taken.

    For optional calls (the order mirror): with several workers sharing a bucket,
    "look, then call" races and the loser would sleep a minute for getOrders; taking the
    token only if it is there is one atomic step.
    """
    before = getattr(_local, "no_wait", False)
    _local.no_wait = True
    try:
        yield
    finally:
        _local.no_wait = before


def waiting_refused() -> bool:
    """True inside :func:`only_if_free` (on this thread)."""
    return bool(getattr(_local, "no_wait", False))


def would_wait(operation: str) -> RateLimitWouldWait:
    return RateLimitWouldWait(
        f"no {operation} call is free under the rate limit now",
        operation=operation,
        hint="an optional call: it is made at a later pass",
    )


class Limiter(Protocol):
    """What the transport and the order mirror need from a limiter: :class:`RateLimiter`
    (in this process) or one shared by every worker (processors/ledger/ratelimits.py)."""

    enabled: bool

    def acquire(self, operation: str) -> float: ...

    def available(self, operation: str) -> float: ...

    def throttled(self, operation: str) -> None: ...

    def observe(self, operation: str, header: str | None) -> None: ...


def announced_rate(operation: str, header: str | None) -> float | None:
    """The rate in ``x-amzn-RateLimit-Limit``, or None when absent or not a sane number."""
    if not header:
        return None
    try:
        rate = float(header.strip())
    except ValueError:
        log.debug("ignoring unreadable x-amzn-RateLimit-Limit %r for %s", header, operation)
        return None
    if rate <= 0 or rate != rate or rate == float("inf"):
        return None
    return rate


def plan_for(operation: str, plans: dict[str, UsagePlan] | None = None) -> UsagePlan:
    return (DEFAULT_PLANS if plans is None else plans).get(operation, FALLBACK_PLAN)


class TokenBucket:
    """Starts full (``burst`` calls at once), refills at ``rate`` per second.

    ``clock`` and ``sleep`` are injected so tests run instantly and deterministically.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a usage plan needs rate > 0 and burst >= 1, got {rate}/{burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, sleeping off the debt when there was none; returns seconds waited.

        The token is charged up front (the balance may go negative) and the wait is computed
        once, rather than looping until a whole token has refilled: with a large clock value
        a tiny remaining wait does not move a float clock at all, and such a loop would spin.
        """
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            if self._tokens >= 0.0:
                return 0.0
            delay = -self._tokens / self.rate
            self._sleep(delay)
            return delay

    def try_take(self) -> bool:
        """Take a token only if a whole one is there now; never waits, never owes."""
        with self._lock:
            self._refill()
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True

    def available(self) -> float:
        """Tokens there now (negative: a debt), without taking one or waiting."""
        with self._lock:
            self._refill()
            return self._tokens

    def drain(self) -> None:
        """Amazon said 429: our bucket was too optimistic, so start from empty."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0)

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._refill()
            self.rate = rate


class RateLimiter:
    """The buckets of one seller's client, keyed by operation name.

    ``enabled=False`` never waits: for the simulator with its limits off (benchmarks, load
    tests), where pacing ourselves would measure Amazon's quotas instead of shipfeed. A
    429 is still handled by the transport's retries.
    """

    def __init__(
        self,
        plans: dict[str, UsagePlan] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self._plans = dict(DEFAULT_PLANS if plans is None else plans)
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, operation: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                plan = self._plans.get(operation, FALLBACK_PLAN)
                bucket = TokenBucket(plan.rate, plan.burst, clock=self._clock, sleep=self._sleep)
                self._buckets[operation] = bucket
            return bucket

    def acquire(self, operation: str) -> float:
        if not self.enabled:
            return 0.0
        if waiting_refused():
            if not self.bucket(operation).try_take():
                raise would_wait(operation)
            return 0.0
        waited = self.bucket(operation).acquire()
        if waited:
            log.debug("rate limit: waited %.1fs before %s", waited, operation)
        return waited

    def available(self, operation: str) -> float:
        """Calls of ``operation`` that would go out now without a wait (inf when off): a
        step with optional calls (the order mirror) spends only these, never waits."""
        if not self.enabled:
            return float("inf")
        return self.bucket(operation).available()

    def throttled(self, operation: str) -> None:
        self.bucket(operation).drain()

    def observe(self, operation: str, header: str | None) -> None:
        """Adopt the rate Amazon announced in ``x-amzn-RateLimit-Limit``, if it is sane."""
        rate = announced_rate(operation, header)
        if rate is None:
            return
        bucket = self.bucket(operation)
        if bucket.rate != rate:
            log.debug("rate limit for %s is now %s/s (was %s/s)", operation, rate, bucket.rate)
            bucket.set_rate(rate)
