"""One SFTP connection that survives drops: connect, verify, authenticate, retry; shared
by the boxes on one server and login.

Every remote operation goes through ``SftpConnection.run``: if the connection died under
it (server restart, cut line, killed session), the connection is rebuilt with backoff and
the whole operation runs again from its start. Operations are therefore written to be
safe to repeat (a download restarts at byte 0, a rename checks where the file ended up).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import paramiko
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from feeds.errors import ConfigError, CredentialsError
from ingest.errors import InboxError
from ingest.hostkeys import host_entry, verify_host_key

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SftpLocation:
    """Where a seller's folder is: parsed from ``sftp://user@host:port/path``."""

    host: str
    port: int
    username: str
    path: str

    @classmethod
    def parse(cls, url: str) -> SftpLocation:
        parts = urlsplit(url)
        if parts.scheme != "sftp" or not parts.hostname or not parts.username:
            raise ConfigError(
                f"not an SFTP location: {url!r}", hint="write sftp://user@host:port/path"
            )
        if parts.password:
            raise ConfigError(
                f"SFTP location for {parts.hostname} contains a password",
                hint="put passwords in the secrets, never in the inbox/outbox URL",
            )
        path = unquote(parts.path) or "/"
        if "\x00" in path or any(p == ".." for p in path.split("/")):
            raise ConfigError(f"SFTP path {path!r} must not contain '..' or NUL")
        try:
            port = parts.port or 22
        except ValueError as exc:
            raise ConfigError(f"bad port in SFTP location {url!r}") from exc
        return cls(parts.hostname, port, unquote(parts.username), path.rstrip("/") or "/")

    def __str__(self) -> str:
        return f"sftp://{self.username}@{host_entry(self.host, self.port)}{self.path}"


@dataclass(frozen=True, slots=True)
class SftpAuth:
    """Credentials from the secrets; repr never shows them."""

    password: str | None = field(default=None, repr=False)
    private_key_path: str | None = None
    private_key_passphrase: str | None = field(default=None, repr=False)


#: SftpOptions.hold_off_seconds' default.
HOLD_OFF_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class SftpOptions:
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    connect_timeout: float = 15.0
    op_timeout: float = 60.0  # a read stuck this long means the line is dead
    keepalive_seconds: int = 30
    # Measured on loopback (benchmarks/sftp_inbox.py): 2-4 MiB windows download at
    # 100-150 MiB/s, 8 MiB at ~70, 16 MiB at 13-20: a big window only makes paramiko's
    # reader thread buffer more than the consumer can take.
    window_size: int = 4 * 1024 * 1024
    max_packet_size: int = 32 * 1024
    attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    # After a server failed every attempt, the next operations on it fail at once for this
    # long instead of each paying the attempts' backoff (about 1.6 s): the steps that go
    # through sellers one by one (reports, status notes, purges) then lose that time once
    # per server, not once per seller on it.
    hold_off_seconds: float = HOLD_OFF_SECONDS


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, EOFError | paramiko.SSHException | socket.timeout | ConnectionError)


class LinkClosed(InboxError):
    """The box was closed (the service is stopping): its operations end, untried again."""


class SftpLink:
    """One SSH connection, with its SFTP session, to one server as one user: shared by
    every inbox and outbox there (``SftpLinks``), so a thousand sellers on one server cost
    one login, not two thousand. One operation runs on it at a time (servers limit the
    sessions per connection, and paramiko's SFTP client is not made for concurrent use);
    the service polls sellers on other servers meanwhile."""

    def __init__(self, location: SftpLocation, auth: SftpAuth, options: SftpOptions) -> None:
        if not auth.password and not auth.private_key_path:
            raise CredentialsError(
                f"no SFTP password or private key for {location}",
                hint="set sftp.<credentials>.password or private_key_path in the secrets",
            )
        self.location = location  # its path is the first box's; the login is what counts
        self.auth = auth
        self.options = options
        self.lock = threading.RLock()
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self.connects = 0  # how many times a connection was opened (1 + reconnects)
        self.posix_rename: bool | None = None  # learnt on first use
        self.users = 0
        self.closed = False
        self._connecting: socket.socket | None = None  # closed by close() to cut a hang
        # Set when an operation failed every attempt: until then (time.monotonic), the
        # next ones fail at once with this reason (SftpOptions.hold_off_seconds).
        self.unreachable_until = 0.0
        self.unreachable_reason = ""

    def held_off(self) -> InboxError | None:
        """The error to fail with at once while the server is held off, else None."""
        left = self.unreachable_until - time.monotonic()
        if left <= 0:
            return None
        return InboxError(
            f"{self.unreachable_reason} (not tried again for another {left:.0f} s)",
            hint="the server failed every attempt just now; shipfeed tries it again soon",
        )

    def hold_off(self, seconds: float, reason: str) -> None:
        if seconds > 0:
            self.unreachable_until = time.monotonic() + seconds
            self.unreachable_reason = reason

    def _connect(self) -> paramiko.SFTPClient:
        loc, opt = self.location, self.options
        try:
            sock = socket.create_connection((loc.host, loc.port), timeout=opt.connect_timeout)
        except OSError as exc:
            raise InboxError(
                f"cannot reach SFTP server {host_entry(loc.host, loc.port)}: {exc}"
            ) from exc
        self._connecting = sock
        try:
            return self._start(sock)
        finally:
            self._connecting = None

    def _start(self, sock: socket.socket) -> paramiko.SFTPClient:
        loc, opt = self.location, self.options
        transport = paramiko.Transport(
            sock, default_window_size=opt.window_size, default_max_packet_size=opt.max_packet_size
        )
        try:
            transport.start_client(timeout=opt.connect_timeout)
            verify_host_key(
                transport.get_remote_server_key(),
                loc.host,
                loc.port,
                opt.known_hosts,
                opt.trust_on_first_use,
            )
            self._authenticate(transport)
            transport.set_keepalive(opt.keepalive_seconds)
            sftp = paramiko.SFTPClient.from_transport(
                transport, window_size=opt.window_size, max_packet_size=opt.max_packet_size
            )
            if sftp is None:
                raise InboxError(f"SFTP subsystem refused by {loc}")
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(opt.op_timeout)
        except BaseException:
            transport.close()
            raise
        self._transport, self._sftp = transport, sftp
        self.connects += 1
        log.info("connected to %s (connection %d)", loc, self.connects)
        return sftp

    def _authenticate(self, transport: paramiko.Transport) -> None:
        loc, auth = self.location, self.auth
        try:
            if auth.private_key_path:
                try:
                    phrase = auth.private_key_passphrase
                    # paramiko's stub says str, but cryptography below it needs bytes.
                    key = paramiko.PKey.from_path(
                        auth.private_key_path,
                        phrase.encode() if phrase else None,  # type: ignore[arg-type]
                    )
                except (OSError, paramiko.SSHException, ValueError) as exc:
                    raise CredentialsError(
                        f"cannot load SFTP private key {auth.private_key_path} for {loc}: "
                        f"{type(exc).__name__}",
                        hint="check the key file and its passphrase in the secrets",
                    ) from exc
                transport.auth_publickey(loc.username, key)
            else:
                transport.auth_password(loc.username, auth.password or "")
        except paramiko.AuthenticationException as exc:
            raise CredentialsError(
                f"SFTP server {host_entry(loc.host, loc.port)} refused login as {loc.username}",
                hint="check the seller's SFTP credentials in the secrets",
            ) from exc

    def client(self) -> paramiko.SFTPClient:
        """The live SFTP session, opened again if it died (call with ``lock`` held)."""
        if self.closed:
            raise LinkClosed(f"the connection to {self.location} is closed")
        if self._transport is not None and self._transport.is_active() and self._sftp:
            return self._sftp
        self.drop()
        try:
            return self._connect()
        except (EOFError, paramiko.SSHException, OSError) as exc:
            raise InboxError(f"cannot connect to {self.location}: {exc}") from exc

    def alive(self) -> bool:
        return self._transport is not None and self._transport.is_active()

    def drop(self) -> None:
        transport, self._transport, self._sftp = self._transport, None, None
        if transport is not None:
            transport.close()

    def close(self) -> None:
        """Close for good, at once, without waiting for an operation under way: a
        stopping service must not wait out a hung server's timeouts. The operation fails
        on the closed socket and is not tried again."""
        self.closed = True
        sock = self._connecting
        if sock is not None:
            with suppress(OSError):
                sock.close()
        self.drop()


class SftpLinks:
    """The links of one service, one per server, user and login, shared by its boxes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._links: dict[tuple[str, int, str, SftpAuth, SftpOptions], SftpLink] = {}

    def get(self, location: SftpLocation, auth: SftpAuth, options: SftpOptions) -> SftpLink:
        key = (location.host.lower(), location.port, location.username, auth, options)
        with self._lock:
            link = self._links.get(key)
            if link is None:
                link = self._links[key] = SftpLink(location, auth, options)
            link.users += 1
            return link

    def release(self, link: SftpLink) -> None:
        """One box is done with ``link``; the last one closes the connection."""
        with self._lock:
            link.users -= 1
            if link.users > 0:
                return
            self._links = {k: v for k, v in self._links.items() if v is not link}
        link.close()


class SftpConnection:
    """One box's way to its folder on a server: a self-healing link, shared with the other
    boxes on the same server and login when opened through ``SftpLinks``."""

    def __init__(
        self,
        location: SftpLocation,
        auth: SftpAuth,
        options: SftpOptions,
        links: SftpLinks | None = None,
    ) -> None:
        self.location = location
        self.auth = auth
        self.options = options
        self._links = links if links is not None else SftpLinks()
        self.link = self._links.get(location, auth, options)
        self._closed = False

    def __repr__(self) -> str:
        return f"SftpConnection({str(self.location)!r})"

    @property
    def connects(self) -> int:
        """How many times the (shared) connection was opened: 1 + reconnects."""
        return self.link.connects

    @property
    def posix_rename(self) -> bool | None:
        return self.link.posix_rename

    @posix_rename.setter
    def posix_rename(self, value: bool | None) -> None:
        self.link.posix_rename = value

    def run(self, op: Callable[[paramiko.SFTPClient], T], what: str) -> T:
        """Run op on a live connection; after a drop, reconnect with backoff and rerun it.

        Errors the server answers on a healthy connection (no such file, permission) are
        the caller's to interpret and pass straight through. The backoff waits outside the
        link's lock, so the other boxes on the server are not held up by them.
        """
        opt = self.options
        retrying = Retrying(
            stop=stop_after_attempt(opt.attempts),
            wait=wait_random_exponential(multiplier=opt.backoff_initial, max=opt.backoff_max),
            retry=retry_if_exception(
                lambda e: isinstance(e, InboxError) and not isinstance(e, LinkClosed)
            ),
            reraise=True,
        )
        link = self.link
        held_off = link.held_off()
        if held_off is not None:
            raise held_off
        try:
            for attempt in retrying:
                with attempt, link.lock:
                    sftp = link.client()
                    try:
                        result = op(sftp)
                    except Exception as exc:
                        if not _is_connection_error(exc) and link.alive():
                            raise
                        link.drop()
                        log.warning(
                            "SFTP connection to %s lost while %s: %r", self.location, what, exc
                        )
                        raise InboxError(
                            f"SFTP connection to {self.location} lost while {what}",
                            hint="the server restarted or the line dropped; shipfeed reconnects",
                        ) from exc
                    link.unreachable_until = 0.0
                    return result
        except LinkClosed:
            raise
        except InboxError as exc:
            link.hold_off(opt.hold_off_seconds, str(exc))
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._links.release(self.link)
