"""Shared pytest fixtures. Each block belongs to one part of shipfeed; add, don't rewrite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# -- ledger: every ledger test runs on SQLite and on PostgreSQL -----------------------
from ledger_db import BACKENDS, ledger_db_url

from processors.ledger.store import Ledger


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database, on each backend in turn."""
    with ledger_db_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """A migrated, empty ledger (max_resends=3) on each backend in turn."""
    lg = Ledger.open(ledger_url, max_resends=3)
    try:
        yield lg
    finally:
        lg.close()


# -- ingest: a real OpenSSH sshd on loopback (tests/sshd.py), for SFTP inbox tests -----
from sshd import sshd_password_server, sshd_server  # noqa: E402, F401

# -- lifecycle: simulator + ledger + inbox/outbox world (tests/lifecycle_support.py) ----
# isort: split
from lifecycle_support import world, world_factory  # noqa: E402, F401

# -- email: a real SMTP server on loopback (tests/smtp_support.py) ----------------------
from smtp_support import smtp  # noqa: E402, F401

# -- console: the web console on a real uvicorn server (tests/console_support.py) --------
# isort: split
from console_support import console  # noqa: E402, F401

# -- console in a browser: Debian's headless Chromium (tests/browser_support.py) -------
# isort: split
from browser_support import browser  # noqa: E402, F401

# -- spec: Amazon's official files from SHIPFEED_AMAZON_SPEC (tests/amazon_spec.py) ------
# isort: split
from amazon_spec import summary_line  # noqa: E402


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once, not per test, that the checks against Amazon's files did not run, and why."""
    reasons = [
        str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
        for report in terminalreporter.stats.get("skipped", [])
    ]
    line = summary_line(reasons)
    if line is not None:
        terminalreporter.write_line(line, yellow=True, bold=True)


# -- alerts: a local webhook receiver for apprise's json:// (tests/alert_support.py) -----
from alert_support import webhook  # noqa: E402, F401

# -- console API: a console with API tokens for acme and globex (tests/api_support.py) --
from api_support import api  # noqa: E402, F401
