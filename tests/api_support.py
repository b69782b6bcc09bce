"""A real console with API tokens for two sellers (acme, globex): uvicorn on a free
loopback port over a real ledger, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from console_support import console_secrets, console_settings
from ledger_db import BACKENDS, ledger_db_url

from config.settings import Secrets, Settings
from console.api.tokens import new_token
from console.serve import ConsoleThread
from processors.ledger.store import Ledger

ACME_TOKEN, ACME_HASH = new_token()
GLOBEX_TOKEN, GLOBEX_HASH = new_token()


def api_secrets() -> Secrets:
    tokens = {
        "acme-erp": {"seller": "acme", "token_sha256": ACME_HASH},
        "globex-erp": {"seller": "globex", "token_sha256": GLOBEX_HASH},
    }
    return Secrets.model_validate({**console_secrets().model_dump(), "api": {"tokens": tokens}})


@dataclass
class ApiConsole:
    url: str
    ledger: Ledger
    settings: Settings

    def client(self, token: str | None = ACME_TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiConsole]:
    settings = console_settings(tmp_path / "data")
    secrets = api_secrets()
    with ledger_db_url(request.param, tmp_path) as url:
        ledger = Ledger.open(url)
        web = ConsoleThread(settings, secrets, ledger, "127.0.0.1", 0).start()
        try:
            yield ApiConsole(web.url, ledger, settings)
        finally:
            web.stop()
            ledger.close()
