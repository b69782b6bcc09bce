"""Intake of shipments posted to the REST API: the same rules and the same ledger intake
as a file, so an API user and an FTP user get the same verdict for the same line.

A POST is recorded as a file named ``api-<idempotency key>`` whose content hash is the
hash of the request body. That gives the API the file intake's guarantees for free:

- the same body posted again under the same key is the same file: nothing is queued
  twice, and the answer is the first answer again, read back from the ledger;
- the same body under another key is a duplicate file, as an uploaded copy of a file is;
- lines repeating lines already queued, sent or confirmed are duplicates or conflicts.

Another body under a key already used is refused (the client has a bug; guessing which
body it meant would queue the wrong shipments).

Warnings come with the answer as they come in a file's intake report: the rules' own
(a tracking number not fitting its carrier...) and an order the mirror knows Amazon does
not have for this seller (processors/unknownorders.py). A replay gives them again: the
rules are run on the same lines once more (nothing is recorded), so a retry gets the
first answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from config.settings import SellerSettings, Settings
from feeds.model import FIELDS, LineWarning, RowChunk
from feeds.rules import validate_rows
from processors.convert import rule_context
from processors.ledger import uploads
from processors.ledger.queries import FileLine, iter_file_lines
from processors.ledger.records import DuplicateFile, FileRecord
from processors.ledger.replaced import supersede_replaced
from processors.ledger.schema import files
from processors.ledger.store import Ledger
from processors.unknownorders import intake_notes

NAME_PREFIX = "api-"


class KeyReused(Exception):
    """The idempotency key names an earlier POST with another body."""


@dataclass(frozen=True, slots=True)
class ApiIntake:
    file: FileRecord
    replayed: bool  # this key and body were posted before: nothing new was queued
    duplicate_of: FileRecord | None  # the same body under another key
    lines: list[FileLine] = field(default_factory=list)
    warnings: dict[int, list[LineWarning]] = field(default_factory=dict)  # by line number


def file_name(key: str) -> str:
    return NAME_PREFIX + key


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def chunk_of(records: Sequence[Mapping[str, Any]]) -> RowChunk:
    """Posted lines as the reader's column-wise chunk; line n is the n-th (1-based) line
    of the POST. Numbers (a quantity) become their text, as a cell of a file would be."""
    cells: dict[str, list[str]] = {}
    for f in FIELDS:
        col: list[Any] = [r.get(f) for r in records]
        # A column all text (most of them) is taken as it is; _text per cell cost more
        # than the ledger's work on a 10,000-line POST.
        cells[f] = col if set(map(type, col)) == {str} else list(map(_text, col))
    return RowChunk(
        lines=list(range(1, len(records) + 1)),
        cells=cells,
        columns={f: f for f in FIELDS},
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def take_in_posted(
    ledger: Ledger,
    settings: Settings,
    seller: SellerSettings,
    key: str,
    body: bytes,
    records: Sequence[Mapping[str, Any]],
    now: datetime,
) -> ApiIntake:
    """Validate and record one POST (see the module docstring)."""
    name = file_name(key)
    sha = body_sha256(body)
    earlier = _by_name(ledger, seller.name, name)
    if earlier is not None and earlier.sha256 != sha:
        raise KeyReused(name)
    begun = ledger.begin_file(seller.name, name, sha, len(body), received_at=now)
    if isinstance(begun, DuplicateFile):
        rules = validate_rows(chunk_of(records), rule_context(settings, now, seller)).warnings
        return _seen_before(ledger, settings, seller, begun, name, now, rules)
    with begun:
        result = validate_rows(chunk_of(records), rule_context(settings, now, seller))
        begun.add_rows(result.lines, result.rows, result.errors)
        record = begun.finish_file(len(records))
    supersede_replaced(ledger, record.id)  # as a file: it replaces failed lines it corrects
    warnings = _by_line([*result.warnings, *_unknown_orders(ledger, settings, seller, record)])
    return ApiIntake(record, False, None, list(iter_file_lines(ledger, record.id)), warnings)


def _unknown_orders(
    ledger: Ledger, settings: Settings, seller: SellerSettings, record: FileRecord
) -> list[LineWarning]:
    if not settings.spapi.use_orders_api:
        return []
    return intake_notes(ledger, record.id, record.name, seller.name, seller.marketplace_id)


def _by_line(warnings: Iterable[LineWarning]) -> dict[int, list[LineWarning]]:
    out: dict[int, list[LineWarning]] = {}
    for w in warnings:
        out.setdefault(w.line, []).append(w)
    return out


def _seen_before(
    ledger: Ledger,
    settings: Settings,
    seller: SellerSettings,
    dup: DuplicateFile,
    name: str,
    now: datetime,
    rules: list[LineWarning],
) -> ApiIntake:
    first = dup.earlier
    if first.name == name:
        warnings = _by_line([*rules, *_unknown_orders(ledger, settings, seller, first)])
        return ApiIntake(first, True, None, list(iter_file_lines(ledger, first.id)), warnings)
    # Recorded as an uploaded copy of a file is; a retry (the same key) records nothing new.
    uploads.record(
        ledger,
        seller=first.seller,
        kind=uploads.UploadKind.DUPLICATE,
        name=name,
        upload_key=name,
        received_at=now,
        reason=f"the same lines were posted as {first.name}; nothing was queued again",
        duplicate_of=first.id,
    )
    return ApiIntake(first, False, first, [])


def _by_name(ledger: Ledger, seller: str, name: str) -> FileRecord | None:
    with ledger.reading() as conn:
        r = conn.execute(
            select(files).where(files.c.seller == seller, files.c.name == name)
        ).first()
    return None if r is None else FileRecord.from_mapping(r._mapping)


def verdict(line: FileLine) -> str:
    """The intake report's word for a line: accepted, rejected, duplicate or conflict."""
    if line.outcome in ("rejected", "duplicate", "conflict"):
        return line.outcome
    return "accepted"
