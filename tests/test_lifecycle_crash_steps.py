"""A crash at each named step of the lifecycle, then a restart: a NEW Ledger and Context
on the same database (SQLite or PostgreSQL), the same simulator, inbox and outbox.

A crash is staged either by a simulator fault that stops the step where a killed process
would stop it, or by a hook on the ledger's database connection that raises at the exact
statement (the transaction then rolls back, as it does when a process dies). Whatever
the step, the restart ends with every line queued once, one Amazon feed per batch and
each order item confirmed once on Amazon.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from lifecycle_support import World, row
from sqlalchemy import event

from feeds.simulator import FaultConfig
from ingest.factory import InboxOptions, open_inbox, open_outbox
from ingest.names import ATTEMPTS_SUFFIX
from processors.ledger.schema import feeds
from processors.ledger.statuses import FeedState
from processors.ledger.store import Ledger

O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"


class Crash(Exception):
    """The process died here."""


@contextmanager
def crash_on(ledger: Ledger, matches: Callable[[str, Any], bool]) -> Iterator[None]:
    """Raise Crash instead of running the first ledger statement that ``matches``."""

    def before(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if matches(statement, params):
            raise Crash(statement.split("\n", 1)[0])

    event.listen(ledger.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(ledger.engine, "before_cursor_execute", before)


def restart(w: World, ledger_url: str) -> World:
    """The old process is gone; a new one opens its own ledger, inbox and outbox."""
    w.ledger.close()
    ledger = Ledger.open(ledger_url, max_resends=w.ledger.max_resends, clock=w.clock)
    options = InboxOptions(settle_seconds=0, watch=False)
    inbox = open_inbox(str(w.inbox_dir), options=options)
    outbox = open_outbox(str(w.outbox_dir), options=options)
    w.closers += [ledger.close, inbox.close, outbox.close]
    return replace(w, ctx=replace(w.ctx, ledger=ledger), inbox=inbox, outbox=outbox)


def _drop_two(w: World) -> None:
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])


def _queued(w: World) -> None:
    _drop_two(w)
    w.intake()


def _feed_states(w: World) -> list[str]:
    with w.ledger.reading() as conn:
        return list(conn.execute(feeds.select().with_only_columns(feeds.c.state)).scalars())


def _archived(w: World) -> list[str]:
    return [p.name for p in (w.inbox_dir / ".shipfeed" / "archive").rglob("*") if p.is_file()]


def _processing(w: World) -> list[str]:
    """Names of the claimed files still waiting in processing/ (claims get a prefix; the
    claim-attempts marker beside a file is not a file waiting)."""
    folder = w.inbox_dir / ".shipfeed" / "processing"
    return [
        p.name.rsplit("-", 1)[-1]
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(ATTEMPTS_SUFFIX)
    ]


def _all_confirmed_once(w: World) -> None:
    w.until_settled()
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert w.sim.counters.feeds_created == 1


# -- intake ----------------------------------------------------------------------------------


def _finishes_file(statement: str, _params: Any) -> bool:
    """finish_file's last statement: every line is written, the commit comes next."""
    return statement.lstrip().upper().startswith("UPDATE FILES")


def test_crash_after_claim_before_commit_queues_every_line_once_on_restart(
    world: World, ledger_url: str
) -> None:
    _drop_two(world)
    with crash_on(world.ledger, _finishes_file):
        assert world.intake() == []  # interrupted: logged, the claim stays
    assert world.all_lines() == []
    assert _processing(world) == ["f.csv"]
    after = restart(world, ledger_url)
    (res,) = after.intake()
    assert (res.accepted, res.duplicate_file) == (2, False)
    assert sorted(ln.order_id for ln in after.all_lines()) == [O1, O2]
    assert set(after.statuses().values()) == {"in_queue"}
    assert _processing(after) == []


def test_crash_after_claim_before_commit_ends_confirmed_once(world: World, ledger_url: str) -> None:
    _drop_two(world)
    with crash_on(world.ledger, _finishes_file):
        world.intake()
    after = restart(world, ledger_url)
    after.intake()
    _all_confirmed_once(after)


def _commit_then_crash_before_the_report(w: World) -> None:
    """The ledger commits the file; writing its intake report then fails (the outbox is
    gone), so the process stops before archiving. The file's third line is rejected."""
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1"), row("12-345", I1, "1")])
    w.outbox_dir.rmdir()
    w.outbox_dir.write_text("not a folder")
    assert w.intake() == []
    w.outbox_dir.unlink()
    w.outbox_dir.mkdir()


def test_crash_after_commit_before_archive_queues_nothing_twice_on_restart(
    world: World, ledger_url: str
) -> None:
    _commit_then_crash_before_the_report(world)
    assert len(world.all_lines()) == 2
    assert _processing(world) == ["f.csv"]
    after = restart(world, ledger_url)
    (res,) = after.intake()
    assert (res.duplicate_file, res.accepted, res.rejected) == (False, 2, 1)
    assert len(after.all_lines()) == 2
    assert set(after.statuses().values()) == {"in_queue"}


def test_crash_after_commit_before_archive_archives_and_writes_the_real_report_on_restart(
    world: World, ledger_url: str
) -> None:
    _commit_then_crash_before_the_report(world)
    assert not (world.outbox_dir / "f.csv.intake.json").exists()
    after = restart(world, ledger_url)
    after.intake()
    assert _processing(after) == []
    assert len(_archived(after)) == 1
    report = after.report("f.csv.intake.json")
    assert report["file_error"] is None
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert [(e["line"], e["value"]) for e in report["errors"]] == [(4, "12-345")]
    assert (after.outbox_dir / "f.csv.intake.csv").exists()


# -- batcher -----------------------------------------------------------------------------------


def test_prepared_not_uploaded_is_sent_with_its_stored_bytes_after_restart(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(faults=FaultConfig().trigger("error503", "createFeedDocument", 6))
    _queued(w)
    assert w.batch().stopped is not None
    assert _feed_states(w) == [FeedState.PREPARED]
    content = w.ledger.feeds_to_resume("acme")[0].content
    after = restart(w, ledger_url)
    res = after.batch()
    assert res.lines_submitted == 2
    assert _feed_states(after) == [FeedState.CREATED]
    assert [d for d in after.sim.documents.values() if d.content == content]
    _all_confirmed_once(after)


def test_uploaded_not_created_is_created_once_after_restart(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(faults=FaultConfig().trigger("drop", "createFeed", 2))
    _queued(w)
    assert w.batch().stopped is not None
    assert _feed_states(w) == [FeedState.UPLOADED]
    assert w.sim.counters.feeds_created == 0
    after = restart(w, ledger_url)
    assert after.batch().lines_submitted == 2
    _all_confirmed_once(after)


def test_lost_create_feed_answer_is_found_not_created_again_after_restart(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    faults = FaultConfig().trigger("drop_after", "createFeed", 1)
    faults.trigger("error503", "getFeeds", 6)
    w = world_factory(faults=faults)
    _queued(w)
    assert w.batch().stopped is not None
    assert _feed_states(w) == [FeedState.UPLOADED]
    assert w.sim.counters.feeds_created == 1
    after = restart(w, ledger_url)
    res = after.batch()
    assert res.lines_submitted == 2
    assert after.sim.counters.feeds_created == 1
    _all_confirmed_once(after)


# -- tracker -----------------------------------------------------------------------------------


def test_created_feed_is_polled_and_completed_after_restart(world: World, ledger_url: str) -> None:
    _queued(world)
    (feed_id,) = world.batch().feeds_created
    after = restart(world, ledger_url)
    res = after.track()
    assert res.completed == [feed_id]
    assert set(after.statuses().values()) == {"confirmed"}
    assert after.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}


def _records_feed_done(statement: str, params: Any) -> bool:
    return statement.lstrip().upper().startswith("UPDATE FEEDS") and FeedState.DONE.value in str(
        params
    )


def test_report_downloaded_but_not_recorded_leaves_the_lines_submitted(
    world: World, ledger_url: str
) -> None:
    _queued(world)
    world.batch()
    with crash_on(world.ledger, _records_feed_done), pytest.raises(Crash):
        world.track()
    after = restart(world, ledger_url)
    assert set(after.statuses().values()) == {"submitted"}
    assert _feed_states(after) == [FeedState.CREATED]


def test_report_downloaded_but_not_recorded_is_completed_after_restart(
    world: World, ledger_url: str
) -> None:
    _queued(world)
    (feed_id,) = world.batch().feeds_created
    # the process dies inside complete_feed
    with crash_on(world.ledger, _records_feed_done), pytest.raises(Crash):
        world.track()
    after = restart(world, ledger_url)
    res = after.track()
    assert res.completed == [feed_id]
    assert sorted(res.confirmed_lines) == sorted(ln.id for ln in after.all_lines())
    assert set(after.statuses().values()) == {"confirmed"}
    assert after.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert after.sim.counters.feeds_created == 1


# -- superseding a line before sending ---------------------------------------------------------


def _prepares_feed(statement: str, _params: Any) -> bool:
    """prepare_feed's insert: the superseding is written, the feed is not yet stored."""
    return statement.lstrip().upper().startswith("INSERT INTO FEEDS")


def test_crash_after_superseding_before_the_feed_is_stored_decides_the_same_after_restart(
    world: World, ledger_url: str
) -> None:
    world.order(O1, [(I1, 1)])
    world.drop("first.csv", [row(O1, I1, "1")])
    world.intake()
    world.drop("second.csv", [row(O1, I1, "1", tracking="1Z999AA10123456793")])
    world.intake()
    with crash_on(world.ledger, _prepares_feed), pytest.raises(Crash):
        world.batch()
    after = restart(world, ledger_url)
    assert sorted(ln.status for ln in after.all_lines()) == ["in_queue", "in_queue"]
    after.until_settled()
    first, second = sorted(after.all_lines(), key=lambda ln: ln.id)
    assert (first.status, second.status) == ("superseded", "confirmed")
    assert after.sim.counters.confirmations == {(O1, I1): 1}
    assert after.sim.counters.feeds_created == 1


# -- an order checked on Amazon, its verdict not yet recorded -------------------------------------


def test_already_fulfilled_checked_but_not_recorded_is_checked_again_after_restart(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(spapi={"use_orders_api": False})
    w.order(O1, [(I1, 1)])
    shipped = w.book.get(O1)
    assert shipped is not None
    with w.book.lock:  # Amazon already has it shipped (an earlier send the ledger lost)
        shipped.items[0].quantity_shipped = 1
        shipped.status = "Shipped"
    w.drop("f.csv", [row(O1, I1, "1")])
    w.intake()
    (feed_id,) = w.batch().feeds_created
    with crash_on(w.ledger, _records_feed_done), pytest.raises(Crash):
        w.track()  # getOrders answered; the process dies recording the verdict
    after = restart(w, ledger_url)
    assert after.statuses() == {f"{O1}/{I1}": "submitted"}
    res = after.track()
    assert res.completed == [feed_id] and res.checked == 1
    assert after.statuses() == {f"{O1}/{I1}": "confirmed"}
    assert after.sim.counters.feeds_created == 1


def _flags_stuck(statement: str, params: Any) -> bool:
    return statement.lstrip().upper().startswith("UPDATE FEEDS") and "still with Amazon" in str(
        params
    )


def test_crash_while_flagging_a_stuck_feed_keeps_it_polled_and_never_resent(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(faults=FaultConfig().trigger("stuck", "createFeed", 1))
    _queued(w)
    (feed_id,) = w.batch().feeds_created
    w.clock.advance(w.ctx.settings.service.stuck_after_seconds + 60)
    with crash_on(w.ledger, _flags_stuck), pytest.raises(Crash):
        w.track()
    after = restart(w, ledger_url)
    assert after.track().stuck == [feed_id]
    after.sim.release_feeds()
    after.until_settled()
    assert set(after.statuses().values()) == {"confirmed"}
    assert after.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert after.sim.counters.feeds_created == 1
