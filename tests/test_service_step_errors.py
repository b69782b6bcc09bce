"""A refused login or a failed step is not a rejected shipment, and a run says so: the
service backs off and records it, `status` shows it, and --once ends with its exit code."""

from __future__ import annotations

import errno
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from service_support import order_lines, service, settings_for, sim_secrets, write_orders
from simulator_support import config
from typer.testing import CliRunner

import run
from config.settings import Secrets
from feeds.errors import ExitCode
from feeds.simulator import OrderBook, Simulator, start_simulator
from feeds.spapi.errors import LwaCredentialsError
from processors.ledger import health
from processors.ledger.errors import FeedStateError
from processors.ledger.queries import status_counts
from processors.ledger.store import Ledger
from processors.steps import StepRunner


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


def revoked(sim: Simulator) -> Secrets:
    """The simulator's client, with a refresh token LWA answers invalid_grant to."""
    good = sim_secrets(sim)
    return Secrets(
        lwa_client_id=good.lwa_client_id,
        lwa_client_secret=good.lwa_client_secret,
        lwa_refresh_token="Atzr|revoked-token-value",
    )


def test_once_ends_77_on_a_refused_login_instead_of_waiting_for_its_timeout(
    sim: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 3))
    started = time.monotonic()
    with service(settings_for(var, sim), revoked(sim)) as svc:
        outcome = svc.run_once(120)
        counts = status_counts(svc.ledger).counts
        attempts = [ln.attempts for ln in svc.ledger.lines(list(range(1, 4)))]
    assert outcome.exit == ExitCode.LOGIN_REFUSED
    assert time.monotonic() - started < 30
    assert counts["in_queue"] == 3 and counts["error"] == 0  # no line blamed, no resend used
    assert attempts == [0, 0, 0]


def test_status_says_since_when_the_amazon_login_is_refused(sim: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 2))
    with service(settings_for(var, sim), revoked(sim)) as svc:
        svc.run_once(60)
    text = CliRunner().invoke(run.app, ["--data-dir", str(var), "status"])
    assert text.exit_code == 0, text.output
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert f"Amazon login refused since {today}" in text.output
    assert "revoked-token-value" not in text.output
    data = json.loads(
        CliRunner().invoke(run.app, ["status", "--json", "--data-dir", str(var)]).output
    )
    assert data["amazon_login"]["state"] == "refused"
    assert data["last_step_error"]["step"] == "mirror"  # the first step to ask Amazon


def test_once_never_exits_0_when_a_step_failed(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 2))
    with service(settings_for(var, sim), sim_secrets(sim)) as svc:

        def disk_full() -> list[str]:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(svc.reports, "write_finished", disk_full)
        outcome = svc.run_once(60)
    assert outcome.exit == ExitCode.INTERNAL
    shown = CliRunner().invoke(run.app, ["status", "--data-dir", str(var)]).output
    assert "last step error: report at" in shown and "No space left on device" in shown


def test_once_never_exits_0_when_the_ledger_refuses_a_step(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 2))
    with service(settings_for(var, sim), sim_secrets(sim)) as svc:

        def refused(*_args: object, **_kw: object) -> object:
            raise FeedStateError("feed 7 is done; it cannot be prepared again")

        monkeypatch.setattr(svc.ledger, "claim_queued", refused)
        outcome = svc.run_once(60)
        counts = status_counts(svc.ledger).counts
    assert outcome.exit == ExitCode.INTERNAL
    assert counts["in_queue"] == 2 and counts["error"] == 0  # no line blamed for it
    shown = CliRunner().invoke(run.app, ["status", "--data-dir", str(var)]).output
    assert "last step error: batch at" in shown and "feed 7 is done" in shown


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_refused_login_is_retried_with_backoff_until_accepted(ledger: Ledger) -> None:
    clock = FakeClock()
    runner = StepRunner(ledger, clock=clock)
    calls: list[float] = []
    refused = True

    def batch() -> str:
        calls.append(clock.now)
        if refused:
            raise LwaCredentialsError("Amazon refused the login (invalid_grant)")
        return "sent"

    runner.run("batch", batch)
    first = {h.component: h for h in health.read(ledger)}[health.AMAZON_LOGIN]
    runner.run("batch", batch)  # backing off: not called
    clock.now += 5
    runner.run("batch", batch)  # called, refused again: next wait doubles
    clock.now += 5
    runner.run("batch", batch)
    assert calls == [1000.0, 1005.0]
    clock.now += 5
    refused = False
    assert runner.run("batch", batch) == "sent"
    rows = {h.component: h for h in health.read(ledger)}
    assert rows[health.AMAZON_LOGIN].state == health.OK
    assert rows[health.AMAZON_LOGIN].last_error == "Amazon refused the login (invalid_grant)"
    assert first.state == health.REFUSED and runner.login_refused is None


def test_refused_since_stays_the_first_refusal_through_retries(ledger: Ledger) -> None:
    t0 = datetime(2026, 11, 26, 14, 2, tzinfo=UTC)
    health.record(ledger, health.AMAZON_LOGIN, health.REFUSED, t0, "invalid_grant")
    later = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    again = health.record(ledger, health.AMAZON_LOGIN, health.REFUSED, later, "invalid_grant")
    assert again.since == t0 and again.updated_at == later


def test_once_never_exits_0_when_a_file_stays_stuck_in_processing(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import processors.intake

    real = processors.intake.intake_file

    def fails_on_stuck(*args: object, **kw: object) -> object:
        claimed = args[4]
        if getattr(claimed, "name", "") == "stuck.csv":
            raise OSError(errno.EIO, "Input/output error")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(processors.intake, "intake_file", fails_on_stuck)
    var = tmp_path / "var"
    write_orders(var / "inbox" / "good.csv", order_lines(1, 2))
    write_orders(var / "inbox" / "stuck.csv", order_lines(10, 2))
    with service(settings_for(var, sim), sim_secrets(sim)) as svc:
        outcome = svc.run_once(60)
        counts = status_counts(svc.ledger).counts
    assert outcome.exit == ExitCode.INTERNAL
    assert counts["confirmed"] == 2  # the good file beside it still went through
    shown = CliRunner().invoke(run.app, ["status", "--data-dir", str(var)]).output
    assert "last step error: intake at" in shown and "stuck.csv" in shown
