"""The console inside the service: `[web] enabled = true` serves it on loopback beside
the service's steps, on the service's own ledger, and stops with it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from config.settings import Secrets, Settings
from processors.service import Service


def test_the_service_serves_the_console_on_loopback_when_enabled(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, web={"enabled": True, "port": 0})
    with Service.start(settings, Secrets(), watch=False) as service:
        url = service.web.url
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/login").status_code == 200
        assert httpx.get(f"{url}/queue").status_code == 303  # a login first
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/login")


def test_the_service_serves_no_console_unless_enabled(tmp_path: Path) -> None:
    with Service.start(Settings(data_dir=tmp_path), Secrets(), watch=False) as service:
        assert service.web is None


def test_the_generated_session_key_is_kept_private(tmp_path: Path) -> None:
    from console.sessionkey import KEY_FILE, session_key

    first = session_key(Secrets(), tmp_path)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert session_key(Secrets(), tmp_path) == first  # a restart keeps the logins
