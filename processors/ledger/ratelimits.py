"""Rate limits shared by every worker: one token bucket per account and operation, in
PostgreSQL.

Amazon's usage plans are per selling-partner account and operation. Each worker pacing
itself with its own buckets spends N times the plan with N workers, and Amazon answers
429 (QuotaExceeded), which still counts against the plan. So on a PostgreSQL ledger the
buckets live in the ledger (table ``rate_limits``), and every take is one atomic
statement: an INSERT ... ON CONFLICT DO UPDATE ... RETURNING that refills the bucket by the
time passed on the database's clock (one clock for every machine), charges one token and
returns the balance. A negative balance is a debt: the caller sleeps it off outside the
transaction, and the next caller's debt is counted from it, so calls leave at most at the
plan's rate however many workers ask.

Why not pyrate-limiter (it has a PostgreSQL bucket): its buckets are fixed windows of
"N calls per interval" set at construction, while Amazon's plans are token buckets (a rate
and a burst) whose rate Amazon may change in ``x-amzn-RateLimit-Limit`` on any answer;
and it keeps a row per call in its own psycopg pool. A row per bucket in one statement
is smaller and exact.

On SQLite only one worker runs (the instance lock), so the client's in-process buckets
(feeds/spapi/ratelimit.py) are the shared ones there; see :func:`limiter_for`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from feeds.spapi.ratelimit import (
    DEFAULT_PLANS,
    Limiter,
    RateLimiter,
    UsagePlan,
    announced_rate,
    plan_for,
    waiting_refused,
    would_wait,
)

log = logging.getLogger(__name__)

#: The database's clock in epoch seconds, read at the statement (not the transaction).
_NOW = "cast(extract(epoch from clock_timestamp()) as double precision)"

#: Our bucket charges a call when it is taken, Amazon's when the call arrives, a little
#: later: while Amazon's bucket is full that delay is refill it never gets, so at the
#: plan's limit its balance trails ours by up to the delay's worth. Every call therefore
#: leaves only once our balance is this many seconds of refill past zero (a constant
#: shift, not a slower rate): seen in the three-process test, where 50 ms was too little.
SLOT_MARGIN_SECONDS = 0.5

_TAKE = text(
    f"""
    INSERT INTO rate_limits AS r (account, operation, tokens, stamp, rate, burst)
    VALUES (:account, :operation, cast(:burst as integer) - 1, {_NOW},
            cast(:rate as double precision), :burst)
    ON CONFLICT (account, operation) DO UPDATE SET
        tokens = least(r.burst, r.tokens + greatest(0, {_NOW} - r.stamp) * r.rate) - 1,
        stamp = greatest(r.stamp, {_NOW})
    RETURNING tokens, rate
    """
)
_CREATE = text(
    f"""
    INSERT INTO rate_limits (account, operation, tokens, stamp, rate, burst)
    VALUES (:account, :operation, cast(:burst as integer), {_NOW},
            cast(:rate as double precision), :burst)
    ON CONFLICT (account, operation) DO NOTHING
    """
)
#: Take a token only if one and the margin are there now (or the bucket is full): never
#: a debt.
_TAKE_IF_FREE = text(
    f"""
    UPDATE rate_limits SET
        tokens = least(burst, tokens + greatest(0, {_NOW} - stamp) * rate) - 1,
        stamp = greatest(stamp, {_NOW})
    WHERE account = :account AND operation = :operation
        AND (
            tokens + greatest(0, {_NOW} - stamp) * rate >= burst
            OR tokens + greatest(0, {_NOW} - stamp) * rate - 1
                >= rate * cast(:margin as double precision)
        )
    """
)
_PEEK = text(
    f"""
    SELECT least(burst, tokens + greatest(0, {_NOW} - stamp) * rate)
    FROM rate_limits WHERE account = :account AND operation = :operation
    """
)
_DRAIN = text(
    f"""
    UPDATE rate_limits SET
        tokens = least(0, least(burst, tokens + greatest(0, {_NOW} - stamp) * rate)),
        stamp = greatest(stamp, {_NOW})
    WHERE account = :account AND operation = :operation
    """
)
_SET_RATE = text(
    f"""
    UPDATE rate_limits SET
        tokens = least(burst, tokens + greatest(0, {_NOW} - stamp) * rate),
        stamp = greatest(stamp, {_NOW}),
        rate = cast(:rate as double precision)
    WHERE account = :account AND operation = :operation
        AND rate <> cast(:rate as double precision)
    """
)


class SharedRateLimiter:
    """The buckets of one account, kept in the ledger's PostgreSQL (see the module doc).

    Same interface as feeds.spapi.ratelimit.RateLimiter, so the SP-API client takes
    either. ``sleep`` is the service's (it raises Stopping on SIGTERM).
    """

    def __init__(
        self,
        engine: Engine,
        account: str,
        *,
        plans: dict[str, UsagePlan] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        enabled: bool = True,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("shared rate limits need the PostgreSQL ledger")
        self.enabled = enabled
        self.account = account
        self._engine = engine
        self._plans = dict(DEFAULT_PLANS if plans is None else plans)
        self._sleep = sleep
        self._rates: dict[str, float] = {}  # the last rate each operation was told
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedRateLimiter(account={self.account!r})"

    def _params(self, operation: str) -> dict[str, object]:
        plan = plan_for(operation, self._plans)
        with self._lock:
            rate = self._rates.get(operation, plan.rate)
        return {"account": self.account, "operation": operation, "rate": rate, "burst": plan.burst}

    def take(self, operation: str) -> float:
        """Charge one token; returns the seconds to wait before the call may leave."""
        with self._engine.begin() as conn:
            tokens, rate = conn.execute(_TAKE, self._params(operation)).one()
        return max(0.0, SLOT_MARGIN_SECONDS - float(tokens) / float(rate))

    def take_if_free(self, operation: str) -> bool:
        """Take a token only if the call could leave now; False (nothing taken) if not."""
        params = {**self._params(operation), "margin": SLOT_MARGIN_SECONDS}
        with self._engine.begin() as conn:
            conn.execute(_CREATE, params)
            return bool(conn.execute(_TAKE_IF_FREE, params).rowcount)

    def acquire(self, operation: str) -> float:
        if not self.enabled:
            return 0.0
        if waiting_refused():  # an optional call: now or not at all
            if not self.take_if_free(operation):
                raise would_wait(operation)
            return 0.0
        delay = self.take(operation)
        if delay > 0:
            log.debug("rate limit (%s): waiting %.1fs before %s", self.account, delay, operation)
            self._sleep(delay)
        return delay

    def available(self, operation: str) -> float:
        """Tokens there now for every worker of the account (inf when limits are off)."""
        if not self.enabled:
            return float("inf")
        with self._engine.connect() as conn:
            found = conn.execute(_PEEK, self._params(operation)).scalar()
        return float(plan_for(operation, self._plans).burst if found is None else found)

    def throttled(self, operation: str) -> None:
        """Amazon said 429: the shared bucket was too optimistic; empty it for everyone."""
        with self._engine.begin() as conn:
            conn.execute(_DRAIN, self._params(operation))

    def observe(self, operation: str, header: str | None) -> None:
        """Adopt the rate Amazon announced for the account, for every worker."""
        rate = announced_rate(operation, header)
        if rate is None:
            return
        with self._lock:
            if self._rates.get(operation) == rate:
                return
            self._rates[operation] = rate
        with self._engine.begin() as conn:
            changed = conn.execute(_SET_RATE, self._params(operation)).rowcount
        if changed:
            log.debug("rate limit (%s) for %s is now %s/s", self.account, operation, rate)


def limiter_for(
    engine: Engine,
    account: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    enabled: bool = True,
) -> Limiter:
    """The limiter of one account: shared through PostgreSQL, in-process on SQLite."""
    if engine.dialect.name == "postgresql":
        return SharedRateLimiter(engine, account, sleep=sleep, enabled=enabled)
    return RateLimiter(sleep=sleep, enabled=enabled)
