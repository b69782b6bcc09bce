"""timezone, date_order, max_age_days, strict_tracking and settle_seconds per seller.

Sellers in different countries share one shipfeed: each may set its own value, and every
place that uses one of these values uses the seller's, falling back on the global one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from service_support import order_lines, service, settings_for, write_orders

from config.settings import SellerSettings, Settings, SettingsError, load_settings
from processors.convert import check_file, convert_file

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HEADER = "Order ID,Ship Date,Carrier,Tracking Number"
GOOD_UPS = "1Z999AA10123456784"
BAD_UPS = "1Z999AA10123456785"  # wrong check digit


def seller(**own: Any) -> SellerSettings:
    return SellerSettings(name="s1", merchant_id="M", inbox="in", outbox="out", **own)


def settings(*sellers: SellerSettings) -> Settings:
    return Settings(sellers=list(sellers) or [seller()])


def write(tmp_path: Path, day: str, tracking: str = GOOD_UPS) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(f"{HEADER}\n112-0000000-0000001,{day},UPS,{tracking}\n", encoding="utf-8")
    return path


def test_a_seller_without_its_own_values_has_the_global_ones() -> None:
    s = Settings(
        validation={"timezone": "Europe/Paris", "date_order": "EU", "max_age_days": 9},
        service={"settle_seconds": 7},
        sellers=[seller()],
    )
    assert s.validation_for(s.sellers[0]) == s.validation
    assert s.settle_seconds_for(s.sellers[0]) == 7


def test_a_sellers_own_values_win_over_the_global_ones() -> None:
    own = seller(
        timezone="Asia/Tokyo",
        date_order="EU",
        max_age_days=5,
        strict_tracking=True,
        settle_seconds=0,
    )
    s = settings(own)
    v = s.validation_for(own)
    assert (v.timezone, v.date_order, v.max_age_days, v.strict_tracking) == (
        "Asia/Tokyo",
        "EU",
        5,
        True,
    )
    assert s.settle_seconds_for(own) == 0
    assert s.validation.timezone == "UTC"  # the global values are left alone


def test_a_sellers_timezone_places_its_dates(tmp_path: Path) -> None:
    berlin = seller(timezone="Europe/Berlin")
    src = write(tmp_path, "2026-11-19 10:00")
    with convert_file(
        src, tmp_path / "f.xml", merchant_id="M", settings=settings(berlin), seller=berlin, now=NOW
    ):
        pass
    (text,) = [d.text for d in etree.parse(str(tmp_path / "f.xml")).iter("FulfillmentDate")]
    assert datetime.fromisoformat(text or "") == datetime(
        2026, 11, 19, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_a_sellers_unknown_timezone_is_refused_when_the_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        '[[sellers]]\nname = "s1"\nmerchant_id = "M"\ninbox = "in"\noutbox = "out"\n'
        'timezone = "Mars/Olympus"\n'
    )
    with pytest.raises(SettingsError, match=r"sellers\[0\]\.timezone: unknown time zone"):
        load_settings(path)


def test_a_sellers_max_age_days_lets_older_dates_in(tmp_path: Path) -> None:
    src = write(tmp_path, (NOW - timedelta(days=100)).strftime("%Y-%m-%d"))
    patient = seller(max_age_days=365)
    with check_file(src, settings(patient), None, now=NOW) as global_rules:
        assert global_rules.rejected == 1  # 60 days by default
    with check_file(src, settings(patient), patient, now=NOW) as own_rules:
        assert own_rules.rejected == 0


def test_a_sellers_strict_tracking_rejects_what_the_global_rules_warn_about(
    tmp_path: Path,
) -> None:
    src = write(tmp_path, "2026-11-19", tracking=BAD_UPS)
    strict = seller(strict_tracking=True)
    with check_file(src, settings(strict), None, now=NOW) as lenient:
        assert (lenient.rejected, len(lenient.warnings)) == (0, 1)
    with check_file(src, settings(strict), strict, now=NOW) as own_rules:
        assert own_rules.rejected == 1


def test_a_sellers_settle_seconds_decides_when_its_files_are_taken(tmp_path: Path) -> None:
    quick = SellerSettings(
        name="quick",
        merchant_id="M",
        inbox=str(tmp_path / "quick" / "in"),
        outbox=str(tmp_path / "quick" / "out"),
        settle_seconds=0,
    )
    slow = SellerSettings(
        name="slow",
        merchant_id="M",
        inbox=str(tmp_path / "slow" / "in"),
        outbox=str(tmp_path / "slow" / "out"),
    )
    s = settings_for(tmp_path / "var", service={"settle_seconds": 3600}, sellers=[quick, slow])
    for who in (quick, slow):
        write_orders(Path(who.inbox) / "orders.csv", order_lines(1, 1, batch=len(who.name)))
        Path(who.outbox).mkdir(parents=True, exist_ok=True)
    with service(s) as svc:
        taken = {(r.name, r.accepted) for r in svc.intake()}
        assert taken == {("orders.csv", 1)}
        assert (Path(slow.inbox) / "orders.csv").exists()
        assert not (Path(quick.inbox) / "orders.csv").exists()
