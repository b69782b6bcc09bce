"""The service's health as `status` shows it: a refused Amazon login first, then failing
steps, then the last step error, read from the ledger's health table.

Kept apart from the line counts because a stalled queue looks the same whether Amazon is
slow or the login was revoked; these lines are what tells the two apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from processors.ledger import health
from processors.ledger.store import Ledger


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def health_data(ledger: Ledger) -> dict[str, Any]:
    rows = health.read(ledger)
    logins = [h for h in rows if health.is_login(h.component)]
    # The one login of a single-account service; with several accounts, a refused one.
    login = next((h for h in logins if h.state == health.REFUSED), None) or next(
        (h for h in logins if h.component == health.AMAZON_LOGIN), None
    )
    steps = [h for h in rows if h.component.startswith("step:")]
    errors = [h for h in steps if h.last_error_at is not None]
    last = max(errors, key=lambda h: h.last_error_at or h.since) if errors else None
    return {
        "amazon_login": None
        if login is None
        else {"state": login.state, "since": login.since, "last_error": login.last_error},
        # Each account's login (several accounts: one row each, "account": "acme@EU").
        "amazon_logins": [
            {
                "account": health.login_account(h.component),
                "state": h.state,
                "since": h.since,
                "last_error": h.last_error,
            }
            for h in logins
        ],
        "failing_steps": [
            {"step": h.component.removeprefix("step:"), "since": h.since, "error": h.last_error}
            for h in steps
            if not h.ok
        ],
        "last_step_error": None
        if last is None
        else {
            "step": last.component.removeprefix("step:"),
            "at": last.last_error_at,
            "message": last.last_error,
        },
    }


def health_lines(data: dict[str, Any]) -> list[str]:
    out = []
    for login in data["amazon_logins"]:
        if login["state"] != health.REFUSED:
            continue
        whose = f" for account {login['account']}" if login["account"] else ""
        out.append(
            f"Amazon login refused{whose} since {_when(login['since'])}: {login['last_error']}"
        )
    for f in data["failing_steps"]:
        out.append(f"step {f['step']} failing since {_when(f['since'])}: {f['error']}")
    last = data["last_step_error"]
    out.append(
        f"last step error: {last['step']} at {_when(last['at'])}: {last['message']}"
        if last
        else "last step error: none"
    )
    return out
