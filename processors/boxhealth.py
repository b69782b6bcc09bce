"""An outbox that records in the ledger's health table whether its writes work.

Reports and status notes are written from several steps; wrapping the outbox once
records every one of them, so the sellers page, /readyz and the "outbox unreachable"
alert see a failing SFTP outbox whichever step met it. A write that works refreshes the
record at most once a minute, to keep the ledger's writes few.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from ingest.inbox import Outbox
from processors.alertsources import OUTBOX_PREFIX
from processors.ledger import health
from processors.ledger.store import Ledger

REFRESH_SECONDS = 60.0


class RecordedOutbox:
    def __init__(
        self,
        outbox: Outbox,
        ledger: Ledger,
        seller: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.ledger = ledger
        self.component = OUTBOX_PREFIX + seller
        self.clock = clock
        self._last: tuple[str, float] | None = None

    def write(self, name: str, data: bytes) -> None:
        try:
            self.outbox.write(name, data)
        except Exception as exc:
            self._record(health.FAILING, f"{type(exc).__name__}: {exc}")
            raise
        self._record(health.OK)

    def read(self, name: str) -> bytes:
        return self.outbox.read(name)

    def sweep_temps(self, older_than_seconds: float) -> int:
        return self.outbox.sweep_temps(older_than_seconds)

    def close(self) -> None:
        self.outbox.close()

    def _record(self, state: str, error: str | None = None) -> None:
        now = self.clock()
        if (
            state == health.OK
            and self._last is not None
            and self._last[0] == state
            and now - self._last[1] < REFRESH_SECONDS
        ):
            return
        try:
            health.record(self.ledger, self.component, state, datetime.now(UTC), error)
        except Exception:  # the write's own outcome matters more than its record
            return
        self._last = (state, now)
