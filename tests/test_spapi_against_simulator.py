"""The SP-API client against the simulator over real loopback HTTP, faults included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from feeds.errors import CredentialsError
from feeds.model import Item, Package
from feeds.report import Outcome, parse_processing_report
from feeds.simulator import FaultConfig, SimulatorConfig, start_simulator
from feeds.simulator.app import Simulator
from feeds.spapi.client import SpApiClient
from feeds.spapi.errors import FeedSubmissionUnknown
from feeds.spapi.feeds import ORDER_FULFILLMENT_FEED, XML_CONTENT_TYPE, Feed
from feeds.xmlfeed import feed_bytes

MARKETPLACE = "ATVPDKIKX0DER"
MERCHANT = "A1SIMULATEDSELLER"


@pytest.fixture
def faults() -> FaultConfig:
    return FaultConfig()


@pytest.fixture
def sim_config(faults: FaultConfig) -> SimulatorConfig:
    return SimulatorConfig(processing_delay=0.0, faults=faults, merchant_id=MERCHANT)


@pytest.fixture
def sim(sim_config: SimulatorConfig) -> Iterator[Simulator]:
    simulator = start_simulator(sim_config)
    try:
        yield simulator
    finally:
        simulator.stop()


def _client(sim: Simulator, **kwargs: object) -> SpApiClient:
    options: dict[str, object] = {
        "client_id": "sim-client-id",
        "client_secret": "sim-client-secret",
        "refresh_token": "sim-refresh-token",
        "timeout": 5.0,
        "max_retries": 3,
        # Backoff sleeps are real here but short: the faults are one-shot triggers.
        "sleep": lambda s: time.sleep(min(s, 0.05)),
    }
    options.update(kwargs)
    return SpApiClient(endpoint=sim.url, token_url=f"{sim.url}/auth/o2/token", **options)  # type: ignore[arg-type]


@pytest.fixture
def client(sim: Simulator) -> Iterator[SpApiClient]:
    with _client(sim) as c:
        yield c


def _package(sim: Simulator) -> Package:
    order = sim.orderbook.add_order(items=[("11111111111111", 1)])
    return Package(
        order_id=order.order_id,
        ship_date=datetime.now(UTC) - timedelta(hours=1),
        carrier_code="UPS",
        carrier_name=None,
        tracking_number="1Z999AA10123456784",
        ship_method="Ground",
        items=(Item("11111111111111", 1),),
        lines=(2,),
    )


def _wait_done(client: SpApiClient, feed_id: str) -> Feed:
    for _ in range(200):
        feed = client.feeds.get_feed(feed_id)
        if feed.finished:
            return feed
        time.sleep(0.05)
    raise AssertionError(f"feed {feed_id} never finished")


def _send(client: SpApiClient, sim: Simulator) -> tuple[str, Package]:
    package = _package(sim)
    data = feed_bytes([package], merchant_id=MERCHANT)
    return client.feeds.submit(data, marketplace_ids=[MARKETPLACE]), package


def _report_of(client: SpApiClient, feed: Feed) -> bytes:
    assert feed.result_feed_document_id
    return client.feeds.download_document(
        client.feeds.get_feed_document(feed.result_feed_document_id)
    )


def test_full_feed_flow_confirms_the_order(client: SpApiClient, sim: Simulator) -> None:
    feed_id, package = _send(client, sim)
    feed = _wait_done(client, feed_id)
    assert feed.processing_status == "DONE"
    report = parse_processing_report(_report_of(client, feed), expected_message_ids=[1])
    assert report.problems == []
    assert report.outcome(1).status is Outcome.ACCEPTED
    assert sim.counters.confirmations[(package.order_id, "11111111111111")] == 1


@pytest.mark.parametrize("sim_config", [SimulatorConfig(gzip_reports=True)], indirect=False)
def test_gzip_report_is_decompressed_once(client: SpApiClient, sim: Simulator) -> None:
    feed_id, _ = _send(client, sim)
    feed = _wait_done(client, feed_id)
    assert client.feeds.get_feed_document(feed.result_feed_document_id or "").compression_algorithm
    report = parse_processing_report(_report_of(client, feed), expected_message_ids=[1])
    assert report.outcome(1).status is Outcome.ACCEPTED


@pytest.mark.parametrize("kind", ["throttle", "error500", "error503", "drop"])
def test_transient_faults_on_reads_are_survived(
    kind: str, faults: FaultConfig, client: SpApiClient, sim: Simulator
) -> None:
    feed_id, _ = _send(client, sim)
    faults.trigger(kind, "getFeed", 2)
    assert client.feeds.get_feed(feed_id).feed_id == feed_id
    assert sim.counters.faults[f"{kind}:getFeed"] == 2


def test_slow_answer_times_out_and_is_retried(faults: FaultConfig, sim: Simulator) -> None:
    faults.slow_seconds = 1.0
    faults.trigger("slow", "getOrder")
    order = sim.orderbook.add_order(items=1)
    with _client(sim, timeout=0.3) as client:
        assert client.orders.get_order(order.order_id).status == "Unshipped"
    assert sim.counters.api_calls["getOrder"] == 2


def test_expired_token_is_refreshed_once(
    faults: FaultConfig, client: SpApiClient, sim: Simulator
) -> None:
    order = sim.orderbook.add_order(items=1)
    client.orders.get_order(order.order_id)
    faults.trigger("expire_tokens", "getOrder")
    client.orders.get_order(order.order_id)
    assert sim.counters.api_calls["lwaToken"] == 2
    assert sim.counters.api_calls["getOrder"] == 3


def test_wrong_credentials_are_a_credentials_error(sim: Simulator) -> None:
    with _client(sim, client_secret="wrong") as client, pytest.raises(CredentialsError):
        client.orders.get_order("111-0000000-0000000")


def test_fatal_feed_reports_every_message_failed(
    faults: FaultConfig, client: SpApiClient, sim: Simulator
) -> None:
    faults.trigger("fatal", "createFeed")
    feed_id, _ = _send(client, sim)
    feed = _wait_done(client, feed_id)
    assert feed.processing_status == "FATAL"
    if feed.result_feed_document_id:
        report = parse_processing_report(_report_of(client, feed), expected_message_ids=[1])
        assert report.outcome(1).status is Outcome.ERROR


def test_lost_create_feed_answer_is_found_with_get_feeds(
    faults: FaultConfig, client: SpApiClient, sim: Simulator
) -> None:
    package = _package(sim)
    data = feed_bytes([package], merchant_id=MERCHANT)
    doc_id, url = client.feeds.create_feed_document(XML_CONTENT_TYPE)
    client.feeds.upload_document(url, data, XML_CONTENT_TYPE)
    before = datetime.now(UTC) - timedelta(minutes=1)
    faults.trigger("drop_after", "createFeed")
    with pytest.raises(FeedSubmissionUnknown):
        client.feeds.create_feed(ORDER_FULFILLMENT_FEED, [MARKETPLACE], doc_id)
    found = client.feeds.find_created_feed(
        feed_type=ORDER_FULFILLMENT_FEED, created_since=before, exclude=set()
    )
    assert found is not None
    assert sim.counters.feeds_created == 1
    assert sim.counters.api_calls["createFeed"] == 1


def test_create_feed_server_error_is_not_resent_and_nothing_is_found(
    faults: FaultConfig, client: SpApiClient, sim: Simulator
) -> None:
    package = _package(sim)
    doc_id, url = client.feeds.create_feed_document(XML_CONTENT_TYPE)
    client.feeds.upload_document(url, feed_bytes([package], merchant_id=MERCHANT), XML_CONTENT_TYPE)
    before = datetime.now(UTC) - timedelta(minutes=1)
    faults.trigger("error500", "createFeed")
    with pytest.raises(FeedSubmissionUnknown):
        client.feeds.create_feed(ORDER_FULFILLMENT_FEED, [MARKETPLACE], doc_id)
    assert (
        client.feeds.find_created_feed(
            feed_type=ORDER_FULFILLMENT_FEED, created_since=before, exclude=set()
        )
        is None
    )
    assert client.feeds.create_feed(ORDER_FULFILLMENT_FEED, [MARKETPLACE], doc_id)
    assert sim.counters.feeds_created == 1


def test_burst_beyond_amazons_limit_is_paced_by_the_client(sim: Simulator) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with _client(sim, sleep=sleep) as client:
        feed_id, _ = _send(client, sim)
        for _ in range(17):  # getFeed: burst 15, then 2/s
            client.feeds.get_feed(feed_id)
    assert waits  # the client waited instead of hammering
    assert sim.counters.api_calls["getFeed"] - sim.counters.throttled["getFeed"] == 17


def test_confirm_shipment_resent_edits_the_same_package(
    client: SpApiClient, sim: Simulator
) -> None:
    package = _package(sim)
    for _ in range(2):
        client.orders.confirm_shipment(
            package.order_id,
            marketplace_id=MARKETPLACE,
            package=package,
            package_reference_id="1",
        )
    assert sim.counters.package_edits == 1
    assert sim.counters.confirmations[(package.order_id, "11111111111111")] == 1
