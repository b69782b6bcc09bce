"""Uploads that did not become a file of their own: copies of content already received,
and files whose names the service refuses.

Neither has a row in ``files`` (that table holds one row per content, and a refused file
is never read), yet the seller sent each one and got an intake report for it. Recorded
here, the console's files page and the API's file view can list them, and the alerts
can tell of a refused name as they tell of a rejected file.

Each upload is recorded once: ``upload_key`` names it (its claim name in the inbox, the
stand-in name it was quarantined under, or the API POST's name), and recording the same
key again, as a step repeated after a crash does, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from processors.ledger.engine import IMMEDIATE
from processors.ledger.errors import UnknownRecord
from processors.ledger.schema import files, uploads_not_taken
from processors.ledger.store import Ledger

T = uploads_not_taken


class UploadKind(StrEnum):
    DUPLICATE = "duplicate"  # the same bytes as a file received before
    REFUSED_NAME = "refused_name"  # quarantined for its name, never read


@dataclass(frozen=True, slots=True)
class UploadNotTaken:
    id: int
    seller: str
    kind: str
    name: str
    received_at: datetime
    reason: str
    duplicate_of: int | None  # the file it repeats (kind duplicate)
    duplicate_of_name: str | None
    intake_report: str | None  # NAME....intake.csv in the seller's outbox

    @property
    def intake_reports(self) -> dict[str, str]:
        """kind -> name of its intake reports (CSV and JSON, written together)."""
        if self.intake_report is None:
            return {}
        base = self.intake_report.removesuffix(".csv")
        return {"intake.csv": self.intake_report, "intake.json": base + ".json"}


def record(
    ledger: Ledger,
    *,
    seller: str,
    kind: UploadKind,
    name: str,
    upload_key: str,
    received_at: datetime,
    reason: str,
    duplicate_of: int | None = None,
    intake_report: str | None = None,
) -> None:
    """Record one upload not taken in; the same ``upload_key`` again is a no-op."""
    row = {
        "seller": seller,
        "kind": kind.value,
        "name": name,
        "upload_key": upload_key,
        "received_at": received_at,
        "reason": reason,
        "duplicate_of": duplicate_of,
        "intake_report": intake_report,
    }
    conn = ledger.engine.connect().execution_options(**{IMMEDIATE: True})
    with conn, conn.begin():
        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(T).values(**row)
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["seller", "upload_key"]))


def _select() -> Any:
    return select(T, files.c.name.label("duplicate_of_name")).outerjoin(
        files, files.c.id == T.c.duplicate_of
    )


def _of(m: Any) -> UploadNotTaken:
    return UploadNotTaken(
        id=m["id"],
        seller=m["seller"],
        kind=m["kind"],
        name=m["name"],
        received_at=m["received_at"],
        reason=m["reason"],
        duplicate_of=m["duplicate_of"],
        duplicate_of_name=m["duplicate_of_name"],
        intake_report=m["intake_report"],
    )


def recent(ledger: Ledger, seller: str | None = None, limit: int = 200) -> list[UploadNotTaken]:
    """The newest uploads not taken in, of one seller or all (None)."""
    q = _select().order_by(T.c.id.desc()).limit(limit)
    if seller is not None:
        q = q.where(T.c.seller == seller)
    with ledger.reading() as conn:
        return [_of(m) for m in conn.execute(q).mappings()]


def copies_of(ledger: Ledger, file_id: int) -> list[UploadNotTaken]:
    """The later uploads of the same content as this file, oldest first."""
    q = _select().where(T.c.duplicate_of == file_id).order_by(T.c.id)
    with ledger.reading() as conn:
        return [_of(m) for m in conn.execute(q).mappings()]


def upload_of(ledger: Ledger, upload_id: int, seller: str | None) -> UploadNotTaken:
    """One upload, if ``seller`` (None: any) may see it; else UnknownRecord, as if absent."""
    q = _select().where(T.c.id == upload_id)
    with ledger.reading() as conn:
        m = conn.execute(q).mappings().first()
    if m is None or (seller is not None and m["seller"] != seller):
        raise UnknownRecord("upload", [upload_id])
    return _of(m)


def refused_since(ledger: Ledger, since: datetime) -> list[UploadNotTaken]:
    """Files refused for their name received since ``since``, oldest first (for alerts)."""
    q = (
        _select()
        .where(T.c.kind == UploadKind.REFUSED_NAME.value, T.c.received_at >= since)
        .order_by(T.c.id)
    )
    with ledger.reading() as conn:
        return [_of(m) for m in conn.execute(q).mappings()]
