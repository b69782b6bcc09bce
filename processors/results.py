"""Writing what sellers read after intake: each file's result report and the status note.

A file's result report is written once, when every one of its lines has ended (the
ledger's files_to_report), and recorded with set_file_reports so it is never written
twice. It mirrors the seller's own file: the archived original is opened again through
the inbox (the ledger keeps its claim name), read with the same reader, and merged line
by line with the ledger's outcomes, both streamed in line order so memory does not grow
with the file. Every line of the file is in the ledger and the reverse (intake refuses a
file whose lines do not add up), so a line on one side only means the file is not the
one taken in: the report then falls back to the fields the ledger holds, with a note, as
it does when the original is gone (archive retention).

The status note (status.txt for people, status.json for machines) is each seller's
"status page": the counts and the orders someone must look at. It is rewritten only when
what it would say changes, so sellers' sync tools do not see a new file every minute.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from config.settings import SellerSettings
from feeds.errors import FileRejected, Stopping
from ingest.errors import InboxError
from ingest.inbox import Inbox, Outbox
from ingest.readers import open_reader
from processors import logs
from processors.inboxpool import SellerPool
from processors.intake import file_sha256
from processors.ledger.queries import (
    ATTENTION,
    FileLine,
    files_to_report,
    files_to_report_again,
    iter_file_lines,
    queue,
    status_counts,
)
from processors.ledger.records import FileRecord
from processors.ledger.store import Ledger
from processors.reports import (
    LEDGER_COLUMNS,
    SIMULATED_NOTE,
    ledger_cells,
    write_result_reports,
)

log = logging.getLogger(__name__)

RESULT_SUFFIXES = (".result.csv", ".result.xlsx", ".result.json")
DEFAULT_FORMATS = ("csv", "xlsx")
#: Lines that changed this long before the last look are looked at again: a status change
#: committed just as a report was written is not missed (the rewrite is idempotent).
RECHECK_MARGIN = timedelta(seconds=60)
STATUS_TXT, STATUS_JSON = "status.txt", "status.json"
ATTENTION_LIMIT = 500  # orders listed on the status note; the CLI shows the rest
_GOOD = {"confirmed", "duplicate", "superseded"}
_T = TypeVar("_T")


def result_report_names(input_name: str) -> tuple[str, str, str]:
    """NAME.result.csv, NAME.result.xlsx and NAME.result.json."""
    return (
        input_name + RESULT_SUFFIXES[0],
        input_name + RESULT_SUFFIXES[1],
        input_name + RESULT_SUFFIXES[2],
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    files: dict[str, bytes]  # report name -> content, in writing order
    counts: dict[str, int]
    note: str | None


_INSTEAD = "so this report shows the order fields shipfeed recorded instead of your own columns"
NOTE_NOT_RECORDED = f"where your original file was archived is not known, {_INSTEAD}"
NOTE_PURGED = (
    "your original file is no longer in the archive (removed after the retention period), "
    + _INSTEAD
)
NOTE_CHANGED = f"the archived copy of your file no longer matches what was received, {_INSTEAD}"
NOTE_UNMATCHED = (
    f"your archived file could not be read again line for line as it was taken in, {_INSTEAD}"
)


@dataclass(frozen=True, slots=True)
class ArchiveSource:
    """Where a seller's files are archived, and the settings they were read with (column
    map, sheet), so the original is read again exactly as at intake."""

    inbox: Inbox
    seller: SellerSettings


class UnmatchedLine(Exception):
    """The re-read file and the ledger disagree about which lines exist."""


def mirror_rows(
    rows: Iterable[tuple[int, list[str]]], outcomes: Iterable[FileLine]
) -> Iterator[tuple[list[str], FileLine]]:
    """Each original row's cells with its outcome, merged by line number, both in line order.

    A line with several outcomes in the ledger is repeated once per outcome. Raises
    UnmatchedLine for a line on one side only: every line is accounted for at intake, so
    that means the file read is not the one taken in (or the reader changed).
    """
    it = iter(rows)
    row = next(it, None)
    used = False
    for fl in outcomes:
        if row is not None and used and row[0] < fl.line:
            row, used = next(it, None), False
        if row is None or row[0] > fl.line:
            raise UnmatchedLine(f"line {fl.line} is in the ledger but not in the file")
        if row[0] < fl.line:
            raise UnmatchedLine(f"line {row[0]} of the file is not in the ledger")
        used = True
        yield row[1], fl
    if row is not None and used:
        row = next(it, None)
    if row is not None:
        raise UnmatchedLine(f"line {row[0]} of the file is not in the ledger")


class ReportWriter:
    def __init__(
        self,
        ledger: Ledger,
        outboxes: Mapping[str, Outbox],
        *,
        simulated: bool,
        sources: Mapping[str, ArchiveSource] | None = None,
        owns: Callable[[str], bool] = lambda _seller: True,
        pool: SellerPool | None = None,
        timeout: float = 120.0,
        stop: threading.Event | None = None,
    ):
        self.ledger = ledger
        self.outboxes = outboxes
        # With a pool, each seller's writes run side by side and a round waits for a
        # seller at most ``timeout`` seconds: a server that never answers (connect
        # timeouts times the attempts: over a minute) costs only its own sellers'
        # reports. Without one (tools, tests), one seller after another.
        self.pool = pool
        self.timeout = timeout
        self.stop = stop
        # The sellers this worker writes for now: those whose inbox lease it holds, so
        # that several workers on one ledger do not each upload every report
        # (processors/leasekeeper.py). A file whose seller changed hands is written by
        # the new holder, which looks at every file again when it gains a seller.
        self.owns = owns
        self._owned: frozenset[str] = frozenset()
        self.simulated = simulated
        self.sources: Mapping[str, ArchiveSource] = sources or {}
        self.any_not_confirmed = False  # some reported line ended other than confirmed
        self._last_note: dict[str, str] = {}
        # Where the look for files to report again starts: None at start, so a service
        # restarted after lines changed (an operator's resend or correct) finds them too.
        self._changes_seen: datetime | None = None

    def write_finished(self) -> list[str]:
        """Reports for every finished file of our sellers, and again for every reported
        file whose lines changed since; returns the names written (the first of each),
        in the files' order.

        A seller whose outbox or archive fails (an SFTP server down) is left for this
        round after its first failure, and the other sellers' reports are written: one
        dead server costs only its own sellers' reports. The first failure is raised once
        every other seller is done, so the step still shows failing until it passes.
        """
        owned = frozenset(s for s in self.outboxes if self.owns(s))
        # A seller just taken over: its changes before now were the old holder's to write,
        # which may have died first, so look at every file again.
        since = self._changes_seen if owned <= self._owned else None
        self._owned = owned
        due: dict[str, list[tuple[FileRecord, bool]]] = {}
        for f in files_to_report(self.ledger):
            if f.seller in owned:
                due.setdefault(f.seller, []).append((f, False))
        # Moved on only once every changed file is written: an outbox that fails half way
        # (an SFTP server down) leaves the rest to be found again next round.
        seen = self.ledger.clock() - RECHECK_MARGIN
        for f in files_to_report_again(self.ledger, since):
            if f.seller in owned:
                due.setdefault(f.seller, []).append((f, True))
        written = self._each_seller(
            {seller: functools.partial(self._write_all, files) for seller, files in due.items()}
        )
        self._changes_seen = seen
        return [name for _, name in sorted(n for names in written.values() for n in names)]

    def _write_all(self, files: list[tuple[FileRecord, bool]]) -> list[tuple[int, str]]:
        """One seller's due reports, in order; its first failure ends them for this round."""
        out = []
        for f, updated in files:
            name = self._write(f, updated=updated)
            if name is not None:
                out.append((f.id, name))
        return out

    def _each_seller(self, calls: Mapping[str, Callable[[], _T]]) -> dict[str, _T]:
        """Each seller's call: side by side on the pool if there is one, else in turn.
        Raises the first seller's failure, or that a seller ran late, once the others
        are done."""
        failed = _SellerFailures()
        results: dict[str, _T] = {}

        def call(seller: str, fn: Callable[[], _T]) -> None:
            result = failed.attempt(seller, fn)
            if result is not None:
                results[seller] = result

        if self.pool is None:
            for seller, fn in calls.items():
                call(seller, fn)
            failed.raise_first()
            return results
        done = self.pool.run(
            {seller: functools.partial(call, seller, fn) for seller, fn in calls.items()},
            self.timeout,
            self.stop,
        )
        failed.raise_first()
        late = sorted({*done.late, *done.still_running})
        if late:
            raise InboxError(
                f"outbox of {', '.join(late)} did not answer within {self.timeout:.0f} s",
                hint="its reports are written once it answers; the other sellers' are written",
            )
        return results

    def _write(self, f: FileRecord, *, updated: bool) -> str | None:
        outbox = self.outboxes.get(f.seller)
        if outbox is None:  # another worker's seller (shared PostgreSQL ledger)
            return None
        # Taken before rendering: a line changing while the report is written is newer
        # than the report, so the next round writes it again.
        at = self.ledger.clock()
        rendered = self.render(f, updated_at=at if updated else None)
        for name, data in rendered.files.items():
            outbox.write(name, data)
        first = next(iter(rendered.files))
        self.ledger.set_file_reports(f.id, first, f.error_report, reported_at=at)
        if set(rendered.counts) - _GOOD:
            self.any_not_confirmed = True
        logs.event(
            "result_report",
            seller=f.seller,
            file=f.name,
            report=first,
            again=updated or None,
            mirrored=rendered.note is None,
            **{f"n_{k}": v for k, v in sorted(rendered.counts.items())},
        )
        return first

    def formats(self, seller: str) -> list[str]:
        """The seller's report formats in writing order; JSON always (machines read it)."""
        source = self.sources.get(seller)
        wanted = source.seller.report_formats if source is not None else list(DEFAULT_FORMATS)
        return [f for f in ("csv", "xlsx", "json") if f in wanted or f == "json"]

    def render(self, f: FileRecord, *, updated_at: datetime | None = None) -> Rendered:
        """The result reports of one file (by name), the counts, and the note said when
        the seller's own columns could not be mirrored (None when they were).

        Errors reaching the archive (an SFTP server down) propagate: the file stays
        unreported and is tried again next round, rather than falling back for good.
        """
        source = self.sources.get(f.seller)
        note = NOTE_NOT_RECORDED
        if f.claim_name is not None and source is not None:
            try:
                with source.inbox.open_archived(f.claim_name) as stream:
                    if file_sha256(stream) != f.sha256:
                        note = NOTE_CHANGED
                    else:
                        reader = open_reader(
                            stream,
                            f.name,
                            column_map=source.seller.column_map or None,
                            sheet=source.seller.sheet,
                        )
                        with closing(iter_file_lines(self.ledger, f.id)) as outcomes:
                            rows = mirror_rows(reader.rows(), outcomes)
                            return self._rendered(f, reader.info.headers, rows, None, updated_at)
            except FileNotFoundError:
                note = NOTE_PURGED
            except (FileRejected, UnmatchedLine) as exc:
                log.error("%s: result report of %s cannot mirror it: %s", f.seller, f.name, exc)
                note = NOTE_UNMATCHED
        with closing(iter_file_lines(self.ledger, f.id)) as outcomes:
            rows = ((ledger_cells(fl), fl) for fl in outcomes)
            return self._rendered(f, LEDGER_COLUMNS, rows, note, updated_at)

    def _rendered(
        self,
        f: FileRecord,
        columns: Sequence[str],
        rows: Iterable[tuple[Sequence[str], FileLine]],
        note: str | None,
        updated_at: datetime | None,
    ) -> Rendered:
        formats = self.formats(f.seller)
        csv_buf, json_buf = io.BytesIO(), io.BytesIO()
        xlsx_buf = io.BytesIO() if "xlsx" in formats else None
        counts = write_result_reports(
            f.name,
            columns,
            rows,
            csv_buf,
            json_buf,
            simulated=self.simulated,
            note=note,
            xlsx_fh=xlsx_buf,
            updated_at=updated_at.isoformat(timespec="seconds") if updated_at else None,
        )
        data = {"csv": csv_buf, "xlsx": xlsx_buf, "json": json_buf}
        names = dict(zip(("csv", "xlsx", "json"), result_report_names(f.name), strict=True))
        files = {names[k]: b.getvalue() for k in formats if (b := data[k]) is not None}
        return Rendered(files, counts, note)

    def write_status_notes(self) -> None:
        """Each seller's status note, when what it says changed; a failing outbox does not
        hold up the others' (its first failure is raised after them, as above)."""
        self._each_seller(
            {
                seller: functools.partial(self._write_status_note, seller, outbox)
                for seller, outbox in self.outboxes.items()
                if self.owns(seller)
            }
        )

    def _write_status_note(self, seller: str, outbox: Outbox) -> None:
        note = status_note(self.ledger, seller, simulated=self.simulated)
        key = json.dumps({k: v for k, v in note.items() if k != "updated_at"}, default=str)
        if self._last_note.get(seller) == key:
            return
        outbox.write(STATUS_JSON, (json.dumps(note, indent=1, default=str) + "\n").encode())
        outbox.write(STATUS_TXT, status_text(note).encode("utf-8"))
        self._last_note[seller] = key


class _SellerFailures:
    """The sellers whose writes failed in one round, and the first failure of each.

    A stop (SIGTERM) is never held back: it ends the round at once.
    """

    def __init__(self) -> None:
        self.errors: dict[str, Exception] = {}

    def attempt(self, seller: str, fn: Callable[[], _T]) -> _T | None:
        """``fn()``, unless this seller already failed this round (then None)."""
        if seller in self.errors:
            return None
        try:
            return fn()
        except Stopping:
            raise
        except Exception as exc:
            log.warning("%s: reports not written this round: %s", seller, exc)
            self.errors[seller] = exc
            return None

    def raise_first(self) -> None:
        if self.errors:
            raise next(iter(self.errors.values()))


def status_note(ledger: Ledger, seller: str, *, simulated: bool) -> dict[str, Any]:
    counts = status_counts(ledger, seller)
    attention = []
    for status in ATTENTION:
        for r in queue(ledger, status=status, seller=seller, limit=ATTENTION_LIMIT).rows:
            attention.append(
                {
                    "order_id": r.order_id,
                    "order_item_id": r.order_item_id,
                    "status": r.status,
                    "since": (ledger.clock() - r.age).isoformat(timespec="seconds"),
                    "message": r.message,
                }
            )
    return {
        "seller": seller,
        "simulated": simulated,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "counts": counts.counts,
        "oldest_waiting_since": counts.oldest_waiting.isoformat(timespec="seconds")
        if counts.oldest_waiting
        else None,
        "needs_attention": attention,
    }


def status_text(note: Mapping[str, Any]) -> str:
    out = [f"shipfeed status for {note['seller']} at {note['updated_at']}"]
    if note["simulated"]:
        out.append(SIMULATED_NOTE)
    out.append("")
    for status, n in note["counts"].items():
        out.append(f"  {status:<16} {n}")
    items = note["needs_attention"]
    out.append("")
    out.append(f"Orders needing attention: {len(items)}" if items else "No order needs attention.")
    for a in items:
        item = f" item {a['order_item_id']}" if a["order_item_id"] else ""
        out.append(f"  {a['order_id']}{item} [{a['status']} since {a['since']}] {a['message']}")
    return "\r\n".join(out) + "\r\n"
