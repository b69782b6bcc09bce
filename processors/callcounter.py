"""This process's SP-API calls, added to the ledger every few seconds (ledger/callcounts.py).

The transport reports each attempt to feeds/spapi/callstats.py; this observer only bumps
a counter in memory, so a call to Amazon never waits for the ledger. A daemon thread adds
what was counted since the last time in one upsert, at most every ``every`` seconds and
only when something was counted; closing adds the rest. If the ledger refuses, the counts
are kept and added next time: /metrics may lag, but loses nothing while the process lives.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from feeds.spapi import callstats
from processors.ledger import callcounts
from processors.ledger.store import Ledger

log = logging.getLogger(__name__)

#: How often a worker adds its counts to the ledger: /metrics lags the calls by this much.
FLUSH_SECONDS = 5.0


def process_name() -> str:
    """Unique per process start, across machines: host, pid and start time."""
    started = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{started}"


class CallCounter:
    def __init__(
        self,
        ledger: Ledger,
        *,
        every: float = FLUSH_SECONDS,
        process: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger = ledger
        self.every = every
        self.process = process or process_name()
        self.clock = clock
        self._pending: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # the thread and close() never add the same counts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spapi-call-counts", daemon=True)
        self._unobserve: Callable[[], None] | None = None

    def start(self) -> CallCounter:
        self._unobserve = callstats.add_observer(self._count)
        self._thread.start()
        return self

    def _count(self, operation: str, outcome: str) -> None:
        with self._lock:
            self._pending[(operation, outcome)] += 1

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.flush()

    def flush(self) -> None:
        """Add the counts gathered since the last flush to the ledger (none: no write)."""
        with self._flushing:
            with self._lock:
                taken, self._pending = self._pending, Counter()
            if not taken:
                return
            try:
                callcounts.add(self.ledger, self.process, taken, self.clock())
            except Exception as exc:  # the ledger is down: keep them for the next time
                with self._lock:
                    self._pending.update(taken)
                log.warning("SP-API call counts not recorded yet: %s", type(exc).__name__)

    def close(self) -> None:
        """Stop counting and add what is left (before the ledger closes)."""
        if self._unobserve is not None:
            self._unobserve()
            self._unobserve = None
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.flush()
