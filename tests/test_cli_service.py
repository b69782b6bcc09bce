"""The service and operator commands as an operator runs them: real ledger, real output."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from service_support import (
    order_id,
    order_lines,
    service,
    settings_for,
    settings_toml,
    sim_env,
    sim_secrets,
    write_orders,
)
from simulator_support import config
from typer.testing import CliRunner

import run
from feeds.simulator import OrderBook, Simulator, start_simulator

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def data(sim: Simulator, tmp_path: Path) -> Path:
    """A data dir whose ledger holds 3 confirmed lines and 2 queued ones."""
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 3))
    with service(settings_for(var, sim), sim_secrets(sim)) as svc:
        svc.run_once(30)
    write_orders(var / "inbox" / "b.csv", order_lines(10, 2))
    with service(settings_for(var, sim), sim_secrets(sim)) as svc:
        svc.intake()
    return var


def cli(*args: str) -> tuple[int, str]:
    r = runner.invoke(run.app, list(args))
    return r.exit_code, r.output


def test_status_counts_lines_per_status(data: Path) -> None:
    code, out = cli("status", "--json", "--data-dir", str(data))
    assert code == 0
    got = json.loads(out)
    assert got["counts"]["confirmed"] == 3 and got["counts"]["in_queue"] == 2
    assert got["oldest_waiting_since"] is not None


def test_queue_lists_waiting_orders_with_total(data: Path) -> None:
    code, out = cli("queue", "--data-dir", str(data))
    assert code == 0
    assert order_id(10) in out and "total: 2 lines" in out


def test_queue_rejects_unknown_status(data: Path) -> None:
    code, _ = cli("queue", "--status", "shipped", "--data-dir", str(data))
    assert code == 64


def test_order_shows_full_history(data: Path) -> None:
    code, out = cli("order", order_id(1), "--json", "--data-dir", str(data))
    assert code == 0
    (line,) = json.loads(out)["lines"]
    assert [e["to_status"] for e in line["history"]] == ["submitted", "confirmed"]


def test_resend_skips_confirmed_orders_with_reason(data: Path) -> None:
    code, out = cli("resend", order_id(1), "--data-dir", str(data))
    assert code == 0
    assert "requeued: 0" in out and "already confirmed" in out


def test_cancel_queued_order_then_refuses_confirmed(data: Path) -> None:
    code, out = cli("cancel", order_id(10), "--data-dir", str(data))
    assert code == 0 and "cancelled 1 line" in out
    code, out = cli("cancel", order_id(1), "--data-dir", str(data))
    assert code == 65 and "already" in out


def test_data_dir_given_before_the_command_reaches_it(data: Path) -> None:
    code, out = cli("--data-dir", str(data), "status", "--json")
    assert code == 0, out
    assert json.loads(out)["counts"]["confirmed"] == 3


@pytest.mark.parametrize("command", [["status"], ["queue"], ["order", "111-0000001-0000001"]])
def test_read_only_commands_never_create_a_missing_data_dir(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo"
    code, out = cli(*command, "--data-dir", str(missing))
    assert code == 78 and "no ledger at" in out
    assert not missing.exists()


def test_unknown_order_hint_names_commands_that_work(data: Path) -> None:
    code, out = cli("order", "999-9999999-9999999", "--data-dir", str(data))
    assert code == 65 and "no such order" in out
    hinted = re.findall(r"`python run.py ([^`]+)`", out)
    assert hinted
    for command in hinted:
        code, shown = cli(*command.split(), "--data-dir", str(data))
        assert code == 0, shown


def test_once_with_a_command_is_a_usage_error(data: Path) -> None:
    code, out = cli("--once", "status", "--data-dir", str(data))
    assert code == 64 and "--once" in out


def test_invalid_settings_exit_78_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[service]\nbatch_interval_seconds = -1\n")
    code, out = cli("--once", "--settings", str(bad), "--data-dir", str(tmp_path))
    assert code == 78
    assert "service.batch_interval_seconds" in out


def _serve(settings: Path, data: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "run.py", "--settings", str(settings), "--data-dir", str(data), *extra],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_once_in_a_subprocess_never_logs_secrets(sim: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 3))
    env = sim_env(sim)
    p = _serve(settings_toml(tmp_path / "s.toml", sim), var, env, "--once", "--timeout", "60")
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0, out
    assert "event=result_report" in out
    reports = b"".join(f.read_bytes() for f in (var / "outbox").iterdir())
    for secret in env.values():
        assert secret not in out
        assert secret.encode() not in reports


def test_second_instance_refused_and_sigterm_stops_cleanly(sim: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    settings = settings_toml(tmp_path / "s.toml", sim)
    first = _serve(settings, var, sim_env(sim))
    try:
        deadline = time.monotonic() + 30
        while not (var / "ledger.sqlite3").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        second = _serve(settings, var, sim_env(sim), "--once")
        out2, _ = second.communicate(timeout=60)
        assert second.returncode == 73, out2
        first.send_signal(signal.SIGTERM)
        out1, _ = first.communicate(timeout=60)
        assert first.returncode == 0, out1
        assert "event=service_stopped" in out1
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_or_terminate_stops_the_service_cleanly(
    sig: signal.Signals, sim: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    p = _serve(settings_toml(tmp_path / "s.toml", sim), var, sim_env(sim))
    try:
        deadline = time.monotonic() + 30
        while not (var / "outbox" / "status.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        p.send_signal(sig)
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, out
    assert f"event=stopping signal={sig.name}" in out
    assert "event=service_stopped" in out


def test_service_purges_archive_days_past_the_retention_at_start(
    sim: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    old_day = var / "archive" / "2020" / "01" / "02"
    today = datetime.now(UTC)
    kept_day = var / "archive" / f"{today:%Y}" / f"{today:%m}" / f"{today:%d}"
    for day in (old_day, kept_day):
        day.mkdir(parents=True)
        (day / "orders.csv").write_text("order-id,ship-date\n")
    p = _serve(settings_toml(tmp_path / "s.toml", sim), var, sim_env(sim))
    try:
        deadline = time.monotonic() + 30
        while not (var / "outbox" / "status.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert not (var / "archive" / "2020").exists(), out
    assert (kept_day / "orders.csv").exists()
    assert "event=archive_purged" in out
