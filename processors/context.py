"""What every lifecycle step needs, passed as one value so the service, the CLI and tests
build it once and the steps never reach for globals.

``clock`` is the time the steps judge by (stuck feeds, lookup margins); tests inject a
fake one, and should give the Ledger the same clock so both agree.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from config.settings import Settings
from feeds.spapi.client import SpApiClient
from processors.ledger.store import Ledger


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    ledger: Ledger
    client: SpApiClient
    simulated: bool  # True when talking to the built-in simulator
    clock: Callable[[], datetime] = field(default=_now)
    # Set when the run is stopping (SIGTERM, --timeout): steps start no new feed.
    stop: threading.Event = field(default_factory=threading.Event)
