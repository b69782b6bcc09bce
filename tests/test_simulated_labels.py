"""Everything an operator or seller reads says SIMULATED when the ledger ran against the
built-in simulator, as the ledger recorded it, not as the current settings would have it.
On both backends, through the command line as an operator types it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_support import order_id, order_lines, service, settings_for, sim_secrets, write_orders
from simulator_support import config
from typer.testing import CliRunner

import run
from config.settings import Settings
from feeds.simulator import OrderBook, Simulator, start_simulator

runner = CliRunner()


@pytest.fixture
def amazon() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


def ledger_with_lines(settings: Settings, **start: Any) -> None:
    """Three orders confirmed (a.csv), two waiting in the queue (b.csv)."""
    var = settings.data_dir
    write_orders(var / "inbox" / "a.csv", order_lines(1, 3))
    with service(settings, **start) as svc:
        svc.run_once(60)
    write_orders(var / "inbox" / "b.csv", order_lines(10, 2))
    with service(settings, **start) as svc:
        svc.intake()


@pytest.fixture
def simulated_ledger(ledger_url: str, tmp_path: Path) -> Path:
    """A settings file naming a ledger filled by the built-in simulator."""
    var = tmp_path / "var"
    ledger_with_lines(settings_for(var, ledger_url=ledger_url))
    return settings_file(tmp_path, var, ledger_url)


def settings_file(tmp: Path, var: Path, url: str) -> Path:
    """Only where the ledger is: an operator command's settings say nothing of Amazon."""
    path = tmp / "operator.toml"
    path.write_text(f'data_dir = "{var.as_posix()}"\nledger_url = "{url}"\n')
    return path


def cli(*args: str) -> str:
    result = runner.invoke(run.app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_status_says_simulated_in_text_and_json(simulated_ledger: Path) -> None:
    text = cli("status", "--settings", str(simulated_ledger))
    assert text.splitlines()[0].startswith("SIMULATED: ")
    data = json.loads(cli("status", "--json", "--settings", str(simulated_ledger)))
    assert data["simulated"] is True


def test_queue_says_simulated_in_text_and_json(simulated_ledger: Path) -> None:
    text = cli("queue", "--settings", str(simulated_ledger))
    assert text.splitlines()[0].startswith("SIMULATED: ") and order_id(10) in text
    data = json.loads(cli("queue", "--json", "--settings", str(simulated_ledger)))
    assert data["simulated"] is True and data["total"] == 2


def test_order_says_simulated_in_text_and_json(simulated_ledger: Path) -> None:
    text = cli("order", order_id(1), "--settings", str(simulated_ledger))
    assert text.splitlines()[0].startswith("SIMULATED: ") and "CONFIRMED" in text
    data = json.loads(cli("order", order_id(1), "--json", "--settings", str(simulated_ledger)))
    assert data["simulated"] is True and data["lines"][0]["status"] == "confirmed"


def test_intake_and_result_reports_say_simulated(ledger_url: str, tmp_path: Path) -> None:
    var = tmp_path / "var"
    ledger_with_lines(settings_for(var, ledger_url=ledger_url))
    outbox = var / "outbox"
    intake_csv = (outbox / "a.csv.intake.csv").read_text(encoding="utf-8-sig").splitlines()
    assert intake_csv[1].startswith("Mode,SIMULATED: ")
    assert json.loads((outbox / "a.csv.intake.json").read_text())["simulated"] is True
    result_csv = (outbox / "a.csv.result.csv").read_text(encoding="utf-8-sig").splitlines()
    assert result_csv[1].startswith("Mode,SIMULATED: ")
    assert json.loads((outbox / "a.csv.result.json").read_text())["simulated"] is True


@pytest.fixture
def real_ledger(ledger_url: str, amazon: Simulator, tmp_path: Path) -> Path:
    """A settings file naming a ledger filled by "real Amazon" (an outside SP-API)."""
    var = tmp_path / "var"
    acme = {"name": "acme", "merchant_id": "A1ACME", "inbox": str(var / "inbox")}
    acme["outbox"] = str(var / "outbox")
    settings = settings_for(var, amazon, ledger_url=ledger_url, sellers=[acme])
    ledger_with_lines(settings, secrets=sim_secrets(amazon))
    return settings_file(tmp_path, var, ledger_url)


def test_a_real_ledger_is_not_called_simulated_by_commands_without_credentials(
    real_ledger: Path,
) -> None:
    settings = str(real_ledger)  # no credentials: these settings alone would mean simulated
    for command in (["status"], ["queue"], ["order", order_id(1)]):
        assert "SIMULATED" not in cli(*command, "--settings", settings)
        assert json.loads(cli(*command, "--json", "--settings", settings))["simulated"] is False
    intake = json.loads((real_ledger.parent / "var" / "outbox" / "a.csv.intake.json").read_text())
    assert intake["simulated"] is False


def test_status_names_the_amazon_and_merchants_the_ledger_recorded(
    real_ledger: Path, amazon: Simulator
) -> None:
    text = cli("status", "--settings", str(real_ledger))
    assert f"amazon: real Amazon, SP-API region NA at {amazon.url}; merchants acme=A1ACME" in text


def test_status_of_a_ledger_no_service_started_says_nothing_is_recorded(
    ledger_url: str, tmp_path: Path
) -> None:
    from processors.ledger.store import Ledger

    Ledger.open(ledger_url).close()
    settings = str(settings_file(tmp_path, tmp_path / "var", ledger_url))
    assert "amazon: not recorded yet" in cli("status", "--settings", settings)
    assert json.loads(cli("status", "--json", "--settings", settings))["simulated"] is None
