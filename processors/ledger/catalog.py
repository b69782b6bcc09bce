"""The console's lists of files and feeds, per seller, newest first.

Small tables next to the lines (one row per file or feed), so a plain page of the
newest rows is all these need.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from processors.ledger.errors import UnknownRecord
from processors.ledger.records import FeedRow, FileRecord
from processors.ledger.schema import feeds, files
from processors.ledger.store import Ledger

_FEED_META = [c for c in feeds.c if c.name != "content"]


def recent_files(ledger: Ledger, seller: str | None = None, limit: int = 200) -> list[FileRecord]:
    q = select(files).order_by(files.c.id.desc()).limit(limit)
    if seller is not None:
        q = q.where(files.c.seller == seller)
    with ledger.reading() as conn:
        return [FileRecord.from_mapping(r) for r in conn.execute(q).mappings()]


def file_of(ledger: Ledger, file_id: int, seller: str | None) -> FileRecord:
    """The file, if ``seller`` (None: any) may see it; else UnknownRecord, as if absent."""
    found = ledger.file(file_id)
    if seller is not None and found.seller != seller:
        raise UnknownRecord("file", [file_id])
    return found


def recent_feeds(ledger: Ledger, seller: str | None = None, limit: int = 200) -> list[FeedRow]:
    q = select(*_FEED_META).order_by(feeds.c.id.desc()).limit(limit)
    if seller is not None:
        q = q.where(feeds.c.seller == seller)
    with ledger.reading() as conn:
        return [FeedRow.from_mapping(r) for r in conn.execute(q).mappings()]


def files_received_since(ledger: Ledger, since: datetime, seller: str | None = None) -> int:
    q = select(func.count()).select_from(files).where(files.c.received_at >= since)
    if seller is not None:
        q = q.where(files.c.seller == seller)
    with ledger.reading() as conn:
        return int(conn.execute(q).scalar_one())
