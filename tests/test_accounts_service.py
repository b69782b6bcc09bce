"""Two sellers on two selling-partner accounts, one in NA and one in EU, served by one
shipfeed against the simulator over HTTP: each seller's feeds land on its own account,
and one account's revoked authorisation stops that account only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_support import order_id, order_lines, service, settings_for, write_orders
from simulator_support import config

from config.settings import Secrets, Settings
from feeds.errors import CredentialsError, ExitCode
from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.health_view import health_data, health_lines
from processors.ledger import health
from processors.ledger.identity import recorded
from processors.ledger.queries import status_counts

EU_TOKEN = "Atzr|the-german-seller"
EU_MERCHANT = "A2EUSELLER"
DE = "A1PA6795UKMFR9"
LINES = 4


@pytest.fixture
def amazon() -> Iterator[Simulator]:
    sim = start_simulator(config(auto_create_orders=True), OrderBook())
    sim.add_partner(EU_TOKEN, EU_MERCHANT, "EU")
    try:
        yield sim
    finally:
        sim.stop()


def two_accounts(var: Path, sim: Simulator, **kw: Any) -> Settings:
    sellers = [
        {
            "name": "us",
            "merchant_id": sim.config.merchant_id,
            "inbox": str(var / "us" / "in"),
            "outbox": str(var / "us" / "out"),
        },
        {
            "name": "de",
            "merchant_id": EU_MERCHANT,
            "marketplace_id": DE,  # its region is EU: amazon.de's
            "credentials": "de-account",
            "inbox": str(var / "de" / "in"),
            "outbox": str(var / "de" / "out"),
        },
    ]
    spapi = {
        "endpoint": sim.url,
        "endpoints": {"EU": sim.endpoint("EU")},
        "token_url": f"{sim.url}/auth/o2/token",
        "max_retries": 1,
    }
    return settings_for(var, sim, sellers=sellers, spapi=spapi, **kw)


def secrets(sim: Simulator) -> Secrets:
    return Secrets(
        lwa_client_id=sim.config.client_id,
        lwa_client_secret=sim.config.client_secret,
        lwa_refresh_token=sim.config.refresh_token,
        lwa={"de-account": {"refresh_token": EU_TOKEN}},
    )


def files(var: Path) -> tuple[set[str], set[str]]:
    write_orders(var / "us" / "in" / "us.csv", order_lines(1, LINES, batch=1))
    write_orders(var / "de" / "in" / "de.csv", order_lines(1, LINES, batch=2))
    return (
        {order_id(n, 1) for n in range(1, LINES + 1)},
        {order_id(n, 2) for n in range(1, LINES + 1)},
    )


def confirmed_by(sim: Simulator) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for account, order, _ in sim.counters.account_confirmations:
        out.setdefault(account, set()).add(order)
    return out


def test_each_sellers_feeds_land_on_its_own_account(amazon: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    us_orders, de_orders = files(var)
    with service(two_accounts(var, amazon), secrets(amazon)) as svc:
        outcome = svc.run_once(120)
    assert outcome.exit == ExitCode.OK
    assert amazon.counters.feeds_by_account == {amazon.config.merchant_id: 1, EU_MERCHANT: 1}
    assert confirmed_by(amazon) == {amazon.config.merchant_id: us_orders, EU_MERCHANT: de_orders}
    assert set(amazon.counters.confirmations.values()) == {1}


def test_each_seller_is_recorded_with_its_own_region_and_endpoint(
    amazon: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    with service(two_accounts(var, amazon), secrets(amazon)) as svc:
        got = {r.seller: (r.region, r.endpoint, r.merchant_id) for r in recorded(svc.ledger)}
    assert got == {
        "us": ("NA", amazon.url, amazon.config.merchant_id),
        "de": ("EU", amazon.endpoint("EU"), EU_MERCHANT),
    }


def test_a_revoked_account_stops_only_its_own_sellers(amazon: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    us_orders, _ = files(var)
    amazon.revoke(EU_MERCHANT)
    with service(two_accounts(var, amazon), secrets(amazon)) as svc:
        outcome = svc.run_once(120)
        de_counts = status_counts(svc.ledger, "de").counts
        us_counts = status_counts(svc.ledger, "us").counts
        logins = {
            h.component: h.state for h in health.read(svc.ledger) if health.is_login(h.component)
        }
        said = health_lines(health_data(svc.ledger))
    # The US account went on to the end; the German lines wait for the login to be fixed.
    assert confirmed_by(amazon) == {amazon.config.merchant_id: us_orders}
    assert us_counts["confirmed"] == LINES
    assert de_counts["in_queue"] == LINES
    assert outcome.exit == ExitCode.LOGIN_REFUSED  # not TIMED_OUT: it did not wait for them
    assert logins == {"amazon_login:de-account@EU": health.REFUSED}
    assert any(line.startswith("Amazon login refused for account de-account@EU") for line in said)


def test_a_seller_without_a_refresh_token_is_refused_at_start(
    amazon: Simulator, tmp_path: Path
) -> None:
    only_de = Secrets(
        lwa_client_id=amazon.config.client_id,
        lwa_client_secret=amazon.config.client_secret,
        lwa={"de-account": {"refresh_token": EU_TOKEN}},
    )
    settings = two_accounts(tmp_path / "var", amazon)
    with pytest.raises(CredentialsError, match="seller us: no Amazon refresh token"):
        service(settings, only_de).__enter__()


def test_a_simulated_run_gives_each_credentials_name_its_own_simulated_account(
    tmp_path: Path,
) -> None:
    """No credentials: the built-in simulator plays every account, each in its region."""
    var = tmp_path / "var"
    sellers = [
        {"name": "us", "merchant_id": "M1", "inbox": str(var / "us" / "in"),
         "outbox": str(var / "us" / "out")},
        {"name": "de", "merchant_id": "M2", "marketplace_id": DE, "credentials": "de-account",
         "inbox": str(var / "de" / "in"), "outbox": str(var / "de" / "out")},
    ]  # fmt: skip
    us_orders, de_orders = files(var)
    with service(settings_for(var, sellers=sellers)) as svc:
        assert svc.simulator is not None
        keys = sorted(str(k) for k, _ in svc.accounts or [])
        outcome = svc.run_once(120)
        sim = svc.simulator
        assert outcome.exit == ExitCode.OK
        assert keys == ["de-account@EU", "default@NA"]
        assert confirmed_by(sim) == {
            sim.config.merchant_id: us_orders,
            "SIMULATED-DE-ACCOUNT-EU": de_orders,
        }
