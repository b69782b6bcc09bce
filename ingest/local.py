"""The inbox and outbox as local folders: watchdog events, periodic rescans, atomic renames.

Layout (decided here, documented in ``LocalInbox``): the seller uploads into the inbox
folder itself; processing/, archive/ and quarantine/ live under a work root that defaults
to ``<inbox>/.shipfeed`` (hidden from the listing by its leading dot, and on the same
filesystem as the inbox so a claim is a single atomic ``os.rename``).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import threading
import time
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from feeds.errors import ConfigError
from ingest.errors import UnsafeName
from ingest.inbox import ClaimedFile, InboxFile, RefusedFile
from ingest.names import (
    DONE_SUFFIX,
    REASON_SUFFIX,
    WORK_DIR_NAME,
    NameFilter,
    archive_day,
    archive_days_for,
    attempts_name,
    is_expired_day,
    is_partial_name,
    is_safe_name,
    is_temp_name,
    make_claim_name,
    name_problem,
    original_name,
    orphan_markers,
    printable_name,
    safe_stand_in,
    temp_name,
)
from ingest.settle import SettleTracker, settle_listing

log = logging.getLogger(__name__)


class _Wakeup(FileSystemEventHandler):
    """Turns any change in the inbox folder into a wake-up; ready() decides the rest."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("created", "modified", "moved", "closed"):
            self._event.set()


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk, not just the data."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(folder: Path, name: str, data: bytes) -> Path:
    """Write under a hidden temporary name, fsync, then os.replace into place.

    A reader of the folder sees either no file or the whole file, never half of it.
    """
    if not is_safe_name(name):
        raise UnsafeName(name, str(folder))
    final = folder / name
    tmp = folder / temp_name()
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return final


class LocalInbox:
    """A seller's upload folder.

    ``ready()`` lists the folder (the periodic rescan), ``wait()`` returns early on a
    watchdog event. ``done_marker``: when True, ``FILE.done`` makes FILE ready at once
    and is removed when FILE is claimed.
    """

    def __init__(
        self,
        inbox: str | os.PathLike[str],
        *,
        settle_seconds: float,
        work_root: str | os.PathLike[str] | None = None,
        processing: str | os.PathLike[str] | None = None,
        archive: str | os.PathLike[str] | None = None,
        quarantine: str | os.PathLike[str] | None = None,
        done_marker: bool = False,
        names_taken: NameFilter | None = None,
        watch: bool = True,
    ) -> None:
        self.inbox = Path(inbox)
        root = Path(work_root) if work_root is not None else self.inbox / WORK_DIR_NAME
        self.processing = Path(processing) if processing is not None else root / "processing"
        self.archive_dir = Path(archive) if archive is not None else root / "archive"
        self.quarantine_dir = Path(quarantine) if quarantine is not None else root / "quarantine"
        self.done_marker = done_marker
        self.names_taken = names_taken or NameFilter()
        for folder in (self.inbox, self.processing, self.archive_dir, self.quarantine_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if os.stat(self.inbox).st_dev != os.stat(self.processing).st_dev:
            raise ConfigError(
                f"inbox {self.inbox} and processing folder {self.processing} are on "
                "different filesystems",
                hint="a claim must be one atomic rename; put processing/ next to the inbox",
            )
        # Our own folder, our own clock: an old mtime already proves the file is complete.
        self._tracker = SettleTracker(settle_seconds, wall_clock=time.time)
        self._event = threading.Event()
        self._closed = False
        self._refused: list[RefusedFile] = []
        self._started: dict[str, int] = {}  # claim name → processes before this one
        self._observer: Observer | None = None  # type: ignore[valid-type]
        if watch:
            observer = Observer()
            observer.schedule(_Wakeup(self._event), str(self.inbox), recursive=False)
            observer.daemon = True
            observer.start()
            self._observer = observer

    def __repr__(self) -> str:
        return f"LocalInbox({str(self.inbox)!r})"

    # -- listing -------------------------------------------------------------------

    def ready(self) -> list[InboxFile]:
        listed: list[InboxFile] = []
        names: set[str] = set()
        problems: dict[str, str] = {}
        with os.scandir(self.inbox) as it:
            for entry in it:
                names.add(entry.name)
                if is_partial_name(entry.name):
                    continue
                problem = name_problem(entry.name)
                if problem is None and not is_safe_name(entry.name):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):  # folders, symlinks, fifos: never taken
                    continue
                listed.append(InboxFile(entry.name, st.st_size, st.st_mtime))
                if problem is not None:
                    problems[entry.name] = problem
        ready, self._refused = settle_listing(
            self._tracker,
            listed,
            names,
            problems,
            done_marker=self.done_marker,
            names_taken=self.names_taken,
        )
        return ready

    def refused(self) -> list[RefusedFile]:
        return list(self._refused)

    def quarantine_refused(self, file: RefusedFile) -> str:
        if "/" in file.name or file.name in ("", ".", ".."):
            raise UnsafeName(file.name, str(self.inbox))
        stand_in = make_claim_name(safe_stand_in(file.name))
        note = f"{printable_name(file.name, 400)}: {file.reason}\n"
        atomic_write(self.quarantine_dir, stand_in + REASON_SUFFIX, note.encode("utf-8"))
        os.rename(self.inbox / file.name, self.quarantine_dir / stand_in)
        self._tracker.forget(file.name)
        self._refused = [f for f in self._refused if f.name != file.name]
        log.warning("quarantined %s as %s: %s", printable_name(file.name), stand_in, file.reason)
        return stand_in

    def claim(self, file: InboxFile, claim_name: str | None = None) -> ClaimedFile | None:
        if not is_safe_name(file.name):
            raise UnsafeName(file.name, str(self.inbox))
        src = self.inbox / file.name
        try:
            st = os.stat(src, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if st.st_size != file.size or st.st_mtime != file.mtime:
            self._tracker.forget(file.name)  # changed since listed: judge it again later
            return None
        claim_name = claim_name or make_claim_name(file.name)
        if not is_safe_name(claim_name) or original_name(claim_name) != file.name:
            raise UnsafeName(claim_name, str(self.processing))
        try:
            os.rename(src, self.processing / claim_name)  # atomic: exactly one worker wins
        except FileNotFoundError:
            return None
        self._tracker.forget(file.name)
        if self.done_marker:
            (self.inbox / (file.name + DONE_SUFFIX)).unlink(missing_ok=True)
        log.info("claimed %s as %s", file.name, claim_name)
        return ClaimedFile(file.name, claim_name, st.st_size)

    def claimed(self) -> list[ClaimedFile]:
        """The claims in processing/ (left by a process that stopped, or under way in
        another worker); attempts markers whose claim has moved on are removed."""
        found: list[ClaimedFile] = []
        listed: list[str] = []
        with os.scandir(self.processing) as it:
            for entry in it:
                listed.append(entry.name)
                name = original_name(entry.name)
                if name is None or not is_safe_name(entry.name):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # archived by the worker that held it, just now
                    continue
                if stat.S_ISREG(st.st_mode):
                    found.append(ClaimedFile(name, entry.name, st.st_size))
        for marker in orphan_markers(listed):
            (self.processing / marker).unlink(missing_ok=True)
            log.info("removed %s: its file left processing/ already", marker)
        return sorted(found, key=lambda c: c.claim_name)

    # -- reading and moving on -----------------------------------------------------

    def _processing_path(self, file: ClaimedFile) -> Path:
        if not is_safe_name(file.claim_name):
            raise UnsafeName(file.claim_name, str(self.processing))
        return self.processing / file.claim_name

    def open(self, file: ClaimedFile) -> AbstractContextManager[BinaryIO]:
        return open(self._processing_path(file), "rb")

    def start_attempt(self, file: ClaimedFile) -> int:
        if file.claim_name in self._started:
            return self._started[file.claim_name]
        marker = attempts_name(file.claim_name)
        if not is_safe_name(marker):  # claimed before names were bounded: not counted
            return 0
        try:
            before = int((self.processing / marker).read_text(encoding="ascii").strip())
        except (FileNotFoundError, ValueError):
            before = 0
        atomic_write(self.processing, marker, str(before + 1).encode("ascii"))
        self._started[file.claim_name] = before
        return before

    def read_through(self, file: ClaimedFile) -> None:
        self._forget_attempts(file)

    def _forget_attempts(self, file: ClaimedFile) -> None:
        self._started.pop(file.claim_name, None)
        marker = attempts_name(file.claim_name)
        if is_safe_name(marker):
            (self.processing / marker).unlink(missing_ok=True)

    def archive(self, file: ClaimedFile) -> None:
        src = self._processing_path(file)
        day = self.archive_dir.joinpath(*archive_day())
        day.mkdir(parents=True, exist_ok=True)
        os.rename(src, day / file.claim_name)
        self._forget_attempts(file)
        log.info("archived %s to %s", file.name, day)

    def open_archived(self, claim_name: str) -> AbstractContextManager[BinaryIO]:
        if not is_safe_name(claim_name):
            raise UnsafeName(claim_name, str(self.archive_dir))
        candidates = [
            self.archive_dir.joinpath(*day, claim_name) for day in archive_days_for(claim_name)
        ]
        for path in [*candidates, self.processing / claim_name]:
            try:
                return open(path, "rb")
            except FileNotFoundError:
                continue
        raise FileNotFoundError(errno.ENOENT, "not in the archive (purged?)", claim_name)

    def quarantine(self, file: ClaimedFile, reason: str) -> None:
        src = self._processing_path(file)
        atomic_write(self.quarantine_dir, file.claim_name + REASON_SUFFIX, reason.encode("utf-8"))
        os.rename(src, self.quarantine_dir / file.claim_name)
        self._forget_attempts(file)
        log.warning("quarantined %s: %s", file.name, reason)

    def purge_archive(self, older_than_days: int, today: date | None = None) -> int:
        """Remove archive days older than the retention; returns how many days went."""
        today = today or datetime.now(UTC).date()
        removed = 0
        for year in sorted(p for p in self.archive_dir.iterdir() if p.is_dir()):
            for month in sorted(p for p in year.iterdir() if p.is_dir()):
                for day in sorted(p for p in month.iterdir() if p.is_dir()):
                    if is_expired_day((year.name, month.name, day.name), older_than_days, today):
                        shutil.rmtree(day)
                        removed += 1
                if not any(month.iterdir()):
                    month.rmdir()
            if not any(year.iterdir()):
                year.rmdir()
        return removed

    # -- waiting -------------------------------------------------------------------

    def settling(self) -> int:
        """Files seen but not yet settled: a run that must take everything waits for them."""
        return self._tracker.settling()

    def wait(self, timeout: float) -> bool:
        """True on a folder event, or when a waiting file is due to have settled."""
        due = self._tracker.next_due()
        fired = self._event.wait(timeout if due is None else min(due, timeout))
        self._event.clear()
        if self._closed:
            return False
        return fired or (due is not None and due <= timeout)

    def close(self) -> None:
        self._closed = True
        self._event.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None


class LocalOutbox:
    """A folder the seller reads reports from; every report appears whole or not at all."""

    def __init__(self, outbox: str | os.PathLike[str]) -> None:
        self.outbox = Path(outbox)
        self.outbox.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalOutbox({str(self.outbox)!r})"

    def write(self, name: str, data: bytes) -> None:
        atomic_write(self.outbox, name, data)
        log.info("wrote report %s (%d bytes) to %s", name, len(data), self.outbox)

    def read(self, name: str) -> bytes:
        if not is_safe_name(name):
            raise UnsafeName(name, str(self.outbox))
        return (self.outbox / name).read_bytes()

    def sweep_temps(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in os.scandir(self.outbox):
            if not is_temp_name(entry.name):
                continue
            try:
                stale = entry.stat().st_mtime < cutoff
            except FileNotFoundError:  # renamed into place meanwhile: a live writer's
                continue
            if stale:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed

    def close(self) -> None:
        return None
