"""Three workers (``run.py`` processes) on one PostgreSQL ledger serve two sellers on two
selling-partner accounts, one in NA and one in EU, against the simulator with Amazon's
real rate limits on.

At the end every line is confirmed exactly once, on its own seller's account, and the
simulator's accounting shows no call past any account's limit for any operation: the
workers took their calls from the buckets they share in the ledger. The order mirror is
what presses on a limit here (1,500 orders per account: 30 getOrders by id against a
burst of 20); with a bucket per worker, as before, this run went 5 calls past it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ledger_db import pg_schema_url
from service_support import order_id, order_lines, write_orders
from simulator_support import config
from sqlalchemy import func, select

from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.ledger.schema import lines
from processors.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 3
FILES = 3  # per seller
LINES = 500  # per file: 1,500 orders per account, 30 getOrders by id against a burst of 20
EU_TOKEN = "Atzr|the-german-seller"
EU_MERCHANT = "A2EUSELLER"
DEADLINE_SECONDS = 300  # a loaded 2-core machine runs three workers slowly


def _settings(path: Path, sim: Simulator, ledger_url: str, shared: Path) -> Path:
    sellers = []
    for name, extra in (
        ("us", []),
        ("de", ['credentials = "de-account"', 'marketplace_id = "A1PA6795UKMFR9"']),
    ):
        sellers += [
            "[[sellers]]",
            f'name = "{name}"',
            f'merchant_id = "{EU_MERCHANT if name == "de" else sim.config.merchant_id}"',
            f'inbox = "{shared / name / "inbox"}"',
            f'outbox = "{shared / name / "outbox"}"',
            *extra,
        ]
    path.write_text(
        "\n".join(
            [
                f'ledger_url = "{ledger_url}"',
                "[service]",
                "settle_seconds = 0",
                "batch_interval_seconds = 0.3",
                "poll_interval_seconds = 0.3",
                "inbox_scan_seconds = 0.3",
                "[spapi]",
                f'endpoint = "{sim.url}"',
                f'endpoints = {{ EU = "{sim.endpoint("EU")}" }}',
                f'token_url = "{sim.url}/auth/o2/token"',
                "max_retries = 2",
                "timeout_seconds = 10",
                # The order mirror spends what the getOrders bucket holds (burst 20, one
                # call a minute): with a bucket per worker three workers spend it three times.
                "use_orders_api = true",
                "mirror_wait_seconds = 20",
                "[simulator]",
                'enabled = "never"',
                *sellers,
            ]
        )
        + "\n"
    )
    return path


def _secrets(path: Path, sim: Simulator) -> Path:
    path.write_text(
        f'lwa_client_id = "{sim.config.client_id}"\n'
        f'lwa_client_secret = "{sim.config.client_secret}"\n'
        f'lwa_refresh_token = "{sim.config.refresh_token}"\n'
        f'[lwa.de-account]\nrefresh_token = "{EU_TOKEN}"\n'
    )
    path.chmod(0o600)
    return path


@contextmanager
def _workers(settings: Path, tmp: Path, env: dict[str, str]) -> Iterator[None]:
    with ExitStack() as stack:
        for k in range(WORKERS):
            log = stack.enter_context((tmp / f"worker{k}.log").open("wb"))
            cmd = [sys.executable, "run.py", "--settings", str(settings)]
            cmd += ["--data-dir", str(tmp / f"var{k}")]
            p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(_stop, p)
        yield


def _stop(p: subprocess.Popen[bytes]) -> None:
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def _confirmed(url: str) -> int:
    with Ledger.open(url) as ledger, ledger.reading() as conn:
        q = select(func.count()).select_from(lines).where(lines.c.status == "confirmed")
        return int(conn.execute(q).scalar_one())


def test_three_workers_keep_every_accounts_rate_limit_and_its_own_feeds(tmp_path: Path) -> None:
    sim = start_simulator(config(enforce_rate_limits=True, auto_create_orders=True), OrderBook())
    sim.add_partner(EU_TOKEN, EU_MERCHANT, "EU")
    shared = tmp_path / "shared"
    expected: dict[str, set[str]] = {sim.config.merchant_id: set(), EU_MERCHANT: set()}
    for batch, (seller, merchant) in enumerate(
        (("us", sim.config.merchant_id), ("de", EU_MERCHANT)), start=1
    ):
        for f in range(FILES):
            first = f * LINES + 1
            path = shared / seller / "inbox" / f"{seller}-{f}.csv"
            write_orders(path, order_lines(first, LINES, batch=batch, seed=batch))
            expected[merchant] |= {order_id(n, batch) for n in range(first, first + LINES)}
    total = 2 * FILES * LINES
    try:
        with pg_schema_url() as url:
            settings = _settings(tmp_path / "settings.toml", sim, url, shared)
            env = {
                **os.environ,
                "SHIPFEED_SECRETS_FILE": str(_secrets(tmp_path / "secrets.toml", sim)),
            }
            done = 0
            with _workers(settings, tmp_path, env):
                deadline = time.monotonic() + DEADLINE_SECONDS
                while time.monotonic() < deadline:
                    time.sleep(1.0)
                    try:
                        done = _confirmed(url)
                    except Exception:  # the workers are still migrating the ledger
                        continue
                    if done == total:
                        break
            logs = "\n".join(
                (tmp_path / f"worker{k}.log").read_text(errors="replace")[-3000:]
                for k in range(WORKERS)
            )
            assert done == total, logs
    finally:
        sim.stop()
    on_account: dict[str, set[str]] = {}
    for account, order, _ in sim.counters.account_confirmations:
        on_account.setdefault(account, set()).add(order)
    assert on_account == expected
    assert set(sim.counters.confirmations.values()) == {1}
    assert len(sim.counters.confirmations) == total
    assert sim.counters.over_limit == {}, sim.counters.over_limit
    assert sim.counters.throttled == {}
    assert {a for a, _ in sim.counters.account_calls} == set(expected)
