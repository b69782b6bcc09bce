"""Check a seller's file, or turn it into Order Fulfillment XML, without the service.

These are what a seller or operator runs by hand before trusting a file to the inbox
(``validate``) or to hand a feed to Seller Central themselves (``convert``). Both stream
the file chunk by chunk: reader → rules → package grouping (→ feed writer), so memory is
the same for a thousand lines and for a million. On two cores a forked worker reads and
validates while this process groups and writes (processors/readahead.py); rows travel as
plain tuples, never as one object per line, because object construction cost more than
validation itself. Either way the feeds and reports are byte for byte the same.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.settings import SellerSettings, Settings
from feeds.dateorder import DateOrder, DateOrderChanged, DateReading, FileDates
from feeds.errors import ConfigError, ExitCode, FileRejected
from feeds.model import LineError, LineWarning
from feeds.packages import CompactPackage, PackageGrouper
from feeds.rules import RuleContext
from feeds.xmlfeed import FeedWriter
from ingest.columnar import NotColumnar, SplitReader
from ingest.readers import FileInfo, RowReader, TextReader, open_reader, unreadable
from processors.columnar import ColumnarPackages, columnar_packages, write_columnar
from processors.problems import ProblemLog, merge_warnings
from processors.readahead import PARALLEL_MIN_BYTES, parallel_possible, validated_chunks
from processors.writebehind import WriteBehind

#: Rows per chunk: bigger is a little faster, smaller keeps peak memory lower.
#: (processors/intake.py reads with this.)
CHUNK_ROWS = 50_000

#: Rows per chunk of convert and validate, either path: at 50,000 the columnar path's peak
#: was 240 MB at a million lines (polars' working columns per chunk), at 25,000 under 200.
#: Packages are grouped per chunk, so both paths must cut the same chunks.
CONVERT_CHUNK_ROWS = 25_000

#: Files the columnar path could take that are smaller than this are split in plain
#: Python instead (ingest.columnar.SplitReader): importing polars costs more than
#: reading them. The row loop then decides every line, as it does for any file.
SPLIT_MAX_BYTES = 256 * 1024

#: progress(lines read so far, bytes read so far, file size in bytes)
Progress = Callable[[int, int, int], None]

#: One chunk's packages: tuples from the row loop, or columns from processors/columnar.py.
Packages = list[CompactPackage] | ColumnarPackages


@dataclass(frozen=True)
class _Progress:
    """The caller's progress callback with the file size bound in (or nothing)."""

    report: Progress | None
    size: int

    def __call__(self, lines: int, done: int) -> None:
        if self.report is not None:
            self.report(lines, done, self.size)


@dataclass
class FileOutcome:
    """What happened to one input file: counts, and every problem, in line order.

    ``errors`` and ``warnings`` spill to a temporary file past a bound; call ``close`` (or
    use the outcome as a context manager) to release it.
    """

    file: str
    info: FileInfo | None = None
    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    packages: int = 0
    file_error: str | None = None
    file_hint: str | None = None
    dates: DateReading | None = None  # how the file's dates were read, when it mattered
    outputs: list[Path] = field(default_factory=list)
    errors: ProblemLog[LineError] = field(default_factory=lambda: ProblemLog(LineError))
    warnings: ProblemLog[LineWarning] = field(default_factory=lambda: ProblemLog(LineWarning))

    @property
    def warning_count(self) -> int:
        """Every warning the seller is shown: the lines' own, and the file's (its dates
        were read by the setting because every one could be read both ways)."""
        file_level = 1 if self.dates is not None and self.dates.is_warning else 0
        return len(self.warnings) + file_level

    @property
    def exit_code(self) -> int:
        """0 every line valid, 1 some lines rejected, 2 the file itself rejected."""
        if self.file_error is not None:
            return ExitCode.FILE_REJECTED
        return ExitCode.LINES_NOT_CONFIRMED if self.rejected else ExitCode.OK

    def close(self) -> None:
        self.errors.close()
        self.warnings.close()

    def __enter__(self) -> FileOutcome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rule_context(
    settings: Settings, now: datetime | None = None, seller: SellerSettings | None = None
) -> RuleContext:
    """The validation rules as the settings configure them for ``seller`` (its own values
    where it sets them, else the global ones), in the seller's time zone."""
    v = settings.validation_for(seller)
    try:
        zone = ZoneInfo(v.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        where = (
            f"sellers.{seller.name}.timezone"
            if seller is not None and seller.timezone is not None
            else "validation.timezone"
        )
        raise ConfigError(
            f"{where} '{v.timezone}' is not a known time zone",
            hint="use an IANA name such as America/New_York or Europe/Paris",
        ) from exc
    return RuleContext(
        now=now or datetime.now(UTC),
        timezone=zone,
        future_tolerance=timedelta(minutes=v.future_tolerance_minutes),
        max_age=timedelta(days=v.max_age_days),
        strict_tracking=v.strict_tracking,
        date_order=v.date_order,
    )


def check_file(
    path: Path,
    settings: Settings,
    seller: SellerSettings | None = None,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
    parallel: bool | None = None,
    columnar: bool = True,
) -> FileOutcome:
    """Validate every line of ``path`` and group packages, writing nothing.

    ``parallel``: read and validate in a second process (None: when the machine has two
    cores and the file is big enough to be worth it). ``columnar``: take the column-wise
    path (processors/columnar.py) where the file allows it. The outcome is the same
    either way.
    """
    ctx = rule_context(settings, now, seller)
    start: DateOrder | None = None
    while True:
        outcome = FileOutcome(file=Path(path).name)
        try:
            with _gc_paused():
                for packages in _packages_of(
                    Path(path), seller, ctx, outcome, progress, parallel, start, columnar
                ):
                    outcome.packages += len(packages)
        except DateOrderChanged as again:
            outcome.close()
            start = again.order  # dates already read were read the wrong way round
            continue
        except NotColumnar:
            outcome.close()
            columnar = False  # a line polars reads otherwise than pandas: the plain way
            continue
        except BaseException:
            outcome.close()
            raise
        return outcome


def feed_target(source: Path, out: Path) -> Path:
    """Where the feed goes: ``out`` itself, or SOURCE-NAME.xml inside it when ``out`` is
    an existing folder (or is written with a trailing slash)."""
    if out.is_dir() or str(out).endswith(("/", os.sep)):
        return out / f"{Path(source).stem}.xml"
    return out


def convert_file(
    path: Path,
    out: Path,
    *,
    merchant_id: str,
    settings: Settings,
    max_messages: int | None = None,
    progress: Progress | None = None,
    seller: SellerSettings | None = None,
    now: datetime | None = None,
    parallel: bool | None = None,
    columnar: bool = True,
) -> FileOutcome:
    """Validate ``path`` and write its valid lines as feed XML at ``out``.

    One part is written to ``out``; when the feed must be split (max messages or Amazon's
    size guidance) parts go to ``out`` with a numeric suffix: feed-1.xml, feed-2.xml...
    Parts are written under temporary names and renamed when complete, so a crash or a
    rejected file never leaves a half feed under a name someone might upload. No XML is
    written when no line is valid (a feed needs at least one message). ``parallel`` and
    ``columnar`` as in :func:`check_file`: the feed is byte for byte the same either way.
    """
    ctx = rule_context(settings, now, seller)
    start: DateOrder | None = None
    while True:
        try:
            return _convert_once(
                Path(path),
                Path(out),
                merchant_id=merchant_id,
                settings=settings,
                max_messages=max_messages,
                progress=progress,
                seller=seller,
                ctx=ctx,
                parallel=parallel,
                start=start,
                columnar=columnar,
            )
        except DateOrderChanged as again:
            start = again.order  # dates already written were read the wrong way round
        except NotColumnar:
            columnar = False  # a line polars reads otherwise than pandas: the plain way


def _convert_once(
    path: Path,
    out: Path,
    *,
    merchant_id: str,
    settings: Settings,
    max_messages: int | None,
    progress: Progress | None,
    seller: SellerSettings | None,
    ctx: RuleContext,
    parallel: bool | None,
    start: DateOrder | None,
    columnar: bool,
) -> FileOutcome:
    """One pass of :func:`convert_file`, reading slash dates in ``start`` order first."""
    out.parent.mkdir(parents=True, exist_ok=True)
    outcome = FileOutcome(file=path.name)
    temps: list[Path] = []

    def open_part(index: int) -> BinaryIO:
        fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.{index}.", suffix=".tmp")
        temps.append(Path(name))
        return os.fdopen(fd, "wb")

    writer = FeedWriter(
        open_part,
        merchant_id=merchant_id,
        max_messages=max_messages or settings.feed.max_messages,
        max_bytes=settings.feed.max_bytes,
        document_version=settings.feed.document_version,
    )
    size = path.stat().st_size if path.exists() else 0
    threaded = parallel if parallel is not None else size >= SPLIT_MAX_BYTES
    try:
        with writer, _gc_paused(), WriteBehind(threaded and parallel_possible()) as behind:
            for packages in _packages_of(
                path, seller, ctx, outcome, progress, parallel, start, columnar
            ):
                if isinstance(packages, list):  # the row path's: it may add errors
                    behind.wait()
                    _write(writer, packages, outcome)
                else:
                    behind.submit(partial(_write, writer, packages, outcome))
            if outcome.file_error is not None:
                raise _Abandon
        parts = writer.close()
    except _Abandon:
        parts = []
    except BaseException:
        _remove(temps)
        outcome.close()
        raise
    if outcome.file_error is not None:
        _remove(temps)
        return outcome
    outcome.outputs = part_paths(out, len(parts))
    try:
        for temp, final in zip(temps, outcome.outputs, strict=True):
            os.replace(temp, final)
    except BaseException:
        _remove([t for t in temps if t.exists()])  # no hidden half-done feed stays behind
        raise
    return outcome


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a file streams through.

    Every chunk allocates hundreds of thousands of tuples that stay alive until the chunk
    is written; each allocation burst makes the collector rescan them all, which cost a
    quarter of convert's time. Nothing on this path builds reference cycles (rows, packages
    and errors are tuples and frozen values), so reference counting frees it all anyway.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Abandon(Exception):
    """The file was rejected part way: leave the writer without finishing a part."""


def part_paths(out: Path, count: int) -> list[Path]:
    """feed.xml for one part; feed-1.xml, feed-2.xml... when split."""
    if count <= 1:
        return [out][:count]
    return [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(1, count + 1)]


def _write(writer: FeedWriter, packages: Packages, outcome: FileOutcome) -> None:
    if not isinstance(packages, list):
        write_columnar(writer, packages)
        outcome.packages += len(packages)
        return
    failed = writer.add_compact_many(packages)
    outcome.packages += len(packages) - len(failed)
    for package, exc in failed:
        # Rules should have caught it; if not, the lines are refused, never silently lost.
        lines = package.lines
        outcome.errors.extend(LineError(n, None, package.order_id, str(exc)) for n in lines)
        outcome.rejected += len(lines)
        outcome.accepted -= len(lines)


def _packages_of(
    path: Path,
    seller: SellerSettings | None,
    ctx: RuleContext,
    outcome: FileOutcome,
    progress: Progress | None,
    parallel: bool | None = None,
    start: DateOrder | None = None,
    columnar: bool = False,
) -> Iterator[Packages]:
    """Read, validate and group ``path``; fill ``outcome``; yield packages chunk by chunk.

    A file-level rejection is recorded in ``outcome.file_error`` instead of raised, so the
    caller can still write the report that tells the seller what to fix. DateOrderChanged
    is raised: the caller starts again with the order it names; so is NotColumnar, and
    the caller starts again without the columnar path.
    """
    grouper = PackageGrouper()
    size = path.stat().st_size if path.exists() else 0
    try:
        with open(path, "rb") as fh:
            reader = open_reader(
                fh,
                path.name,
                column_map=seller.column_map if seller else None,
                sheet=seller.sheet if seller else None,
                chunk_rows=CONVERT_CHUNK_ROWS,
            )
            outcome.info = reader.info
            dates = FileDates(path.name, ctx.date_order, start)
            layout = (
                reader.columnar_layout() if columnar and isinstance(reader, TextReader) else None
            )
            if layout is not None and size >= SPLIT_MAX_BYTES:
                yield from columnar_packages(
                    fh, layout, ctx, dates, outcome, _Progress(progress, size), CONVERT_CHUNK_ROWS
                )
                outcome.dates = dates.reading()
                return
            if layout is not None:  # a small file: read without loading pandas or polars
                reader = cast(
                    RowReader, SplitReader(fh, layout, CONVERT_CHUNK_ROWS, reader.info.columns)
                )
                parallel = False
            if parallel is None:
                parallel = size >= PARALLEL_MIN_BYTES and parallel_possible()
            chunks = validated_chunks(reader, fh, ctx, dates, parallel=parallel)
            for rows_read, result, done in chunks:
                bad = {e.line for e in result.errors}
                outcome.lines += rows_read
                outcome.rejected += len(bad)
                outcome.accepted += rows_read - len(bad)
                outcome.errors.extend(result.errors)
                before = len(grouper.duplicate_lines)
                packages = grouper.add_rows(result.lines, result.rows)
                new_dups = grouper.duplicate_lines[before:]
                outcome.duplicates = grouper.duplicates
                outcome.warnings.extend(merge_warnings(result.warnings, new_dups))
                del grouper.duplicate_lines[:]  # the report has them now; keep memory flat
                if progress is not None:
                    progress(outcome.lines, done, size)
                yield packages
            outcome.dates = dates.reading()
    except FileRejected as exc:
        outcome.file_error = exc.reason
        outcome.file_hint = exc.hint
    except FileNotFoundError as exc:
        outcome.file_error = f"the file does not exist ({exc.filename})"
    except IsADirectoryError:
        outcome.file_error = "this is a folder, not a file"
    except (DateOrderChanged, NotColumnar):
        raise
    except Exception as exc:  # whatever else the file makes its reader raise rejects it
        rejected = unreadable(path.name, exc)
        if rejected is None:
            raise
        outcome.file_error = rejected.reason
        outcome.file_hint = rejected.hint


@contextlib.contextmanager
def convert_progress(path: Path) -> Iterator[Progress | None]:
    """A rich progress bar over the file's bytes when stdout is a terminal, else nothing."""
    if not sys.stdout.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[lines]:>10,} lines"),
        TimeRemainingColumn(),
    )
    with bar:
        task = bar.add_task(Path(path).name, total=None, lines=0)

        def update(lines: int, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None, lines=lines)

        yield update


def _remove(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
