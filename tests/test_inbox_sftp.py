"""The SFTP inbox/outbox against a real OpenSSH sshd on loopback (tests/sshd.py).

Files are uploaded the way a seller does it: over SFTP, with a paramiko client.
"""

from __future__ import annotations

import itertools
import os
import posixpath
import pwd
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest
from sshd import KEY_PASSPHRASE, PASSWORD_USER, SshdServer

from feeds.errors import ConfigError, CredentialsError, TransientError
from ingest.errors import HostKeyError, InboxError, UnsafeName
from ingest.factory import InboxOptions, open_inbox, open_outbox
from ingest.hostkeys import fingerprint
from ingest.inbox import ClaimedFile, Inbox, InboxFile, Outbox
from ingest.sftp import Progress, SftpInbox, SftpOutbox
from ingest.sftp_conn import SftpAuth, SftpConnection, SftpLocation, SftpOptions

pytestmark = pytest.mark.sftp
SETTLE = 0.2

MakeInbox = Callable[..., SftpInbox]


@pytest.fixture
def known_hosts(sshd_server: SshdServer, tmp_path: Path) -> Path:
    return sshd_server.write_known_hosts(tmp_path / "known_hosts")


def connection(
    server: SshdServer, path: str, known_hosts: Path | None, **options: object
) -> SftpConnection:
    return SftpConnection(
        SftpLocation(server.host, server.port, "root", path),
        SftpAuth(private_key_path=str(server.user_key)),
        SftpOptions(
            known_hosts=str(known_hosts) if known_hosts else None,
            backoff_initial=0.05,
            backoff_max=0.5,
            **options,  # type: ignore[arg-type]
        ),
    )


@pytest.fixture
def make_inbox(sshd_server: SshdServer, known_hosts: Path) -> Iterator[MakeInbox]:
    opened: list[SftpInbox] = []

    def make(
        path: Path,
        settle: float = 0,
        on_progress: Progress | None = None,
        **options: object,
    ) -> SftpInbox:
        path.mkdir(parents=True, exist_ok=True)
        box = SftpInbox(
            connection(sshd_server, str(path), known_hosts, **options),
            settle_seconds=settle,
            on_progress=on_progress,
        )
        opened.append(box)
        return box

    yield make
    for box in opened:
        box.close()


@pytest.fixture
def seller(sshd_server: SshdServer) -> Iterator[paramiko.SFTPClient]:
    """The seller's own SFTP session, used to upload files."""
    with sshd_server.client() as sftp:
        yield sftp


def put(sftp: paramiko.SFTPClient, path: Path, data: bytes) -> None:
    with sftp.open(str(path), "wb") as fh:
        fh.set_pipelined(True)
        fh.write(data)


def take_all(box: SftpInbox) -> list[ClaimedFile]:
    claims = [box.claim(f) for f in box.ready()]
    return [c for c in claims if c is not None]


def read(box: SftpInbox, claim: ClaimedFile) -> bytes:
    with box.open(claim) as fh:
        return fh.read()


# -- interface and authentication -----------------------------------------------------


def test_sftp_inbox_and_outbox_satisfy_the_interface(
    sshd_server: SshdServer, known_hosts: Path, tmp_path: Path
) -> None:
    conn = connection(sshd_server, str(tmp_path), known_hosts)
    assert isinstance(SftpInbox(conn, settle_seconds=0), Inbox)
    assert isinstance(SftpOutbox(conn), Outbox)


def test_key_with_passphrase_logs_in(
    sshd_server: SshdServer, known_hosts: Path, tmp_path: Path
) -> None:
    auth = SftpAuth(
        private_key_path=str(sshd_server.user_key_encrypted),
        private_key_passphrase=KEY_PASSPHRASE,
    )
    (tmp_path / "in").mkdir()
    loc = SftpLocation(sshd_server.host, sshd_server.port, "root", str(tmp_path / "in"))
    box = SftpInbox(SftpConnection(loc, auth, SftpOptions(str(known_hosts))), settle_seconds=0)
    (tmp_path / "in" / "orders.csv").write_bytes(b"x")
    assert [f.name for f in box.ready()] == ["orders.csv"]
    box.close()


def test_wrong_key_passphrase_is_a_credentials_error(
    sshd_server: SshdServer, known_hosts: Path, tmp_path: Path
) -> None:
    auth = SftpAuth(
        private_key_path=str(sshd_server.user_key_encrypted), private_key_passphrase="wrong"
    )
    loc = SftpLocation(sshd_server.host, sshd_server.port, "root", str(tmp_path))
    box = SftpInbox(SftpConnection(loc, auth, SftpOptions(str(known_hosts))), settle_seconds=0)
    with pytest.raises(CredentialsError):
        box.ready()


@pytest.fixture
def password_folder() -> Iterator[Path]:
    """A folder the password user owns (pytest's tmp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="shipfeed-sftp-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_password_login_works_and_the_password_never_shows(
    sshd_password_server: SshdServer, tmp_path: Path, password_folder: Path
) -> None:
    server = sshd_password_server
    assert server.password is not None
    user = pwd.getpwnam(PASSWORD_USER)
    os.chown(password_folder, user.pw_uid, user.pw_gid)
    kh = server.write_known_hosts(tmp_path / "known_hosts")
    location = f"sftp://{PASSWORD_USER}@{server.host}:{server.port}{password_folder}"
    auth = SftpAuth(password=server.password)
    options = InboxOptions(settle_seconds=0, known_hosts=str(kh))
    inbox = open_inbox(location, options=options, auth=auth)
    outbox = open_outbox(location, options=options, auth=auth)
    outbox.write("report.csv", b"ok")
    [f] = inbox.ready()
    claim = inbox.claim(f)
    assert claim is not None and claim.name == "report.csv"
    shown = " ".join(repr(x) for x in (inbox, outbox, auth, getattr(inbox, "conn", None)))
    assert server.password not in shown
    inbox.close()
    outbox.close()


def test_wrong_password_is_a_credentials_error(
    sshd_password_server: SshdServer, tmp_path: Path
) -> None:
    server = sshd_password_server
    kh = server.write_known_hosts(tmp_path / "known_hosts")
    loc = SftpLocation(server.host, server.port, PASSWORD_USER, "/tmp")
    conn = SftpConnection(loc, SftpAuth(password="not-the-password"), SftpOptions(str(kh)))
    with pytest.raises(CredentialsError, match="refused login"):
        SftpInbox(conn, settle_seconds=0).ready()


# -- host keys ---------------------------------------------------------------------------


def test_unknown_host_key_is_refused_naming_host_and_fingerprint(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    box = SftpInbox(connection(sshd_server, str(tmp_path), empty), settle_seconds=0)
    with pytest.raises(HostKeyError) as err:
        box.ready()
    assert f"[127.0.0.1]:{sshd_server.port}" in str(err.value)
    assert fingerprint(sshd_server.host_public_key) in str(err.value)


def test_changed_host_key_is_refused_even_with_trust_on_first_use(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    other = paramiko.Ed25519Key.from_private_key_file(str(sshd_server.user_key))  # not the host's
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd_server.port} {other.get_name()} {other.get_base64()}\n")
    conn = connection(sshd_server, str(tmp_path), kh, trust_on_first_use=True)
    with pytest.raises(HostKeyError, match="HOST KEY CHANGED"):
        SftpInbox(conn, settle_seconds=0).ready()


def test_trust_on_first_use_records_the_first_key_then_accepts_it(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    kh = tmp_path / "ssh" / "known_hosts"
    first = SftpInbox(
        connection(sshd_server, str(tmp_path), kh, trust_on_first_use=True), settle_seconds=0
    )
    first.ready()
    first.close()
    assert kh.read_text() == sshd_server.known_hosts_line()
    strict = SftpInbox(connection(sshd_server, str(tmp_path), kh), settle_seconds=0)
    assert strict.ready() == []
    strict.close()


def test_host_key_errors_are_not_retried_as_transient() -> None:
    assert not HostKeyError("x").transient and isinstance(HostKeyError("x"), ConfigError)
    assert InboxError("x").transient and isinstance(InboxError("x"), TransientError)


# -- completeness ------------------------------------------------------------------------


def test_slow_upload_in_pieces_is_not_taken_until_complete(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in", settle=SETTLE)
    with seller.open(str(tmp_path / "in" / "orders.csv"), "wb") as fh:
        for piece in range(5):
            fh.write(b"order-%d,shipped\n" % piece)
            fh.flush()
            assert box.ready() == []  # grew since the last poll every time
    time.sleep(SETTLE + 0.05)
    [f] = box.ready()
    claim = box.claim(f)
    assert claim is not None
    assert read(box, claim).count(b"\n") == 5


def test_part_upload_then_rename_is_taken_exactly_once(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in")
    put(seller, tmp_path / "in" / "orders.csv.part", b"a,b\n1,2\n")
    assert box.ready() == []
    seller.rename(str(tmp_path / "in" / "orders.csv.part"), str(tmp_path / "in" / "orders.csv"))
    claims = take_all(box)
    assert [c.name for c in claims] == ["orders.csv"]
    assert take_all(box) == []
    assert read(box, claims[0]) == b"a,b\n1,2\n"


def test_names_with_spaces_and_non_ascii_letters_are_taken(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in")
    names = ["Bestellungen März 2026.csv", "注文 一覧.tsv", "ordres d'été.xlsx"]
    for name in names:
        put(seller, tmp_path / "in" / name, name.encode())
    claims = take_all(box)
    assert sorted(c.name for c in claims) == sorted(names)
    assert all(read(box, c) == c.name.encode() for c in claims)


def test_symlink_and_folder_in_the_inbox_are_not_taken(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in")
    (tmp_path / "secret.csv").write_bytes(b"not yours")
    seller.symlink(str(tmp_path / "secret.csv"), str(tmp_path / "in" / "link.csv"))
    seller.mkdir(str(tmp_path / "in" / "folder.csv"))
    assert box.ready() == []


def test_claim_refuses_a_listed_name_that_reaches_outside(
    make_inbox: MakeInbox, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in")
    (tmp_path / "evil.csv").write_bytes(b"x")
    for name in ("../evil.csv", "sub/evil.csv", "..", "/etc/passwd"):
        with pytest.raises(UnsafeName):
            box.claim(InboxFile(name, 1, 0.0))
    assert (tmp_path / "evil.csv").exists()


# -- claiming ----------------------------------------------------------------------------


def test_burst_of_1000_files_raced_by_two_inboxes_each_claimed_exactly_once(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    inbox = tmp_path / "in"
    boxes = [make_inbox(inbox), make_inbox(inbox)]
    for i in range(1000):
        put(seller, inbox / f"orders-{i:04d}.csv", b"%d\n" % i)
    won: list[list[ClaimedFile]] = [[], []]
    start = threading.Barrier(2)

    def worker(i: int) -> None:
        start.wait()
        won[i].extend(take_all(boxes[i]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(c.name for c in won[0] + won[1])
    assert names == [f"orders-{i:04d}.csv" for i in range(1000)]
    assert len(os.listdir(boxes[0].processing)) == 1000


def test_same_file_uploaded_twice_is_offered_as_two_claims(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in")
    put(seller, tmp_path / "in" / "orders.csv", b"same bytes")
    [first] = take_all(box)
    put(seller, tmp_path / "in" / "orders.csv", b"same bytes")
    [second] = take_all(box)
    assert first.name == second.name == "orders.csv"
    assert first.claim_name != second.claim_name
    assert read(box, first) == read(box, second) == b"same bytes"


def test_two_sellers_at_once_keep_to_their_own_folders(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    a, b = make_inbox(tmp_path / "a"), make_inbox(tmp_path / "b")
    put(seller, tmp_path / "a" / "orders.csv", b"seller a")
    put(seller, tmp_path / "b" / "orders.csv", b"seller b")
    [ca], [cb] = take_all(a), take_all(b)
    a.archive(ca)
    b.quarantine(cb, "bad header")
    assert a.claimed() == [] and b.claimed() == []
    files_a = [p.relative_to(tmp_path) for p in (tmp_path / "a").rglob("*") if p.is_file()]
    files_b = [p.relative_to(tmp_path) for p in (tmp_path / "b").rglob("*") if p.is_file()]
    assert all(p.parts[0] == "a" for p in files_a) and len(files_a) == 1
    assert all(p.parts[0] == "b" for p in files_b) and len(files_b) == 2
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "known_hosts", "sshd"]


def test_claimed_lists_files_left_in_processing_by_a_crash(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    first = make_inbox(tmp_path / "in")
    put(seller, tmp_path / "in" / "orders.csv", b"x")
    [claim] = take_all(first)
    first.close()
    assert make_inbox(tmp_path / "in").claimed() == [claim]


def test_archive_and_purge_on_the_server(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in")
    put(seller, tmp_path / "in" / "orders.csv", b"x")
    [claim] = take_all(box)
    box.archive(claim)
    archived = list(Path(box.archive_dir).rglob(claim.claim_name))
    assert len(archived) == 1
    old = Path(box.archive_dir) / "2001" / "01" / "01"
    old.mkdir(parents=True)
    (old / "old.csv").write_bytes(b"x")
    assert box.purge_archive(older_than_days=30) == 1
    assert not (Path(box.archive_dir) / "2001").exists()
    assert archived[0].exists()


def test_quarantine_on_the_server_writes_the_reason_beside_the_file(
    make_inbox: MakeInbox, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in")
    put(seller, tmp_path / "in" / "orders.csv", b"\x00garbage")
    [claim] = take_all(box)
    box.quarantine(claim, "not a CSV or XLSX file")
    q = Path(box.quarantine_dir)
    assert sorted(os.listdir(q)) == [claim.claim_name, claim.claim_name + ".reason.txt"]
    assert (q / (claim.claim_name + ".reason.txt")).read_text() == "not a CSV or XLSX file"


# -- dropped connections -----------------------------------------------------------------


def _big(size: int) -> bytes:
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


def test_connection_killed_mid_download_is_reconnected_and_read_again_whole(
    make_inbox: MakeInbox, sshd_server: SshdServer, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    data = _big(8 * 1024 * 1024)
    (tmp_path / "in").mkdir()
    put(seller, tmp_path / "in" / "big.csv", data)
    seen: list[int] = []

    def on_progress(name: str, done: int, total: int) -> None:
        if not seen:
            sshd_server.kill_sessions()  # the server side of our session dies mid-file
        seen.append(done)

    # A 1 MB window keeps at most ~1 MB in flight, so the cut cannot be hidden by read-ahead.
    box = make_inbox(tmp_path / "in", on_progress=on_progress, window_size=1024 * 1024)
    [claim] = take_all(box)
    assert read(box, claim) == data
    assert box.conn.connects == 2
    assert any(b <= a for a, b in itertools.pairwise(seen))  # restarted from byte 0


def test_server_restarted_mid_poll_inbox_reconnects_and_finishes(
    make_inbox: MakeInbox, sshd_server: SshdServer, seller: paramiko.SFTPClient, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    data = _big(4 * 1024 * 1024)
    put(seller, tmp_path / "in" / "orders.csv", data)
    restarted: list[bool] = []

    def on_progress(name: str, done: int, total: int) -> None:
        if not restarted:
            restarted.append(True)
            sshd_server.restart()  # same port, same host key

    box = make_inbox(tmp_path / "in", on_progress=on_progress, window_size=1024 * 1024)
    [claim] = take_all(box)
    assert read(box, claim) == data
    box.archive(claim)
    assert box.claimed() == [] and box.conn.connects == 2


def test_server_restarted_between_polls_inbox_reconnects(
    make_inbox: MakeInbox, sshd_server: SshdServer, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in")
    assert box.ready() == []
    sshd_server.restart()
    (tmp_path / "in" / "orders.csv").write_bytes(b"x")
    assert [f.name for f in box.ready()] == ["orders.csv"]
    assert box.conn.connects == 2


def test_server_down_is_a_transient_inbox_error_until_it_returns(
    make_inbox: MakeInbox, sshd_server: SshdServer, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in", attempts=2, hold_off_seconds=0)
    box.ready()
    sshd_server.stop()
    with pytest.raises(InboxError) as err:
        box.ready()
    assert err.value.transient
    sshd_server.start()
    assert box.ready() == []


def test_a_server_that_failed_every_attempt_is_held_off_then_tried_again(
    make_inbox: MakeInbox, sshd_server: SshdServer, tmp_path: Path
) -> None:
    box = make_inbox(tmp_path / "in", attempts=2, hold_off_seconds=0.5)
    box.ready()
    sshd_server.stop()
    with pytest.raises(InboxError):
        box.ready()
    sshd_server.start()
    with pytest.raises(InboxError, match="not tried again") as err:
        box.ready()  # back already, but held off: no attempt, no backoff
    assert err.value.transient
    time.sleep(0.6)
    assert box.ready() == []


# -- reports -----------------------------------------------------------------------------


def test_report_upload_appears_whole_and_leaves_no_temp(
    sshd_server: SshdServer, known_hosts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    outbox = SftpOutbox(connection(sshd_server, str(out), known_hosts))
    outbox.write("orders.result.csv", b"old report")
    report = _big(6 * 1024 * 1024)
    sizes: list[int] = []
    stop = threading.Event()

    def watch() -> None:  # a seller polling the outbox while the new report is written
        with sshd_server.client() as sftp:
            while not stop.is_set():
                sizes.extend(
                    a.st_size or 0
                    for a in sftp.listdir_attr(str(out))
                    if a.filename == "orders.result.csv"
                )

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outbox.write("orders.result.csv", report)
    finally:
        stop.set()
        watcher.join()
    outbox.close()
    assert set(sizes) <= {len(b"old report"), len(report)}
    assert os.listdir(out) == ["orders.result.csv"]
    assert (out / "orders.result.csv").read_bytes() == report


def test_report_with_an_unsafe_name_is_refused(
    sshd_server: SshdServer, known_hosts: Path, tmp_path: Path
) -> None:
    outbox = SftpOutbox(connection(sshd_server, str(tmp_path / "out"), known_hosts))
    with pytest.raises(UnsafeName):
        outbox.write("../escape.csv", b"x")
    assert not (tmp_path / "escape.csv").exists()


# -- factory -----------------------------------------------------------------------------


def test_sftp_url_is_parsed_into_host_port_user_and_path() -> None:
    loc = SftpLocation.parse("sftp://acme@files.example.com:2222/upload/orders%20in")
    assert (loc.host, loc.port, loc.username, loc.path) == (
        "files.example.com",
        2222,
        "acme",
        "/upload/orders in",
    )


def test_sftp_url_with_a_password_or_dotdot_is_refused() -> None:
    for url in ("sftp://acme:secret@host/in", "sftp://acme@host/in/../../etc", "ftp://a@h/x"):
        with pytest.raises(ConfigError):
            SftpLocation.parse(url)


def test_factory_opens_sftp_kinds_and_wants_credentials(tmp_path: Path) -> None:
    url = "sftp://acme@127.0.0.1:1/in"
    with pytest.raises(ConfigError):
        open_inbox(url)
    auth = SftpAuth(password="pw")
    assert isinstance(open_inbox(url, auth=auth), SftpInbox)
    assert isinstance(open_outbox(url, auth=auth), SftpOutbox)
    assert posixpath.basename(SftpLocation.parse(url).path) == "in"
