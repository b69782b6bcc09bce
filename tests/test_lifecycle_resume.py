"""The batcher after an interruption at each step: one Amazon feed per batch, each line
confirmed once. Interruptions are staged with the simulator's faults, so the ledger is
left exactly where a crash at that step would leave it."""

from __future__ import annotations

from collections.abc import Callable

from lifecycle_support import World, row

from feeds.simulator import FaultConfig
from processors.ledger.statuses import FeedState

O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"


def _queued(w: World) -> None:
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    w.intake()


def _feed_states(w: World) -> list[str]:
    with w.ledger.reading() as conn:
        from processors.ledger.schema import feeds

        return list(conn.execute(feeds.select().with_only_columns(feeds.c.state)).scalars())


def _all_confirmed_once(w: World) -> None:
    w.until_settled()
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert w.sim.counters.feeds_created == 1


def test_prepared_not_uploaded_is_resumed_with_its_stored_bytes(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig().trigger("error503", "createFeedDocument", 6))
    _queued(w)
    first = w.batch()
    assert first.stopped is not None
    assert _feed_states(w) == [FeedState.PREPARED]
    content = w.ledger.feeds_to_resume("acme")[0].content
    second = w.batch()
    assert second.lines_submitted == 2
    assert _feed_states(w) == [FeedState.CREATED]
    (doc,) = [d for d in w.sim.documents.values() if d.content == content]
    assert doc is not None
    _all_confirmed_once(w)


def test_uploaded_not_created_is_created_once(world_factory: Callable[..., World]) -> None:
    # createFeed's connection dropped before Amazon did anything, twice: left uploaded.
    w = world_factory(faults=FaultConfig().trigger("drop", "createFeed", 2))
    _queued(w)
    first = w.batch()
    assert first.stopped is not None
    assert _feed_states(w) == [FeedState.UPLOADED]
    assert w.sim.counters.feeds_created == 0
    _all_confirmed_once(w)


def test_created_but_not_recorded_is_found_not_created_again(
    world_factory: Callable[..., World],
) -> None:
    # createFeed worked but its answer was lost, and looking it up failed for now: the
    # ledger says uploaded while Amazon has the feed (a crash right after createFeed).
    faults = FaultConfig().trigger("drop_after", "createFeed", 1)
    faults.trigger("error503", "getFeeds", 6)
    w = world_factory(faults=faults)
    _queued(w)
    first = w.batch()
    assert first.stopped is not None
    assert _feed_states(w) == [FeedState.UPLOADED]
    assert w.sim.counters.feeds_created == 1
    second = w.batch()
    assert second.lines_submitted == 2
    _all_confirmed_once(w)


def test_lost_create_feed_answer_is_found_in_the_same_batch(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig().trigger("drop_after", "createFeed", 1))
    _queued(w)
    res = w.batch()
    assert res.stopped is None
    assert res.lines_submitted == 2
    _all_confirmed_once(w)
