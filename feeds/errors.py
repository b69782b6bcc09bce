"""The one exception hierarchy of shipfeed.

Every error says in words a seller or operator can act on what went wrong, whether trying
again can help (``transient``), and which exit code the command line ends with. Callers
decide on retries by type, never by parsing messages.
"""

from __future__ import annotations

from enum import IntEnum, unique
from typing import ClassVar


@unique
class ExitCode(IntEnum):
    """Every exit code shipfeed ends with, one meaning each (the README lists this table).

    Scripts and supervisors branch on these numbers, so a number never changes meaning and
    two causes that need different actions never share one. The 64+ codes follow BSD
    sysexits where one fits, so generic tooling reads them right too.
    """

    OK = 0  # every line ended well (confirmed, or a duplicate of a confirmed line)
    LINES_NOT_CONFIRMED = 1  # some lines rejected, in error, needing attention or cancelled
    FILE_REJECTED = 2  # a whole input file could not be used (see its intake report)
    USAGE = 64  # the command line was wrong (unknown option, missing argument)
    REQUEST_REFUSED = 65  # the ledger refused what the operator asked (unknown order...)
    INTERNAL = 70  # a step stopped: ledger, disk or programming error (see the log)
    ALREADY_RUNNING = 73  # another instance holds this ledger
    TIMED_OUT = 75  # gave up for now (timeout, network, throttling): run again to carry on
    LOGIN_REFUSED = 77  # credentials missing or refused (Amazon login, SFTP)
    BAD_SETTINGS = 78  # the settings are invalid or name something unusable
    IDENTITY_MISMATCH = 79  # the ledger belongs to another Amazon (simulated/real, seller)


#: What each code tells the person who reads it; run.py's help and the README show it.
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "every line confirmed (or a duplicate of a confirmed line)",
    ExitCode.LINES_NOT_CONFIRMED: "some lines rejected, in error, needing attention or "
    "cancelled: see the result reports",
    ExitCode.FILE_REJECTED: "a whole file was rejected: see its intake report",
    ExitCode.USAGE: "wrong command line",
    ExitCode.REQUEST_REFUSED: "the ledger refused the request (unknown order, a line "
    "that cannot be cancelled)",
    ExitCode.INTERNAL: "a step failed (ledger, disk, bug): see the log and `status`",
    ExitCode.ALREADY_RUNNING: "another instance is running on this ledger",
    ExitCode.TIMED_OUT: "timed out or Amazon/the network failed for now: run again to carry on",
    ExitCode.LOGIN_REFUSED: "credentials missing or refused (Amazon login, SFTP)",
    ExitCode.BAD_SETTINGS: "invalid settings",
    ExitCode.IDENTITY_MISMATCH: "the ledger belongs to another Amazon account or mode",
}


def exit_codes_text() -> str:
    """The table as one line per code, for ``--help`` epilogs."""
    return "; ".join(f"{int(c)} {EXIT_CODE_MEANINGS[c]}" for c in ExitCode)


class ShipfeedError(Exception):
    """Base of everything shipfeed raises on purpose.

    Unclassified errors end the run with INTERNAL: a new error class that forgets to pick
    its code is reported as a failure, never as "a file was rejected" or success.
    """

    transient: ClassVar[bool] = False
    exit_code: ClassVar[int] = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class TerminalError(ShipfeedError):
    """Trying again with the same input cannot help; something must be changed first."""


class TransientError(ShipfeedError):
    """A passing condition (network, throttling, a busy server); trying later can help."""

    transient = True
    exit_code = ExitCode.TIMED_OUT


class Stopping(TransientError):
    """The run is stopping (SIGTERM, --timeout): raised instead of waiting for the next
    request, so a step ends within seconds and its work stays where the ledger has it."""


class ConfigError(TerminalError):
    """Settings or credentials are missing or invalid."""

    exit_code = ExitCode.BAD_SETTINGS


class CredentialsError(ConfigError):
    """SP-API or SFTP credentials are missing or were refused."""

    exit_code = ExitCode.LOGIN_REFUSED


class AmazonIdentityMismatch(ConfigError):
    """The ledger records another Amazon (simulated or real, region, selling partner) than
    the settings name: its confirmations would be taken for this one's."""

    exit_code = ExitCode.IDENTITY_MISMATCH


class FileRejected(TerminalError):
    """The whole input file cannot be used (unreadable, missing a required column...)."""

    exit_code = ExitCode.FILE_REJECTED

    def __init__(self, file: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{file}: {message}", hint=hint)
        self.file = file
        self.reason = message


class LinesRejected(TerminalError):
    """Some lines of a file were rejected; the rest went through."""

    exit_code = ExitCode.LINES_NOT_CONFIRMED


class AlreadyRunning(TerminalError):
    """Another shipfeed instance holds the same ledger."""

    exit_code = ExitCode.ALREADY_RUNNING


class UsageError(TerminalError):
    """The command line asks for something that does not exist or does not fit together."""

    exit_code = ExitCode.USAGE


class RemoteError(ShipfeedError):
    """Base for errors answered by a remote system (SP-API, SFTP server)."""


class RemoteTransientError(RemoteError, TransientError):
    """The remote side is unreachable, throttling or failing for now."""


class RemoteTerminalError(RemoteError, TerminalError):
    """The remote side refused the request as it stands."""


class AmazonRejected(RemoteTerminalError):
    """Amazon examined the content of a shipment or feed and refused it: its verdict.

    The one kind of error that may put an order line in ``error``. It is a class of its own,
    and not any RemoteTerminalError, so that a new error lands outside the verdicts by
    default: a refused login, a missing role, our own malformed request, a ledger refusal
    or a bug says nothing about the shipment, so it stops the step and the lines stay
    where they were, with no resend counted.
    """
