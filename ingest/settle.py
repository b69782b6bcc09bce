"""Deciding across scans whether a listed file is complete.

An upload in progress looks like any other file; the only signs are a changing size or
mtime, a temporary name, or (by convention) a missing ``FILE.done`` marker. A file is
offered only once it has been seen with the same size and mtime for ``settle_seconds``.

A folder on this machine shares our clock, so there a file whose mtime is already older
than ``settle_seconds`` when first seen has plainly not been written to for that long and
is offered at once (files waiting when the service starts need no second scan). A remote
server's clock may run behind ours, which would make a file being uploaded look old, so
SFTP inboxes keep to the across-scans rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ingest.inbox import InboxFile, RefusedFile
from ingest.names import DONE_SUFFIX, NameFilter


@dataclass(slots=True)
class _Seen:
    size: int
    mtime: float
    since: float  # monotonic time it was first seen with this size and mtime


class SettleTracker:
    """Remembers each name's size/mtime between scans; forgets names that disappear."""

    def __init__(
        self,
        settle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self.settle_seconds = max(0.0, settle_seconds)
        self._clock = clock
        self._wall_clock = wall_clock  # set only where mtimes come from our own clock
        self._seen: dict[str, _Seen] = {}

    def update(self, listed: Iterable[InboxFile], marked_done: set[str]) -> list[InboxFile]:
        """Record one scan; return the files complete now (marked done, or settled)."""
        now = self._clock()
        ready: list[InboxFile] = []
        current: dict[str, _Seen] = {}
        for f in listed:
            prev = self._seen.get(f.name)
            if prev is not None and prev.size == f.size and prev.mtime == f.mtime:
                seen = prev
            elif self._wall_clock is not None and self._wall_clock() - f.mtime >= (
                self.settle_seconds
            ):
                seen = _Seen(f.size, f.mtime, now - self.settle_seconds)
            else:
                seen = _Seen(f.size, f.mtime, now)
            current[f.name] = seen
            if f.name in marked_done or now - seen.since >= self.settle_seconds:
                ready.append(f)
        self._seen = current
        return sorted(ready, key=lambda f: (f.mtime, f.name))

    def next_due(self) -> float | None:
        """Seconds until the earliest waiting file may have settled; None if none waits."""
        now = self._clock()
        waits = [s.since + self.settle_seconds - now for s in self._seen.values()]
        pending = [w for w in waits if w > 0]
        return min(pending) if pending else None

    def settling(self) -> int:
        """How many listed files are still waiting to settle."""
        now = self._clock()
        return sum(1 for s in self._seen.values() if now - s.since < self.settle_seconds)

    def forget(self, name: str) -> None:
        self._seen.pop(name, None)


def settle_listing(
    tracker: SettleTracker,
    listed: list[InboxFile],
    names: set[str],
    problems: dict[str, str],
    *,
    done_marker: bool,
    names_taken: NameFilter | None = None,
) -> tuple[list[InboxFile], list[RefusedFile]]:
    """One scan of an inbox, local or SFTP alike: (files ready to claim, files refused).

    ``names`` is every name the folder listed (the ``FILE.done`` markers among them);
    ``problems`` maps a listed name the service will not take to why. A refused file is
    reported only once it has settled, so a file still being uploaded is not quarantined.
    A file ``names_taken`` leaves out (the seller's include/exclude patterns) is neither."""
    if names_taken is not None:
        listed = [f for f in listed if names_taken.takes(f.name)]
    done: set[str] = set()
    if done_marker:
        done = {f.name for f in listed if f.name + DONE_SUFFIX in names}
    settled = tracker.update(listed, done)
    refused = [
        RefusedFile(f.name, f.size, f.mtime, problems[f.name])
        for f in settled
        if f.name in problems
    ]
    return [f for f in settled if f.name not in problems], refused
