"""Intake reads each file's dates the way the file writes them, and its report says how."""

from __future__ import annotations

import logging

import pytest
from lifecycle_support import World

import processors.intake as intake

HEADER = "Order ID,Ship Date,Carrier,Tracking Number"


def drop(world: World, name: str, days: list[str]) -> None:
    rows = [f"111-0000000-{n:07d},{day},UPS,1Z999AA10123456784" for n, day in enumerate(days, 1)]
    world.drop(name, rows, header=HEADER)


def old_dates_allowed(world: World) -> None:
    """The files below are from 2025: this seller takes ship dates of any age."""
    world.seller = world.seller.model_copy(update={"max_age_days": 36500})


def ship_days(world: World) -> dict[int, str]:
    """line → the ship day the ledger holds (the world's seller is in UTC)."""
    return {r.line: r.ship_date.strftime("%Y-%m-%d") for r in world.all_lines()}


def test_a_european_file_is_queued_day_first_and_the_report_says_why(world: World) -> None:
    old_dates_allowed(world)
    drop(world, "eu.csv", ["03/11/2025", "25/11/2025"])
    (res,) = world.intake()
    assert (res.accepted, res.rejected) == (2, 0)
    assert ship_days(world) == {2: "2025-11-03", 3: "2025-11-25"}
    report = world.report("eu.csv.intake.json")
    assert report["date_order"] == "EU"
    assert report["date_note"] == "dates read as day/month/year because line 3 has 25/11/2025"
    csv_report = (world.outbox_dir / "eu.csv.intake.csv").read_text(encoding="utf-8-sig")
    assert "Dates,dates read as day/month/year because line 3 has 25/11/2025" in csv_report


def test_an_ambiguous_file_is_queued_by_the_setting_with_a_warning(world: World) -> None:
    old_dates_allowed(world)
    drop(world, "amb.csv", ["03/11/2025", "04/11/2025"])
    (res,) = world.intake()
    assert res.accepted == 2
    assert ship_days(world) == {2: "2025-03-11", 3: "2025-04-11"}
    warning = world.report("amb.csv.intake.json")["date_warning"]
    assert warning.startswith("03/11/2025 (line 2) was read as 11 March 2025 (date_order US)")


def test_dates_written_both_ways_reject_the_file_whole(world: World) -> None:
    old_dates_allowed(world)
    drop(world, "mixed.csv", ["25/11/2025", "2025-11-02", "11/25/2025"])
    (res,) = world.intake()
    assert res.file_error is not None
    assert 'line 2 has "25/11/2025"' in res.file_error
    assert 'line 4 has "11/25/2025"' in res.file_error
    assert world.all_lines() == []
    assert 'line 4 has "11/25/2025"' in world.report("mixed.csv.intake.json")["file_error"]


def test_a_late_deciding_date_rolls_back_and_reads_the_file_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "CHUNK_ROWS", 2)
    old_dates_allowed(world)
    drop(world, "late.csv", ["03/11/2025", "04/11/2025", "2025-11-05", "25/11/2025"])
    (res,) = world.intake()
    assert (res.accepted, res.rejected, res.duplicates) == (4, 0, 0)
    assert ship_days(world) == {
        2: "2025-11-03",
        3: "2025-11-04",
        4: "2025-11-05",
        5: "2025-11-25",
    }
    assert len(world.all_lines()) == 4
    assert world.report("late.csv.intake.json")["date_order"] == "EU"


def test_a_sellers_own_date_order_reads_its_ambiguous_files(world: World) -> None:
    world.seller = world.seller.model_copy(update={"max_age_days": 36500, "date_order": "EU"})
    drop(world, "amb.csv", ["03/11/2025"])
    world.intake()
    assert ship_days(world) == {2: "2025-11-03"}
    assert "(date_order EU)" in world.report("amb.csv.intake.json")["date_warning"]


def test_the_log_warns_the_operator_about_an_ambiguous_file(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    old_dates_allowed(world)
    drop(world, "amb.csv", ["03/11/2025"])
    with caplog.at_level(logging.INFO, logger="processors.intake"):
        world.intake()
    (warned,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "acme: amb.csv: 03/11/2025 (line 2) was read as 11 March 2025" in warned.getMessage()
