"""A seller whose inbox and outbox are SFTP folders on a real sshd gets its result report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import paramiko
import pytest
from service_support import HEADER, order_lines, service, settings_for, sim_secrets
from simulator_support import config
from sshd import SshdServer

from config.settings import SftpSecret
from feeds.simulator import OrderBook, start_simulator
from processors.service import RunExit

pytestmark = pytest.mark.sftp


def test_sftp_upload_ends_as_result_report_in_sftp_outbox(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    key = paramiko.Ed25519Key.from_private_key_file(str(sshd_server.user_key))
    with paramiko.Transport((sshd_server.host, sshd_server.port)) as t:
        t.connect(username="root", pkey=key)
        sftp = paramiko.SFTPClient.from_transport(t)
        assert sftp is not None
        body = (HEADER + "".join(order_lines(1, 3))).encode()
        sftp.putfo(io.BytesIO(body), f"{inbox}/upload.csv.part")
        sftp.rename(f"{inbox}/upload.csv.part", f"{inbox}/upload.csv")
        sftp.close()
    base = f"sftp://root@{sshd_server.host}:{sshd_server.port}"
    known = sshd_server.write_known_hosts(tmp_path / "known_hosts")
    with start_simulator(config(auto_create_orders=True), OrderBook()) as sim:
        settings = settings_for(
            tmp_path / "var",
            sim,
            sellers=[
                {
                    "name": "acme",
                    "merchant_id": "A1ACME",
                    "inbox": f"{base}{inbox}",
                    "outbox": f"{base}{outbox}",
                    "known_hosts": str(known),
                }
            ],
        )
        secrets = sim_secrets(sim)
        secrets.sftp["default"] = SftpSecret(private_key_path=str(sshd_server.user_key))
        with service(settings, secrets) as svc:
            outcome = svc.run_once(60)
        assert sum(sim.counters.confirmations.values()) == 3
    assert outcome.exit == RunExit.OK
    report = json.loads((outbox / "upload.csv.result.json").read_text())
    assert [r["status"] for r in report["rows"]] == ["confirmed"] * 3
