"""Checking an SFTP server's host key against a known_hosts file.

A seller's files carry their customers' orders; talking to an impostor server would hand
them over. So an unknown key is refused unless the seller opted in to trust on first use,
and a changed key is always refused, naming host and fingerprint so an operator can check.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from pathlib import Path

import paramiko

from ingest.errors import HostKeyError

log = logging.getLogger(__name__)


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as ``ssh-keygen -lf`` and ``ssh`` show it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def host_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def verify_host_key(
    key: paramiko.PKey, host: str, port: int, known_hosts: str | None, trust_on_first_use: bool
) -> None:
    """Return if the key is the one known for host:port; raise HostKeyError otherwise."""
    entry = host_entry(host, port)
    shown = f"{key.get_name()} {fingerprint(key)}"
    if known_hosts is None:
        raise HostKeyError(
            f"SFTP server {entry} presented host key {shown}, and no known_hosts file is set",
            hint="set known_hosts for this seller (and trust_on_first_use to record the key)",
        )
    path = Path(known_hosts).expanduser()
    keys = paramiko.HostKeys()
    if path.exists():
        try:
            keys.load(str(path))
        except (OSError, paramiko.SSHException) as exc:
            raise HostKeyError(f"cannot read known_hosts file {path}: {exc}") from exc
    known = keys.lookup(entry)
    if known:
        if known.get(key.get_name()) == key:
            return
        was = ", ".join(f"{k.get_name()} {fingerprint(k)}" for k in known.values())
        raise HostKeyError(
            f"HOST KEY CHANGED for SFTP server {entry}: it presented {shown}, but {path} "
            f"records {was}",
            hint="someone may be intercepting the connection; if the server's key was "
            f"really replaced, remove the old line for {entry} from {path}",
        )
    if not trust_on_first_use:
        raise HostKeyError(
            f"unknown host key for SFTP server {entry}: {shown} is not in {path}",
            hint=f"check the fingerprint with the server's owner, then add it to {path} "
            "(or set trust_on_first_use for this seller)",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    line = f"{entry} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    log.warning("trusting SFTP server %s on first use: recorded %s in %s", entry, shown, path)
