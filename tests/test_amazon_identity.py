"""The ledger knows which Amazon it talks to, and a start with other settings is refused.

"Real Amazon" here is the simulator run as an outside SP-API with credentials: to the
service it is an endpoint with LWA credentials, exactly as Amazon is. On both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ledger_db import ship, take_in
from service_support import (
    order_lines,
    service,
    settings_for,
    sim_env,
    sim_secrets,
    write_orders,
)
from simulator_support import config
from sqlalchemy import MetaData, create_engine, select
from typer.testing import CliRunner

import run
from config.settings import Secrets, Settings
from feeds.errors import AmazonIdentityMismatch, ConfigError
from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.ledger import migrate
from processors.ledger.engine import normalise_url
from processors.ledger.identity import (
    SIMULATED_MERCHANT,
    SIMULATOR_ENDPOINT,
    AmazonIdentity,
    mismatches,
    record_or_refuse,
    recorded,
)
from processors.ledger.store import Ledger
from processors.service import Service


@pytest.fixture
def amazon() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


def simulated(var: Path, url: str, **kw: Any) -> Settings:
    return settings_for(var, ledger_url=url, **kw)


def real(var: Path, amazon: Simulator, url: str, **kw: Any) -> Settings:
    return settings_for(var, amazon, ledger_url=url, **kw)


def start(settings: Settings, secrets: Secrets | None = None) -> None:
    """Start and stop at once: the identity check is all of a start these tests need."""
    Service.start(settings, secrets or Secrets(), watch=False, once=True).close()


def identities(url: str) -> list[AmazonIdentity]:
    with Ledger.open(url) as lg:
        return recorded(lg)


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, and the schema revision: what "changes nothing" means."""
    engine = create_engine(normalise_url(url))
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
                for name, t in meta.tables.items()
            }
    finally:
        engine.dispose()


def seller(name: str, merchant: str, var: Path) -> dict[str, str]:
    return {
        "name": name,
        "merchant_id": merchant,
        "inbox": str(var / name / "inbox"),
        "outbox": str(var / name / "outbox"),
    }


# -- recording ------------------------------------------------------------------------------


def test_first_start_records_the_simulator(ledger_url: str, tmp_path: Path) -> None:
    start(simulated(tmp_path / "var", ledger_url))
    (got,) = identities(ledger_url)
    assert (got.seller, got.simulated, got.region) == ("default", True, None)
    assert (got.endpoint, got.merchant_id) == (SIMULATOR_ENDPOINT, SIMULATED_MERCHANT)
    assert got.recorded_at is not None


def test_first_start_records_region_endpoint_and_merchants(
    ledger_url: str, amazon: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    sellers = [seller("acme", "A1ACME", var), seller("bolt", "A2BOLT", var)]
    start(real(var, amazon, ledger_url, sellers=sellers), sim_secrets(amazon))
    got = identities(ledger_url)
    assert [(i.seller, i.merchant_id) for i in got] == [("acme", "A1ACME"), ("bolt", "A2BOLT")]
    assert {(i.simulated, i.region, i.endpoint) for i in got} == {(False, "NA", amazon.url)}


def test_a_restart_with_the_same_settings_keeps_the_record(
    ledger_url: str, amazon: Simulator, tmp_path: Path
) -> None:
    settings = real(tmp_path / "var", amazon, ledger_url)
    start(settings, sim_secrets(amazon))
    first = identities(ledger_url)
    start(settings, sim_secrets(amazon))
    assert identities(ledger_url) == first


def test_a_seller_added_later_is_recorded_not_refused(
    ledger_url: str, amazon: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    acme, bolt = seller("acme", "A1ACME", var), seller("bolt", "A2BOLT", var)
    start(real(var, amazon, ledger_url, sellers=[acme]), sim_secrets(amazon))
    start(real(var, amazon, ledger_url, sellers=[acme, bolt]), sim_secrets(amazon))
    assert [i.seller for i in identities(ledger_url)] == ["acme", "bolt"]


def test_a_ledger_with_lines_from_before_the_record_gets_one_at_its_next_start(
    ledger_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Ledger.open(ledger_url) as lg:
        take_in(lg, [ship(2)], seller="default")
    with caplog.at_level("WARNING", logger="shipfeed"):
        start(simulated(tmp_path / "var", ledger_url))
    assert [i.simulated for i in identities(ledger_url)] == [True]
    assert "earlier lines cannot be told apart" in caplog.text


# -- refusing -------------------------------------------------------------------------------


def test_simulated_ledger_given_real_credentials_refuses_and_changes_nothing(
    ledger_url: str, amazon: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 3))
    with service(simulated(var, ledger_url)) as svc:
        svc.run_once(60)
    write_orders(var / "inbox" / "b.csv", order_lines(1, 3))  # the same orders, for real
    before = snapshot(ledger_url)

    with pytest.raises(AmazonIdentityMismatch) as refused:
        start(real(var, amazon, ledger_url), sim_secrets(amazon))

    assert refused.value.exit_code == 79 and isinstance(refused.value, ConfigError)
    message = str(refused.value)
    assert "the ledger recorded the built-in simulator" in message
    assert f"the settings say real Amazon, SP-API region NA at {amazon.url}" in message
    assert "fresh ledger" in message and "--data-dir" in message
    assert snapshot(ledger_url) == before
    assert (var / "inbox" / "b.csv").exists()
    assert sum(amazon.counters.api_calls.values()) == 0


def test_real_ledger_started_without_credentials_refuses(
    ledger_url: str, amazon: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    start(real(var, amazon, ledger_url), sim_secrets(amazon))
    before = snapshot(ledger_url)
    with pytest.raises(AmazonIdentityMismatch) as refused:
        start(simulated(var, ledger_url))
    assert f"the ledger recorded real Amazon, SP-API region NA at {amazon.url}" in str(
        refused.value
    )
    assert "the settings say the built-in simulator" in str(refused.value)
    assert "SHIPFEED_LWA_REFRESH_TOKEN" in (refused.value.hint or "")
    assert snapshot(ledger_url) == before


def test_another_region_is_refused(ledger_url: str, amazon: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    start(real(var, amazon, ledger_url), sim_secrets(amazon))
    before = snapshot(ledger_url)
    europe = real(var, amazon, ledger_url, spapi={"region": "EU"})
    with pytest.raises(AmazonIdentityMismatch) as refused:
        start(europe, sim_secrets(amazon))
    assert f"recorded real Amazon, SP-API region NA at {amazon.url}" in str(refused.value)
    assert (
        "the settings say real Amazon, SP-API region EU at https://sellingpartnerapi-eu.amazon.com"
        in str(refused.value)
    )
    assert snapshot(ledger_url) == before


def test_another_endpoint_is_refused(ledger_url: str, amazon: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    start(real(var, amazon, ledger_url), sim_secrets(amazon))
    other = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        with pytest.raises(AmazonIdentityMismatch) as refused:
            start(real(var, other, ledger_url), sim_secrets(other))
    finally:
        other.stop()
    assert f"recorded real Amazon, SP-API region NA at {amazon.url}" in str(refused.value)
    assert f"the settings say real Amazon, SP-API region NA at {other.url}" in str(refused.value)


def test_another_merchant_for_a_recorded_seller_is_refused(
    ledger_url: str, amazon: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    start(
        real(var, amazon, ledger_url, sellers=[seller("acme", "A1ACME", var)]), sim_secrets(amazon)
    )
    other = real(var, amazon, ledger_url, sellers=[seller("acme", "A9OTHER", var)])
    with pytest.raises(AmazonIdentityMismatch) as refused:
        start(other, sim_secrets(amazon))
    assert "recorded seller acme as merchant A1ACME" in str(refused.value)
    assert "the settings say seller acme as merchant A9OTHER" in str(refused.value)
    assert [i.merchant_id for i in identities(ledger_url)] == ["A1ACME"]


def test_once_exits_79_naming_both_when_credentials_meet_a_simulated_ledger(
    amazon: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    start(settings_for(var))
    settings = tmp_path / "real.toml"
    settings.write_text(
        f'[spapi]\nendpoint = "{amazon.url}"\ntoken_url = "{amazon.url}/auth/o2/token"\n'
        '[simulator]\nenabled = "auto"\n'
    )
    for name, value in sim_env(amazon).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(
        run.app, ["--once", "--settings", str(settings), "--data-dir", str(var)]
    )
    assert result.exit_code == 79
    assert "the ledger recorded the built-in simulator" in result.output
    assert f"the settings say real Amazon, SP-API region NA at {amazon.url}" in result.output


# -- the comparison itself ------------------------------------------------------------------


def _real(seller: str = "acme", merchant: str = "A1", region: str = "NA") -> AmazonIdentity:
    return AmazonIdentity(seller, False, region, f"https://sp-{region}.example", merchant)


def test_nothing_recorded_disagrees_with_nothing() -> None:
    assert mismatches([], [_real()]) == []


def test_a_seller_recorded_by_another_worker_does_not_concern_this_one() -> None:
    assert mismatches([_real("bolt", "A2")], [_real("acme", "A1")]) == []


def test_a_recorded_seller_in_another_region_disagrees() -> None:
    (found,) = mismatches([_real("acme", "A1")], [_real("acme", "A1", region="EU")])
    assert found.kind == "endpoint"


def test_another_seller_may_be_in_another_region() -> None:
    """Each seller has its own account and region: bolt in NA does not bind acme."""
    assert mismatches([_real("bolt", "A2")], [_real("acme", "A1", region="EU")]) == []


def test_a_worker_that_lost_the_race_to_record_is_refused_without_writing(ledger: Ledger) -> None:
    """Two workers start on one empty ledger: the one recording second re-reads and refuses."""
    simulator = AmazonIdentity("acme", True, None, SIMULATOR_ENDPOINT, SIMULATED_MERCHANT)
    record_or_refuse(ledger, [simulator])
    with pytest.raises(AmazonIdentityMismatch):
        record_or_refuse(ledger, [_real("acme"), _real("bolt")])
    assert [(i.seller, i.simulated) for i in recorded(ledger)] == [("acme", True)]


def test_a_refused_start_runs_no_migration(
    ledger_url: str, amazon: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    start(simulated(var, ledger_url))

    def no_migration(*_: object) -> None:
        raise AssertionError("a refused start migrated the ledger")

    monkeypatch.setattr(migrate, "upgrade", no_migration)
    with pytest.raises(AmazonIdentityMismatch):
        start(real(var, amazon, ledger_url), sim_secrets(amazon))
