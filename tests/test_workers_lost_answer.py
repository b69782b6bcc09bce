"""A lost createFeed answer, with another worker creating a feed on the same account.

The batcher finds the feed of a lost answer as "the feed created since just before the
call that the ledger does not know". Another worker's feed, already on Amazon but not yet
recorded, used to be taken for it: two ledger feeds mapped to one Amazon feed, and the
lines of the other confirmed by a report that never mentioned them. The account's feed
lock (processors.ledger.accountlock) makes the second worker wait until the first has
recorded its feed, so each finds its own.

A worker can also die between createFeed and its record, leaving a feed on Amazon that no
live worker will record soon. No other createFeed goes out on the account until that feed
is looked up (processors.batcher, "one unresolved createFeed per account"), so a lost
answer beside it still finds its own feed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from lifecycle_support import World, row
from sqlalchemy import event, select

from feeds.spapi.client import SpApiClient
from processors.batcher import BatchResult, run_batch
from processors.context import Context
from processors.ledger.feedclaims import claimed_for_resume
from processors.ledger.schema import feeds
from processors.ledger.statuses import FeedState
from processors.ledger.store import Ledger

O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"

pytestmark = pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)


def _second_worker(w: World, ledger_url: str) -> Context:
    """Another service on the same ledger and the same Amazon account: its own connections."""
    ledger = Ledger.open(ledger_url, clock=w.clock)
    client = SpApiClient(
        endpoint=w.sim.url,
        token_url=f"{w.sim.url}/auth/o2/token",
        client_id=w.sim.config.client_id,
        client_secret=w.sim.config.client_secret,
        refresh_token=w.sim.config.refresh_token,
        timeout=10.0,
        max_retries=1,
        rate_limits=False,
    )
    w.closers += [ledger.close, client.close]
    return replace(w.ctx, ledger=ledger, client=client)


def _wait_until(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _lost_answer_beside_an_unrecorded_feed(
    w: World, ledger_url: str, lost: str = "drop_after"
) -> tuple[BatchResult, BatchResult]:
    """Worker B's feed (order 1) is created on Amazon and its answer comes 4 s late; in
    that time worker A sends order 2 and the answer to its createFeed is lost: the feed
    was created (``drop_after``) or not (``drop``), A cannot tell."""
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    b = _second_worker(w, ledger_url)
    faults = w.sim.config.faults
    faults.slow_seconds = 4.0
    faults.trigger("slow_answer", "createFeed")
    w.drop("first.csv", [row(O1, I1, "1")])
    w.intake()
    with ThreadPoolExecutor(1) as pool:
        sent_by_b = pool.submit(run_batch, b, w.seller)
        _wait_until(
            lambda: w.sim.counters.faults.get("slow_answer:createFeed") == 1,
            "worker B's feed was never created",
        )
        # B's feed is on Amazon now, and not yet in the ledger: B waits for the answer.
        w.drop("second.csv", [row(O2, I2, "1")])
        w.intake()
        time.sleep(1.1)  # Amazon's createdTime has whole seconds: B's feed is the older
        faults.trigger(lost, "createFeed")  # A's answer is lost
        sent_by_a = w.batch()
        return sent_by_a, sent_by_b.result(timeout=30)


def _amazon_document(w: World, amazon_feed_id: str | None) -> str | None:
    """The document Amazon's feed was created from (the simulator knows, Amazon's getFeed
    does not say)."""
    feed = w.sim.feeds.get(amazon_feed_id or "")
    return None if feed is None else feed.input_document_id


def test_a_lost_answer_finds_its_own_feed_not_one_another_worker_has_not_recorded_yet(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(spapi={"use_orders_api": False})
    sent_by_a, sent_by_b = _lost_answer_beside_an_unrecorded_feed(w, ledger_url)
    assert w.sim.counters.faults.get("drop_after:createFeed") == 1, "A's answer was not lost"
    assert w.sim.counters.feeds_created == 2
    ((feed_a,), (feed_b,)) = sent_by_a.feeds_created, sent_by_b.feeds_created
    a, b = w.ledger.feed(feed_a), w.ledger.feed(feed_b)
    assert a.amazon_feed_id != b.amazon_feed_id
    assert _amazon_document(w, a.amazon_feed_id) == a.feed_document_id
    assert _amazon_document(w, b.amazon_feed_id) == b.feed_document_id


def test_a_lost_create_that_never_landed_is_sent_again_not_taken_for_another_workers_feed(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(spapi={"use_orders_api": False})
    _lost_answer_beside_an_unrecorded_feed(w, ledger_url, lost="drop")
    assert w.sim.counters.faults.get("drop:createFeed") == 1, "A's call was not dropped"
    w.until_settled()
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert w.statuses() == {f"{O1}/{I1}": "confirmed", f"{O2}/{I2}": "confirmed"}


class Killed(Exception):
    """The worker died here: its open transaction rolls back, its connections close."""


def _dies_recording_created(ledger: Ledger) -> None:
    """The worker dies at the statement that records createFeed's answer."""

    def before(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE FEEDS") and "created" in str(params):
            raise Killed(statement.split("\n", 1)[0])

    event.listen(ledger.engine, "before_cursor_execute", before)


def _killed_after_create(w: World, ledger_url: str) -> int:
    """Worker B sends order 1; Amazon creates the feed and B dies before recording it."""
    b = _second_worker(w, ledger_url)
    w.drop("first.csv", [row(O1, I1, "1")])
    w.intake()
    _dies_recording_created(b.ledger)
    with pytest.raises(Killed):
        run_batch(b, w.seller)
    b.ledger.close()
    assert w.sim.counters.feeds_created == 1
    (feed,) = w.ledger.feeds_to_resume()
    assert feed.state == FeedState.UPLOADED
    return feed.id


def test_a_lost_answer_beside_a_dead_workers_unrecorded_feed_never_takes_it(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(spapi={"use_orders_api": False})
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    orphan = _killed_after_create(w, ledger_url)
    w.drop("second.csv", [row(O2, I2, "1")])
    w.intake()
    time.sleep(1.1)  # Amazon's createdTime has whole seconds: the dead worker's is older
    # A third worker has claimed the orphan to resume it and waits for the account's lock;
    # meanwhile worker A sends order 2, and A's createFeed answer is lost.
    third = Ledger.open(ledger_url, clock=w.clock)
    w.closers.append(third.close)
    held = claimed_for_resume(third, orphan)
    assert held is not None
    w.sim.config.faults.trigger("drop_after", "createFeed")
    with held[0]:
        first_try = w.batch()
    w.until_settled()
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert w.statuses() == {f"{O1}/{I1}": "confirmed", f"{O2}/{I2}": "confirmed"}
    with w.ledger.reading() as conn:
        ids = list(conn.execute(select(feeds.c.id)).scalars())
    for feed in (w.ledger.feed(i) for i in ids):
        assert _amazon_document(w, feed.amazon_feed_id) == feed.feed_document_id, feed.id
    # A waited for the orphan to be looked up instead of creating its feed beside it.
    assert first_try.stopped is not None and f"feed {orphan}" in first_try.stopped
