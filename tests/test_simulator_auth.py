"""LWA token flow and the access-token check every SP-API operation makes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from simulator_support import FEEDS, Api, api_for, config, running

from feeds.simulator import Simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with running(config(token_lifetime=3600)) as s:
        yield s


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    yield from api_for(sim, login=False)


def _form(sim: Simulator, **over: str) -> dict[str, str]:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": sim.config.refresh_token,
        "client_id": sim.config.client_id,
        "client_secret": sim.config.client_secret,
    }
    form.update(over)
    return form


def test_refresh_token_grant_returns_bearer_access_token(api: Api, sim: Simulator) -> None:
    r = api.http.post("/auth/o2/token", data=_form(sim))
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|")


def test_wrong_client_secret_is_invalid_client(api: Api, sim: Simulator) -> None:
    r = api.http.post("/auth/o2/token", data=_form(sim, client_secret="nope"))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.json()["error_description"]


def test_wrong_refresh_token_is_invalid_grant(api: Api, sim: Simulator) -> None:
    r = api.http.post("/auth/o2/token", data=_form(sim, refresh_token="Atzr|stale"))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_token_request_must_be_form_encoded(api: Api, sim: Simulator) -> None:
    r = api.http.post("/auth/o2/token", json=_form(sim))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_missing_access_token_is_refused_with_empty_details(api: Api) -> None:
    r = api.call("getFeeds", "GET", f"{FEEDS}/feeds", params={"feedTypes": "X"})
    assert r.status_code == 403
    assert r.json() == {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Access to requested resource is denied.",
                "details": "",
            }
        ]
    }


def test_unknown_access_token_is_refused(api: Api) -> None:
    r = api.call(
        "getFeeds",
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "X"},
        headers={"x-amz-access-token": "Atza|made-up"},
    )
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "Unauthorized"


def test_expired_access_token_is_refused_saying_it_expired() -> None:
    with running(config(token_lifetime=0)) as sim:
        for api in api_for(sim):
            r = api.call("getFeeds", "GET", f"{FEEDS}/feeds", params={"feedTypes": "X"})
            assert r.status_code == 403
            assert "expired" in r.json()["errors"][0]["details"]


def test_valid_access_token_is_accepted(api: Api) -> None:
    api.login()
    r = api.call("getFeeds", "GET", f"{FEEDS}/feeds", params={"feedTypes": "X"})
    assert r.status_code == 200


def test_unknown_path_is_404_in_error_shape(api: Api) -> None:
    api.login()
    r = api.http.get("/nothing/here", headers={"x-amz-access-token": api.token})
    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] == "NotFound"


def test_unknown_path_answers_without_token_too() -> None:
    with running() as sim:
        r = httpx.get(sim.url + "/feeds/2021-06-30/nope")
        assert r.status_code == 404
