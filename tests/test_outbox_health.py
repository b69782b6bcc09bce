"""An outbox's writes are recorded in the health table: the sellers page, /readyz and the
"outbox unreachable" alert see a failing outbox whichever step met it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.factory import open_outbox
from processors.boxhealth import RecordedOutbox
from processors.ledger import health
from processors.ledger.store import Ledger


def outbox_row(ledger: Ledger) -> health.Health | None:
    return next((h for h in health.read(ledger) if h.component == "outbox:acme"), None)


def test_a_failing_outbox_write_is_recorded_and_a_working_one_clears_it(
    ledger: Ledger, tmp_path: Path
) -> None:
    folder = tmp_path / "outbox"
    box = RecordedOutbox(open_outbox(str(folder)), ledger, "acme")
    box.write("a.txt", b"first")
    assert (row := outbox_row(ledger)) is not None and row.ok
    shutil.rmtree(folder)
    folder.write_bytes(b"a file where the folder was")  # every write now fails
    with pytest.raises(OSError):
        box.write("b.txt", b"second")
    failing = outbox_row(ledger)
    assert failing is not None and failing.state == health.FAILING
    assert failing.last_error
    folder.unlink()
    folder.mkdir()
    box.write("c.txt", b"third")
    assert (row := outbox_row(ledger)) is not None and row.ok
