"""Open a seller's inbox or outbox from its location: a folder path or ``sftp://...``.

ingest/ may not import config/, so the processors pass plain values built from settings::

    secret = secrets.sftp.get(seller.credentials)
    auth = secret and SftpAuth(
        password=secret.password and secret.password.get_secret_value(),
        private_key_path=secret.private_key_path,
        private_key_passphrase=secret.private_key_passphrase
        and secret.private_key_passphrase.get_secret_value(),
    )
    options = InboxOptions(
        settle_seconds=settings.settle_seconds_for(seller),
        known_hosts=seller.known_hosts,
        trust_on_first_use=seller.trust_on_first_use,
    )
    inbox = open_inbox(seller.inbox, options=options, auth=auth)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from feeds.errors import ConfigError
from ingest.inbox import Inbox, Outbox
from ingest.local import LocalInbox, LocalOutbox
from ingest.names import NameFilter
from ingest.sftp import SftpInbox, SftpOutbox
from ingest.sftp_conn import (
    HOLD_OFF_SECONDS,
    SftpAuth,
    SftpConnection,
    SftpLinks,
    SftpLocation,
    SftpOptions,
)

__all__ = ["InboxOptions", "SftpAuth", "SftpLinks", "is_sftp", "open_inbox", "open_outbox"]


@dataclass(frozen=True, slots=True)
class InboxOptions:
    """How files are judged and where they go after intake (same for both kinds).

    ``work_root``: the folder holding processing/, archive/ and quarantine/; default
    ``<inbox>/.shipfeed``. For a local inbox it must be on the inbox's filesystem; for
    SFTP it is a path on the server.
    """

    settle_seconds: float = 5.0
    done_marker: bool = False
    names_taken: NameFilter = field(default_factory=NameFilter)  # include/exclude
    work_root: str | None = None
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    watch: bool = True  # local only: watchdog events as well as rescans
    # SFTP only: how long a server that failed every attempt is not tried again
    # (SftpOptions.hold_off_seconds).
    hold_off_seconds: float = HOLD_OFF_SECONDS


def is_sftp(location: str) -> bool:
    return location.lower().startswith("sftp://")


def _connection(
    location: str, auth: SftpAuth | None, options: InboxOptions, links: SftpLinks | None
) -> SftpConnection:
    if auth is None:
        raise ConfigError(
            f"no SFTP credentials for {SftpLocation.parse(location)}",
            hint="add sftp.<credentials> with a password or private_key_path to the secrets",
        )
    return SftpConnection(
        SftpLocation.parse(location),
        auth,
        SftpOptions(
            known_hosts=options.known_hosts,
            trust_on_first_use=options.trust_on_first_use,
            hold_off_seconds=options.hold_off_seconds,
        ),
        links,
    )


def open_inbox(
    location: str,
    *,
    options: InboxOptions | None = None,
    auth: SftpAuth | None = None,
    links: SftpLinks | None = None,
) -> Inbox:
    """A LocalInbox for a path, an SftpInbox for sftp://user@host:port/path; ``links``:
    the service's SFTP connections, one per server and login, shared by its boxes."""
    options = options or InboxOptions()
    if is_sftp(location):
        return SftpInbox(
            _connection(location, auth, options, links),
            settle_seconds=options.settle_seconds,
            work_root=options.work_root,
            done_marker=options.done_marker,
            names_taken=options.names_taken,
        )
    return LocalInbox(
        location,
        settle_seconds=options.settle_seconds,
        work_root=options.work_root,
        done_marker=options.done_marker,
        names_taken=options.names_taken,
        watch=options.watch,
    )


def open_outbox(
    location: str,
    *,
    options: InboxOptions | None = None,
    auth: SftpAuth | None = None,
    links: SftpLinks | None = None,
) -> Outbox:
    """A LocalOutbox for a path, an SftpOutbox for sftp://user@host:port/path."""
    options = options or InboxOptions()
    if is_sftp(location):
        return SftpOutbox(_connection(location, auth, options, links))
    return LocalOutbox(location)
