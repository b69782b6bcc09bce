"""The inboxes and outboxes a service opens on one SFTP server with one login share one
SSH connection (ingest/sftp_conn.py SftpLinks): a thousand sellers on one server cost one
login, not two thousand. Against a real sshd, which logs every login it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sshd import SshdServer

from ingest.errors import InboxError
from ingest.factory import InboxOptions, SftpAuth, SftpLinks, open_inbox, open_outbox
from ingest.inbox import Inbox, Outbox

pytestmark = pytest.mark.sftp


def _logins(server: SshdServer) -> int:
    return server.log.read_text().count("Accepted publickey for root")


def _boxes(
    server: SshdServer, tmp_path: Path, links: SftpLinks, sellers: int
) -> list[tuple[Inbox, Outbox]]:
    known = server.write_known_hosts(tmp_path / "known_hosts")
    options = InboxOptions(settle_seconds=0, known_hosts=str(known))
    auth = SftpAuth(private_key_path=str(server.user_key))
    base = f"sftp://root@{server.host}:{server.port}{tmp_path}"
    boxes = []
    for n in range(sellers):
        (tmp_path / f"s{n}" / "in").mkdir(parents=True)
        (tmp_path / f"s{n}" / "out").mkdir()
        inbox = open_inbox(f"{base}/s{n}/in", options=options, auth=auth, links=links)
        outbox = open_outbox(f"{base}/s{n}/out", options=options, auth=auth, links=links)
        boxes.append((inbox, outbox))
    return boxes


def test_every_box_on_one_server_and_login_uses_one_connection(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    boxes = _boxes(sshd_server, tmp_path, SftpLinks(), sellers=3)
    for n, (inbox, outbox) in enumerate(boxes):
        assert inbox.ready() == []
        outbox.write("status.txt", f"seller {n}\n".encode())
    assert _logins(sshd_server) == 1
    assert [(tmp_path / f"s{n}" / "out" / "status.txt").read_text() for n in range(3)] == [
        "seller 0\n",
        "seller 1\n",
        "seller 2\n",
    ]
    for inbox, outbox in boxes:
        inbox.close()
        outbox.close()


def test_a_dropped_shared_connection_is_opened_again_once_for_all(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    boxes = _boxes(sshd_server, tmp_path, SftpLinks(), sellers=2)
    for inbox, _ in boxes:
        inbox.ready()
    sshd_server.kill_sessions()
    for inbox, outbox in boxes:
        inbox.ready()
        outbox.write("status.txt", b"after the drop\n")
    assert _logins(sshd_server) == 2
    for inbox, outbox in boxes:
        inbox.close()
        outbox.close()


def test_a_dead_server_costs_its_attempts_once_not_once_per_seller_on_it(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    boxes = _boxes(sshd_server, tmp_path, SftpLinks(), sellers=4)
    boxes[0][0].ready()
    sshd_server.stop()
    errors: list[str] = []
    for _, outbox in boxes:  # the report step, going through the sellers one by one
        with pytest.raises(InboxError) as err:
            outbox.write("status.txt", b"down\n")
        errors.append(str(err.value))
    assert "not tried again" not in errors[0]  # the first paid the attempts
    assert all("not tried again" in e for e in errors[1:])
    for inbox, outbox in boxes:
        inbox.close()
        outbox.close()
