"""A convert's columnar chunks grouped and written in a second thread, one chunk behind.

polars releases the GIL while it groups, renders and writes, so on two cores the writer
thread turns chunk N into feed XML while the caller reads and validates chunk N+1. At
most one chunk is in the writer's hands (memory: one more chunk), and writes keep file
order: a write starts only once the one before it has ended. An exception in the writer
is raised in the caller at its next submit, wait or exit.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType


class WriteBehind:
    """Run writes in order, each beside the caller's next step (or at once when off)."""

    def __init__(self, threaded: bool) -> None:
        self._pool = ThreadPoolExecutor(1, "shipfeed-writer") if threaded else None
        self._pending: Future[None] | None = None

    def submit(self, write: Callable[[], None]) -> None:
        """Start ``write`` once the previous write has ended; raise what that one raised."""
        self.wait()
        if self._pool is None:
            write()
            return
        self._pending = self._pool.submit(write)

    def wait(self) -> None:
        """Until the pending write (if any) has ended; raise what it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.wait()
            elif self._pending is not None:
                self._pending.exception()  # the caller's error wins; the write is done
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
