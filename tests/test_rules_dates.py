"""Ship dates: the shapes sellers and spreadsheets write, the seller's zone, and the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feeds.model import FIELDS, RowChunk
from feeds.rules import ChunkResult, RuleContext, validate_chunk

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 13:00 in New York
CTX = RuleContext(now=NOW, timezone=NEW_YORK)


def run(ship_date: str, ctx: RuleContext = CTX) -> ChunkResult:
    cells = {f: [""] for f in FIELDS}
    cells["order_id"] = ["112-1234567-1234567"]
    cells["ship_date"] = [ship_date]
    columns: dict[str, str | None] = {f: None for f in FIELDS}
    columns["ship_date"] = "Date Shipped"
    return validate_chunk(RowChunk(lines=[5], cells=cells, columns=columns), ctx)


def shipped(ship_date: str, ctx: RuleContext = CTX) -> datetime:
    r = run(ship_date, ctx)
    assert r.errors == [], r.errors
    return r.shipments[0].ship_date


def test_iso_date_without_zone_is_midnight_in_seller_timezone() -> None:
    d = shipped("2026-11-19")
    assert d.tzinfo is NEW_YORK
    assert (d.year, d.month, d.day, d.hour, d.minute) == (2026, 11, 19, 0, 0)


@pytest.mark.parametrize(
    "text,utc",
    [
        ("2026-11-19T10:00:00+01:00", datetime(2026, 11, 19, 9, 0, tzinfo=UTC)),
        ("2026-11-19T10:00:00Z", datetime(2026, 11, 19, 10, 0, tzinfo=UTC)),
        ("2026-11-19 10:00:00-0500", datetime(2026, 11, 19, 15, 0, tzinfo=UTC)),
    ],
)
def test_iso_datetime_with_zone_keeps_its_own_offset(text: str, utc: datetime) -> None:
    assert shipped(text) == utc


@pytest.mark.parametrize(
    "text", ["2026-11-19 14:30", "2026-11-19T14:30:00", "2026-11-19 14:30:00.000"]
)
def test_iso_datetime_without_zone_is_read_in_seller_timezone(text: str) -> None:
    assert shipped(text) == datetime(2026, 11, 19, 14, 30, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("11/5/2026", datetime(2026, 11, 5)),
        ("11/05/2026 2:30 PM", datetime(2026, 11, 5, 14, 30)),
        ("11/05/2026 12:15 am", datetime(2026, 11, 5, 0, 15)),
        ("11/05/2026 16:45:10", datetime(2026, 11, 5, 16, 45, 10)),
        ("11/19/26", datetime(2026, 11, 19)),
    ],
)
def test_us_dates_are_month_first(text: str, expected: datetime) -> None:
    assert shipped(text) == expected.replace(tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    "text,expected",
    [("5/11/2026", datetime(2026, 11, 5)), ("19.11.2026 08:00", datetime(2026, 11, 19, 8))],
)
def test_eu_date_order_reads_day_first(text: str, expected: datetime) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    ctx = RuleContext(now=NOW, timezone=berlin, date_order="EU")
    assert shipped(text, ctx) == expected.replace(tzinfo=berlin)


def test_day_first_date_is_rejected_when_the_seller_writes_us_dates() -> None:
    (e,) = run("19/11/2026").errors
    assert e.column == "Date Shipped" and e.value == "19/11/2026"
    assert "11/20/2026" in e.reason


def test_excel_serial_date_is_read_in_seller_timezone() -> None:
    # Excel's serial 44927 is 1 January 2023 in the 1900 date system.
    ctx = RuleContext(now=datetime(2023, 1, 3, tzinfo=UTC), timezone=NEW_YORK)
    assert shipped("44927", ctx) == datetime(2023, 1, 1, tzinfo=NEW_YORK)


def test_excel_serial_fraction_is_the_time_of_day() -> None:
    ctx = RuleContext(now=datetime(2023, 1, 3, tzinfo=UTC), timezone=NEW_YORK)
    assert shipped("44927.75", ctx) == datetime(2023, 1, 1, 18, 0, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    "text", ["next tuesday", "2026-13-01", "2026-02-30", "13/13/2026", "20261119x", "0"]
)
def test_unreadable_ship_date_is_rejected_with_an_example(text: str) -> None:
    r = run(text)
    assert r.shipments == []
    (e,) = r.errors
    assert e.value == text and "2026-11-20" in e.reason


def test_future_ship_date_beyond_tolerance_is_rejected() -> None:
    late = (NOW + timedelta(minutes=61)).isoformat()
    (e,) = run(late).errors
    assert "future" in e.reason


def test_ship_date_slightly_ahead_of_the_clock_is_within_tolerance() -> None:
    assert shipped((NOW + timedelta(minutes=59)).isoformat()) == NOW + timedelta(minutes=59)


def test_ship_date_older_than_max_age_is_rejected() -> None:
    ctx = RuleContext(now=NOW, timezone=NEW_YORK, max_age=timedelta(days=30))
    (e,) = run((NOW - timedelta(days=30, minutes=1)).isoformat(), ctx).errors
    assert "30 days" in e.reason
    assert shipped((NOW - timedelta(days=29)).isoformat(), ctx) == NOW - timedelta(days=29)


def test_the_same_text_is_judged_against_each_contexts_clock() -> None:
    text = "2026-11-19"
    assert run(text).errors == []
    earlier = RuleContext(now=datetime(2026, 11, 1, tzinfo=UTC), timezone=NEW_YORK)
    assert [e.value for e in run(text, earlier).errors] == [text]


def test_fixed_offset_zone_applies_to_dates_without_zone() -> None:
    ctx = RuleContext(now=NOW, timezone=timezone(timedelta(hours=9)))
    assert shipped("2026-11-20 09:00", ctx) == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
