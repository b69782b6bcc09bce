"""Which names in an inbox are real, finished, safe files, and how claims are named.

Kept pure (no I/O) so the local folder and the SFTP server apply exactly the same rules.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase

from feeds.excerpt import clip

#: Suffixes uploaders give a file while it is still being written (WinSCP .filepart,
#: browsers .crdownload, rsync/our own .tmp, many tools .part).
PARTIAL_SUFFIXES: tuple[str, ...] = (
    ".part",
    ".partial",
    ".tmp",
    ".temp",
    ".filepart",
    ".crdownload",
    ".download",
    ".swp",
)
#: ``FILE.done`` says FILE is complete (the optional done-marker convention).
DONE_SUFFIX = ".done"
#: Written beside a quarantined file to say why.
REASON_SUFFIX = ".reason.txt"
#: Where an inbox keeps processing/, archive/ and quarantine/ unless told otherwise: inside
#: the seller's own folder, so a claim is one rename on the same filesystem or server.
WORK_DIR_NAME = ".shipfeed"

#: Beside a claim in processing/: how many processes have started taking it in.
ATTEMPTS_SUFFIX = ".attempts"

#: The hidden name a report is written under before its rename into place. A process
#: killed in between leaves it behind; outboxes sweep such names once they are old.
_TEMP_RE = re.compile(r"^\.[0-9a-f]{12}\.tmp$")
#: A temporary file older than this is a dead writer's: no report takes an hour to write.
STALE_TEMP_SECONDS = 3600.0


def temp_name() -> str:
    return f".{secrets.token_hex(6)}.tmp"


def is_temp_name(name: str) -> bool:
    return _TEMP_RE.match(name) is not None


_CLAIM_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}-(?P<name>.+)$")
_MAX_NAME_BYTES = 255
#: The longest seller's name taken in: the claim name adds 26 bytes, its attempts marker
#: 10 more, and a report name (NAME.intake.json) 12, all within a 255-byte file name.
MAX_TAKEN_NAME_BYTES = 200
#: Characters that are no part of a file name a person typed: C0 and C1 controls, DEL,
#: and the Unicode line and paragraph separators.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def is_safe_name(name: str) -> bool:
    """True for a plain base name that cannot point outside the folder it is listed in.

    A hostile or broken server may list anything; names are only ever joined to our own
    folders after passing this check.
    """
    if not name or name in (".", ".."):
        return False
    if "/" in name or "\\" in name or "\x00" in name:
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return False
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from undecodable bytes
        return False
    return len(encoded) <= _MAX_NAME_BYTES


def name_problem(name: str) -> str | None:
    """Why the service will not take a file of this name, in words for the seller; None
    when it will. Such a file is quarantined and reported, never silently passed over.

    A name is refused when it could not travel safely through claim names, report names,
    logs and reports: control characters (a line break splits a log line or a report
    row), folder separators, undecodable bytes, or a length that leaves no room for the
    claim prefix and report suffixes.
    """
    if _CONTROL_RE.search(name):
        return "the file name contains a line break or another control character"
    if "/" in name or "\\" in name:
        return "the file name contains a folder separator (/ or \\)"
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8 text"
    if len(encoded) > MAX_TAKEN_NAME_BYTES:
        return (
            f"the file name is {len(encoded)} bytes long; names up to "
            f"{MAX_TAKEN_NAME_BYTES} bytes are taken"
        )
    return None


def printable_name(name: str, limit: int = 120) -> str:
    """The name as a reason may quote it: controls escaped (a line break shows as \\n),
    undecodable bytes as \\xNN, and at most ``limit`` characters."""
    try:  # undecodable bytes arrive as lone surrogates (surrogateescape): show them as \\xNN
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "backslashreplace").decode("utf-8")
    shown = _CONTROL_RE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), shown)
    return clip(shown, limit)


def safe_stand_in(name: str) -> str:
    """A name the service can use for a file whose own name it refuses (name_problem): the
    refused characters become '_', undecodable bytes '?', cut to fit, extension kept, so
    its quarantined copy and its rejection report still look like the seller's file."""
    text = name.encode("utf-8", "replace").decode("utf-8").replace("\ufffd", "?")
    text = _CONTROL_RE.sub("_", text).replace("/", "_").replace("\\", "_")
    text = text.lstrip(".") or "unnamed"
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext.encode()) > 10:
        stem, ext = text, ""
    budget = 120 - len(ext.encode()) - len(dot)
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore") or "unnamed"
    return f"{stem}{dot}{ext}" if ext else stem


def attempts_name(claim_name: str) -> str:
    """The hidden marker beside a claim that counts the processes that started it."""
    return f".{claim_name}{ATTEMPTS_SUFFIX}"


def orphan_markers(names: Iterable[str]) -> list[str]:
    """The attempts markers in a processing/ listing whose claim is no longer there.

    A claim leaves processing/ (archived or quarantined) before its marker is removed, so
    a process killed between the two leaves the marker behind for good. Safe to remove:
    a marker is only ever written once its claim is in processing/, so one without it
    belongs to a file that has moved on.
    """
    listed = list(names)
    present = set(listed)
    found = []
    for name in listed:
        if name.startswith(".") and name.endswith(ATTEMPTS_SUFFIX):
            claim = name[1 : -len(ATTEMPTS_SUFFIX)]
            if original_name(claim) is not None and claim not in present:
                found.append(name)
    return found


def is_partial_name(name: str) -> bool:
    """Names that uploaders use while writing, lock files, hidden files and markers."""
    lower = name.lower()
    return (
        name.startswith(".")
        or name.startswith("~$")
        or lower.endswith(PARTIAL_SUFFIXES)
        or lower.endswith(DONE_SUFFIX)
    )


def make_claim_name(name: str, now: datetime | None = None) -> str:
    """A unique name in processing/ that still shows the seller's original name."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{when:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}-{name}"


def original_name(claim_name: str) -> str | None:
    """The seller's name inside a claim name, or None if this is not one of ours."""
    match = _CLAIM_RE.match(claim_name)
    return match.group("name") if match else None


def archive_day(now: datetime | None = None) -> tuple[str, str, str]:
    """The archive/YYYY/MM/DD folder parts for today (UTC, so workers agree)."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{when:%Y}", f"{when:%m}", f"{when:%d}"


def archive_days_for(claim_name: str, today: date | None = None) -> list[tuple[str, str, str]]:
    """The archive/YYYY/MM/DD folders a claimed file may have been archived into, likeliest
    first: from the day of its claim (in its name) to today. A file is archived right after
    intake, so the claim day or the next one; a crash between claim and archive delays it
    to the restart. A name that is not a claim name gives just today."""
    today = today or datetime.now(UTC).date()
    match = _CLAIM_RE.match(claim_name)
    try:
        day = datetime.strptime(claim_name[:8], "%Y%m%d").date() if match else today
    except ValueError:
        day = today
    days = [day]
    while day < today:
        day += timedelta(days=1)
        days.append(day)
    return [(f"{d:%Y}", f"{d:%m}", f"{d:%d}") for d in days]


def is_expired_day(parts: tuple[str, str, str], older_than_days: int, today: date) -> bool:
    """True for an archive/YYYY/MM/DD folder older than the retention; False if not a date."""
    try:
        day = date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return False
    return day < today - timedelta(days=older_than_days)


@dataclass(frozen=True, slots=True)
class NameFilter:
    """A seller's include and exclude name patterns (shell-style, case ignored): which
    files of its inbox are its orders at all. A legacy system may write other files
    beside them (logs, its own receipts); those are left alone, never quarantined."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def takes(self, name: str) -> bool:
        low = name.lower()
        if self.include and not any(fnmatchcase(low, p.lower()) for p in self.include):
            return False
        return not any(fnmatchcase(low, p.lower()) for p in self.exclude)
