"""Inbox.open_archived: a file taken in is found again in archive/YYYY/MM/DD by its claim
name, on a local folder and on a real sshd, so its result report can mirror it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paramiko
import pytest
from service_support import HEADER, order_lines, service, settings_for, sim_secrets
from simulator_support import config
from sshd import SshdServer

from config.settings import SftpSecret
from feeds.simulator import OrderBook, start_simulator
from ingest.errors import UnsafeName
from ingest.inbox import ClaimedFile
from ingest.local import LocalInbox
from ingest.names import make_claim_name
from ingest.sftp import SftpInbox
from ingest.sftp_conn import SftpAuth, SftpConnection, SftpLocation, SftpOptions
from processors.service import RunExit

BODY = (HEADER + "".join(order_lines(1, 2))).encode()


def claimed_and_archived(inbox: LocalInbox | SftpInbox, inbox_dir: Path) -> ClaimedFile:
    (inbox_dir / "orders.csv").write_bytes(BODY)
    (ready,) = inbox.ready()
    claim = inbox.claim(ready)
    assert claim is not None
    inbox.archive(claim)
    return claim


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalInbox]:
    box = LocalInbox(tmp_path / "in", settle_seconds=0, watch=False)
    yield box
    box.close()


@pytest.fixture
def sftp_inbox(sshd_server: SshdServer, tmp_path: Path) -> Iterator[SftpInbox]:
    (tmp_path / "in").mkdir()
    conn = SftpConnection(
        SftpLocation(sshd_server.host, sshd_server.port, "root", str(tmp_path / "in")),
        SftpAuth(private_key_path=str(sshd_server.user_key)),
        SftpOptions(known_hosts=str(sshd_server.write_known_hosts(tmp_path / "known_hosts"))),
    )
    box = SftpInbox(conn, settle_seconds=0)
    yield box
    box.close()


# -- local folder ------------------------------------------------------------------------


def test_local_archived_file_is_read_again_by_its_claim_name(
    local: LocalInbox, tmp_path: Path
) -> None:
    claim = claimed_and_archived(local, tmp_path / "in")
    with local.open_archived(claim.claim_name) as fh:
        assert fh.read() == BODY
        fh.seek(0)  # readers go back to the start: the stream must be seekable
        assert fh.read(5) == BODY[:5]


def test_local_file_archived_days_after_its_claim_is_found(
    local: LocalInbox, tmp_path: Path
) -> None:
    """A crash between claim and archive: the restart archives it on a later day."""
    claim_name = make_claim_name("orders.csv", datetime.now(UTC) - timedelta(days=2))
    (local.processing / claim_name).write_bytes(BODY)
    local.archive(ClaimedFile("orders.csv", claim_name, len(BODY)))
    with local.open_archived(claim_name) as fh:
        assert fh.read() == BODY


def test_local_purged_archive_is_file_not_found(local: LocalInbox, tmp_path: Path) -> None:
    claim = claimed_and_archived(local, tmp_path / "in")
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert local.purge_archive(0, today=tomorrow) == 1
    with pytest.raises(FileNotFoundError):
        local.open_archived(claim.claim_name)


def test_local_open_archived_refuses_a_name_reaching_outside(local: LocalInbox) -> None:
    with pytest.raises(UnsafeName):
        local.open_archived("../../etc/passwd")


# -- SFTP --------------------------------------------------------------------------------


@pytest.mark.sftp
def test_sftp_archived_file_is_read_again_by_its_claim_name(
    sftp_inbox: SftpInbox, tmp_path: Path
) -> None:
    claim = claimed_and_archived(sftp_inbox, tmp_path / "in")
    with sftp_inbox.open_archived(claim.claim_name) as fh:
        assert fh.read() == BODY
        fh.seek(0)
        assert fh.read(5) == BODY[:5]


@pytest.mark.sftp
def test_sftp_purged_archive_is_file_not_found(sftp_inbox: SftpInbox, tmp_path: Path) -> None:
    claim = claimed_and_archived(sftp_inbox, tmp_path / "in")
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert sftp_inbox.purge_archive(0, today=tomorrow) == 1
    with pytest.raises(FileNotFoundError):
        sftp_inbox.open_archived(claim.claim_name)


@pytest.mark.sftp
def test_sftp_sellers_result_report_mirrors_their_rows(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    rows = [*order_lines(1, 2), "not-an-order,,1,2020-01-01,UPS,1Z,Ground\r\n"]
    with sshd_server.client() as sftp:
        with sftp.open(f"{inbox}/upload.csv.part", "wb") as fh:
            fh.write((HEADER + "".join(rows)).encode())
        sftp.rename(f"{inbox}/upload.csv.part", f"{inbox}/upload.csv")
    base = f"sftp://root@{sshd_server.host}:{sshd_server.port}"
    known = sshd_server.write_known_hosts(tmp_path / "known_hosts")
    with start_simulator(config(auto_create_orders=True), OrderBook()) as sim:
        seller = {
            "name": "acme",
            "merchant_id": "A1ACME",
            "inbox": f"{base}{inbox}",
            "outbox": f"{base}{outbox}",
            "known_hosts": str(known),
        }
        settings = settings_for(tmp_path / "var", sim, sellers=[seller])
        secrets = sim_secrets(sim)
        secrets.sftp["default"] = SftpSecret(private_key_path=str(sshd_server.user_key))
        with service(settings, secrets) as svc:
            outcome = svc.run_once(60)
    assert outcome.exit == RunExit.LINES_NOT_CONFIRMED  # the rejected line
    report = json.loads((outbox / "upload.csv.result.json").read_text("utf-8"))
    assert report["note"] is None
    assert report["columns"] == HEADER.strip().split(",")
    assert [list(r["cells"].values()) for r in report["rows"]] == [
        r.strip().split(",") for r in rows
    ]
    assert [r["status"] for r in report["rows"]] == ["confirmed", "confirmed", "rejected"]


_ = paramiko  # the seller's client, used through sshd_server.client()
