"""The REST API under /api/v1 over real HTTP: tokens, the file intake's verdicts,
idempotent POSTs, seller isolation and one error shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from api_support import GLOBEX_TOKEN, ApiConsole
from ledger_db import order
from sqlalchemy import func, select

from processors.ledger.orders import save_not_found
from processors.ledger.schema import lines
from processors.unknownorders import NOT_FOUND

ROUTES = [
    ("POST", "/api/v1/shipments"),
    ("GET", "/api/v1/orders/111-0000001-0000001"),
    ("GET", "/api/v1/files/1"),
    ("GET", "/api/v1/queue"),
]


def line(n: int, **kw: Any) -> dict[str, Any]:
    return {
        "order_id": order(n),
        "ship_date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "carrier_code": "UPS",
        "tracking_number": f"1Z999AA1{n:010d}",
        **kw,
    }


def post(
    api: ApiConsole, key: str, shipments: list[dict[str, Any]], token: str | None = None
) -> httpx.Response:
    with api.client(token) if token else api.client() as c:
        return c.post(
            "/api/v1/shipments", json={"shipments": shipments}, headers={"Idempotency-Key": key}
        )


def queued(api: ApiConsole) -> int:
    with api.ledger.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(lines)).scalar_one())


def assert_error(body: dict[str, Any], code: str, field: str | None) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "field", "reason"}
    assert (body["error"]["code"], body["error"]["field"]) == (code, field)
    assert body["error"]["reason"]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_api_route_answers_without_a_token(api: ApiConsole, method: str, path: str) -> None:
    with api.client(token=None) as c:
        r = c.request(method, path, json={"shipments": [line(1)]}, headers={"Idempotency-Key": "k"})
    assert r.status_code == 401
    assert_error(r.json(), "unauthorized", "Authorization")
    assert queued(api) == 0


def test_an_unknown_token_is_refused(api: ApiConsole) -> None:
    with api.client(token="sfk_not-a-token") as c:
        r = c.get("/api/v1/queue")
    assert r.status_code == 401
    assert_error(r.json(), "unauthorized", "Authorization")


def test_posted_lines_get_the_file_intakes_verdict_per_line(api: ApiConsole) -> None:
    r = post(api, "batch-1", [line(1), line(2, ship_date="not a date"), line(1)])
    assert r.status_code == 201
    body = r.json()
    verdicts = [(ln["line"], ln["verdict"]) for ln in body["lines"]]
    assert verdicts == [(1, "accepted"), (2, "rejected"), (3, "duplicate")]
    (err,) = body["lines"][1]["errors"]
    assert (err["field"], err["value"]) == ("ship_date", "not a date")
    assert body["file"]["name"] == "api-batch-1"
    assert (body["file"]["accepted"], body["file"]["rejected"], body["file"]["duplicates"]) == (
        1,
        1,
        1,
    )


def test_a_retried_post_queues_nothing_twice_and_gives_the_first_answer(api: ApiConsole) -> None:
    first = post(api, "batch-2", [line(1), line(2)])
    before = queued(api)
    again = post(api, "batch-2", [line(1), line(2)])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replayed"] is True
    assert again.json()["lines"] == first.json()["lines"]
    assert queued(api) == before == 2


def test_the_same_lines_under_another_key_are_a_duplicate_file(api: ApiConsole) -> None:
    post(api, "batch-3", [line(1)])
    r = post(api, "batch-4", [line(1)])
    assert r.status_code == 200
    assert r.json()["duplicate_of"]["name"] == "api-batch-3"
    assert queued(api) == 1


def test_a_files_view_lists_later_copies_of_it_once_each(api: ApiConsole) -> None:
    first = post(api, "batch-10", [line(1)]).json()
    post(api, "batch-11", [line(1)])
    post(api, "batch-11", [line(1)])  # a retry of the copy: the same upload
    with api.client() as c:
        r = c.get(f"/api/v1/files/{first['file']['id']}")
    (copy,) = r.json()["duplicate_uploads"]
    assert copy["name"] == "api-batch-11"
    assert "posted as api-batch-10" in copy["reason"] and copy["received_at"]


def test_a_key_reused_for_other_lines_is_refused(api: ApiConsole) -> None:
    post(api, "batch-5", [line(1)])
    r = post(api, "batch-5", [line(2)])
    assert r.status_code == 409
    assert_error(r.json(), "idempotency_key_reused", "Idempotency-Key")
    assert queued(api) == 1


def test_a_post_without_an_idempotency_key_is_refused(api: ApiConsole) -> None:
    with api.client() as c:
        r = c.post("/api/v1/shipments", json={"shipments": [line(1)]})
    assert r.status_code == 400
    assert_error(r.json(), "idempotency_key_required", "Idempotency-Key")
    assert queued(api) == 0


def test_an_unknown_field_is_refused_with_its_place(api: ApiConsole) -> None:
    r = post(api, "batch-6", [line(1), {**line(2), "trackng": "1Z"}])
    assert r.status_code == 422
    assert_error(r.json(), "invalid_request", "shipments.1.trackng")


def test_another_sellers_order_and_file_are_not_found(api: ApiConsole) -> None:
    posted = post(api, "acme-1", [line(7)]).json()
    with api.client(GLOBEX_TOKEN) as c:
        order_answer = c.get(f"/api/v1/orders/{order(7)}")
        file_answer = c.get(f"/api/v1/files/{posted['file']['id']}")
        missing = c.get("/api/v1/orders/111-9999999-9999999")
    assert order_answer.status_code == file_answer.status_code == missing.status_code == 404
    assert order_answer.json() == missing.json()
    assert_error(order_answer.json(), "not_found", None)


def test_an_order_shows_its_lines_and_their_history(api: ApiConsole) -> None:
    post(api, "batch-7", [line(8)])
    ids = [ln.id for ln in api.ledger.queued_lines("acme", 10)]
    api.ledger.mark_confirmed_elsewhere(ids, "Amazon shows it shipped")
    with api.client() as c:
        r = c.get(f"/api/v1/orders/{order(8)}")
    assert r.status_code == 200
    (ln,) = r.json()["lines"]
    assert (ln["status"], ln["file_name"]) == ("confirmed", "api-batch-7")
    assert [(e["from_status"], e["to_status"]) for e in ln["events"]] == [("in_queue", "confirmed")]


def test_a_files_status_says_its_counts(api: ApiConsole) -> None:
    posted = post(api, "batch-8", [line(1), line(2, order_id="nope")]).json()
    with api.client() as c:
        r = c.get(f"/api/v1/files/{posted['file']['id']}")
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["rejected"], body["all_lines_ended"]) == (1, 1, False)


def test_the_queue_lists_only_the_callers_lines_filtered_by_status(api: ApiConsole) -> None:
    post(api, "acme-q", [line(1), line(2)])
    post(api, "globex-q", [line(3)], token=GLOBEX_TOKEN)
    with api.client() as c:
        everything = c.get("/api/v1/queue").json()
        confirmed = c.get("/api/v1/queue", params={"status": "confirmed"}).json()
        bad = c.get("/api/v1/queue", params={"status": "nonsense"})
    assert {r["order_id"] for r in everything["rows"]} == {order(1), order(2)}
    assert everything["counts"]["in_queue"] == 2
    assert confirmed["rows"] == []
    assert bad.status_code == 422
    assert_error(bad.json(), "invalid_request", "status")


def test_the_openapi_document_is_served(api: ApiConsole) -> None:
    with api.client(token=None) as c:
        r = c.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert "/shipments" in r.json()["paths"]


def test_the_queue_searches_by_order_id_as_the_queue_page_does(api: ApiConsole) -> None:
    post(api, "acme-s", [line(1), line(2)])
    with api.client() as c:
        found = c.get("/api/v1/queue", params={"q": order(2)}).json()
    assert [r["order_id"] for r in found["rows"]] == [order(2)]


def test_a_line_naming_an_order_amazon_does_not_have_is_accepted_with_a_warning(
    api: ApiConsole,
) -> None:
    market = api.settings.seller("acme").marketplace_id
    save_not_found(api.ledger, "acme", market, [order(1)], datetime.now(UTC))
    r = post(api, "k-unknown", [line(1), line(2)])
    assert r.status_code == 201
    first, second = r.json()["lines"]
    assert first["verdict"] == second["verdict"] == "accepted"
    unknown = [w for w in first.get("warnings", []) if w["field"] == "order_id"]
    assert [w["value"] for w in unknown] == [order(1)]
    assert unknown[0]["reason"].startswith(NOT_FOUND)
    assert not [w for w in second.get("warnings", []) if w["field"] == "order_id"]


def test_a_replayed_post_warns_of_the_unknown_order_again(api: ApiConsole) -> None:
    market = api.settings.seller("acme").marketplace_id
    save_not_found(api.ledger, "acme", market, [order(1)], datetime.now(UTC))
    first = post(api, "k-again", [line(1)]).json()
    again = post(api, "k-again", [line(1)]).json()
    assert again["replayed"] is True
    assert "order_id" in [w["field"] for w in again["lines"][0]["warnings"]]
    assert again["lines"] == first["lines"]
