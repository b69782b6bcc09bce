"""A real console for tests: uvicorn on a free loopback port, over a real ledger (SQLite
and PostgreSQL), with an operator account and a seller account for "acme".

Logins use real argon2 hashes made once per test session.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx
import pytest
from ledger_db import BACKENDS, ledger_db_url

from config.settings import Secrets, Settings
from console.auth import hash_password
from console.serve import ConsoleThread
from processors.ledger.store import Ledger

OPERATOR = ("olga", "operator password 1")
SELLER = ("sam", "seller password 2")  # a seller account of "acme"
SESSION_KEY = "console-session-key-for-tests-" + "k" * 20
LWA_SECRET = "lwa-client-secret-never-shown"


@cache
def _hashes() -> tuple[str, str]:
    return hash_password(OPERATOR[1]), hash_password(SELLER[1])


def console_secrets() -> Secrets:
    op, sel = _hashes()
    return Secrets(
        lwa_client_id="lwa-client-id-x",
        lwa_client_secret=LWA_SECRET,
        lwa_refresh_token="lwa-refresh-token-never-shown",
        console={
            "session_key": SESSION_KEY,
            "accounts": {
                OPERATOR[0]: {"password_hash": op, "role": "operator"},
                SELLER[0]: {"password_hash": sel, "role": "seller", "seller": "acme"},
            },
        },
    )


def console_settings(data_dir: Path) -> Settings:
    sellers = [
        {
            "name": name,
            "merchant_id": f"M-{name}",
            "marketplace_id": market,
            "inbox": str(data_dir / name / "inbox"),
            "outbox": str(data_dir / name / "outbox"),
        }
        for name, market in (("acme", "ATVPDKIKX0DER"), ("globex", "A1PA6795UKMFR9"))
    ]
    return Settings(data_dir=data_dir, sellers=sellers)


@dataclass
class Console:
    url: str
    ledger: Ledger
    settings: Settings
    secrets: Secrets

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)

    @contextmanager
    def login(self, who: tuple[str, str] = OPERATOR) -> Iterator[httpx.Client]:
        with self.client() as c:
            form = c.get("/login")
            r = c.post(
                "/login",
                data={"username": who[0], "password": who[1], "csrf_token": csrf_of(form.text)},
            )
            assert r.status_code == 303, r.text
            yield c


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "the page has no CSRF token"
    return m.group(1)


@pytest.fixture(params=BACKENDS)
def console(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    settings = console_settings(tmp_path / "data")
    secrets = console_secrets()
    with ledger_db_url(request.param, tmp_path) as url:
        ledger = Ledger.open(url)
        web = ConsoleThread(settings, secrets, ledger, "127.0.0.1", 0).start()
        try:
            yield Console(web.url, ledger, settings, secrets)
        finally:
            web.stop()
            ledger.close()
