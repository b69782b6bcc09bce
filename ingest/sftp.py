"""The inbox and outbox on a seller's SFTP server (paramiko), polled.

Same rules as the local folder (ingest.names, ingest.settle), applied to listdir_attr
results across polls. Everything happens server-side with renames: claim into
``<work>/processing``, then ``<work>/archive/YYYY/MM/DD`` or ``<work>/quarantine``, where
``<work>`` defaults to ``<inbox>/.shipfeed``. Reports are uploaded under a hidden temporary
name and renamed over the final one, so the seller never reads half a report.
"""

from __future__ import annotations

import errno
import logging
import posixpath
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, date, datetime
from typing import BinaryIO, cast

import paramiko

from ingest.errors import InboxError, UnsafeName
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
from ingest.sftp_conn import SftpConnection

log = logging.getLogger(__name__)

#: Called during a download with (claim name, bytes so far, total bytes).
Progress = Callable[[str, int, int], None]


def _is_missing(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOENT


def _mkdirs(sftp: paramiko.SFTPClient, path: str) -> None:
    """mkdir -p on the server; a folder made meanwhile by another worker is fine."""
    try:  # the common case, one round trip: it is there already
        if stat.S_ISDIR(sftp.stat(path).st_mode or 0):
            return
    except OSError as exc:
        if not _is_missing(exc):
            raise
    parts = [p for p in path.split("/") if p]
    current = "/" if path.startswith("/") else ""
    for part in parts:
        current = posixpath.join(current, part) if current else part
        try:
            if stat.S_ISDIR(sftp.stat(current).st_mode or 0):
                continue
        except OSError as exc:
            if not _is_missing(exc):
                raise
        try:
            sftp.mkdir(current)
        except OSError:
            if not stat.S_ISDIR(sftp.stat(current).st_mode or 0):
                raise


def _rename_over(conn: SftpConnection, sftp: paramiko.SFTPClient, src: str, dst: str) -> None:
    """Rename replacing dst: posix-rename@openssh.com where offered, else remove + rename."""
    if conn.posix_rename is not False:
        try:
            sftp.posix_rename(src, dst)
            conn.posix_rename = True
            return
        except OSError as exc:
            if "unsupported" not in str(exc).lower():
                raise
            conn.posix_rename = False
            log.warning("%s has no posix-rename: replacing files is not atomic", conn.location)
    try:
        sftp.remove(dst)
    except OSError as exc:
        if not _is_missing(exc):
            raise
    sftp.rename(src, dst)


def _rename_once(sftp: paramiko.SFTPClient, src: str, dst: str) -> None:
    """Rename that may run twice: after a reconnect the first attempt may have done it,
    so a failure is only real while ``dst`` is still missing."""
    try:
        sftp.rename(src, dst)
    except OSError as exc:
        try:
            sftp.stat(dst)
        except OSError:
            raise exc from None


def _safe_join(folder: str, name: str) -> str:
    if not is_safe_name(name):
        raise UnsafeName(name, folder)
    return posixpath.join(folder, name)


class SftpInbox:
    """A seller's SFTP upload folder.

    ``spool_bytes``: downloads up to this size stay in memory, larger ones spill to a
    temporary file (named by tempfile, never by the server). ``prefetch_requests`` bounds
    paramiko's read-ahead (None: all read requests sent at once, no extra thread).
    ``on_progress`` lets a caller show (or a test interrupt) a download.
    """

    def __init__(
        self,
        conn: SftpConnection,
        *,
        settle_seconds: float,
        work_root: str | None = None,
        done_marker: bool = False,
        names_taken: NameFilter | None = None,
        spool_bytes: int = 16 * 1024 * 1024,
        prefetch_requests: int | None = None,
        on_progress: Progress | None = None,
    ) -> None:
        self.conn = conn
        self.inbox = conn.location.path
        root = work_root or posixpath.join(self.inbox, WORK_DIR_NAME)
        self.processing = posixpath.join(root, "processing")
        self.archive_dir = posixpath.join(root, "archive")
        self.quarantine_dir = posixpath.join(root, "quarantine")
        self.done_marker = done_marker
        self.names_taken = names_taken or NameFilter()
        self.spool_bytes = spool_bytes
        self.prefetch_requests = prefetch_requests
        self.on_progress = on_progress
        self._tracker = SettleTracker(settle_seconds)
        self._closed = threading.Event()
        self._made_dirs = False
        self._refused: list[RefusedFile] = []
        self._started: dict[str, int] = {}  # claim name → processes before this one

    def __repr__(self) -> str:
        return f"SftpInbox({str(self.conn.location)!r})"

    def _ensure_dirs(self, sftp: paramiko.SFTPClient) -> None:
        if not self._made_dirs:
            for folder in (self.processing, self.archive_dir, self.quarantine_dir):
                _mkdirs(sftp, folder)
            self._made_dirs = True

    # -- listing -------------------------------------------------------------------

    def ready(self) -> list[InboxFile]:
        attrs = self.conn.run(lambda s: s.listdir_attr(self.inbox), "listing the inbox")
        names = {a.filename for a in attrs}
        listed: list[InboxFile] = []
        problems: dict[str, str] = {}
        for a in attrs:
            name = a.filename
            if "/" in name or "\x00" in name or name in ("", ".", ".."):
                # Not a name a folder can hold: a broken or hostile server. Nothing to move.
                log.warning("%s: ignoring impossible name %r listed by the server", self, name)
                continue
            if is_partial_name(name) or not stat.S_ISREG(a.st_mode or 0):
                continue  # still uploading, hidden, a folder or a symlink: not taken
            problem = name_problem(name)
            if problem is None and not is_safe_name(name):
                continue
            listed.append(InboxFile(name, a.st_size or 0, float(a.st_mtime or 0)))
            if problem is not None:
                problems[name] = problem
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
        if "/" in file.name or "\x00" in file.name or file.name in ("", ".", ".."):
            raise UnsafeName(file.name, self.inbox)
        stand_in = make_claim_name(safe_stand_in(file.name))
        note = f"{printable_name(file.name, 400)}: {file.reason}\n"
        upload(self.conn, self.quarantine_dir, stand_in + REASON_SUFFIX, note.encode("utf-8"))
        src = posixpath.join(self.inbox, file.name)  # one plain component, checked above
        dst = posixpath.join(self.quarantine_dir, stand_in)

        self.conn.run(
            lambda sftp: _rename_once(sftp, src, dst), f"quarantining {printable_name(file.name)}"
        )
        self._tracker.forget(file.name)
        self._refused = [f for f in self._refused if f.name != file.name]
        log.warning("quarantined %s as %s: %s", printable_name(file.name), stand_in, file.reason)
        return stand_in

    def claim(self, file: InboxFile, claim_name: str | None = None) -> ClaimedFile | None:
        src = _safe_join(self.inbox, file.name)
        claim_name = claim_name or make_claim_name(file.name)
        if not is_safe_name(claim_name) or original_name(claim_name) != file.name:
            raise UnsafeName(claim_name, self.processing)
        dst = posixpath.join(self.processing, claim_name)

        def op(sftp: paramiko.SFTPClient) -> ClaimedFile | None:
            self._ensure_dirs(sftp)
            try:
                st = sftp.stat(src)
            except OSError as exc:
                if _is_missing(exc):
                    return None
                raise
            if st.st_size != file.size or float(st.st_mtime or 0) != file.mtime:
                return None  # changed since it was listed: judge it again next poll
            try:
                # Claim names are unique, so replacing never happens; both OpenSSH renames
                # (rename(2), or link+unlink) let exactly one racing worker succeed.
                _rename_over(self.conn, sftp, src, dst)
            except OSError as exc:
                if not _is_missing(exc):
                    raise
                try:  # after a reconnect, our own earlier rename may have gone through
                    sftp.stat(dst)
                except OSError:
                    return None
            if self.done_marker:
                try:
                    sftp.remove(_safe_join(self.inbox, file.name + DONE_SUFFIX))
                except OSError as exc:
                    if not _is_missing(exc):
                        raise
            return ClaimedFile(file.name, claim_name, st.st_size or 0)

        claimed = self.conn.run(op, f"claiming {file.name}")
        self._tracker.forget(file.name)
        if claimed is not None:
            log.info("claimed %s as %s", file.name, claim_name)
        return claimed

    def claimed(self) -> list[ClaimedFile]:
        """The claims in processing/ (left by a process that stopped, or under way in
        another worker); attempts markers whose claim has moved on are removed."""

        def op(sftp: paramiko.SFTPClient) -> list[paramiko.SFTPAttributes]:
            self._ensure_dirs(sftp)
            return sftp.listdir_attr(self.processing)

        found = []
        listing = self.conn.run(op, "listing processing/")
        for a in listing:
            name = original_name(a.filename)
            if name and is_safe_name(a.filename) and stat.S_ISREG(a.st_mode or 0):
                found.append(ClaimedFile(name, a.filename, a.st_size or 0))
        orphans = [m for m in orphan_markers(a.filename for a in listing) if is_safe_name(m)]
        if orphans:

            def remove(sftp: paramiko.SFTPClient) -> None:
                for marker in orphans:
                    try:
                        sftp.remove(posixpath.join(self.processing, marker))
                    except OSError as exc:
                        if not _is_missing(exc):
                            raise

            self.conn.run(remove, "removing attempts markers left behind")
            log.info("removed %s: their files left processing/ already", ", ".join(orphans))
        return sorted(found, key=lambda c: c.claim_name)

    # -- reading and moving on -----------------------------------------------------

    def open(self, file: ClaimedFile) -> AbstractContextManager[BinaryIO]:
        return self._open(file, _safe_join(self.processing, file.claim_name))

    def open_archived(self, claim_name: str) -> AbstractContextManager[BinaryIO]:
        if not is_safe_name(claim_name):
            raise UnsafeName(claim_name, self.archive_dir)
        candidates = [
            *(
                posixpath.join(self.archive_dir, *day, claim_name)
                for day in archive_days_for(claim_name)
            ),
            posixpath.join(self.processing, claim_name),
        ]

        def find(sftp: paramiko.SFTPClient) -> str | None:
            for path in candidates:
                try:
                    if stat.S_ISREG(sftp.stat(path).st_mode or 0):
                        return path
                except OSError as exc:
                    if not _is_missing(exc):
                        raise
            return None

        remote = self.conn.run(find, f"finding {claim_name} in the archive")
        if remote is None:
            raise FileNotFoundError(errno.ENOENT, "not in the archive (purged?)", claim_name)
        name = original_name(claim_name) or claim_name
        return self._open(ClaimedFile(name, claim_name, 0), remote)

    @contextmanager
    def _open(self, file: ClaimedFile, remote: str) -> Iterator[BinaryIO]:
        # Closed in the finally below; a with-block cannot span the yield and the retries.
        spool = tempfile.SpooledTemporaryFile(max_size=self.spool_bytes, prefix="shipfeed-")  # noqa: SIM115
        try:

            def download(sftp: paramiko.SFTPClient) -> None:
                spool.seek(0)
                spool.truncate()  # a retry after a cut starts again from byte 0
                progress = None
                if self.on_progress is not None:
                    cb = self.on_progress
                    progress = lambda done, total: cb(file.claim_name, done, total)  # noqa: E731
                size = sftp.stat(remote).st_size or 0
                got = sftp.getfo(
                    remote,
                    spool,
                    callback=progress,
                    prefetch=True,
                    max_concurrent_prefetch_requests=self.prefetch_requests,
                )
                if got != size:
                    raise EOFError(f"download of {file.claim_name} ended at {got} of {size}")

            self.conn.run(download, f"downloading {file.name}")
            spool.seek(0)
            yield cast(BinaryIO, spool)
        finally:
            spool.close()

    def _move(self, file: ClaimedFile, folder: str, what: str) -> None:
        src = _safe_join(self.processing, file.claim_name)
        dst = _safe_join(folder, file.claim_name)

        def op(sftp: paramiko.SFTPClient) -> None:
            _mkdirs(sftp, folder)
            _rename_once(sftp, src, dst)

        self.conn.run(op, f"{what} {file.name}")

    def start_attempt(self, file: ClaimedFile) -> int:
        if file.claim_name in self._started:
            return self._started[file.claim_name]
        marker = attempts_name(file.claim_name)
        if not is_safe_name(marker):  # claimed before names were bounded: not counted
            return 0
        path = posixpath.join(self.processing, marker)

        def read(sftp: paramiko.SFTPClient) -> int:
            try:
                with sftp.open(path, "rb") as fh:
                    return int(fh.read(32).decode("ascii", "replace").strip() or 0)
            except ValueError:
                return 0
            except OSError as exc:
                if _is_missing(exc):
                    return 0
                raise

        before = self.conn.run(read, f"reading the attempts of {file.name}")
        upload(self.conn, self.processing, marker, str(before + 1).encode("ascii"))
        self._started[file.claim_name] = before
        return before

    def read_through(self, file: ClaimedFile) -> None:
        self._forget_attempts(file)

    def _forget_attempts(self, file: ClaimedFile) -> None:
        self._started.pop(file.claim_name, None)
        marker = attempts_name(file.claim_name)
        if not is_safe_name(marker):
            return
        path = posixpath.join(self.processing, marker)

        def op(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.remove(path)
            except OSError as exc:
                if not _is_missing(exc):
                    raise

        self.conn.run(op, f"removing the attempts of {file.name}")

    def archive(self, file: ClaimedFile) -> None:
        folder = posixpath.join(self.archive_dir, *archive_day())
        self._move(file, folder, "archiving")
        self._forget_attempts(file)
        log.info("archived %s to %s", file.name, folder)

    def quarantine(self, file: ClaimedFile, reason: str) -> None:
        upload(
            self.conn,
            self.quarantine_dir,
            file.claim_name + REASON_SUFFIX,
            reason.encode("utf-8"),
        )
        self._move(file, self.quarantine_dir, "quarantining")
        self._forget_attempts(file)
        log.warning("quarantined %s: %s", file.name, reason)

    def purge_archive(self, older_than_days: int, today: date | None = None) -> int:
        """Remove archive days older than the retention; returns how many days went."""
        today = today or datetime.now(UTC).date()

        def dirs(sftp: paramiko.SFTPClient, path: str) -> list[str]:
            return sorted(
                a.filename
                for a in sftp.listdir_attr(path)
                if stat.S_ISDIR(a.st_mode or 0) and is_safe_name(a.filename)
            )

        def rmtree(sftp: paramiko.SFTPClient, path: str) -> None:
            for a in sftp.listdir_attr(path):
                if not is_safe_name(a.filename):
                    continue
                child = posixpath.join(path, a.filename)
                if stat.S_ISDIR(a.st_mode or 0):
                    rmtree(sftp, child)
                else:
                    sftp.remove(child)
            sftp.rmdir(path)

        def op(sftp: paramiko.SFTPClient) -> int:
            self._ensure_dirs(sftp)
            removed = 0
            for y in dirs(sftp, self.archive_dir):
                ypath = posixpath.join(self.archive_dir, y)
                for m in dirs(sftp, ypath):
                    mpath = posixpath.join(ypath, m)
                    for d in dirs(sftp, mpath):
                        if is_expired_day((y, m, d), older_than_days, today):
                            rmtree(sftp, posixpath.join(mpath, d))
                            removed += 1
                    if not sftp.listdir(mpath):
                        sftp.rmdir(mpath)
                if not sftp.listdir(ypath):
                    sftp.rmdir(ypath)
            return removed

        return self.conn.run(op, "purging the archive")

    # -- waiting -------------------------------------------------------------------

    def settling(self) -> int:
        """Files seen but not yet settled: a run that must take everything waits for them."""
        return self._tracker.settling()

    def wait(self, timeout: float) -> bool:
        """SFTP has no events: sleep until the poll is due, or a waiting file may be settled."""
        due = self._tracker.next_due()
        if due is not None and due < timeout:
            return not self._closed.wait(due)
        self._closed.wait(timeout)
        return False

    def close(self) -> None:
        self._closed.set()
        self.conn.close()


def upload(conn: SftpConnection, folder: str, name: str, data: bytes) -> None:
    """Upload under a hidden temporary name, then rename over the final name."""
    final = _safe_join(folder, name)
    tmp = posixpath.join(folder, temp_name())

    def op(sftp: paramiko.SFTPClient) -> None:
        _mkdirs(sftp, folder)
        try:
            with sftp.open(tmp, "wb") as fh:
                fh.set_pipelined(True)
                fh.write(data)
            _rename_over(conn, sftp, tmp, final)
        except BaseException:
            with suppress(OSError, EOFError, paramiko.SSHException):
                sftp.remove(tmp)
            raise

    conn.run(op, f"uploading {name}")


class SftpOutbox:
    """A seller's SFTP folder for reports."""

    def __init__(self, conn: SftpConnection) -> None:
        self.conn = conn
        self.outbox = conn.location.path

    def __repr__(self) -> str:
        return f"SftpOutbox({str(self.conn.location)!r})"

    def write(self, name: str, data: bytes) -> None:
        if not is_safe_name(name):
            raise UnsafeName(name, str(self.conn.location))
        upload(self.conn, self.outbox, name, data)
        log.info("wrote report %s (%d bytes) to %s", name, len(data), self.conn.location)

    def read(self, name: str) -> bytes:
        if not is_safe_name(name):
            raise UnsafeName(name, str(self.conn.location))
        path = _safe_join(self.outbox, name)

        def op(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(path, "rb") as fh:
                fh.prefetch()
                return fh.read()

        return self.conn.run(op, f"reading {name}")

    def sweep_temps(self, older_than_seconds: float) -> int:
        """As the local outbox; the age is the server's mtime against our clock, which
        an hour's margin makes safe from ordinary clock skew."""
        cutoff = time.time() - older_than_seconds
        folder = self.outbox

        def op(sftp: paramiko.SFTPClient) -> int:
            removed = 0
            for a in sftp.listdir_attr(folder):
                if is_temp_name(a.filename) and (a.st_mtime or 0) < cutoff:
                    with suppress(FileNotFoundError):
                        sftp.remove(posixpath.join(folder, a.filename))
                    removed += 1
            return removed

        return self.conn.run(op, "sweeping temporary files")

    def close(self) -> None:
        self.conn.close()


__all__ = ["InboxError", "SftpInbox", "SftpOutbox", "upload"]
