"""A list of line problems that spills to disk, so a million bad lines cost no memory.

A file that is wrong throughout (a shifted column, the wrong date format) produces one
error per line; holding a million LineErrors would cost hundreds of megabytes for a
report that is written once, in order. The first few thousand stay in memory (the common
case: a handful of typos); past that they go to an anonymous temporary file as JSON lines.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Generic, TypeVar

from feeds.model import LineError, LineWarning

P = TypeVar("P", LineError, LineWarning)

IN_MEMORY = 10_000


class ProblemLog(Generic[P]):
    """Append-only, iterable any number of times, in the order appended."""

    def __init__(self, kind: type[P], *, in_memory: int = IN_MEMORY) -> None:
        self._kind: type[P] = kind
        self._limit = in_memory
        self._items: list[P] = []
        self._spill: IO[str] | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def extend(self, problems: Iterable[P]) -> None:
        for p in problems:
            self._count += 1
            if self._spill is None and len(self._items) < self._limit:
                self._items.append(p)
                continue
            if self._spill is None:
                # Owned by the log and closed by close(): not a with-block's lifetime.
                self._spill = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
            self._spill.write(json.dumps([p.line, p.column, p.value, p.reason]) + "\n")

    def __iter__(self) -> Iterator[P]:
        yield from self._items
        spill = self._spill
        if spill is None:
            return
        spill.flush()
        spill.seek(0)
        for row in spill:
            line, column, value, reason = json.loads(row)
            yield self._kind(line, column, value, reason)
        spill.seek(0, 2)  # back to the end so later appends do not overwrite

    def head(self, n: int) -> list[P]:
        """The first ``n`` problems, without reading the spill file."""
        if n <= len(self._items):
            return self._items[:n]
        out: list[P] = []
        for p in self:
            if len(out) >= n:
                break
            out.append(p)
        return out

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None


def merge_warnings(
    warnings: list[LineWarning], duplicates: list[tuple[int, int]]
) -> list[LineWarning]:
    """A chunk's warnings with its repeated lines ((line, first line) pairs) among them,
    in line order (a line's own warnings first)."""
    if not duplicates:
        return warnings
    dup = [
        LineWarning(line, None, "", f"same as line {first}; confirmed once")
        for line, first in duplicates
    ]
    return sorted([*warnings, *dup], key=lambda w: w.line)
