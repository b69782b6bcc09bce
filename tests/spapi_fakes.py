"""A scripted stand-in for Amazon behind httpx.MockTransport, for the SP-API unit tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from feeds.spapi.client import SpApiClient

ENDPOINT = "https://sellingpartnerapi-na.example"
TOKEN_URL = "https://lwa.example/auth/o2/token"
CLIENT_ID = "amzn1.application-oa2-client.CLIENTIDSECRET42"
CLIENT_SECRET = "s3cr3t-CLIENT-secret-value-7777"
REFRESH_TOKEN = "Atzr|REFRESH-token-secret-9999"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """A clock that only moves when the code under test sleeps (or the test says so)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


def raw_response(
    status: int, content: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A response whose body is streamed as is (no content-encoding decoding by httpx)."""
    return httpx.Response(status, headers=headers or {}, stream=httpx.ByteStream(content))


def error(status: int, code: str, message: str, details: str | None = None) -> httpx.Response:
    entry = {"code": code, "message": message}
    if details is not None:
        entry["details"] = details
    return json_response(status, {"errors": [entry]})


@dataclass
class FakeAmazon:
    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    token_answers: list[Answer] = field(default_factory=list)
    tokens_issued: int = 0
    expires_in: int = 3600

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Answer ``method path`` with ``answers`` in turn; the last one repeats."""
        self.routes[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url) != TOKEN_URL]

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if str(request.url) == TOKEN_URL:
            if self.token_answers:
                return self._answer(self.token_answers, request)
            self.tokens_issued += 1
            return json_response(
                200,
                {
                    "access_token": f"Atza|access-{self.tokens_issued}",
                    "token_type": "bearer",
                    "expires_in": self.expires_in,
                    "refresh_token": REFRESH_TOKEN,
                },
            )
        key = (request.method, request.url.path)
        if key not in self.routes:
            return error(404, "NotFound", f"no route {key}")
        return self._answer(self.routes[key], request)

    @staticmethod
    def _answer(queue: list[Answer], request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            # A fresh, unread copy each time, as a server would send it.
            return raw_response(answer.status_code, answer.content, dict(answer.headers))
        return answer(request)

    def client(self, clock: FakeClock | None = None, **kwargs: Any) -> SpApiClient:
        clock = clock or FakeClock()
        return SpApiClient(
            endpoint=ENDPOINT,
            token_url=TOKEN_URL,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token=REFRESH_TOKEN,
            transport=httpx.MockTransport(self.handler),
            clock=clock,
            sleep=clock.sleep,
            **kwargs,
        )


FEED_JSON = {
    "feedId": "50012345678",
    "feedType": "POST_ORDER_FULFILLMENT_DATA",
    "marketplaceIds": ["ATVPDKIKX0DER"],
    "createdTime": "2026-03-01T10:00:00Z",
    "processingStatus": "DONE",
    "resultFeedDocumentId": "amzn1.tortuga.3.report",
}
