"""One shipfeed instance per SQLite ledger file.

SQLite serialises writers itself, but two services on the same file would both batch the
same queue and track the same feeds (nothing in SQLite can say "this row is being worked
on" across processes the way PostgreSQL's SKIP LOCKED does). So the lock belongs to the
ledger FILE: it sits beside it, named after its real path, and two instances reach it
whatever their data_dir and however they spell the path (relative, through a symlink).
An OS file lock is released by the kernel when the process dies, so a crash never leaves
a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from feeds.errors import AlreadyRunning


class InstanceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    @classmethod
    def beside(cls, database: str | Path) -> InstanceLock:
        """The lock of one SQLite ledger file, next to it (``ledger.sqlite3.lock``)."""
        db = Path(os.path.realpath(database))
        return cls(db.with_name(db.name + ".lock"))

    def acquire(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise AlreadyRunning(
                f"another shipfeed instance ({holder}) is using the ledger locked by {self.path}",
                hint="stop it first, or give this one its own ledger; "
                "several workers need a PostgreSQL ledger",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None
