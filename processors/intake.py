"""Intake: one claimed file → its lines in the ledger (one transaction) → an intake report.

The order of steps is what keeps a file from ever being "nowhere":

1. the file's sha256 first, so content seen before is recognised (DuplicateFile) and
   nothing is queued twice, even after a crash between commit and archive;
2. read + validate chunk by chunk into ONE open intake transaction (FileIntake), so a
   million lines land all or nothing;
3. the intake report to the outbox (counts, every rejected line, encoding, unknown
   columns, duplicates and conflicts found by the ledger);
4. only then archive (or quarantine a file rejected whole).

A file never stops the service, whatever its bytes do:

- anything a file makes its reader raise rejects that file (ingest.readers.unreadable):
  quarantined with a reason and a rejection report, and the other files go on;
- a workbook is read in a limited child process (ingest/xlsx_sandbox.py), so one that
  aborts or exhausts its reader kills only the child;
- a file that killed the process anyway is counted at each start (Inbox.start_attempt,
  a marker beside the claim that survives SIGKILL); once ``max_attempts`` processes have
  started it without reading it through, the next one quarantines it instead of reading
  it. A file read through (recorded, rejected or found a duplicate) is no longer counted
  (Inbox.read_through): a service killed afterwards, writing its reports, was not killed
  by the file, and an operator's restarts must not quarantine a good file;
- a file whose name the service will not take (a line break, too long...) is quarantined
  under a stand-in name and reported, never silently left in the inbox.

Any other unexpected exception (the ledger, the disk, the network) leaves the claim in
processing/: the next run resumes it, and the sha256 check makes that safe whether or not
the commit happened.

Several workers may share one inbox: each holds its claims (processors/ledger/
fileclaims.py) from before the rename into processing/ until the file has left it, so a
claim found there is resumed only when no live worker holds it.

Duplicate lines: the ledger decides (FileIntake compares each line with every queued,
sent or confirmed line of the seller, this file included), so the PackageGrouper's
in-file check of ``convert`` is not repeated here: it would drop lines before the ledger
could account for them.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO, TypeVar

from sqlalchemy import select

from config.settings import SellerSettings
from feeds.dateorder import DateOrder, DateOrderChanged, FileDates
from feeds.errors import FileRejected
from feeds.model import LineWarning
from ingest.inbox import ClaimedFile, Inbox, InboxFile, Outbox, RefusedFile, iter_chunks
from ingest.names import make_claim_name, original_name, printable_name
from ingest.readers import open_reader, unreadable
from processors.context import Context
from processors.convert import CHUNK_ROWS, FileOutcome, rule_context
from processors.ledger import uploads
from processors.ledger.errors import LedgerError
from processors.ledger.fileclaims import FileHold, try_hold
from processors.ledger.fileintake import FileIntake
from processors.ledger.queries import iter_file_lines
from processors.ledger.records import DuplicateFile, FileRecord
from processors.ledger.replaced import supersede_replaced
from processors.ledger.schema import lines
from processors.ledger.statuses import LineStatus
from processors.readahead import validated_chunks
from processors.reports import write_file_report_csv, write_file_report_json
from processors.unknownorders import intake_notes

log = logging.getLogger(__name__)
T = TypeVar("T")

#: A claimed file that this many processes started without finishing is quarantined by
#: the next one: a file that kills the process reading it must not do so forever.
MAX_ATTEMPTS = 3


@dataclass
class IntakeResult:
    file_id: int | None
    name: str
    accepted: int
    rejected: int
    duplicates: int
    conflicts: int
    duplicate_file: bool
    file_error: str | None
    report_names: list[str] = field(default_factory=list)

    @classmethod
    def taken_in(cls, record: FileRecord, name: str, report_names: list[str]) -> IntakeResult:
        """A file whose lines the ledger holds, with the counts it recorded."""
        return cls(
            file_id=record.id,
            name=name,
            accepted=record.accepted,
            rejected=record.rejected,
            duplicates=record.duplicates,
            conflicts=record.conflicts,
            duplicate_file=False,
            file_error=None,
            report_names=report_names,
        )

    @classmethod
    def nothing_queued(
        cls, file_id: int | None, name: str, why: str, report_names: list[str], *, same_as: bool
    ) -> IntakeResult:
        """A file none of whose lines were queued: rejected whole, or content seen before."""
        return cls(
            file_id=file_id,
            name=name,
            accepted=0,
            rejected=0,
            duplicates=0,
            conflicts=0,
            duplicate_file=same_as,
            file_error=why,
            report_names=report_names,
        )


def intake_report_names(input_name: str, again_at: datetime | None = None) -> tuple[str, str]:
    """NAME.intake.csv and NAME.intake.json: next to the seller's name, never clashing
    with the final result report. ``again_at``: the same file uploaded again, whose
    report must not replace the first one's (NAME.again-YYYYMMDDTHHMMSSZ.intake.csv)."""
    if again_at is not None:
        input_name = f"{input_name}.again-{again_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{input_name}.intake.csv", f"{input_name}.intake.json"


def file_sha256(stream: BinaryIO) -> str:
    stream.seek(0)
    digest = hashlib.sha256()
    for chunk in iter_chunks(stream):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def intake_ready(
    ctx: Context,
    seller: SellerSettings,
    inbox: Inbox,
    outbox: Outbox,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    left_claimed: list[str] | None = None,
) -> list[IntakeResult]:
    """Resume files left in processing/ by a crash, then claim and take in what is ready;
    quarantine and report what is ready but named so that it cannot be taken.

    Every file taken here is held for this worker (processors/ledger/fileclaims.py) from
    before its claim until it is done with: a file in processing/ that another live worker
    holds is that worker's, not a leftover, and is left alone.

    A file that fails unexpectedly is logged and left claimed; the others still go in.
    Its name is added to ``left_claimed``, so the service can count the step as failed.
    """
    results: list[IntakeResult] = []
    todo: list[tuple[ClaimedFile, FileHold, bool]] = []
    try:
        todo.extend((claimed, hold, True) for claimed, hold in _leftovers(ctx, seller, inbox))
        for f in inbox.ready():
            got = _claim(ctx, seller, inbox, f)
            if got is not None:
                todo.append((*got, False))
        for refused in inbox.refused():
            try:
                results.append(_refuse_name(ctx, seller, inbox, outbox, refused))
            except Exception:
                log.exception(
                    "%s: could not quarantine %s", seller.name, printable_name(refused.name)
                )
        for claimed, hold, resumed in todo:
            if ctx.stop.is_set():  # stopping: the rest stay claimed and are resumed next run
                break
            try:
                results.append(
                    intake_file(
                        ctx,
                        seller,
                        inbox,
                        outbox,
                        claimed,
                        resumed=resumed,
                        max_attempts=max_attempts,
                    )
                )
            except Exception:
                log.exception(
                    "%s: intake of %s interrupted; it stays in processing and is resumed next run",
                    seller.name,
                    claimed.name,
                )
                if left_claimed is not None:
                    left_claimed.append(claimed.name)
            finally:
                hold.release()
    finally:
        for _, hold, _ in todo:  # what a stop or an error left: resumed by whoever looks
            hold.release()
    return results


def _leftovers(
    ctx: Context, seller: SellerSettings, inbox: Inbox
) -> list[tuple[ClaimedFile, FileHold]]:
    """The files in processing/ that no live worker holds, each held now for this one.

    A file that another worker finished between the listing and the hold has left
    processing/ by the time its hold is free, so the folder is listed again once the
    holds are taken, and only what is still there is resumed.
    """
    held: list[tuple[ClaimedFile, FileHold]] = []
    try:
        for claimed in inbox.claimed():
            hold = try_hold(ctx.ledger, seller.name, claimed.claim_name)
            if hold is not None:
                held.append((claimed, hold))
            else:
                log.debug("%s: %s is being taken in by another worker", seller.name, claimed.name)
        still = {c.claim_name for c in inbox.claimed()} if held else set()
    except BaseException:
        for _, hold in held:
            hold.release()
        raise
    for claimed, hold in held:
        if claimed.claim_name not in still:
            hold.release()
    return [(claimed, hold) for claimed, hold in held if claimed.claim_name in still]


def _claim(
    ctx: Context, seller: SellerSettings, inbox: Inbox, file: InboxFile
) -> tuple[ClaimedFile, FileHold] | None:
    """Claim a ready file under a name this worker holds before the file gets there, so
    no other worker ever finds it in processing/ unheld; None if another worker won it."""
    for _ in range(3):  # a fresh name whose hash another claim holds: name it again
        claim_name = make_claim_name(file.name)
        hold = try_hold(ctx.ledger, seller.name, claim_name)
        if hold is not None:
            break
    else:
        raise LedgerError(
            f"{seller.name}: no claim on {file.name} could be held for this worker",
            hint="the ledger's file holds are refused; report this as a bug",
        )
    try:
        claimed = inbox.claim(file, claim_name)
    except BaseException:
        hold.release()
        raise
    if claimed is None:
        hold.release()
        return None
    return claimed, hold


def intake_file(
    ctx: Context,
    seller: SellerSettings,
    inbox: Inbox,
    outbox: Outbox,
    claimed: ClaimedFile,
    *,
    resumed: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
) -> IntakeResult:
    """Take in one claimed file; see the module docstring for the order of steps.

    ``resumed``: the claim was found in processing/ at start, left by a crash. If the
    ledger already holds this very file, the crash came after the commit, and the seller
    has yet to get its intake report: it is rebuilt from the ledger. A file that
    ``max_attempts`` processes started before without finishing is rejected unread.
    Raises on unexpected errors that are not the file's, leaving the claim in processing/.
    """
    record: FileRecord | None = None
    dup: DuplicateFile | None = None
    start: DateOrder | None = None
    started_before = inbox.start_attempt(claimed)
    with inbox.open(claimed) as stream:
        sha = file_sha256(stream)
        while True:
            outcome = FileOutcome(file=claimed.name)
            begun = ctx.ledger.begin_file(
                seller.name,
                claimed.name,
                sha,
                claimed.size,
                received_at=ctx.clock(),
                claim_name=claimed.claim_name,
            )
            if isinstance(begun, DuplicateFile):
                dup = begun
                break
            dup = None
            try:
                with begun:
                    if started_before >= max_attempts:
                        raise _gave_up(claimed.name, started_before)
                    _read_into(ctx, seller, stream, claimed.name, begun, outcome, start)
                    record = begun.finish_file(outcome.lines)
            except DateOrderChanged as again:
                # Lines already added read their dates the wrong way round: the intake
                # transaction is rolled back and the file read again in the right order.
                outcome.close()
                start = again.order
                continue
            except FileRejected as exc:
                outcome.file_error = exc.reason
                outcome.file_hint = exc.hint
            except BaseException:
                outcome.close()
                raise
            break
    if started_before < max_attempts:
        inbox.read_through(claimed)  # read to its end: later kills are not the file's
    # The file is closed before it is moved (an SFTP server may refuse to move it open).
    if dup is not None:
        outcome.close()
        return _duplicate(ctx, seller, inbox, outbox, claimed, dup, resumed=resumed)
    if record is None:
        return _rejected(ctx, seller, inbox, outbox, claimed, sha, outcome)
    replaced = supersede_replaced(ctx.ledger, record.id)
    if replaced:
        log.info("%s: %s replaces %d failed line(s)", seller.name, claimed.name, len(replaced))
    try:
        outcome.accepted = record.accepted
        outcome.duplicates = record.duplicates
        outcome.warnings.extend(_ledger_notes(ctx, record.id))
        if ctx.settings.spapi.use_orders_api:
            outcome.warnings.extend(
                intake_notes(
                    ctx.ledger, record.id, claimed.name, seller.name, seller.marketplace_id
                )
            )
        names = _write_report(outbox, outcome, simulated=ctx.simulated)
    finally:
        outcome.close()
    inbox.archive(claimed)
    log.info(
        "%s: took in %s: %d accepted, %d rejected, %d duplicates, %d conflicts",
        seller.name,
        claimed.name,
        record.accepted,
        record.rejected,
        record.duplicates,
        record.conflicts,
    )
    if (
        outcome.dates is not None
    ):  # the operator sees a doubtful date order too, not only the seller
        level = logging.WARNING if outcome.dates.is_warning else logging.INFO
        log.log(level, "%s: %s: %s", seller.name, claimed.name, outcome.dates.message)
    return IntakeResult.taken_in(record, claimed.name, names)


def _read_into(
    ctx: Context,
    seller: SellerSettings,
    stream: BinaryIO,
    name: str,
    intake: FileIntake,
    outcome: FileOutcome,
    start: DateOrder | None = None,
) -> None:
    """Stream read → validate → ledger, chunk by chunk, filling the report's outcome.

    Raises DateOrderChanged when dates of lines already added were read the wrong way
    round; the caller rolls back and calls again with ``start`` the order it names. What
    the reader or the rules raise otherwise rejects the file (FileRejected); what the
    ledger raises does not, since it is not the file's doing.
    """
    rules = rule_context(ctx.settings, ctx.clock(), seller)
    try:
        reader = open_reader(
            stream,
            name,
            column_map=seller.column_map or None,
            sheet=seller.sheet,
            chunk_rows=CHUNK_ROWS,
        )
    except Exception as exc:
        raise _as_rejection(name, exc) from exc
    with closing(reader):
        outcome.info = reader.info
        dates = FileDates(name, rules.date_order, start)
        chunks = validated_chunks(reader, stream, rules, dates, parallel=False)
        # Compact rows, not Shipments: a million Shipment objects cost more than their
        # inserts.
        for rows_read, result, _ in _file_failures_rejected(chunks, name):
            intake.add_rows(result.lines, result.rows, result.errors)
            outcome.lines += rows_read
            outcome.rejected += len({e.line for e in result.errors})
            outcome.errors.extend(result.errors)
            outcome.warnings.extend(result.warnings)
        outcome.dates = dates.reading()


def _file_failures_rejected(chunks: Iterator[T], name: str) -> Iterator[T]:
    """``chunks`` as they come; what reading or validating the next one raises rejects the
    file. Only ``next()`` is guarded: the caller's ledger work is not the file's doing."""
    while True:
        try:
            item = next(chunks)
        except StopIteration:
            return
        except DateOrderChanged:
            raise
        except Exception as exc:
            raise _as_rejection(name, exc) from exc
        yield item


def _as_rejection(name: str, exc: Exception) -> Exception:
    rejected = unreadable(name, exc)
    if rejected is None:
        return exc
    if rejected is not exc:
        log.error("reading %s failed; the file is rejected", name, exc_info=exc)
    return rejected


def _gave_up(name: str, started: int) -> FileRejected:
    return FileRejected(
        name,
        f"shipfeed stopped {started} times while taking this file in (its process was "
        "killed or crashed), so it is not read again",
        hint="check the file (is it very large, or damaged?), fix it and upload it again; "
        "the operator's log says more",
    )


def _refuse_name(
    ctx: Context, seller: SellerSettings, inbox: Inbox, outbox: Outbox, refused: RefusedFile
) -> IntakeResult:
    """A file named so that it cannot be taken: quarantined under a stand-in name, and a
    rejection report under that name tells the seller which file and why. The ledger
    records it (uploads_not_taken), so the console lists it and the alerts tell of it."""
    stand_in = inbox.quarantine_refused(refused)
    shown = original_name(stand_in) or stand_in
    reason = f"{refused.reason} ('{printable_name(refused.name)}'), so it was not taken in"
    outcome = FileOutcome(
        file=shown,
        file_error=reason,
        file_hint="rename it with letters, digits, spaces, dots, dashes or underscores, "
        "at most 200 bytes long, and upload it again",
    )
    uploads.record(
        ctx.ledger,
        seller=seller.name,
        kind=uploads.UploadKind.REFUSED_NAME,
        name=shown,
        upload_key=stand_in,
        received_at=ctx.clock(),
        reason=reason,
        intake_report=intake_report_names(shown)[0],
    )
    try:
        names = _write_report(outbox, outcome, simulated=ctx.simulated)
    finally:
        outcome.close()
    log.warning("%s: refused the file name %s: %s", seller.name, shown, refused.reason)
    return IntakeResult.nothing_queued(None, shown, reason, names, same_as=False)


def _ledger_notes(ctx: Context, file_id: int) -> list[LineWarning]:
    """The ledger's verdicts on lines that were valid but are not sent (duplicates,
    conflicts), as report warnings so the seller sees each one with its reason."""
    q = (
        select(lines.c.line_no, lines.c.order_id, lines.c.status, lines.c.message)
        .where(
            lines.c.file_id == file_id,
            lines.c.status.in_([LineStatus.DUPLICATE.value, LineStatus.CONFLICT.value]),
        )
        .order_by(lines.c.line_no)
    )
    with ctx.ledger.reading() as conn:
        return [
            LineWarning(ln, None, order_id, f"{status}: {message or ''}".rstrip(": "))
            for ln, order_id, status, message in conn.execute(q).all()
        ]


def _rejected(
    ctx: Context,
    seller: SellerSettings,
    inbox: Inbox,
    outbox: Outbox,
    claimed: ClaimedFile,
    sha: str,
    outcome: FileOutcome,
) -> IntakeResult:
    """A file rejected whole: recorded with no lines (so it is not "nowhere"), reported,
    quarantined. Its report is final: nothing of it will ever be sent."""
    try:
        rec = ctx.ledger.record_file(
            seller.name, claimed.name, sha, claimed.size, 0, [], [], received_at=ctx.clock()
        )
        file_id = rec.id if isinstance(rec, FileRecord) else rec.earlier.id
        outcome.lines = outcome.accepted = outcome.rejected = 0
        names = _write_report(outbox, outcome, simulated=ctx.simulated)
        if isinstance(rec, FileRecord):
            ctx.ledger.set_file_reports(rec.id, names[0], names[0])
    finally:
        outcome.close()
    reason = outcome.file_error or "rejected"
    if outcome.file_hint:
        reason += f" ({outcome.file_hint})"
    inbox.quarantine(claimed, reason)
    log.warning("%s: rejected %s: %s", seller.name, claimed.name, reason)
    return IntakeResult.nothing_queued(file_id, claimed.name, reason, names, same_as=False)


def _duplicate(
    ctx: Context,
    seller: SellerSettings,
    inbox: Inbox,
    outbox: Outbox,
    claimed: ClaimedFile,
    dup: DuplicateFile,
    *,
    resumed: bool = False,
) -> IntakeResult:
    """Content seen before: nothing is queued again; the report says which earlier file
    it matches (or, for a crash past the commit, is the file's own report, rebuilt)."""
    earlier = dup.earlier
    if resumed and earlier.name == claimed.name:
        return _finish_resumed(ctx, seller, inbox, outbox, claimed, earlier)
    when = earlier.received_at.strftime("%Y-%m-%d %H:%M UTC")
    if earlier.name == claimed.name:
        text = f"this file was already taken in at {when}; its lines were not queued again"
    else:
        text = (
            f"this file has the same content as {earlier.name}, received at {when}; "
            "its lines were not queued again"
        )
    outcome = FileOutcome(file=claimed.name, file_error=text)
    outcome.lines = earlier.lines
    # Under its own name, the report would replace the first upload's intake report.
    now = ctx.clock()
    again = now if earlier.name == claimed.name else None
    try:
        names = _write_report(outbox, outcome, simulated=ctx.simulated, again_at=again)
    finally:
        outcome.close()
    # Recorded before the archive: a crash in between resumes the claim, which records
    # the same claim name again, a no-op.
    uploads.record(
        ctx.ledger,
        seller=seller.name,
        kind=uploads.UploadKind.DUPLICATE,
        name=claimed.name,
        upload_key=claimed.claim_name,
        received_at=now,
        reason=text,
        duplicate_of=earlier.id,
        intake_report=names[0],
    )
    inbox.archive(claimed)
    log.info("%s: %s: %s", seller.name, claimed.name, text)
    return IntakeResult.nothing_queued(earlier.id, claimed.name, text, names, same_as=True)


def _finish_resumed(
    ctx: Context,
    seller: SellerSettings,
    inbox: Inbox,
    outbox: Outbox,
    claimed: ClaimedFile,
    record: FileRecord,
) -> IntakeResult:
    """The ledger took this file in before a crash: write the intake report the seller
    never got, from what the ledger recorded (counts and every rejected line), then
    archive the file as the interrupted run would have."""
    outcome = FileOutcome(file=claimed.name)
    outcome.lines, outcome.accepted = record.lines, record.accepted
    outcome.rejected, outcome.duplicates = record.rejected, record.duplicates
    try:
        outcome.errors.extend(e for fl in iter_file_lines(ctx.ledger, record.id) for e in fl.errors)
        outcome.warnings.extend(_ledger_notes(ctx, record.id))
        if ctx.settings.spapi.use_orders_api:
            outcome.warnings.extend(
                intake_notes(
                    ctx.ledger, record.id, claimed.name, seller.name, seller.marketplace_id
                )
            )
        names = _write_report(outbox, outcome, simulated=ctx.simulated)
    finally:
        outcome.close()
    inbox.archive(claimed)
    log.info(
        "%s: resumed %s after a restart: its intake report is written", seller.name, claimed.name
    )
    return IntakeResult.taken_in(record, claimed.name, names)


def _write_report(
    outbox: Outbox, outcome: FileOutcome, *, simulated: bool, again_at: datetime | None = None
) -> list[str]:
    csv_name, json_name = intake_report_names(outcome.file, again_at)
    buf = io.BytesIO()
    write_file_report_csv(outcome, buf, simulated=simulated)
    outbox.write(csv_name, buf.getvalue())
    buf = io.BytesIO()
    write_file_report_json(outcome, buf, simulated=simulated)
    outbox.write(json_name, buf.getvalue())
    return [csv_name, json_name]
