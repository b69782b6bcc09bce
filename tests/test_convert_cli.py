"""The validate and convert commands: JSON shape, exit codes, split feeds, reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from amazon_spec import envelope_schema
from lxml import etree
from typer.testing import CliRunner

from run import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

GOOD = (
    "Order ID,Ship Date,Carrier,Tracking #\n"
    "111-1111111-1111111,2026-01-02,FedEx,771234567890\n"
    "222-2222222-2222222,2026-01-02,FedEx,771234567891\n"
    "333-3333333-3333333,2026-01-02,FedEx,771234567892\n"
)


def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(f'data_dir = "{tmp_path / "var"}"\n[validation]\nmax_age_days = 36500\n')
    return path


def write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def validate_json(tmp_path: Path, text: str) -> tuple[int, dict[str, object]]:
    path = write(tmp_path, text)
    args = ["validate", str(path), "--json", "--settings", str(settings_file(tmp_path))]
    result = runner.invoke(app, args)
    return result.exit_code, json.loads(result.stdout)


def test_validate_json_has_the_agreed_keys(tmp_path: Path) -> None:
    _, report = validate_json(tmp_path, GOOD)
    for key in ("file", "encoding", "delimiter", "lines", "accepted", "rejected"):
        assert key in report
    for key in ("duplicates", "warnings", "errors", "file_error"):
        assert key in report
    assert (report["file"], report["encoding"], report["delimiter"]) == (
        "orders.csv",
        "utf-8",
        ",",
    )


def test_validate_exits_0_when_every_line_is_valid(tmp_path: Path) -> None:
    code, report = validate_json(tmp_path, GOOD)
    assert code == 0
    assert (report["lines"], report["accepted"], report["rejected"]) == (3, 3, 0)


def test_validate_exits_1_and_lists_rejected_lines(tmp_path: Path) -> None:
    code, report = validate_json(tmp_path, GOOD + "12-34,2026-01-02,FedEx,771234567893\n")
    assert code == 1
    assert report["rejected"] == 1
    errors = report["errors"]
    assert isinstance(errors, list)
    assert errors[0]["line"] == 5
    assert errors[0]["column"] == "Order ID"
    assert errors[0]["value"] == "12-34"
    assert errors[0]["reason"]


def test_validate_counts_repeated_lines_as_duplicates(tmp_path: Path) -> None:
    code, report = validate_json(tmp_path, GOOD + GOOD.splitlines()[1] + "\n")
    assert code == 0
    assert report["duplicates"] == 1
    warnings = report["warnings"]
    assert isinstance(warnings, list)
    assert warnings[0]["line"] == 5


def test_validate_exits_2_when_the_file_is_rejected(tmp_path: Path) -> None:
    code, report = validate_json(tmp_path, "Order ID,Carrier\n111-1111111-1111111,UPS\n")
    assert code == 2
    assert "ship date" in str(report["file_error"])


def test_validate_as_a_process_prints_one_json_object_and_exits_1(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "bad,2026-01-02,FedEx,771234567893\n")
    settings = str(settings_file(tmp_path))
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "validate",
            str(path),
            "--json",
            "--settings",
            settings,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["rejected"] == 1


def test_validate_human_output_shows_the_first_errors(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "bad,2026-01-02,FedEx,771234567893\n")
    result = runner.invoke(app, ["validate", str(path), "--settings", str(settings_file(tmp_path))])
    assert "1 rejected" in result.stdout
    assert "line 5 [Order ID]" in result.stdout


def convert(tmp_path: Path, text: str, *extra: str) -> tuple[int, Path]:
    src = write(tmp_path, text)
    out = tmp_path / "out"
    out.mkdir()
    args = ["convert", str(src), "-o", str(out / "feed.xml"), "--merchant", "A1B2C3"]
    result = runner.invoke(app, [*args, "--settings", str(settings_file(tmp_path)), *extra])
    return result.exit_code, out


def schema_valid(path: Path) -> bool:
    schema = envelope_schema()
    return schema.validate(etree.parse(str(path)))


def test_convert_writes_one_feed_at_out(tmp_path: Path) -> None:
    code, out = convert(tmp_path, GOOD)
    assert code == 0
    assert sorted(p.name for p in out.glob("*.xml")) == ["feed.xml"]
    assert schema_valid(out / "feed.xml")


def test_convert_splits_by_max_messages_with_numbered_parts(tmp_path: Path) -> None:
    code, out = convert(tmp_path, GOOD, "--max-messages", "2")
    assert code == 0
    assert sorted(p.name for p in out.glob("*.xml")) == ["feed-1.xml", "feed-2.xml"]
    counts = [
        len(etree.parse(str(out / n)).findall("Message")) for n in ("feed-1.xml", "feed-2.xml")
    ]
    assert counts == [2, 1]
    assert all(schema_valid(out / n) for n in ("feed-1.xml", "feed-2.xml"))


def test_convert_writes_both_reports_beside_the_feed(tmp_path: Path) -> None:
    _, out = convert(tmp_path, GOOD + "bad,2026-01-02,FedEx,771234567893\n")
    report = json.loads((out / "orders.csv.report.json").read_text(encoding="utf-8"))
    assert report["rejected"] == 1
    assert (out / "orders.csv.report.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_convert_of_a_rejected_file_writes_no_feed_and_exits_2(tmp_path: Path) -> None:
    code, out = convert(tmp_path, "Carrier,Tracking\nUPS,1Z\n")
    assert code == 2
    assert list(out.glob("*.xml")) == []
    assert list(out.glob(".*.tmp")) == []
    report = json.loads((out / "orders.csv.report.json").read_text(encoding="utf-8"))
    assert "order id" in report["file_error"]


def test_convert_leaves_out_rejected_lines_from_the_feed(tmp_path: Path) -> None:
    code, out = convert(tmp_path, GOOD + "bad,2026-01-02,FedEx,771234567893\n")
    assert code == 1
    ids = [e.text for e in etree.parse(str(out / "feed.xml")).iter("AmazonOrderID")]
    assert ids == ["111-1111111-1111111", "222-2222222-2222222", "333-3333333-3333333"]


def test_convert_creates_the_output_folder(tmp_path: Path) -> None:
    src = write(tmp_path, GOOD)
    out = tmp_path / "new" / "feed.xml"
    args = ["convert", str(src), "-o", str(out), "--merchant", "A1B2C3"]
    result = runner.invoke(app, [*args, "--settings", str(settings_file(tmp_path))])
    assert result.exit_code == 0
    assert schema_valid(out)


WARNED = "Order ID,Ship Date,Carrier,Tracking #\n111-1111111-1111111,2026-01-02,FedEx,1234\n"


def test_validate_prints_each_warning_not_only_their_count(tmp_path: Path) -> None:
    src = write(tmp_path, WARNED)
    result = runner.invoke(app, ["validate", str(src), "--settings", str(settings_file(tmp_path))])
    assert result.exit_code == 0
    assert "warning: line 2 [Tracking #] '1234'" in result.stdout


def test_settings_given_before_the_command_reach_it(tmp_path: Path) -> None:
    src = write(tmp_path, GOOD)  # shipped in 2026-01: valid only with the file's max_age_days
    args = ["--settings", str(settings_file(tmp_path)), "validate", str(src), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def test_convert_into_a_folder_writes_the_feed_there(tmp_path: Path) -> None:
    src = write(tmp_path, GOOD)
    out = tmp_path / "out"
    out.mkdir()
    args = ["convert", str(src), "-o", str(out), "--merchant", "A1B2C3"]
    result = runner.invoke(app, [*args, "--settings", str(settings_file(tmp_path))])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "orders.csv.report.csv",
        "orders.csv.report.json",
        "orders.xml",
    ]
    assert list(tmp_path.glob(".*.tmp")) == []


def test_convert_merchant_defaults_to_the_sellers_merchant_id(tmp_path: Path) -> None:
    settings = settings_file(tmp_path)
    seller = '[[sellers]]\nname = "acme"\nmerchant_id = "A2ACME"\ninbox = "i"\noutbox = "o"\n'
    settings.write_text(settings.read_text() + seller)
    src = write(tmp_path, GOOD)
    out = tmp_path / "feed.xml"
    result = runner.invoke(app, ["convert", str(src), "-o", str(out), "--settings", str(settings)])
    assert result.exit_code == 0, result.output
    assert b"<MerchantIdentifier>A2ACME</MerchantIdentifier>" in out.read_bytes()


def test_convert_without_any_merchant_id_is_a_usage_error(tmp_path: Path) -> None:
    src = write(tmp_path, GOOD)
    args = ["convert", str(src), "-o", str(tmp_path / "f.xml")]
    result = runner.invoke(app, [*args, "--settings", str(settings_file(tmp_path))])
    assert result.exit_code == 64 and "--merchant" in result.output
    assert not (tmp_path / "f.xml").exists()
