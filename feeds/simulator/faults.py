"""Misbehaviour on purpose: Amazon's rate limits and the failures a client must survive.

All random choices come from one ``random.Random(seed)`` so a run with the same seed and
the same sequence of calls meets the same faults. Triggers ("the next N calls of X") win
over rates, so a test can stage exactly one failure.
"""

from __future__ import annotations

import random
import threading
import time

from feeds.simulator.config import FaultConfig

#: Documented usage plans: operation -> (requests per second, burst).
RATE_LIMITS: dict[str, tuple[float, int]] = {
    "getFeeds": (0.0222, 10),
    "createFeed": (0.0083, 15),
    "cancelFeed": (2.0, 15),
    "getFeed": (2.0, 15),
    "createFeedDocument": (0.5, 15),
    "getFeedDocument": (0.0222, 10),
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "confirmShipment": (2.0, 10),
}


def rate_header(operation: str, plans: dict[str, tuple[float, int]] | None = None) -> str | None:
    """The x-amzn-RateLimit-Limit value Amazon sends for an operation: the account's own
    plan where it has one (``plans``), else the documented one."""
    plan = (plans or {}).get(operation) or RATE_LIMITS.get(operation)
    return None if plan is None else f"{plan[0]:g}"


class RateLimiter:
    """One token bucket per selling-partner account and operation, filled at the
    documented rate up to the burst: Amazon's usage plans are per account."""

    def __init__(self, plans: dict[str, tuple[float, int]] | None = None) -> None:
        self._plans = {**RATE_LIMITS, **(plans or {})}
        self._lock = threading.Lock()
        # (account, operation) -> (tokens, last refill)
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def allow(self, operation: str, account: str = "") -> bool:
        plan = self._plans.get(operation)
        if plan is None:
            return True
        rate, burst = plan
        now = time.monotonic()
        key = (account, operation)
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True


class FaultInjector:
    """Decides, per call, which configured fault (if any) this call meets."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def hits_trigger(self, kind: str, operation: str) -> bool:
        """Like :meth:`hits` but for triggers only: rates apply to SP-API operations alone."""
        with self._lock:
            ops = self.config.triggers.get(kind)
            if ops and ops.get(operation, 0) > 0:
                ops[operation] -= 1
                return True
            return False

    def hits(self, kind: str, operation: str) -> bool:
        """Whether this call of ``operation`` meets fault ``kind`` (consumes a trigger)."""
        with self._lock:
            ops = self.config.triggers.get(kind)
            if ops and ops.get(operation, 0) > 0:
                ops[operation] -= 1
                return True
            rate: float = getattr(self.config, kind)
            return rate > 0 and self._rng.random() < rate
