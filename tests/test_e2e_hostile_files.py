"""The hostile-file corpus (tests/hostile_corpus.py) through the real service, from a local
inbox and from a real sshd's SFTP inbox: every hostile file is quarantined or has its bad
lines rejected, each with a reason the seller reads in the outbox; nothing aborts; and the
good files beside them are confirmed by the simulator, once, with their result reports."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from hostile_corpus import Hostile, corpus
from service_support import service, settings_for, sim_secrets
from simulator_support import config
from sshd import SshdServer

from config.settings import SftpSecret
from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.service import RunExit


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


def report(outbox: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((outbox / name).read_text(encoding="utf-8"))
    return data


def check(files: list[Hostile], outbox: Path, quarantine: Path, sim: Simulator) -> None:
    reasons = {
        p.name[: -len(".reason.txt")]: p.read_text(encoding="utf-8")
        for p in quarantine.iterdir()
        if p.name.endswith(".reason.txt")
    }
    for f in files:
        if f.rejected is not None:
            intake = report(outbox, f"{f.reported_name}.intake.json")
            assert f.rejected in intake["file_error"], f.name
            assert len(intake["file_error"]) < 700, f.name
            [why] = [r for claim, r in reasons.items() if claim.endswith("-" + f.reported_name)]
            assert f.rejected in why, f.name
            continue
        rows = report(outbox, f"{f.name}.result.json")["rows"]
        bad = {r["line"]: r for r in rows if r["status"] != "confirmed"}
        assert set(bad) == set(f.bad_lines), f.name
        for line, words in f.bad_lines.items():
            assert bad[line]["status"] == "rejected" and words in bad[line]["message"], f.name
        assert len(rows) - len(bad) == f.confirmed, f.name
    assert len(reasons) == sum(1 for f in files if f.rejected is not None)
    confirmed = Counter(sim.counters.confirmations)
    assert sum(confirmed.values()) == sum(f.confirmed for f in files)
    assert set(confirmed.values()) == {1}


def test_hostile_corpus_in_a_local_inbox(sim: Simulator, tmp_path: Path) -> None:
    files = corpus(tmp_path / "scratch")
    var = tmp_path / "var"
    (var / "inbox").mkdir(parents=True)
    for f in files:
        (var / "inbox" / f.name).write_bytes(f.data)
    with service(settings_for(var, sim), sim_secrets(sim)) as svc:
        outcome = svc.run_once(120)
    assert outcome.exit == RunExit.FILE_REJECTED
    assert [p.name for p in (var / "processing").iterdir()] == []
    assert list((var / "inbox").iterdir()) == []
    check(files, var / "outbox", var / "quarantine", sim)


@pytest.mark.sftp
def test_hostile_corpus_in_an_sftp_inbox(
    sim: Simulator, sshd_server: SshdServer, tmp_path: Path
) -> None:
    files = corpus(tmp_path / "scratch")
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    key = paramiko.Ed25519Key.from_private_key_file(str(sshd_server.user_key))
    with paramiko.Transport((sshd_server.host, sshd_server.port)) as t:
        t.connect(username="root", pkey=key)
        sftp = paramiko.SFTPClient.from_transport(t)
        assert sftp is not None
        for n, f in enumerate(files):
            sftp.putfo(io.BytesIO(f.data), f"{inbox}/upload-{n}.part")
            sftp.rename(f"{inbox}/upload-{n}.part", f"{inbox}/{f.name}")
        sftp.close()
    base = f"sftp://root@{sshd_server.host}:{sshd_server.port}"
    settings = settings_for(
        tmp_path / "var",
        sim,
        sellers=[
            {
                "name": "acme",
                "merchant_id": "A1ACME",
                "inbox": f"{base}{inbox}",
                "outbox": f"{base}{outbox}",
                "known_hosts": str(sshd_server.write_known_hosts(tmp_path / "known_hosts")),
            }
        ],
    )
    secrets = sim_secrets(sim)
    secrets.sftp["default"] = SftpSecret(private_key_path=str(sshd_server.user_key))
    with service(settings, secrets) as svc:
        outcome = svc.run_once(180)
    assert outcome.exit == RunExit.FILE_REJECTED
    work = inbox / ".shipfeed"
    assert list((work / "processing").iterdir()) == []
    assert [p.name for p in inbox.iterdir()] == [".shipfeed"]
    check(files, outbox, work / "quarantine", sim)
