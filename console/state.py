"""What every page reads: the settings, the secrets (for logins), the ledger and the
sellers' outboxes (for report downloads)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from config.settings import Secrets, Settings
from console.reports import Outboxes
from processors.ledger.store import Ledger


@dataclass(frozen=True, slots=True)
class ConsoleState:
    settings: Settings
    secrets: Secrets
    ledger: Ledger
    outboxes: Outboxes


def state(request: Request) -> ConsoleState:
    found: ConsoleState = request.app.state.console
    return found
