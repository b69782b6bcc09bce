"""Every sample converts, and what comes out is valid against Amazon's schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from amazon_spec import envelope_schema
from lxml import etree

from config.settings import load_settings
from processors.convert import check_file, convert_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


@pytest.fixture
def schema() -> etree.XMLSchema:
    return envelope_schema()


@pytest.mark.parametrize(
    "name",
    [
        "amazon-template.txt",
        "seller-friendly.csv",
        "shipments.xlsx",
        "with-errors.csv",
        "cp1252.csv",
    ],
)
def test_sample_converts_to_schema_valid_xml(
    tmp_path: Path, schema: etree.XMLSchema, name: str
) -> None:
    settings = load_settings(SAMPLES / "settings.toml")
    outcome = convert_file(
        SAMPLES / name, tmp_path / "feed.xml", merchant_id="M1", settings=settings
    )
    assert outcome.file_error is None
    assert outcome.outputs == [tmp_path / "feed.xml"]
    doc = etree.parse(str(tmp_path / "feed.xml"))
    assert schema.validate(doc), schema.error_log
    assert len(doc.findall("Message")) == outcome.packages


@pytest.mark.parametrize(
    "name", ["amazon-template.txt", "seller-friendly.csv", "shipments.xlsx", "cp1252.csv"]
)
def test_clean_sample_has_no_rejected_line(name: str) -> None:
    settings = load_settings(SAMPLES / "settings.toml")
    with check_file(SAMPLES / name, settings) as outcome:
        assert outcome.rejected == 0
        assert outcome.lines > 0


def test_error_sample_rejects_the_bad_lines() -> None:
    settings = load_settings(SAMPLES / "settings.toml")
    with check_file(SAMPLES / "with-errors.csv", settings) as outcome:
        assert outcome.accepted >= 1
        assert {e.line for e in outcome.errors} >= {3, 4, 7}


def test_cp1252_sample_keeps_its_accents_in_the_feed(tmp_path: Path) -> None:
    settings = load_settings(SAMPLES / "settings.toml")
    convert_file(SAMPLES / "cp1252.csv", tmp_path / "f.xml", merchant_id="M1", settings=settings)
    names = [e.text for e in etree.parse(str(tmp_path / "f.xml")).iter("CarrierName")]
    assert "Société Générale de Transport" in names
