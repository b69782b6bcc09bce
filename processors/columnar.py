"""The columnar convert path: a file's chunks read by polars, validated, folded, grouped
and rendered column-wise (feeds/columnar.py), with the outcome filled as the row path
fills it, so reports and feeds are byte for byte the same.

processors/convert.py takes this path for every text file ingest/columnar.py can read like
pandas does, and falls back to the row path for the others (and for a file that turns out
otherwise part way, starting it again: NotColumnar). polars is imported only here, on
first use, so a command that never converts a big file does not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from feeds.dateorder import FileDates
from feeds.packages import DigestIndex
from feeds.rules import RuleContext, _caches_for
from feeds.xmlfeed import FeedWriteError, FeedWriter
from ingest.columnar import ColumnarLayout, NotColumnar, columnar_chunks
from processors.problems import merge_warnings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import polars as pl

    from processors.convert import FileOutcome


class ColumnarPackages(Protocol):
    """One chunk's packages (feeds.columnar.ChunkPackages), without importing polars."""

    def __len__(self) -> int: ...

    def body_bytes(self) -> npt.NDArray[np.int64]: ...

    def render(self, start: int, stop: int, first_id: int, out: BinaryIO) -> None: ...


def columnar_packages(
    fh: BinaryIO,
    layout: ColumnarLayout,
    ctx: RuleContext,
    dates: FileDates,
    outcome: FileOutcome,
    progress: Callable[[int, int], None],
    chunk_rows: int,
) -> Iterator[ColumnarPackages]:
    """Each chunk's packages; ``outcome`` and ``dates`` filled as the row path fills them."""
    # polars' allocator (jemalloc) keeps freed pages for seconds by default: a 1M-line
    # convert then peaked at 225-235 MB instead of 185-195. Returning them at once costs
    # system time (page faults: 6.4-7.4 s became 9-10 s at 1M lines on the 2-core
    # machine); the 200 MB target wins. Only takes effect if polars was not imported yet.
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
    import polars as pl

    from feeds import columnar as col

    seen = DigestIndex()
    texts: dict[tuple[Any, ...], tuple[str, str]] = {}  # used by one chunk's grouping at a time
    columns = dict(outcome.info.columns) if outcome.info is not None else {}
    for frame, _records, done in columnar_chunks(fh, layout, chunk_rows):
        if frame.height == 0:
            progress(outcome.lines, done)
            continue
        # The date order from each distinct date text's first line: what FileDates.see
        # finds from every line, without a Python list of the chunk's cells.
        firsts = frame.select("line", "ship_date").filter(
            pl.col("ship_date").is_first_distinct()
        )  # in line order: the frame is
        order = dates.see(firsts["line"].to_list(), firsts["ship_date"].to_list())
        cctx = ctx if order == ctx.date_order else replace(ctx, date_order=order)
        result = col.validate_frame(frame, cctx, columns, _caches_for(cctx))
        bad = {e.line for e in result.errors}
        outcome.lines += frame.height
        outcome.rejected += len(bad)
        outcome.accepted += frame.height - len(bad)
        outcome.errors.extend(result.errors)
        kept, repeats = col.fold_duplicates(result.accepted, seen)
        outcome.duplicates += len(repeats)
        outcome.warnings.extend(merge_warnings(result.warnings, repeats))
        progress(outcome.lines, done)
        del frame, firsts, result  # only the kept lines live on, in the writer's hands
        yield _Grouped(kept, texts)
        del kept


class _Grouped:
    """A chunk's accepted lines, grouped into packages when first asked (by `convert`, in
    its writer thread: processors/convert.py), so grouping and rendering one chunk run
    beside the validation of the next. Pure work on the chunk's own frame."""

    def __init__(self, kept: pl.DataFrame, texts: dict[tuple[Any, ...], tuple[str, str]]) -> None:
        self._kept: pl.DataFrame | None = kept
        self._texts = texts
        self._packages: ColumnarPackages | None = None

    def _grouped(self) -> ColumnarPackages:
        if self._packages is None:
            from feeds import columnar as col

            assert self._kept is not None
            try:
                self._packages = col.group_packages(self._kept, self._texts)
            except FeedWriteError as exc:  # the row path refuses such a package in words
                raise NotColumnar(str(exc)) from exc
            self._kept = None
        return self._packages

    def __len__(self) -> int:
        return len(self._grouped())

    def body_bytes(self) -> npt.NDArray[np.int64]:
        return self._grouped().body_bytes()

    def render(self, start: int, stop: int, first_id: int, out: BinaryIO) -> None:
        self._grouped().render(start, stop, first_id, out)


def write_columnar(writer: FeedWriter, packages: ColumnarPackages) -> None:
    """Write a chunk's packages as the writer's one-by-one loop would."""
    if not len(packages):
        return
    lengths = packages.body_bytes()
    if not writer.fits_alone(int(lengths.max())):
        # A message too big for any part is refused with words by the row path.
        raise NotColumnar("a message is larger than a feed part may be")
    writer.add_rendered(lengths, packages.render)
