"""/healthz and /readyz: for a load balancer or a supervisor, without a login.

/healthz says the process answers. /readyz says shipfeed can do its work: the ledger
answers, Amazon accepts the login (as the service last recorded it), and every seller's
inbox was polled recently. Both carry states and times only, never order data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from processors.alertsources import INBOX_PREFIX
from processors.ledger import health
from processors.ledger.store import Ledger

router = APIRouter()

#: An inbox counts as polled recently within this many scan intervals (one missed scan
#: is not an outage), and never less than a minute.
SCANS_ALLOWED = 3
MIN_WINDOW = timedelta(minutes=1)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    st = request.app.state.console
    checks = readiness(st.ledger, [s.name for s in st.settings.sellers], _window(st))
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


def _window(st: Any) -> timedelta:
    scan = timedelta(seconds=st.settings.service.inbox_scan_seconds)
    return max(MIN_WINDOW, SCANS_ALLOWED * scan)


def readiness(ledger: Ledger, sellers: list[str], window: timedelta) -> dict[str, dict[str, Any]]:
    try:
        with ledger.reading() as conn:
            conn.execute(text("SELECT 1"))
        rows = {h.component: h for h in health.read(ledger)}
    except Exception as exc:
        return {
            "ledger": {"ok": False, "reason": f"the ledger does not answer ({type(exc).__name__})"}
        }
    checks: dict[str, dict[str, Any]] = {"ledger": {"ok": True}}
    refused = [
        h for h in rows.values() if health.is_login(h.component) and h.state == health.REFUSED
    ]
    if refused:  # any account's (several accounts: each has its own login row)
        login = refused[0]
        account = health.login_account(login.component)
        whose = f"account {account} " if account else ""
        checks["amazon_login"] = {
            "ok": False,
            "reason": f"{whose}refused since {login.since.isoformat()}",
        }
    else:
        checks["amazon_login"] = {"ok": True}
    now = datetime.now(UTC)
    for s in sellers:
        row = rows.get(INBOX_PREFIX + s)
        if row is None:
            check = {"ok": False, "reason": "never polled"}
        elif not row.ok:
            check = {"ok": False, "reason": f"polls failing since {row.since.isoformat()}"}
        elif now - row.updated_at > window:
            check = {"ok": False, "reason": f"last polled {row.updated_at.isoformat()}"}
        else:
            check = {"ok": True, "last_polled": row.updated_at.isoformat()}
        checks[f"inbox:{s}"] = check
    return checks
