"""Login with Amazon: token exchange, caching, refresh on expiry, and secrets kept secret."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import pytest
from spapi_fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    FEED_JSON,
    REFRESH_TOKEN,
    TOKEN_URL,
    FakeAmazon,
    FakeClock,
    error,
    json_response,
)

from feeds.errors import CredentialsError
from feeds.spapi.errors import AccessDenied, LwaCredentialsError

FEED_PATH = "/feeds/2021-06-30/feeds/50012345678"
SECRETS = (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)


def test_token_request_is_form_encoded_refresh_token_grant() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, json_response(200, FEED_JSON))
    with amazon.client() as client:
        client.feeds.get_feed("50012345678")
    token_call = next(r for r in amazon.requests if str(r.url) == TOKEN_URL)
    assert token_call.method == "POST"
    assert token_call.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(token_call.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH_TOKEN],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }


def test_access_token_is_cached_between_calls() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, json_response(200, FEED_JSON))
    with amazon.client() as client:
        for _ in range(3):
            client.feeds.get_feed("50012345678")
    assert amazon.tokens_issued == 1
    assert [r.headers["x-amz-access-token"] for r in amazon.api_requests()] == ["Atza|access-1"] * 3


def test_access_token_is_refreshed_a_minute_before_it_expires() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", FEED_PATH, json_response(200, FEED_JSON))
    clock = FakeClock()
    with amazon.client(clock) as client:
        client.feeds.get_feed("50012345678")
        clock.now += 3600 - 61
        client.feeds.get_feed("50012345678")
        assert amazon.tokens_issued == 1
        clock.now += 2
        client.feeds.get_feed("50012345678")
    assert amazon.tokens_issued == 2
    assert amazon.api_requests()[-1].headers["x-amz-access-token"] == "Atza|access-2"


def test_expired_token_answer_refreshes_once_and_retries_the_call() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET",
        FEED_PATH,
        error(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The access token you provided has expired.",
        ),
        json_response(200, FEED_JSON),
    )
    with amazon.client() as client:
        feed = client.feeds.get_feed("50012345678")
    assert feed.feed_id == "50012345678"
    assert amazon.tokens_issued == 2
    tokens = [r.headers["x-amz-access-token"] for r in amazon.api_requests()]
    assert tokens == ["Atza|access-1", "Atza|access-2"]


def test_401_refreshes_the_token_and_retries() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET", FEED_PATH, error(401, "Unauthorized", "bad token"), json_response(200, FEED_JSON)
    )
    with amazon.client() as client:
        assert client.feeds.get_feed("50012345678").processing_status == "DONE"
    assert amazon.tokens_issued == 2


def test_denied_again_with_a_fresh_token_is_access_denied_not_a_loop() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET", FEED_PATH, error(403, "Unauthorized", "Access to requested resource is denied.")
    )
    with amazon.client() as client, pytest.raises(AccessDenied) as caught:
        client.feeds.get_feed("50012345678")
    assert amazon.tokens_issued == 2
    assert len(amazon.api_requests()) == 2
    assert caught.value.code == "Unauthorized"
    assert isinstance(caught.value, CredentialsError)
    assert not caught.value.transient


@pytest.mark.parametrize("status", [400, 401])
def test_token_endpoint_refusal_is_a_credentials_error(status: int) -> None:
    amazon = FakeAmazon()
    amazon.token_answers = [
        json_response(status, {"error": "invalid_grant", "error_description": "bad refresh token"})
    ]
    with amazon.client() as client, pytest.raises(CredentialsError) as caught:
        client.feeds.get_feed("50012345678")
    assert "invalid_grant" in str(caught.value)
    assert "refresh token" in str(caught.value)
    assert amazon.api_requests() == []


def test_secrets_never_appear_in_logs_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    amazon = FakeAmazon()
    # A hostile or careless server echoing what it was sent.
    amazon.token_answers = [
        json_response(
            401,
            {
                "error": f"invalid_client {CLIENT_ID}",
                "error_description": f"refresh {REFRESH_TOKEN} with {CLIENT_SECRET} refused",
            },
        )
    ]
    texts: list[str] = []
    with amazon.client() as client:
        texts += [repr(client), repr(client.feeds), repr(client.orders), repr(client._auth)]
        with pytest.raises(LwaCredentialsError) as caught:
            client.feeds.get_feed("50012345678")
        err = caught.value
        texts += [str(err), repr(err), repr(err.args), str(err.amazon_message), str(err.code)]
        logging.getLogger("test").exception("token refused", exc_info=err)
    texts += [caplog.text, *(r.getMessage() for r in caplog.records)]
    everything = "\n".join(texts)
    assert "invalid_client" in everything  # the texts were really collected
    for secret in SECRETS:
        assert secret not in everything
