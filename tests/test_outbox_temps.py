"""A writer killed between writing a report's temporary file and renaming it leaves the
temporary file in the seller's outbox. The service's purge step sweeps such files once
they are old (ingest.names.STALE_TEMP_SECONDS), on a local folder and over SFTP alike,
and never touches anything else in the outbox."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sshd import SshdServer

from ingest.factory import InboxOptions, SftpAuth, open_outbox
from ingest.inbox import Outbox
from ingest.names import STALE_TEMP_SECONDS, temp_name

HOUR = 3600.0


@pytest.fixture(params=["local", pytest.param("sftp", marks=pytest.mark.sftp)])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Outbox, Path]]:
    folder = tmp_path / "out"
    folder.mkdir()
    if request.param == "local":
        box = open_outbox(str(folder))
    else:
        server: SshdServer = request.getfixturevalue("sshd_server")
        known = server.write_known_hosts(tmp_path / "known_hosts")
        box = open_outbox(
            f"sftp://root@{server.host}:{server.port}{folder}",
            options=InboxOptions(settle_seconds=0, known_hosts=str(known)),
            auth=SftpAuth(private_key_path=str(server.user_key)),
        )
    yield box, folder
    box.close()


def _aged(path: Path, seconds: float) -> Path:
    at = time.time() - seconds
    os.utime(path, (at, at))
    return path


def test_a_temporary_report_left_an_hour_ago_is_swept(outbox: tuple[Outbox, Path]) -> None:
    box, folder = outbox
    left = folder / temp_name()
    left.write_bytes(b"half a report")
    _aged(left, STALE_TEMP_SECONDS + 60)
    assert box.sweep_temps(STALE_TEMP_SECONDS) == 1
    assert not left.exists()


def test_a_report_being_written_now_is_left_alone(outbox: tuple[Outbox, Path]) -> None:
    box, folder = outbox
    writing = folder / temp_name()
    writing.write_bytes(b"being written")
    assert box.sweep_temps(STALE_TEMP_SECONDS) == 0
    assert writing.exists()


def test_reports_and_the_sellers_own_files_are_never_swept(outbox: tuple[Outbox, Path]) -> None:
    box, folder = outbox
    box.write("orders.csv.result.csv", b"a report")
    for name in ("orders.csv.result.csv", "mine.tmp", ".notes.tmp", "orders.csv"):
        path = folder / name
        if not path.exists():
            path.write_bytes(b"kept")
        _aged(path, 2 * HOUR)
    assert box.sweep_temps(STALE_TEMP_SECONDS) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["orders.csv.result.csv", "mine.tmp", ".notes.tmp", "orders.csv"]
    )
