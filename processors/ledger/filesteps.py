"""The ledger's files: one intake transaction per file, duplicates of content seen
before, and where a file's reports were written.

A part of the Ledger facade (processors.ledger.store); the intake transaction itself
(lines streamed in chunks) is processors.ledger.fileintake.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from feeds.model import LineError, Shipment
from processors.ledger.base import LedgerBase, inserted_id
from processors.ledger.engine import IMMEDIATE
from processors.ledger.errors import UnknownRecord
from processors.ledger.fileintake import FileIntake
from processors.ledger.records import DuplicateFile, FileRecord
from processors.ledger.schema import files
from processors.ledger.statuses import FileStatus


class FileSteps(LedgerBase):
    """Files in, and their reports out."""

    def begin_file(
        self,
        seller: str,
        name: str,
        sha256: str,
        size: int,
        *,
        received_at: datetime | None = None,
        claim_name: str | None = None,
    ) -> FileIntake | DuplicateFile:
        """Open the intake transaction of one file, or recognise content seen before.

        The caller streams chunks with add_lines() and ends with finish_file(); until then
        the file and its lines are invisible to everyone else. ``claim_name``: the file's
        name in the inbox's processing/ and archive/ folders, recorded with it so that its
        result report can read the seller's original rows again.
        """
        earlier = self._file_by_sha(seller, sha256)
        if earlier is not None:
            return DuplicateFile(earlier=earlier, name=name)
        now = self.clock()
        conn = self.engine.connect().execution_options(**{IMMEDIATE: True})
        tx = conn.begin()
        row: dict[str, Any] = {
            "seller": seller,
            "name": name,
            "sha256": sha256,
            "size": size,
            "received_at": received_at or now,
            "lines": 0,
            "accepted": 0,
            "rejected": 0,
            "duplicates": 0,
            "conflicts": 0,
            "status": FileStatus.RECEIVED.value,
            "result_report": None,
            "error_report": None,
            "claim_name": claim_name,
        }
        try:
            # Checked again inside the write transaction: another worker may have won.
            found = conn.execute(
                select(files).where(files.c.seller == seller, files.c.sha256 == sha256)
            ).first()
            if found is None:
                row["id"] = inserted_id(conn.execute(insert(files).values(**row)))
        except IntegrityError:
            found = None
            tx.rollback()
            conn.close()
            again = self._file_by_sha(seller, sha256)
            if again is None:
                raise
            return DuplicateFile(earlier=again, name=name)
        except BaseException:
            tx.rollback()
            conn.close()
            raise
        if found is not None:
            tx.rollback()
            conn.close()
            return DuplicateFile(earlier=FileRecord.from_mapping(found._mapping), name=name)
        return FileIntake(conn, tx, row, now)

    def record_file(
        self,
        seller: str,
        name: str,
        sha256: str,
        size: int,
        lines_in_file: int | None,
        shipments: Iterable[Shipment],
        rejected: Iterable[LineError],
        *,
        received_at: datetime | None = None,
    ) -> FileRecord | DuplicateFile:
        """Take in one whole file in one transaction (see begin_file for big files)."""
        intake = self.begin_file(seller, name, sha256, size, received_at=received_at)
        if isinstance(intake, DuplicateFile):
            return intake
        with intake:
            intake.add_lines(shipments, rejected)
            return intake.finish_file(lines_in_file)

    def _file_by_sha(self, seller: str, sha256: str) -> FileRecord | None:
        with self.reading() as conn:
            r = conn.execute(
                select(files).where(files.c.seller == seller, files.c.sha256 == sha256)
            ).first()
        return None if r is None else FileRecord.from_mapping(r._mapping)

    def file(self, file_id: int) -> FileRecord:
        with self.reading() as conn:
            r = conn.execute(select(files).where(files.c.id == file_id)).first()
        if r is None:
            raise UnknownRecord("file", [file_id])
        return FileRecord.from_mapping(r._mapping)

    def set_file_reports(
        self,
        file_id: int,
        result_report: str | None,
        error_report: str | None,
        *,
        reported_at: datetime | None = None,
    ) -> None:
        """Record where the file's reports were written; the file is then done.
        ``reported_at``: when the report's content was read (default: now)."""
        with self._writing() as conn:
            n = conn.execute(
                update(files)
                .where(files.c.id == file_id)
                .values(
                    result_report=result_report,
                    error_report=error_report,
                    status=FileStatus.DONE.value,
                    reported_at=reported_at or self.clock(),
                )
            ).rowcount
        if not n:
            raise UnknownRecord("file", [file_id])
