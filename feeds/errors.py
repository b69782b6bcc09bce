"""The one exception hierarchy of shipfeed.

Every error says in words a seller or operator can act on what went wrong, whether trying
again can help (``transient``), and which exit code the command line ends with. Callers
decide on retries by type, never by parsing messages.
"""

from __future__ import annotations

from typing import ClassVar


class ShipfeedError(Exception):
    """Base of everything shipfeed raises on purpose."""

    transient: ClassVar[bool] = False
    exit_code: ClassVar[int] = 2

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
    exit_code = 75  # EX_TEMPFAIL


class ConfigError(TerminalError):
    """Settings or credentials are missing or invalid."""

    exit_code = 78  # EX_CONFIG


class CredentialsError(ConfigError):
    """SP-API or SFTP credentials are missing or were refused."""


class FileRejected(TerminalError):
    """The whole input file cannot be used (unreadable, missing a required column...)."""

    exit_code = 2

    def __init__(self, file: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{file}: {message}", hint=hint)
        self.file = file
        self.reason = message


class LinesRejected(TerminalError):
    """Some lines of a file were rejected; the rest went through."""

    exit_code = 1


class AlreadyRunning(TerminalError):
    """Another shipfeed instance holds the same ledger."""

    exit_code = 73


class RemoteError(ShipfeedError):
    """Base for errors answered by a remote system (SP-API, SFTP server)."""


class RemoteTransientError(RemoteError, TransientError):
    """The remote side is unreachable, throttling or failing for now."""


class RemoteTerminalError(RemoteError, TerminalError):
    """The remote side refused the request as it stands."""
