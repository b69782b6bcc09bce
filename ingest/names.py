"""Which names in an inbox are real, finished, safe files, and how claims are named.

Kept pure (no I/O) so the local folder and the SFTP server apply exactly the same rules.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta

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

_CLAIM_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}-(?P<name>.+)$")
_MAX_NAME_BYTES = 255


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
