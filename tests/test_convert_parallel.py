"""convert and check in two processes give exactly what they give in one."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

import processors.convert as convert
from config.settings import load_settings
from processors.convert import FileOutcome, check_file, convert_file
from processors.readahead import parallel_possible

pytestmark = pytest.mark.skipif(not parallel_possible(), reason="needs fork and two cores")

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SETTINGS = load_settings(None, validation={"timezone": "America/New_York"})


def messy_file(path: Path, rows: int = 2500) -> None:
    """Good lines, bad lines, warnings, repeats near and far (across chunk boundaries)."""
    rng = random.Random(5)
    out = ["Order ID,Order Item ID,Qty,Ship Date,Carrier,Tracking Number,Service"]
    made: list[str] = []
    for n in range(rows):
        roll = rng.random()
        if made and roll < 0.05:
            out.append(rng.choice(made))  # a repeat, often many chunks back
            continue
        order = f"112-{rng.randrange(10**7):07d}-{n:07d}"
        item = f"{n:014d}" if rng.random() < 0.7 else ""
        qty = rng.choice(["1", "2", "", " 3 "]) if item else ""
        day = rng.choice(["2026-11-19", "11/18/2026", "2026-11-18 14:30"])
        carrier, tracking, service = rng.choice(
            [
                ("UPS", "1Z999AA10123456784", "Ground"),
                ("USPS", f"9400{n:018d}", "Priority"),
                ("Bob's Vans", "BOB-123", ""),
                ("", "", "Ground"),  # warning: ship method without tracking
                ("UPS", "1Z999AA10123456785", ""),  # warning: bad check digit
            ]
        )
        if roll < 0.08:
            order = "12-34"  # error
        elif roll < 0.10:
            day = "next tuesday"  # error
        elif roll < 0.11:
            item = "1.23E+13"  # error
        line = f"{order},{item},{qty},{day},{carrier},{tracking},{service}"
        made.append(line)
        out.append(line)
        if rng.random() < 0.02:
            out.append("")  # a blank row: counted, left out
    path.write_text("\r\n".join(out) + "\r\n", encoding="utf-8")


def summary(o: FileOutcome) -> tuple[object, ...]:
    return (
        o.file,
        o.info,
        o.lines,
        o.accepted,
        o.rejected,
        o.duplicates,
        o.packages,
        o.file_error,
        o.file_hint,
        list(o.errors),
        list(o.warnings),
    )


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "CONVERT_CHUNK_ROWS", 97)


def test_parallel_convert_writes_the_same_bytes_and_the_same_report(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    messy_file(src)
    outs = {}
    for parallel in (False, True):
        folder = tmp_path / str(parallel)
        with convert_file(
            src,
            folder / "feed.xml",
            merchant_id="M1",
            settings=SETTINGS,
            max_messages=400,
            now=NOW,
            parallel=parallel,
        ) as outcome:
            feeds = [p.read_bytes() for p in outcome.outputs]
            outs[parallel] = (summary(outcome), [p.name for p in outcome.outputs], feeds)
    serial, parallel_ = outs[False], outs[True]
    assert serial == parallel_
    rejected, duplicates = serial[0][4:6]
    assert isinstance(rejected, int) and isinstance(duplicates, int)
    assert rejected > 100 and duplicates > 50 and len(serial[2]) > 2  # and several parts


def test_parallel_check_gives_the_same_outcome(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    messy_file(src, rows=1200)
    with (
        check_file(src, SETTINGS, now=NOW, parallel=False) as serial,
        check_file(src, SETTINGS, now=NOW, parallel=True) as parallel,
    ):
        assert summary(serial) == summary(parallel)


def test_a_file_rejected_part_way_is_rejected_the_same_in_parallel(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    messy_file(src, rows=1000)
    with src.open("a", encoding="utf-8") as fh:
        fh.write('112-1234567-1234567,,,2026-11-19,UPS,"1Z999AA10123456784,Ground\r\n')
        fh.write("112-1234567-1234568,,,2026-11-19,UPS,1Z999AA10123456784,Ground\r\n" * 3)
    results = []
    for parallel in (False, True):
        with convert_file(
            src,
            tmp_path / str(parallel) / "feed.xml",
            merchant_id="M1",
            settings=SETTINGS,
            now=NOW,
            parallel=parallel,
        ) as outcome:
            results.append((outcome.file_error, outcome.file_hint, outcome.outputs))
            assert not list((tmp_path / str(parallel)).iterdir())  # no feed, not even a temp
    assert results[0] == results[1]
    assert results[0][0] is not None
