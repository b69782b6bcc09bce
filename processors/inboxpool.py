"""Poll the sellers' inboxes and outboxes side by side, each seller waited for a bounded time.

One seller at a time meant one unreachable SFTP server (connect timeouts, reconnect
backoff) delayed every other seller by minutes. Here each seller's call runs on a pool
of ``size`` threads; a pass waits for each call at most ``timeout`` seconds from the
moment it started. A call still running then is *late*: the pass ends without it, the
caller records that in the seller's health, and the seller is left out of later passes
until its call returns (a thread cannot be killed; the SFTP connection's own timeouts end
it). So a dead server costs only its own seller's time, plus at most one pool thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: How often a pass waiting for slow sellers looks whether the run is stopping.
STOP_CHECK_SECONDS = 0.2


@dataclass
class PassResult:
    """What one pass did: sellers whose call finished, ran late, or was still running
    from an earlier pass (and so was not started again)."""

    finished: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    still_running: list[str] = field(default_factory=list)


class SellerPool:
    def __init__(
        self, size: int, *, name: str = "inbox", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size = size
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, Future[None]] = {}
        self._started: dict[str, float] = {}

    def run(
        self,
        calls: Mapping[str, Callable[[], None]],
        timeout: float,
        stop: threading.Event | None = None,
    ) -> PassResult:
        """Run each seller's call; return when every one has finished or is late, or at
        once when ``stop`` is set (the run is stopping: SIGTERM is honoured within
        seconds, whatever a server does; the calls still running count as late).

        A call's own exception is its business (wrap it in the StepRunner): here it only
        ends the call.
        """
        result = PassResult()
        mine: dict[str, Future[None]] = {}
        with self._lock:
            for seller, call in calls.items():
                if seller in self._running:
                    result.still_running.append(seller)
                    continue
                mine[seller] = self._running[seller] = self._pool.submit(self._timed, seller, call)
        pending = dict(mine)
        while pending:
            if stop is not None and stop.is_set():
                for f in pending.values():
                    f.cancel()  # not started yet: never will
                result.late.extend(sorted(s for s, f in pending.items() if not f.cancelled()))
                break
            late = self._late(pending, timeout)
            waiting = [f for s, f in pending.items() if s not in late]
            if not waiting or self._pool_held_by(late, pending):
                result.late.extend(sorted(late))
                break
            wait_for = min(self._next_due(pending, timeout), STOP_CHECK_SECONDS)
            done, _ = wait(waiting, timeout=wait_for, return_when=FIRST_COMPLETED)
            for seller in [s for s, f in pending.items() if f in done]:
                result.finished.append(seller)
                del pending[seller]
        return result

    def _timed(self, seller: str, call: Callable[[], None]) -> None:
        with self._lock:
            self._started[seller] = self._clock()
        try:
            call()
        except Exception:  # the service's calls report their own errors; this is a bug
            log.exception("%s: the poll raised past its step", seller)
        finally:
            with self._lock:
                self._running.pop(seller, None)
                self._started.pop(seller, None)

    def _late(self, pending: Mapping[str, Future[None]], timeout: float) -> set[str]:
        now = self._clock()
        with self._lock:
            return {
                s
                for s in pending
                if s in self._started
                and now - self._started[s] >= timeout
                and not pending[s].done()
            }

    def _pool_held_by(self, late: set[str], pending: Mapping[str, Future[None]]) -> bool:
        """Every thread is busy with a late call, and the rest wait for a thread."""
        with self._lock:
            queued = [s for s in pending if s not in self._started and not pending[s].done()]
        return bool(queued) and len(late) >= self.size

    def _next_due(self, pending: Mapping[str, Future[None]], timeout: float) -> float:
        now = self._clock()
        with self._lock:
            ends = [self._started[s] + timeout - now for s in pending if s in self._started]
        return max(0.05, min(ends, default=timeout))

    def close(self) -> None:
        """Start nothing more; calls under way end on their own (their boxes are closed
        by the service, which ends a stuck SFTP call)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
