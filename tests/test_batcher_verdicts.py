"""Only Amazon's verdict on a shipment puts a line in `error`; anything else stops the step.

A refused login, a missing role, our own malformed request, a ledger refusal or a bug says
nothing about the shipment: the batch stops with the error, every claimed line stays in
the queue with its attempts unchanged, and the feed stays prepared or uploaded to be
resumed, so once the cause is gone each order is confirmed on Amazon exactly once.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from lifecycle_support import World, row
from sqlalchemy import event

import config
import feeds
import ingest
import processors
from feeds.errors import (
    AmazonRejected,
    ConfigError,
    CredentialsError,
    ShipfeedError,
    TransientError,
)
from feeds.simulator import FaultConfig
from feeds.spapi.client import SpApiClient
from feeds.spapi.errors import (
    AccessDenied,
    InvalidRequest,
    LwaCredentialsError,
    ShipmentRejected,
)
from feeds.spapi.orders import CannotConfirmDirectly
from processors.ledger.errors import FeedStateError, LedgerError
from processors.ledger.statuses import FeedState

O1, O2, O3 = "111-0000001-0000001", "111-0000002-0000001", "111-0000003-0000001"
I1, I2, I3 = "10000000000001", "10000000000002", "10000000000003"
NO_LOOKUPS = {"use_orders_api": False}  # the first Amazon call comes after the claim


def _every_error_class() -> list[type[ShipfeedError]]:
    """Every ShipfeedError subclass in shipfeed, after importing every module."""
    for package in (config, feeds, ingest, processors):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" not in info.name:  # alembic scripts run only inside alembic
                importlib.import_module(info.name)
    found: list[type[ShipfeedError]] = []
    todo: list[type[ShipfeedError]] = [ShipfeedError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(c for c in cls.__subclasses__() if c not in found)
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


ERROR_CLASSES = _every_error_class()


def _instance(cls: type[ShipfeedError]) -> ShipfeedError:
    """An instance of any error class, whatever its constructor wants."""
    exc = cls.__new__(cls)
    Exception.__init__(exc, f"a {cls.__name__}")
    for name in ("operation", "status", "code", "amazon_message", "details", "hint"):
        setattr(exc, name, None)
    exc.message = f"a {cls.__name__} staged by the test"
    return exc


def _three_orders(w: World) -> None:
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.order(O3, [(I3, 2)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1"), row(O3, I3, "2")])
    w.intake()


def _queued_untouched(w: World) -> bool:
    """Every line still in the queue, none resent (attempts as they came in)."""
    return all(r.status == "in_queue" and r.attempts == 0 for r in w.all_lines())


def _feed_states(w: World) -> list[str]:
    return [f.state for f in w.ledger.feeds_to_resume("acme")]


def _with_refresh_token(w: World, refresh_token: str) -> SpApiClient:
    client = SpApiClient(
        endpoint=w.sim.url,
        token_url=f"{w.sim.url}/auth/o2/token",
        client_id=w.sim.config.client_id,
        client_secret=w.sim.config.client_secret,
        refresh_token=refresh_token,
        timeout=5.0,
        max_retries=1,
    )
    w.closers.append(client.close)
    return client


def _confirmed_once_each(w: World) -> bool:
    return w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1, (O3, I3): 1} and set(
        w.statuses().values()
    ) == {"confirmed"}


# -- the error tree ---------------------------------------------------------------------


def test_no_verdict_class_is_also_a_login_config_ledger_or_passing_error() -> None:
    verdicts = [c for c in ERROR_CLASSES if issubclass(c, AmazonRejected)]
    mixed = [
        c
        for c in verdicts
        if issubclass(c, (CredentialsError, ConfigError, LedgerError, TransientError))
    ]
    assert ShipmentRejected in verdicts
    assert mixed == []


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "cls",
    [c for c in ERROR_CLASSES if not issubclass(c, (AmazonRejected, CannotConfirmDirectly))],
    ids=lambda c: c.__name__,
)
def test_an_error_that_is_not_amazons_verdict_never_puts_lines_in_error(
    world_factory: Callable[..., World], cls: type[ShipfeedError]
) -> None:
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)
    exc = _instance(cls)

    def refuse(*_a: Any, **_k: Any) -> str:
        raise exc

    w.ctx.client.feeds.create_feed = refuse  # type: ignore[method-assign]
    try:
        stopped = w.batch().stopped
    except ShipfeedError as raised:
        assert raised is exc
        stopped = str(raised)
    assert stopped is not None
    assert _queued_untouched(w)
    assert _feed_states(w) == [FeedState.UPLOADED]


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_bug_inside_a_batch_leaves_every_claimed_line_queued(
    world_factory: Callable[..., World],
) -> None:
    """A plain Python error is no ShipfeedError, so the list above does not hold it."""
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)

    def broken(*_a: Any, **_k: Any) -> str:
        raise TypeError("a bug staged by the test")

    w.ctx.client.feeds.create_feed = broken  # type: ignore[method-assign]
    with pytest.raises(TypeError):
        w.batch()
    assert _queued_untouched(w)
    assert _feed_states(w) == [FeedState.UPLOADED]


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_400_on_create_feed_document_is_our_request_not_a_verdict(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)

    def refuse(*_a: Any, **_k: Any) -> tuple[str, str]:
        raise InvalidRequest(
            "Amazon rejected createFeedDocument as invalid", operation="createFeedDocument"
        )

    w.ctx.client.feeds.create_feed_document = refuse  # type: ignore[method-assign]
    with pytest.raises(InvalidRequest):
        w.batch()
    assert _queued_untouched(w)
    assert _feed_states(w) == [FeedState.PREPARED]


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_amazons_verdict_on_a_feed_puts_its_lines_in_error(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)

    def refuse(*_a: Any, **_k: Any) -> str:
        raise AmazonRejected("Amazon refused the content of this feed")

    w.ctx.client.feeds.create_feed = refuse  # type: ignore[method-assign]
    w.batch()
    assert set(w.statuses().values()) == {"error"}


# -- real refusals over HTTP --------------------------------------------------------------


def test_a_revoked_refresh_token_leaves_every_claimed_line_queued(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)
    good = w.ctx.client
    w.ctx.client = _with_refresh_token(w, "Atzr|revoked-by-the-seller")
    with pytest.raises(LwaCredentialsError):
        w.batch()
    assert _queued_untouched(w)
    assert _feed_states(w) == [FeedState.PREPARED]
    w.ctx.client = good
    w.until_settled()
    assert _confirmed_once_each(w)


def test_a_403_that_a_fresh_token_does_not_cure_leaves_every_claimed_line_queued(
    world_factory: Callable[..., World],
) -> None:
    faults = FaultConfig().trigger("expire_tokens", "createFeed", times=2)
    w = world_factory(spapi=NO_LOOKUPS, faults=faults)
    _three_orders(w)
    with pytest.raises(AccessDenied):
        w.batch()
    assert _queued_untouched(w)
    assert _feed_states(w) == [FeedState.UPLOADED]
    w.until_settled()
    assert _confirmed_once_each(w)
    assert w.sim.counters.feeds_created == 1


@contextmanager
def _ledger_refuses(w: World, matches: Callable[[str], bool]) -> Iterator[None]:
    """The ledger refuses the first statement that ``matches`` (its transaction rolls back)."""

    def before(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if matches(statement):
            raise FeedStateError("the ledger refuses this step (staged by the test)")

    event.listen(w.ledger.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(w.ledger.engine, "before_cursor_execute", before)


def test_a_ledger_refusal_inside_a_batch_leaves_every_claimed_line_queued(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)

    def records_document(sql: str) -> bool:
        return sql.startswith("UPDATE feeds") and "feed_document_id" in sql

    with _ledger_refuses(w, records_document), pytest.raises(FeedStateError):
        w.batch()
    assert _queued_untouched(w)
    assert _feed_states(w) == [FeedState.PREPARED]
    w.until_settled()
    assert _confirmed_once_each(w)


# -- the direct path (confirmShipment) --------------------------------------------------


def test_confirm_shipment_refusing_an_unknown_order_puts_only_its_line_in_error(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(service={"direct_threshold": 5}, spapi=NO_LOOKUPS)
    w.order(O1, [(I1, 1)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])  # O2 is unknown to Amazon
    w.intake()
    w.batch()
    assert w.statuses() == {f"{O1}/{I1}": "confirmed", f"{O2}/{I2}": "error"}


def test_a_403_on_confirm_shipment_keeps_what_amazon_took_and_queues_the_rest(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(service={"direct_threshold": 5}, spapi=NO_LOOKUPS)
    _three_orders(w)
    calls = {"n": 0}
    real = w.ctx.client.orders.confirm_shipment

    def second_is_denied(order_id: str, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            w.sim.config.faults.trigger("expire_tokens", "confirmShipment", times=2)
        real(order_id, **kw)

    w.ctx.client.orders.confirm_shipment = second_is_denied  # type: ignore[method-assign]
    with pytest.raises(AccessDenied):
        w.batch()
    assert w.statuses() == {
        f"{O1}/{I1}": "confirmed",
        f"{O2}/{I2}": "in_queue",
        f"{O3}/{I3}": "in_queue",
    }
    assert w.sim.counters.feeds_created == 0
