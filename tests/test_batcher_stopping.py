"""A stop (SIGTERM, --timeout) that arrives while a feed is on its way to Amazon: the feed
goes no further than it already got, and the next start finishes it, once.

The service's own test (test_service_signals) stops the batcher inside a rate-limit wait.
This one stops it between uploading a feed's document and createFeed, the last moment a
feed can still be held back: a feed created after the signal is one the operator believed
was never sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lifecycle_support import World, row

from processors.ledger.schema import feeds
from processors.ledger.statuses import FeedState

O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"


def _uploading_when_stopped(w: World) -> str | None:
    """Run a batch whose createFeedDocument answers late; stop the run meanwhile."""
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    w.intake()
    w.sim.config.faults.slow_seconds = 1.0
    w.sim.config.faults.trigger("slow", "createFeedDocument")
    with ThreadPoolExecutor(1) as pool:
        batch = pool.submit(w.batch)
        deadline = time.monotonic() + 20
        while w.sim.counters.api_calls["createFeedDocument"] == 0:
            assert time.monotonic() < deadline, "the batch never asked for a feed document"
            time.sleep(0.02)
        w.ctx.stop.set()  # the signal, while the document is being created
        return batch.result(timeout=30).stopped


def test_stop_during_upload_creates_no_feed_on_amazon(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(spapi={"use_orders_api": False})
    stopped = _uploading_when_stopped(w)
    assert stopped is not None and "before feed" in stopped
    assert w.sim.counters.feeds_created == 0
    with w.ledger.reading() as conn:
        states = list(conn.execute(feeds.select().with_only_columns(feeds.c.state)).scalars())
    assert states == [FeedState.UPLOADED]


def test_feed_held_back_by_a_stop_is_created_once_at_the_next_start(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(spapi={"use_orders_api": False})
    _uploading_when_stopped(w)
    w.ctx.stop.clear()  # the next start
    w.until_settled()
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert w.sim.counters.feeds_created == 1


def test_feed_held_back_by_a_stop_is_created_without_looking_for_a_lost_answer(
    world_factory: Callable[..., World],
) -> None:
    """Its createFeed was never called, so there is nothing on Amazon to look for: the
    lookup (getFeeds, 0.0222/s) is spent only on feeds that may exist there."""
    w = world_factory(spapi={"use_orders_api": False})
    _uploading_when_stopped(w)
    w.ctx.stop.clear()
    assert w.batch().lines_submitted == 2
    assert w.sim.counters.api_calls["getFeeds"] == 0
    assert w.sim.counters.feeds_created == 1
