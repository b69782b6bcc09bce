"""Amazon's official files: found through SHIPFEED_AMAZON_SPEC, or the tests needing them say why.

Also the project's own envelope schema (tests/schemas/amazon-envelope.xsd): with Amazon's
schemas from the spec folder inside it, it takes what the feed writer produces and refuses
what Amazon would refuse.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from amazon_spec import ENV, ENVELOPE, NEEDED, envelope_schema, missing_reason
from lxml import etree

from feeds.model import Item, Package
from feeds.xmlfeed import feed_bytes

ROOT = Path(__file__).resolve().parents[1]
SPEC_TEST = "tests/test_carriers.py::test_every_carrier_code_is_in_the_schema_enumeration"
PLAIN_TEST = "tests/test_carriers.py::test_every_carrier_with_a_tracking_check_is_a_real_code"
# Amazon's files carry this notice; spelt in two parts so this file does not carry it.
MARK = b"AMAZON.COM " + b"CONFIDENTIAL"
SUMMARY = "tests skipped that check against Amazon's official files"


def pytest_run(env: dict[str, str], *ids: str) -> subprocess.CompletedProcess[str]:
    """A separate pytest over the given tests, with exactly this environment for the spec."""
    clean = {k: v for k, v in os.environ.items() if k not in (ENV, "CI")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ids],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_without_the_folder_the_spec_tests_skip_with_one_line_saying_how_to_get_it() -> None:
    done = pytest_run({}, SPEC_TEST, PLAIN_TEST)
    assert done.returncode == 0, done.stdout
    assert "1 passed, 1 skipped" in done.stdout
    lines = [line for line in done.stdout.splitlines() if SUMMARY in line]
    assert len(lines) == 1
    assert f"{ENV} is not set" in lines[0]
    assert "scripts/fetch_amazon_spec.py" in lines[0]


def test_under_ci_the_spec_tests_fail_instead_of_skipping() -> None:
    done = pytest_run({"CI": "true"}, SPEC_TEST, PLAIN_TEST)
    assert done.returncode == 1
    assert "1 failed, 1 passed" in done.stdout
    assert f"{ENV} is not set" in done.stdout


def test_a_folder_lacking_a_file_is_named_with_what_it_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    (tmp_path / "ordersV0.json").write_text("{}")
    reason = missing_reason()
    assert reason is not None
    assert "xsd/amzn-base.xsd" in reason
    assert "ordersV0.json" not in reason


def test_the_repository_holds_none_of_amazons_files() -> None:
    names = {Path(name).name for name in NEEDED} | {"amzn-envelope.xsd"}
    tracked = [
        p
        for top in ("feeds", "ingest", "processors", "config", "tests", "scripts", "samples")
        for p in (ROOT / top).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert [p for p in tracked if p.name in names] == []
    assert [p for p in tracked if MARK in p.read_bytes()] == []


# -- the project's envelope around Amazon's schemas --------------------------------------


def writers_feed() -> etree._Element:
    package = Package(
        order_id="112-1234567-7654321",
        ship_date=datetime(2026, 11, 19, 15, 30, tzinfo=UTC),
        carrier_code="UPS",
        carrier_name=None,
        tracking_number="1Z999AA10123456784",
        ship_method="Ground",
        items=(Item("12345678901234", 1),),
        lines=(2,),
    )
    return etree.fromstring(feed_bytes([package], merchant_id="A1EXAMPLE"))


def refusal(document: etree._Element) -> str:
    schema = envelope_schema()
    assert not schema.validate(document), "the envelope took a document Amazon would refuse"
    return str(schema.error_log)


def test_the_envelope_is_the_projects_own_file_including_amazons_by_name() -> None:
    xs = "{http://www.w3.org/2001/XMLSchema}"
    includes = {e.get("schemaLocation") for e in etree.parse(str(ENVELOPE)).iter(f"{xs}include")}
    assert includes == {"amzn-header.xsd", "OrderFulfillment.xsd", "ProcessingReport.xsd"}


def test_the_feed_the_writer_produces_is_a_valid_envelope() -> None:
    schema = envelope_schema()
    assert schema.validate(writers_feed()), schema.error_log


def test_a_message_type_the_envelope_does_not_carry_is_refused() -> None:
    feed = writers_feed()
    feed.find("MessageType").text = "Inventory"  # type: ignore[union-attr]
    assert "MessageType" in refusal(feed)


def test_a_message_without_its_id_is_refused() -> None:
    feed = writers_feed()
    message = feed.find("Message")
    message.remove(message.find("MessageID"))  # type: ignore[union-attr, arg-type]
    assert "MessageID" in refusal(feed)


def test_a_fulfillment_without_its_order_id_is_refused_by_amazons_own_schema() -> None:
    feed = writers_feed()
    fulfillment = feed.find("Message/OrderFulfillment")
    fulfillment.remove(fulfillment.find("AmazonOrderID"))  # type: ignore[union-attr, arg-type]
    assert "AmazonOrderID" in refusal(feed)


def test_a_carrier_code_outside_amazons_list_is_refused() -> None:
    feed = writers_feed()
    feed.find(".//CarrierCode").text = "Speedy Parcels"  # type: ignore[union-attr]
    assert "CarrierCode" in refusal(feed)


def test_a_header_without_merchant_is_refused() -> None:
    feed = writers_feed()
    header = feed.find("Header")
    header.remove(header.find("MerchantIdentifier"))  # type: ignore[union-attr, arg-type]
    assert "MerchantIdentifier" in refusal(feed)
