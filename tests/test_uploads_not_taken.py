"""Uploads that do not become a file of their own are recorded in the ledger: a copy of
content already received (with the file it repeats) and a file refused for its name
(with the reason), each once; refused names are alerted like rejected files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alert_support import Webhook
from lifecycle_support import World, row
from pydantic import SecretStr

from config.settings import AlertSecrets, AlertSettings
from processors.alerts import destinations, send_alerts
from processors.ledger import uploads
from processors.ledger.store import Ledger

O1, O2 = "111-0000001-0000001", "111-0000002-0000001"


def test_a_reupload_of_the_same_bytes_is_recorded_with_the_file_it_repeats(world: World) -> None:
    world.drop("orders.csv", [row(O1)])
    (first,) = world.intake()
    world.clock.advance(60)
    world.drop("orders.csv", [row(O1)])
    (again,) = world.intake()
    (u,) = uploads.recent(world.ledger)
    assert (u.kind, u.name, u.duplicate_of, u.duplicate_of_name) == (
        "duplicate",
        "orders.csv",
        first.file_id,
        "orders.csv",
    )
    assert u.received_at == world.clock.now
    assert u.intake_report == again.report_names[0]
    assert ".again-" in u.intake_report and (world.outbox_dir / u.intake_report).exists()
    assert "already taken in" in u.reason


def test_a_copy_under_another_name_is_recorded_as_a_duplicate_of_the_first(world: World) -> None:
    world.drop("monday.csv", [row(O1)])
    (first,) = world.intake()
    world.drop("monday-copy.csv", [row(O1)])
    world.intake()
    (u,) = uploads.copies_of(world.ledger, first.file_id or 0)
    assert (u.name, u.duplicate_of_name, u.intake_report) == (
        "monday-copy.csv",
        "monday.csv",
        "monday-copy.csv.intake.csv",
    )
    assert "same content as monday.csv" in u.reason


def test_a_file_refused_for_its_name_is_recorded_with_the_reason(world: World) -> None:
    world.drop("line\nbreak.csv", [row(O1)])
    (refused,) = world.intake()
    (u,) = uploads.recent(world.ledger)
    assert (u.kind, u.name, u.duplicate_of) == ("refused_name", refused.name, None)
    assert "line break" in u.reason and "'line\\nbreak.csv'" in u.reason
    csv_name, json_name = refused.report_names
    assert u.intake_reports == {"intake.csv": csv_name, "intake.json": json_name}


def test_the_same_upload_recorded_twice_is_one_row(ledger: Ledger) -> None:
    at = datetime.now(UTC)
    for _ in range(2):  # a step repeated after a crash records the same claim again
        uploads.record(
            ledger,
            seller="acme",
            kind=uploads.UploadKind.REFUSED_NAME,
            name="a_b.csv",
            upload_key="20261126T120000Z-0a0b0c0d-a_b.csv",
            received_at=at,
            reason="a line break",
        )
    assert len(uploads.recent(ledger)) == 1


def test_a_refused_name_is_alerted_once_to_operators_and_the_seller(
    world: World, webhook: Webhook
) -> None:
    world.drop("tab\there.csv", [row(O1)])
    world.intake()
    seller = world.seller.name
    to_seller = webhook.url + "-seller"  # another destination on the same receiver
    targets = destinations(
        AlertSecrets(operators=[SecretStr(webhook.url)], sellers={seller: [SecretStr(to_seller)]})
    )
    settings = AlertSettings(digest_seconds=300)
    t = datetime.now(UTC)
    first = send_alerts(world.ledger, settings, targets, t)
    second = send_alerts(world.ledger, settings, targets, t + timedelta(hours=1))
    assert first.sent == {"operators #1": 1, f"seller {seller} #1": 1}
    assert second.sent == {}
    for message in webhook.messages():
        assert "tab_here.csv: rejected whole, nothing queued" in message
        assert "control character" in message and "'tab\\there.csv'" in message
