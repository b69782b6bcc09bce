"""A real, throwaway OpenSSH sshd on 127.0.0.1 for SFTP tests and benchmarks.

Why a real server: paramiko talking to paramiko would hide exactly the things that bite in
production (OpenSSH's rename semantics, posix-rename, window sizes, how a killed session
looks to the client). Each server gets its own host key, user keys, config and pid file in
a temporary folder and is killed on teardown. Importable without pytest (benchmarks).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

SSHD = "/usr/sbin/sshd"
HOST = "127.0.0.1"
PASSWORD_USER = "shipfeed-sftp-test"
KEY_PASSPHRASE = "test-key-passphrase"


class SshdUnavailable(RuntimeError):
    """sshd is not installed or would not start here."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _keygen(path: Path, passphrase: str = "") -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "shipfeed-test", "-f", path],
        check=True,
        capture_output=True,
    )


def ensure_password_user(password: str) -> str:
    """Create (once) the system user the password-auth tests log in as; set its password."""
    if subprocess.run(["id", "-u", PASSWORD_USER], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", PASSWORD_USER],
            check=True,
            capture_output=True,
        )
    subprocess.run(
        ["chpasswd"],
        input=f"{PASSWORD_USER}:{password}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return PASSWORD_USER


def _children(pid: int) -> list[int]:
    """Every descendant of pid (the per-connection sshd processes), deepest last."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
            found.extend(_children(int(entry)))
    return found


class SshdServer:
    """One sshd: ``start()``, ``stop()``, ``restart()`` on the same port, ``kill_sessions()``."""

    def __init__(self, root: Path, port: int | None = None, password: str | None = None) -> None:
        if not os.access(SSHD, os.X_OK):
            raise SshdUnavailable(f"{SSHD} not found (apt-get install openssh-server)")
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = port or free_port()
        self.host_key = root / "ssh_host_ed25519_key"
        self.user_key = root / "id_ed25519"
        self.user_key_encrypted = root / "id_ed25519_encrypted"
        self.password = password
        for key, phrase in (
            (self.host_key, ""),
            (self.user_key, ""),
            (self.user_key_encrypted, KEY_PASSPHRASE),
        ):
            if not key.exists():
                _keygen(key, phrase)
        auth_dir = root / "authorized_keys"
        auth_dir.mkdir(exist_ok=True)
        public = self.user_key.with_suffix(".pub").read_text()
        public += self.user_key_encrypted.with_suffix(".pub").read_text()
        (auth_dir / "root").write_text(public)
        users = "root"
        if password is not None:
            users += " " + ensure_password_user(password)
        self.config = root / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\n"
            f"ListenAddress {HOST}\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {auth_dir}/%u\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "UseDNS no\n"
            "PermitRootLogin prohibit-password\n"
            f"PasswordAuthentication {'yes' if password else 'no'}\n"
            "KbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\n"
            f"AllowUsers {users}\n"
            "Subsystem sftp internal-sftp\n"
            "MaxStartups 100\n"
            "MaxSessions 50\n"
            "LogLevel VERBOSE\n"
        )
        self.log = root / "sshd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def host_public_key(self) -> paramiko.PKey:
        return paramiko.PKey.from_path(self.host_key)

    def known_hosts_line(self) -> str:
        key = self.host_public_key
        return f"[{HOST}]:{self.port} {key.get_name()} {key.get_base64()}\n"

    def write_known_hosts(self, path: Path) -> Path:
        path.write_text(self.known_hosts_line())
        return path

    def start(self, timeout: float = 10.0) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        self._proc = subprocess.Popen(
            [SSHD, "-D", "-f", str(self.config), "-E", str(self.log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                self._proc = None
                raise SshdUnavailable(f"sshd exited: {err.strip()} {self._log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.5):
                return
            time.sleep(0.02)
        self.stop()
        raise SshdUnavailable(f"sshd did not listen on {HOST}:{self.port} {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else ""

    def kill_sessions(self) -> int:
        """Kill the sshd processes serving open connections, as a crash or a cut line would."""
        if self._proc is None:
            return 0
        victims = _children(self._proc.pid)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _children(self._proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(victims)

    def stop(self) -> None:
        if self._proc is None:
            return
        self.kill_sessions()
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        if self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @contextlib.contextmanager
    def client(self) -> Iterator[paramiko.SFTPClient]:
        """An SFTP session as root with the test key: how a seller's uploads are made."""
        transport = paramiko.Transport((HOST, self.port))
        try:
            transport.connect(username="root", pkey=paramiko.PKey.from_path(self.user_key))
            sftp = paramiko.SFTPClient.from_transport(transport)
            assert sftp is not None
            with sftp:
                yield sftp
        finally:
            transport.close()


@contextlib.contextmanager
def running_sshd(root: Path, password: str | None = None) -> Iterator[SshdServer]:
    server = SshdServer(root, password=password)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _start_or_fail(root: Path, password: str | None) -> SshdServer:
    """Skip where sshd cannot run locally; under CI=true that is a failure, not a skip."""
    try:
        server = SshdServer(root, password=password)
        server.start()
    except (SshdUnavailable, OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"sshd could not start under CI: {exc}")
        pytest.skip(f"sshd not available: {exc}")
    return server


@pytest.fixture
def sshd_server(tmp_path: Path) -> Iterator[SshdServer]:
    """A fresh sshd (key auth for root) per test; killed with all its sessions afterwards."""
    server = _start_or_fail(tmp_path / "sshd", None)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sshd_password_server(tmp_path: Path) -> Iterator[SshdServer]:
    """Like sshd_server, plus a system user that logs in with a random password."""
    server = _start_or_fail(tmp_path / "sshd", secrets.token_urlsafe(16))
    try:
        yield server
    finally:
        server.stop()
