"""The ledger's set-based statements (id lists as one parameter: an array and ``= ANY`` on
PostgreSQL, a JSON list on SQLite; on PostgreSQL a feed's MessageIDs in one
``UPDATE ... FROM`` two arrays) leave exactly the ledger the plain statements leave (id
lists as parameters, one UPDATE per line): lines, events and the running totals, through
a whole round of feeds: claimed, prepared, submitted, a report with confirmations and
errors, a FATAL feed requeued, an abandoned feed freed. Held both ways on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ledger_db import BACKENDS, ledger_db_url, order, ship, take_in
from sqlalchemy import select

from processors.ledger import idlists, moves
from processors.ledger.records import Outcome
from processors.ledger.schema import events, feeds, line_counts, lines, status_days
from processors.ledger.store import Ledger
from processors.ledger.tally import current

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def feed_of(ledger: Ledger, limit: int, per_message: int) -> tuple[int, list[int]]:
    """Claim up to ``limit`` queued lines into one feed, ``per_message`` lines a message."""
    with ledger.claim_queued("acme", limit) as claim:
        ids = [ln.id for ln in claim.lines]
        chunks = [ids[i : i + per_message] for i in range(0, len(ids), per_message)]
        feed_id = claim.prepare_feed(b"<AmazonEnvelope/>", dict(enumerate(chunks, 1)))
    return feed_id, ids


def send(ledger: Ledger, feed_id: int) -> None:
    ledger.feed_uploaded(feed_id, f"doc-{feed_id}", "https://upload.example")
    ledger.feed_created(feed_id, f"AMZ-{feed_id}")


def a_round(ledger: Ledger) -> dict[str, Any]:
    n = 260  # past moves.ALIKE_MIN, so the set-based moves are taken
    take_in(ledger, [ship(i + 2, order(i), tracking=f"1Z{i:016d}") for i in range(n)])
    first, ids = feed_of(ledger, 200, 3)
    send(ledger, first)
    errors = {lid: Outcome("error", "18339", "bad tracking") for lid in ids[:70:7]}
    ledger.complete_feed(first, errors, others=Outcome("confirmed"))
    second, _ = feed_of(ledger, 1000, 1)  # the other 60 lines
    send(ledger, second)
    ledger.fail_feed(second, "Amazon ended it FATAL")  # back to the queue, one more attempt
    third, _ = feed_of(ledger, 1000, 2)
    ledger.fail_feed(third, "abandoned before upload")  # only reserved: freed
    with ledger.engine.connect() as conn:
        return {
            t.name: [dict(r) for r in conn.execute(select(t).order_by(*t.primary_key)).mappings()]
            for t in (lines, events, feeds, line_counts, status_days)
        } | {"totals": current(conn)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_based_statements_leave_what_plain_ones_leave(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    got: dict[bool, dict[str, Any]] = {}
    for arrays in (True, False):
        monkeypatch.setattr(idlists, "ONE_PARAMETER", arrays)
        (tmp_path / str(arrays)).mkdir()
        with ledger_db_url(backend, tmp_path / str(arrays)) as url:
            ledger = Ledger.open(url, clock=Clock())
            try:
                got[arrays] = a_round(ledger)
            finally:
                ledger.close()
    assert got[True] == got[False]
    # and it compared a real round: every status reached, MessageIDs shared by lines
    mine = got[True]
    assert {r["status"] for r in mine["lines"]} == {"confirmed", "error", "in_queue"}
    assert {r["attempts"] for r in mine["lines"]} == {0, 1}
    confirmed = [r for r in mine["lines"] if r["status"] == "confirmed"]
    assert len(confirmed) == 190 and len(mine["events"]) > 2 * len(confirmed)
    assert max(r["message_id"] for r in confirmed) == 67  # 200 lines, 3 per message
    assert mine["totals"]["acme"] == {"confirmed": 190, "error": 10, "in_queue": 60}
    assert moves.ALIKE_MIN < 190
