"""Errors raised while moving files in and reports out.

They sit under feeds/errors.py's hierarchy so that callers decide by type: a dropped SFTP
connection is transient (the next poll retries), a host key or a path trick is not.
"""

from __future__ import annotations

from feeds.errors import ConfigError, RemoteTransientError, TerminalError


class InboxError(RemoteTransientError):
    """The inbox or outbox could not be reached or used for now (network, server restart)."""


class HostKeyError(ConfigError):
    """The SFTP server's host key is unknown or changed; an operator must check it first."""


class UnsafeName(TerminalError):
    """A file name that could reach outside the seller's folders (``..``, ``/``, NUL...)."""

    def __init__(self, name: str, where: str) -> None:
        super().__init__(
            f"{where}: refusing unsafe file name {name!r}",
            hint="names must be plain file names without folders, '..', or control characters",
        )
        self.name = name
