"""The inbox/outbox interface the processors see, whatever the folder is.

Two implementations share it: ``ingest.local`` (a folder, watchdog events plus rescans)
and ``ingest.sftp`` (paramiko). A file moves inbox → processing (claimed, by atomic
rename, so two workers or a restart never take it twice) → archive or quarantine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class InboxFile:
    """A file seen in the inbox. ``name`` is a plain, safe base name (no folders)."""

    name: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class RefusedFile:
    """A settled file whose name the service will not take (ingest.names.name_problem):
    ``name`` is the name as listed, which may hold a line break; ``reason`` says why."""

    name: str
    size: int
    mtime: float
    reason: str


@dataclass(frozen=True, slots=True)
class ClaimedFile:
    """A file this worker has claimed; ``claim_name`` is its name inside processing/."""

    name: str
    claim_name: str
    size: int


@runtime_checkable
class Inbox(Protocol):
    def ready(self) -> list[InboxFile]:
        """Files complete and safe to claim now (settled, not a temp/partial name)."""
        ...

    def claim(self, file: InboxFile, claim_name: str | None = None) -> ClaimedFile | None:
        """Move the file into processing/ by atomic rename; None if another worker won.

        ``claim_name``: its name in processing/ (ingest.names.make_claim_name), chosen by
        a caller that must hold the claim before any other worker can see it there."""
        ...

    def claimed(self) -> list[ClaimedFile]:
        """Files in processing/: left by a crash, or being taken in by another worker
        sharing this inbox (processors/ledger/fileclaims.py tells which)."""
        ...

    def refused(self) -> list[RefusedFile]:
        """Settled files whose names are refused, found by the last ``ready()``."""
        ...

    def quarantine_refused(self, file: RefusedFile) -> str:
        """Move a refused file to quarantine/ under a stand-in name (ingest.names.
        safe_stand_in) with a reason file; returns the stand-in. None of its own name is
        used as a path."""
        ...

    def start_attempt(self, file: ClaimedFile) -> int:
        """Count, durably, that this process has started taking ``file`` in (once per
        process), and return how many processes had started it before. A file that kills
        the process reading it is counted at each restart, and the caller stops trying."""
        ...

    def read_through(self, file: ClaimedFile) -> None:
        """``file`` was read to its end without killing the process: its starts are no
        longer counted (a process killed later, writing reports or archiving, says
        nothing about the file)."""
        ...

    def open(self, file: ClaimedFile) -> AbstractContextManager[BinaryIO]:
        """A seekable binary stream of the claimed file's bytes."""
        ...

    def archive(self, file: ClaimedFile) -> None:
        """After intake: move to archive/YYYY/MM/DD/."""
        ...

    def open_archived(self, claim_name: str) -> AbstractContextManager[BinaryIO]:
        """A seekable binary stream of a file archived after intake, found again by its
        claim name (kept in the ledger), so the result report can mirror the seller's own
        rows. Looks in archive/YYYY/MM/DD from the claim's day on, then in processing/ (a
        crash before the archive step). FileNotFoundError when it is gone (purged)."""
        ...

    def quarantine(self, file: ClaimedFile, reason: str) -> None:
        """An unusable file: move to quarantine/ with a reason file beside it."""
        ...

    def settling(self) -> int:
        """How many files were seen but have not settled yet (``ready`` will offer them)."""
        ...

    def wait(self, timeout: float) -> bool:
        """Block until something may have arrived (an event) or timeout; True on an event."""
        ...

    def purge_archive(self, older_than_days: int) -> int:
        """Remove archive/YYYY/MM/DD days older than the retention; how many days went."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Outbox(Protocol):
    def write(self, name: str, data: bytes) -> None:
        """Write a report under a temporary name, then rename it into place."""
        ...

    def read(self, name: str) -> bytes:
        """A report written earlier, by its name (the console's downloads);
        FileNotFoundError when it is not there, UnsafeName for a name with a folder."""
        ...

    def sweep_temps(self, older_than_seconds: float) -> int:
        """Remove temporary files that writers killed before their rename left behind,
        once older than ``older_than_seconds``; how many were removed."""
        ...

    def close(self) -> None: ...


def iter_chunks(stream: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk
