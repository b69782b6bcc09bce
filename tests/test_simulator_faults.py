"""Every fault the simulator can play is visible over HTTP, and rate limits are real."""

from __future__ import annotations

import gzip
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from simulator_support import (
    FEEDS,
    ORDERS,
    Api,
    Msg,
    api_for,
    client,
    config,
    feed_xml,
    parse_report,
    running,
)

from feeds.simulator import FaultConfig, OrderBook, SimulatorConfig

ORDER = "111-1111111-1111111"
LIST = {"feedTypes": "POST_ORDER_FULFILLMENT_DATA"}


def _book() -> OrderBook:
    b = OrderBook()
    b.add_order(ORDER, [("11111111111111", 1)])
    return b


def _cfg(faults: FaultConfig, **kw: object) -> SimulatorConfig:
    return config(faults=faults, **kw)


def test_throttle_trigger_answers_429_quota_exceeded() -> None:
    with running(_cfg(FaultConfig().trigger("throttle", "getFeeds"))) as sim:
        for api in api_for(sim):
            r = api.call("getFeeds", "GET", f"{FEEDS}/feeds", params=LIST)
            assert r.status_code == 429
            assert r.json()["errors"][0]["code"] == "QuotaExceeded"
            assert api.call("getFeeds", "GET", f"{FEEDS}/feeds", params=LIST).status_code == 200
            assert sim.counters.throttled["getFeeds"] == 1


def test_throttle_rate_is_reproducible_with_the_same_seed() -> None:
    def statuses(seed: int) -> list[int]:
        with running(_cfg(FaultConfig(throttle=0.5), seed=seed)) as sim:
            for api in api_for(sim):
                return [
                    api.call("getFeeds", "GET", f"{FEEDS}/feeds", params=LIST).status_code
                    for _ in range(20)
                ]
        return []

    first = statuses(3)
    assert first == statuses(3)
    assert 429 in first and 200 in first


def test_error500_and_error503_triggers() -> None:
    faults = FaultConfig().trigger("error500", "getOrder").trigger("error503", "getOrder")
    with running(_cfg(faults), _book()) as sim:
        for api in api_for(sim):
            first = api.call("getOrder", "GET", f"{ORDERS}/{ORDER}")
            second = api.call("getOrder", "GET", f"{ORDERS}/{ORDER}")
            third = api.call("getOrder", "GET", f"{ORDERS}/{ORDER}")
            assert (first.status_code, second.status_code, third.status_code) == (500, 503, 200)
            assert first.json()["errors"][0]["code"] == "InternalFailure"


def test_slow_answer_outlasts_a_short_client_timeout() -> None:
    faults = FaultConfig(slow_seconds=0.5).trigger("slow", "getOrder")
    with running(_cfg(faults), _book()) as sim:
        for api in api_for(sim):
            with pytest.raises(httpx.ReadTimeout):
                api.http.get(
                    f"{ORDERS}/{ORDER}", headers={"x-amz-access-token": api.token}, timeout=0.05
                )


def _create_feed(api: Api, document_id: str) -> httpx.Response:
    """createFeed sent by hand, so a dropped connection reaches the test as it happens."""
    return api.http.post(
        f"{FEEDS}/feeds",
        headers={"x-amz-access-token": api.token},
        json={
            "feedType": "POST_ORDER_FULFILLMENT_DATA",
            "marketplaceIds": ["ATVPDKIKX0DER"],
            "inputFeedDocumentId": document_id,
        },
    )


def test_drop_closes_connection_before_doing_the_work() -> None:
    with running(_cfg(FaultConfig().trigger("drop", "createFeed"))) as sim:
        for api in api_for(sim):
            doc = api.upload(feed_xml(Msg(ORDER)))
            with pytest.raises(httpx.RemoteProtocolError):
                _create_feed(api, doc)
            assert sim.counters.feeds_created == 0


def test_drop_after_loses_the_answer_but_the_feed_exists() -> None:
    with running(_cfg(FaultConfig.parse(["drop_after=createFeed:1"])), _book()) as sim:
        for api in api_for(sim):
            doc = api.upload(feed_xml(Msg(ORDER)))
            with pytest.raises(httpx.RemoteProtocolError):
                _create_feed(api, doc)
            assert sim.counters.feeds_created == 1
            listed = api.call("getFeeds", "GET", f"{FEEDS}/feeds", params=LIST).json()["feeds"]
            assert len(listed) == 1


def test_slow_answer_creates_the_feed_before_it_answers() -> None:
    faults = FaultConfig(slow_seconds=2.0).trigger("slow_answer", "createFeed")
    with running(_cfg(faults), _book()) as sim:
        for api in api_for(sim):
            doc = api.upload(feed_xml(Msg(ORDER)))
            with ThreadPoolExecutor(1) as pool:
                answer = pool.submit(_create_feed, api, doc)
                deadline = time.monotonic() + 10
                while sim.counters.feeds_created == 0:
                    assert time.monotonic() < deadline, "createFeed never arrived"
                    time.sleep(0.02)
                listed = api.call("getFeeds", "GET", f"{FEEDS}/feeds", params=LIST).json()
                assert not answer.done()
                assert len(listed["feeds"]) == 1  # on Amazon, its creator not told yet
                assert answer.result(timeout=10).status_code == 202


def test_expire_tokens_makes_a_valid_token_expire_early() -> None:
    with running(_cfg(FaultConfig().trigger("expire_tokens", "getFeeds"))) as sim:
        for api in api_for(sim):
            r = api.call("getFeeds", "GET", f"{FEEDS}/feeds", params=LIST)
            assert r.status_code == 403
            assert "expired" in r.json()["errors"][0]["details"]
            api.login()
            assert api.call("getFeeds", "GET", f"{FEEDS}/feeds", params=LIST).status_code == 200


def test_fatal_feed_has_error_report_and_ships_nothing() -> None:
    book = _book()
    with running(_cfg(FaultConfig().trigger("fatal", "createFeed")), book) as sim:
        for api in api_for(sim):
            feed, raw = api.result(api.submit(feed_xml(Msg(ORDER))))
            assert feed["processingStatus"] == "FATAL"
            report = parse_report(raw)
            assert report.processed == 0 and report.errors == 1
            assert book.get(ORDER).status == "Unshipped"  # type: ignore[union-attr]


def test_stuck_feed_never_leaves_in_progress() -> None:
    with running(_cfg(FaultConfig(stuck=1.0)), _book()) as sim:
        for api in api_for(sim):
            feed_id = api.submit(feed_xml(Msg(ORDER)))
            for _ in range(3):
                feed = api.get_feed(feed_id)
            assert feed["processingStatus"] == "IN_PROGRESS"
            assert "resultFeedDocumentId" not in feed


def test_gzip_reports_are_announced_and_served_compressed() -> None:
    with running(_cfg(FaultConfig.parse(["gzip"])), _book()) as sim:
        for api in api_for(sim):
            feed = api.get_feed(api.submit(feed_xml(Msg(ORDER))))
            doc = api.call(
                "getFeedDocument", "GET", f"{FEEDS}/documents/{feed['resultFeedDocumentId']}"
            ).json()
            assert doc["compressionAlgorithm"] == "GZIP"
            raw = api.http.get(doc["url"]).content
            assert parse_report(gzip.decompress(raw)).successful == 1


def test_rate_limit_allows_the_burst_then_answers_429() -> None:
    with running(config(enforce_rate_limits=True), _book()) as sim:
        for api in api_for(sim):
            answers = [api.call("getOrder", "GET", f"{ORDERS}/{ORDER}") for _ in range(31)]
            assert [a.status_code for a in answers[:30]] == [200] * 30
            assert answers[30].status_code == 429
            assert answers[30].headers["x-amzn-RateLimit-Limit"] == "0.5"
            assert sim.counters.throttled["getOrder"] == 1


def test_an_accounts_own_usage_plan_is_announced_and_enforced() -> None:
    plans = {"getOrder": (2.0, 3)}
    with running(config(enforce_rate_limits=True, rate_plans=plans), _book()) as sim:
        for api in api_for(sim):
            answers = [api.call("getOrder", "GET", f"{ORDERS}/{ORDER}") for _ in range(4)]
            assert [a.status_code for a in answers] == [200, 200, 200, 429]
            assert answers[0].headers["x-amzn-RateLimit-Limit"] == "2"


def test_rate_limit_header_is_on_every_answer() -> None:
    with running(config(), _book()) as sim:
        for api in api_for(sim):
            assert (
                api.call("getFeeds", "GET", f"{FEEDS}/feeds", params=LIST).headers[
                    "x-amzn-RateLimit-Limit"
                ]
                == "0.0222"
            )
            assert (
                api.call("getOrder", "GET", f"{ORDERS}/nope-no").headers["x-amzn-RateLimit-Limit"]
                == "0.5"
            )


def test_create_feed_burst_is_fifteen() -> None:
    with running(config(enforce_rate_limits=True), _book()) as sim:
        for api in api_for(sim):
            doc = api.upload(feed_xml(Msg(ORDER)))
            body = {
                "feedType": "POST_ORDER_FULFILLMENT_DATA",
                "marketplaceIds": ["ATVPDKIKX0DER"],
                "inputFeedDocumentId": doc,
            }
            codes = [
                api.call("createFeed", "POST", f"{FEEDS}/feeds", json=body).status_code
                for _ in range(16)
            ]
            assert codes == [202] * 15 + [429]


def test_fault_spec_parsing_reads_every_documented_form() -> None:
    cfg = FaultConfig.parse(
        [
            "throttle=0.1",
            "error500=0.05",
            "drop=0.02",
            "drop_after=createFeed:1",
            "fatal=0.1",
            "stuck=0.1",
            "slow=0.1:2.0",
            "gzip",
            "expire_tokens=0.1",
        ]
    )
    assert (cfg.throttle, cfg.error500, cfg.drop, cfg.fatal, cfg.stuck) == (
        0.1,
        0.05,
        0.02,
        0.1,
        0.1,
    )
    assert (cfg.slow, cfg.slow_seconds, cfg.gzip, cfg.expire_tokens) == (0.1, 2.0, True, 0.1)
    assert cfg.triggers == {"drop_after": {"createFeed": 1}}


def test_fault_spec_with_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        FaultConfig.parse(["explode=0.5"])


def test_token_endpoint_can_be_made_to_fail_by_trigger() -> None:
    with running(_cfg(FaultConfig().trigger("error500", "lwaToken"))) as sim, client(sim) as http:
        r = http.post("/auth/o2/token", data={"grant_type": "refresh_token"})
        assert r.status_code == 500
