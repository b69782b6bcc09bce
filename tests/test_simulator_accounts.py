"""The simulator serves several selling-partner accounts, in several regions, as Amazon
does: each refresh token opens its own account, seen only at its region's endpoint, with
its own feeds and its own rate limits, and it counts per account and operation every call
past the limit (the ground truth for "no account ever went past its rate limit").

Answers are checked against Amazon's official models where the body is Amazon's.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from simulator_support import (
    FEEDS,
    NO_TLS,
    XML_TYPE,
    Msg,
    assert_matches_model,
    config,
    feed_xml,
    running,
)

from feeds.simulator import Simulator

EU_TOKEN = "Atzr|eu-seller"
EU_MERCHANT = "A2EUSELLER"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = running(config(auto_create_orders=True))
    s.add_partner(EU_TOKEN, EU_MERCHANT, "EU")
    try:
        yield s
    finally:
        s.stop()


def login(sim: Simulator, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{sim.url}/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": sim.config.client_id,
            "client_secret": sim.config.client_secret,
        },
        verify=NO_TLS,
    )


def session(sim: Simulator, refresh_token: str, region: str) -> httpx.Client:
    token = login(sim, refresh_token).json()["access_token"]
    base = sim.url if region == "NA" else sim.endpoint(region)
    return httpx.Client(
        base_url=base, headers={"x-amz-access-token": token}, verify=NO_TLS, timeout=10
    )


def submit(http: httpx.Client, order_id: str) -> str:
    doc = http.post(f"{FEEDS}/documents", json={"contentType": XML_TYPE}).json()
    content = feed_xml(Msg(order_id, [("11111111111111", 1)]))
    assert http.put(doc["url"], content=content, headers={"Content-Type": XML_TYPE}).is_success
    r = http.post(
        f"{FEEDS}/feeds",
        json={
            "feedType": "POST_ORDER_FULFILLMENT_DATA",
            "marketplaceIds": ["A1PA6795UKMFR9"],
            "inputFeedDocumentId": doc["feedDocumentId"],
        },
    )
    assert r.status_code == 202, r.text
    return str(r.json()["feedId"])


def test_each_refresh_token_opens_its_own_account_in_its_region(sim: Simulator) -> None:
    with session(sim, EU_TOKEN, "EU") as eu:
        r = eu.get(f"{FEEDS}/feeds", params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA"})
    assert r.status_code == 200
    assert_matches_model("getFeeds", 200, r.json())


def test_an_account_is_refused_at_another_regions_endpoint(sim: Simulator) -> None:
    with session(sim, EU_TOKEN, "NA") as wrong:
        r = wrong.get(f"{FEEDS}/feeds", params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA"})
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "Unauthorized"
    assert_matches_model("getFeeds", 403, r.json())


def test_an_account_sees_only_its_own_feeds(sim: Simulator) -> None:
    with session(sim, EU_TOKEN, "EU") as eu, session(sim, sim.config.refresh_token, "NA") as na:
        feed_id = submit(eu, "302-0000000-0000001")
        assert eu.get(f"{FEEDS}/feeds/{feed_id}").status_code == 200
        other = na.get(f"{FEEDS}/feeds/{feed_id}")
        listed = na.get(f"{FEEDS}/feeds", params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA"})
    assert other.status_code == 404
    assert_matches_model("getFeed", 404, other.json())
    assert listed.json()["feeds"] == []
    assert sim.counters.feeds_by_account == {EU_MERCHANT: 1}


def test_a_feeds_report_names_its_own_accounts_merchant(sim: Simulator) -> None:
    with session(sim, EU_TOKEN, "EU") as eu:
        feed_id = submit(eu, "302-0000000-0000002")
        sim.advance()
        feed = eu.get(f"{FEEDS}/feeds/{feed_id}").json()
        doc = eu.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}").json()
        report = eu.get(doc["url"]).content
    assert f"<MerchantIdentifier>{EU_MERCHANT}</MerchantIdentifier>".encode() in report
    assert sim.counters.account_confirmations == {
        (EU_MERCHANT, "302-0000000-0000002", "11111111111111"): 1
    }


def test_a_revoked_authorisation_is_refused_by_lwa_and_its_tokens_stop(sim: Simulator) -> None:
    with session(sim, EU_TOKEN, "EU") as eu:
        sim.revoke(EU_MERCHANT)
        r = eu.get(f"{FEEDS}/feeds", params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA"})
    assert r.status_code == 403
    refused = login(sim, EU_TOKEN)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert login(sim, sim.config.refresh_token).status_code == 200  # the other goes on


def test_rate_limits_and_their_accounting_are_per_account_and_operation() -> None:
    sim = running(config(enforce_rate_limits=True))
    sim.add_partner(EU_TOKEN, EU_MERCHANT, "EU")
    try:
        with (
            session(sim, EU_TOKEN, "EU") as eu,
            session(sim, sim.config.refresh_token, "NA") as na,
        ):
            ask = {"feedTypes": "POST_ORDER_FULFILLMENT_DATA"}
            eu_codes = [eu.get(f"{FEEDS}/feeds", params=ask).status_code for _ in range(11)]
            na_codes = [na.get(f"{FEEDS}/feeds", params=ask).status_code for _ in range(10)]
    finally:
        sim.stop()
    assert eu_codes == [200] * 10 + [429]  # getFeeds: burst 10
    assert na_codes == [200] * 10  # its own bucket, untouched by the EU account's calls
    assert sim.counters.over_limit == {(EU_MERCHANT, "getFeeds"): 1}
    assert sim.counters.account_calls[(EU_MERCHANT, "getFeeds")] == 11


def test_calls_past_the_limit_are_counted_even_when_limits_are_not_enforced(
    sim: Simulator,
) -> None:
    with session(sim, EU_TOKEN, "EU") as eu:
        ask = {"feedTypes": "POST_ORDER_FULFILLMENT_DATA"}
        codes = [eu.get(f"{FEEDS}/feeds", params=ask).status_code for _ in range(12)]
    assert codes == [200] * 12
    assert sim.counters.over_limit == {(EU_MERCHANT, "getFeeds"): 2}


def test_an_unknown_region_cannot_be_given_to_a_partner(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="unknown region"):
        sim.add_partner("Atzr|x", "AX", "SA")


def test_an_order_made_up_by_a_lookup_is_in_the_marketplace_it_was_asked_in(
    sim: Simulator,
) -> None:
    """auto_create_orders: an amazon.de seller asking for its order finds it on amazon.de."""
    with session(sim, EU_TOKEN, "EU") as eu:
        r = eu.get(
            "/orders/v0/orders",
            params={"MarketplaceIds": "A1PA6795UKMFR9", "AmazonOrderIds": "302-0000000-0000009"},
        )
    assert r.status_code == 200
    assert_matches_model("getOrders", 200, r.json())
    (order,) = r.json()["payload"]["Orders"]
    assert order["MarketplaceId"] == "A1PA6795UKMFR9"
