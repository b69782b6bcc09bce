"""The columnar convert path gives byte for byte the feeds and reports of the row loop.

Each file is converted twice, ``columnar=True`` (polars, the row loop only for lines with a
problem) and ``columnar=False`` (the row loop for every line), and everything a seller or
Amazon sees must be equal: feed parts, both reports, every count, error and warning.
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hostile_corpus import corpus

import processors.columnar as columnar_module
import processors.convert as convert
from config.settings import load_settings
from processors.convert import FileOutcome, check_file, convert_file
from processors.reports import write_file_reports

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SETTINGS = load_settings(None, validation={"timezone": "America/New_York"})
HEADER = "Order ID,Order Item ID,Qty,Ship Date,Carrier,Carrier Name,Tracking Number,Service"


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
        o.dates,
        list(o.errors),
        list(o.warnings),
    )


def both_ways(
    src: Path,
    tmp: Path,
    *,
    max_messages: int | None = None,
    strict: bool = False,
    threaded: bool = False,
) -> tuple[object, ...]:
    """Convert ``src`` both ways; assert feeds, reports and outcomes are equal; return it."""
    settings = (
        load_settings(None, validation={"timezone": "America/New_York", "strict_tracking": True})
        if strict
        else SETTINGS
    )
    results = []
    for columnar in (True, False):
        folder = tmp / f"{src.name}-{columnar}"
        with convert_file(
            src,
            folder / "feed.xml",
            merchant_id="M1",
            settings=settings,
            max_messages=max_messages,
            now=NOW,
            parallel=threaded and columnar,  # columnar: grouped and written in a thread
            columnar=columnar,
        ) as outcome:
            (folder / "reports").mkdir(parents=True, exist_ok=True)
            reports = write_file_reports(outcome, folder / "reports")
            results.append(
                (
                    summary(outcome),
                    [p.name for p in outcome.outputs],
                    [p.read_bytes() for p in outcome.outputs],
                    [p.read_bytes() for p in reports],
                )
            )
        with check_file(src, settings, now=NOW, parallel=False, columnar=columnar) as checked:
            assert summary(checked)[2:] == results[-1][0][2:]
    assert results[0] == results[1]
    return results[0]


def messy_file(path: Path, rows: int, seed: int = 5) -> None:
    """Clean lines, every kind of problem, repeats near and far, two-box orders, the same
    item on two lines of one box, blank lines and lines of empty cells."""
    rng = random.Random(seed)
    out = [HEADER]
    made: list[str] = []
    for n in range(rows):
        roll = rng.random()
        if made and roll < 0.04:
            out.append(rng.choice(made))
            continue
        order = f"112-{rng.randrange(10**7):07d}-{n // 3:07d}"
        item = f"{rng.randrange(10**14):014d}" if rng.random() < 0.7 else ""
        qty = rng.choice(["1", "2", "", " 3 ", "2.0"]) if item else ""
        day = rng.choice(
            ["2026-11-19", "11/18/2026", "2026-11-18 14:30", "2026-11-19T10:00:00Z", "46000"]
        )
        carrier, name, tracking, service = rng.choice(
            [
                ("UPS", "", "1Z999AA10123456784", "Ground"),
                ("ups", "", "1Z999AA10123456784", ""),
                ("USPS", "", f"9400{n:018d}", "Priority"),
                ("USPS", "", "EE123456785US", ""),
                ("Royal Mail", "", "RB123456785GB", "Tracked 24"),
                ("FedEx", "", f"{n:012d}", "Home & <Delivery>"),
                ("DHL", "", f"{n:010d}", ""),
                ("Yodel", "", "JJD0000000001", ""),
                ("", "Bob's Vans", "BOB123", "Van"),
                ("Other", "Bob <Quick> & Sons", "BOB124", ""),
                ("", "", "", ""),
                ("UPS", "", "", ""),
                ("", "", "", "Ground"),  # warning: ship method without tracking
                ("UPS", "", "1Z999AA10123456785", ""),  # warning: check digit
                ("", "", "1Z999AA10123456784", ""),  # warning: carrier from the number
                ("Pony Express", "", "PX1", ""),  # warning: not a carrier code
                ("UPS", "", "1z 999 aa1 0123456784", ""),  # cleaned by the row loop
            ]
        )
        if roll < 0.06:
            order = "12-34"
        elif roll < 0.07:
            day = "next tuesday"
        elif roll < 0.08:
            item, qty = "1.23E+13", "1"
        elif roll < 0.09:
            qty = "0"
        elif roll < 0.10:
            day = "2030-01-01"
        elif roll < 0.11 and item == "":
            qty = "2"  # warning: quantity without an item
        line = f"{order},{item},{qty},{day},{carrier},{name},{tracking},{service}"
        made.append(line)
        out.append(line)
        if item and rng.random() < 0.05:
            again = rng.choice(["1", ""])
            out.append(f"{order},{item},{again},{day},{carrier},{name},{tracking},{service}")
        if rng.random() < 0.02:
            out.append(rng.choice(["", ",,,,,,,"]))
    path.write_text("\r\n".join(out) + "\r\n", encoding="utf-8")


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "CONVERT_CHUNK_ROWS", 97)
    monkeypatch.setattr(convert, "SPLIT_MAX_BYTES", 0)  # small files too go columnar here


TAKEN: list[str] = []


@pytest.fixture(autouse=True)
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files the columnar path read to the end."""
    TAKEN.clear()
    real = convert.columnar_packages

    def recording(fh: Any, *args: Any, **kwargs: Any) -> Any:
        yield from real(fh, *args, **kwargs)
        TAKEN.append(Path(fh.name).name)

    monkeypatch.setattr(convert, "columnar_packages", recording)
    return TAKEN


def test_a_messy_file_gives_the_same_feeds_and_reports_both_ways(
    tmp_path: Path, taken: list[str]
) -> None:
    src = tmp_path / "orders.csv"
    messy_file(src, 3000)
    result = both_ways(src, tmp_path, max_messages=400)
    assert taken == ["orders.csv", "orders.csv"]  # convert and check, not the fallback
    outcome, parts = result[0], result[1]
    assert isinstance(outcome, tuple) and isinstance(parts, list)
    assert outcome[4] > 100 and outcome[5] > 50 and len(parts) > 2  # rejected, repeats, parts


def test_strict_tracking_gives_the_same_both_ways(tmp_path: Path, taken: list[str]) -> None:
    src = tmp_path / "orders.csv"
    messy_file(src, 800, seed=8)
    both_ways(src, tmp_path, strict=True)
    assert taken


def test_parts_cut_by_size_fall_where_the_row_loop_cuts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: list[str]
) -> None:
    src = tmp_path / "orders.csv"
    messy_file(src, 1500, seed=3)
    monkeypatch.setattr(SETTINGS.feed, "max_bytes", 20_000)
    parts = both_ways(src, tmp_path)[1]
    assert isinstance(parts, list) and len(parts) > 5
    assert taken


@pytest.mark.parametrize("misfits", [False, True], ids=["clean", "tracking warnings"])
def test_a_file_of_only_clean_lines_takes_no_line_through_the_row_loop(
    misfits: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nor do lines whose only problem is a tracking number that does not fit its carrier
    (a warning: the line is sent), worded column-wise as the row loop words it."""
    src = tmp_path / "clean.csv"
    wrong = ("UPS", "1Z999AA10123456785"), ("USPS", "9400123"), ("FedEx", "12345")
    lines = [HEADER] + [
        f"112-1234567-{n:07d},{n:014d},1,2026-11-19,UPS,,1Z999AA10123456784,Ground"
        if not misfits or n % 7
        else f"112-1234567-{n:07d},{n:014d},1,2026-11-19,{wrong[n % 3][0]},,{wrong[n % 3][1]},"
        for n in range(500)
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    slow: list[int] = []
    real = columnar_module.columnar_packages

    def counting(*args: object, **kwargs: object) -> object:
        import feeds.columnar as col

        validate = col.validate_frame

        def spy(*a: object, **k: object) -> col.ColumnarResult:
            result = validate(*a, **k)  # type: ignore[arg-type]
            slow.append(result.slow_lines)
            return result

        monkeypatch.setattr(col, "validate_frame", spy)
        yield from real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(convert, "columnar_packages", counting)
    outcome = both_ways(src, tmp_path)[0]
    assert slow and sum(slow) == 0
    assert isinstance(outcome, tuple) and isinstance(outcome[11], list)
    assert len(outcome[11]) == (72 if misfits else 0)  # the warnings, worded alike


@pytest.mark.parametrize(
    "name", [p.name for p in sorted((ROOT / "samples").iterdir()) if p.suffix in (".csv", ".txt")]
)
def test_each_sample_file_gives_the_same_both_ways(name: str, tmp_path: Path) -> None:
    src = tmp_path / name
    shutil.copy(ROOT / "samples" / name, src)
    both_ways(src, tmp_path)


def test_the_hostile_corpus_gives_the_same_both_ways(tmp_path: Path) -> None:
    for hostile in corpus(tmp_path / "scratch"):
        src = tmp_path / "in" / hostile.name.replace("/", "_")
        src.parent.mkdir(parents=True, exist_ok=True)
        try:
            src.write_bytes(hostile.data)
        except OSError:
            continue  # a name this file system refuses; the reader never sees it
        both_ways(src, tmp_path / "out")


@pytest.mark.parametrize(
    "tail",
    [
        "112-1234567-7654321,,,2026-11-19,UPS,,1Z999AA10123456784,Ground,extra,cells,here\r\n",
        "112-1234567-7654321,,,2026-11-19,UPS,,1Z999AA10123456784\rGround\r\n",
        '112-1234567-7654321,,,2026-11-19,UPS,"Bob, Vans",1Z999AA10123456784,Ground\r\n',
        "112-1234567-7654321,,,2026-11-19,UPS,,\xff\xfe,Ground\r\n",
        "112-1234567-7654321,,\r\n",
    ],
    ids=["wider line", "bare carriage return", "quoted cell", "not utf-8", "short line"],
)
def test_a_line_polars_would_read_otherwise_reads_the_plain_way(
    tail: str, tmp_path: Path, taken: list[str]
) -> None:
    src = tmp_path / "orders.csv"
    messy_file(src, 400, seed=11)
    with src.open("ab") as fh:
        fh.write(tail.encode("latin-1"))
    both_ways(src, tmp_path)
    if tail.endswith(",,\r\n"):
        assert taken  # a short line is read alike both ways: empty cells
    else:
        assert not taken  # refused up front or part way, then read the plain way


def test_slash_dates_settled_late_in_the_file_give_the_same_both_ways(
    tmp_path: Path, taken: list[str]
) -> None:
    src = tmp_path / "orders.csv"
    lines = [HEADER]
    for n in range(600):
        day = "03/11/2026" if n < 500 else "19/11/2026"  # decided day-first on line 502
        lines.append(f"112-1234567-{n:07d},,,{day},UPS,,1Z999AA10123456784,Ground")
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = both_ways(src, tmp_path)[0]
    assert isinstance(outcome, tuple) and outcome[9] is not None  # how the dates were read
    assert taken


@pytest.mark.parametrize("seed", [5, 6])
def test_a_small_file_split_in_plain_python_gives_what_pandas_gives(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: list[str]
) -> None:
    monkeypatch.setattr(convert, "SPLIT_MAX_BYTES", 10**9)
    src = tmp_path / "orders.csv"
    messy_file(src, 1200, seed=seed)
    with src.open("a", encoding="utf-8") as fh:
        fh.write("112-1234567-7654321,,\n\n,,,,,,,\n")  # short, blank and empty lines
    both_ways(src, tmp_path, max_messages=300)
    assert not taken  # split, not polars


@pytest.mark.parametrize(
    ("early", "late", "at"),
    [
        ("03/11/2026", "19/11/2026", 150),  # settled day-first in the second chunk
        ("25/11/2026", "11/25/2026", 250),  # contradicted in the third chunk
        ("25/11/2026", "11/25/2026", 500),  # contradicted in the sixth chunk
    ],
    ids=["settled in chunk 2", "contradicted in chunk 3", "contradicted in chunk 6"],
)
def test_dates_decided_in_a_later_chunk_give_the_same_both_ways(
    early: str, late: str, at: int, tmp_path: Path, taken: list[str]
) -> None:
    """The date order settled or contradicted a few chunks into the file: the lines read
    before are counted, and read again when the order changes, alike both ways."""
    src = tmp_path / "orders.csv"
    lines = [HEADER]
    for n in range(700):
        day = early if n < at else late
        lines.append(f"112-1234567-{n:07d},,,{day},UPS,,1Z999AA10123456784,Ground")
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = both_ways(src, tmp_path)[0]
    assert isinstance(outcome, tuple)
    if early == "03/11/2026":
        assert outcome[9] is not None and outcome[7] is None  # read day-first, not rejected
    else:
        assert outcome[7] is not None and outcome[2] > 0  # rejected after counting lines


def test_a_package_across_a_chunk_boundary_is_two_messages_both_ways(
    tmp_path: Path, taken: list[str]
) -> None:
    """Packages are grouped per chunk (CONVERT_CHUNK_ROWS lines, 97 here) on both paths."""
    src = tmp_path / "orders.csv"
    lines = [HEADER]
    for n in range(400):
        for k in range(3):  # three items in one box: 97 is no multiple of 3
            lines.append(
                f"112-1234567-{n:07d},{n:07d}{k:07d},1,2026-11-19,UPS,,1Z999AA10123456784,Ground"
            )
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = both_ways(src, tmp_path)[0]
    assert isinstance(outcome, tuple) and outcome[6] > 400  # split boxes: more messages
    assert taken


@pytest.mark.parametrize("bare", [False, True], ids=["crlf only", "one bare carriage return"])
def test_carriage_returns_are_judged_across_read_blocks(
    bare: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: list[str]
) -> None:
    """The reader's layout check reads in blocks (7 bytes here): a CRLF cut between two
    blocks is still a line break, and a bare carriage return anywhere sends the file the
    plain way."""
    import ingest.columnar as ingest_columnar

    monkeypatch.setattr(ingest_columnar, "_BLOCK", 7)
    src = tmp_path / "orders.csv"
    messy_file(src, 150, seed=9)
    data = src.read_bytes()
    if bare:
        at = data.index(b"\r\n", len(data) // 2)
        data = data[:at] + b"\r" + data[at:]  # a carriage return on its own before a CRLF
    src.write_bytes(data)
    both_ways(src, tmp_path)
    assert bool(taken) is not bare


def test_chunks_written_in_a_second_thread_give_the_same_feeds(
    tmp_path: Path, taken: list[str]
) -> None:
    src = tmp_path / "orders.csv"
    messy_file(src, 3000, seed=12)
    parts = both_ways(src, tmp_path, max_messages=300, threaded=True)[1]
    assert isinstance(parts, list) and len(parts) > 3
    assert taken == ["orders.csv", "orders.csv"]


def test_a_message_too_big_for_a_part_in_the_writer_thread_reads_the_plain_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: list[str]
) -> None:
    """The writer thread finds a message no part can hold; the file is converted again
    the row way, which refuses that package's lines in words."""
    src = tmp_path / "orders.csv"
    lines = [HEADER]
    for n in range(300):
        items = 12 if n == 250 else 1
        for k in range(items):
            lines.append(
                f"112-1234567-{n:07d},{n:07d}{k:07d},1,2026-11-19,UPS,,1Z999AA10123456784,Ground"
            )
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(SETTINGS.feed, "max_bytes", 1500)
    results = []
    for columnar in (True, False):
        folder = tmp_path / str(columnar)
        with convert_file(
            src,
            folder / "feed.xml",
            merchant_id="M1",
            settings=SETTINGS,
            now=NOW,
            parallel=columnar,
            columnar=columnar,
        ) as outcome:
            results.append((summary(outcome), [p.read_bytes() for p in outcome.outputs]))
    assert results[0] == results[1]
    assert results[0][0][4] == 12  # rejected: the big package's lines, in words
    assert not taken  # the columnar pass was abandoned part way
