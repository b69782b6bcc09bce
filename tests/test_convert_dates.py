"""validate and convert read each file's dates the way the file writes them, and say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

import processors.convert as convert
from config.settings import Settings, load_settings
from processors.convert import check_file, convert_file
from processors.readahead import parallel_possible
from run import app

runner = CliRunner()
SETTINGS = load_settings(None, validation={"max_age_days": 36500})  # date_order US
HEADER = "Order ID,Ship Date,Carrier,Tracking Number"


def line(n: int, day: str) -> str:
    return f"112-0000000-{n:07d},{day},UPS,1Z999AA10123456784"


def write(tmp_path: Path, days: list[str], name: str = "orders.csv") -> Path:
    path = tmp_path / name
    rows = [line(n, d) for n, d in enumerate(days, 1)]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def fulfillment_dates(feed: Path) -> list[str]:
    doc = etree.parse(str(feed))
    return [d.text or "" for d in doc.iter("FulfillmentDate")]


def test_a_european_file_is_converted_day_first_under_a_us_setting(tmp_path: Path) -> None:
    src = write(tmp_path, ["03/11/2025", "25/11/2025"])
    with convert_file(src, tmp_path / "feed.xml", merchant_id="M1", settings=SETTINGS) as outcome:
        assert outcome.rejected == 0
        assert outcome.dates is not None and outcome.dates.order == "EU"
    dates = fulfillment_dates(tmp_path / "feed.xml")
    assert [d[:10] for d in dates] == ["2025-11-03", "2025-11-25"]


def test_the_report_notes_which_line_decided_the_order(tmp_path: Path) -> None:
    src = write(tmp_path, ["03/11/2025", "04/11/2025", "25/11/2025"])
    with check_file(src, SETTINGS) as outcome:
        assert outcome.dates is not None
        assert outcome.dates.message == (
            "dates read as day/month/year because line 4 has 25/11/2025"
        )
        assert not outcome.dates.is_warning


def test_dates_written_both_ways_reject_the_file_naming_the_lines(tmp_path: Path) -> None:
    src = write(tmp_path, ["25/11/2025", "2025-11-02", "11/25/2025"])
    with convert_file(src, tmp_path / "feed.xml", merchant_id="M1", settings=SETTINGS) as outcome:
        assert outcome.file_error is not None
        assert 'line 2 has "25/11/2025"' in outcome.file_error
        assert 'line 4 has "11/25/2025"' in outcome.file_error
        assert outcome.outputs == []
    assert list(tmp_path.glob("*.xml")) == []


def test_a_late_deciding_date_reads_the_whole_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert, "CONVERT_CHUNK_ROWS", 2)
    days = ["03/11/2025", "04/11/2025", "2025-11-05", "06/11/2025", "25/11/2025"]
    src = write(tmp_path, days)
    with convert_file(
        src, tmp_path / "feed.xml", merchant_id="M1", settings=SETTINGS, parallel=False
    ) as outcome:
        assert (outcome.lines, outcome.accepted, outcome.packages) == (5, 5, 5)
        assert outcome.dates is not None and outcome.dates.order == "EU"
    got = [d[:10] for d in fulfillment_dates(tmp_path / "feed.xml")]
    assert got == ["2025-11-03", "2025-11-04", "2025-11-05", "2025-11-06", "2025-11-25"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.xml", "orders.csv"]


@pytest.mark.skipif(not parallel_possible(), reason="needs fork and two cores")
def test_a_late_deciding_date_reads_again_when_a_worker_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert, "CONVERT_CHUNK_ROWS", 2)
    src = write(tmp_path, ["03/11/2025", "04/11/2025", "05/11/2025", "25/11/2025"])
    with (
        check_file(src, SETTINGS, parallel=True) as parallel,
        check_file(src, SETTINGS, parallel=False) as serial,
    ):
        assert parallel.dates == serial.dates
        assert parallel.dates is not None and parallel.dates.order == "EU"
        assert (parallel.lines, parallel.accepted) == (serial.lines, serial.accepted) == (4, 4)


def test_ambiguous_dates_are_read_by_the_setting_and_warned_about(tmp_path: Path) -> None:
    src = write(tmp_path, ["03/11/2025", "04/11/2025"])
    with convert_file(src, tmp_path / "feed.xml", merchant_id="M1", settings=SETTINGS) as outcome:
        assert outcome.dates is not None and outcome.dates.is_warning
        assert outcome.dates.message.startswith(
            "03/11/2025 (line 2) was read as 11 March 2025 (date_order US)"
        )
    assert fulfillment_dates(tmp_path / "feed.xml")[0][:10] == "2025-03-11"


def test_iso_files_carry_no_date_note(tmp_path: Path) -> None:
    with check_file(write(tmp_path, ["2025-11-03", "45967"]), SETTINGS) as outcome:
        assert outcome.dates is None


def _settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(f'data_dir = "{tmp_path / "var"}"\n[validation]\nmax_age_days = 36500\n')
    return path


def test_validate_prints_the_note(tmp_path: Path) -> None:
    src = write(tmp_path, ["03/11/2025", "25/11/2025"])
    result = runner.invoke(app, ["validate", str(src), "--settings", str(_settings_file(tmp_path))])
    assert "dates read as day/month/year because line 3 has 25/11/2025" in result.stdout


def test_validate_counts_the_files_date_warning_among_its_warnings(tmp_path: Path) -> None:
    src = write(tmp_path, ["03/11/2025", "04/11/2025"])
    result = runner.invoke(app, ["validate", str(src), "--settings", str(_settings_file(tmp_path))])
    assert "WARNING: 03/11/2025 (line 2) was read as 11 March 2025" in result.stdout
    assert "2 lines: 2 accepted, 0 rejected, 0 duplicates, 1 warnings" in result.stdout


def test_validate_counts_no_warning_for_a_date_note(tmp_path: Path) -> None:
    src = write(tmp_path, ["03/11/2025", "25/11/2025"])
    result = runner.invoke(app, ["validate", str(src), "--settings", str(_settings_file(tmp_path))])
    assert "2 lines: 2 accepted, 0 rejected, 0 duplicates, 0 warnings" in result.stdout


def test_validate_json_carries_the_warning(tmp_path: Path) -> None:
    src = write(tmp_path, ["03/11/2025"])
    args = ["validate", str(src), "--json", "--settings", str(_settings_file(tmp_path))]
    report = json.loads(runner.invoke(app, args).stdout)
    assert report["date_order"] == "US"
    assert report["date_note"] is None
    assert "was read as 11 March 2025" in report["date_warning"]


def test_convert_prints_the_warning_and_writes_it_in_both_reports(tmp_path: Path) -> None:
    src = write(tmp_path, ["03/11/2025"])
    out = tmp_path / "out" / "feed.xml"
    args = ["convert", str(src), "-o", str(out), "--merchant", "M1"]
    result = runner.invoke(app, [*args, "--settings", str(_settings_file(tmp_path))])
    assert "WARNING: 03/11/2025 (line 2) was read as 11 March 2025" in result.stdout
    csv_report = next((tmp_path / "out").glob("*.csv")).read_text(encoding="utf-8-sig")
    assert "Dates (warning),03/11/2025 (line 2) was read as 11 March 2025" in csv_report
    json_report = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert json_report["date_warning"].startswith("03/11/2025 (line 2)")


def test_a_sellers_own_date_order_reads_its_ambiguous_files(tmp_path: Path) -> None:
    settings = Settings(
        validation={"max_age_days": 36500},
        sellers=[
            {"name": "eu", "merchant_id": "M", "inbox": "i", "outbox": "o", "date_order": "EU"}
        ],
    )
    src = write(tmp_path, ["03/11/2025"])
    with convert_file(
        src, tmp_path / "feed.xml", merchant_id="M1", settings=settings, seller=settings.sellers[0]
    ) as outcome:
        assert outcome.dates is not None
        assert "read as 3 November 2025 (date_order EU)" in outcome.dates.message
    assert fulfillment_dates(tmp_path / "feed.xml")[0][:10] == "2025-11-03"


def test_validate_without_seller_uses_the_only_sellers_date_rules(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        "[validation]\nmax_age_days = 36500\n"
        '[[sellers]]\nname = "fr"\nmerchant_id = "M"\ninbox = "in"\noutbox = "out"\n'
        'date_order = "EU"\n'
    )
    src = write(tmp_path, ["03/11/2025"])
    report = json.loads(
        runner.invoke(app, ["validate", str(src), "--json", "--settings", str(settings)]).stdout
    )
    assert "read as 3 November 2025 (date_order EU)" in report["date_warning"]
