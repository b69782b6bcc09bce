"""Writing what sellers read after intake: each file's result report and the status note.

A file's result report is written once, when every one of its lines has ended (the
ledger's files_to_report), and recorded with set_file_reports so it is never written
twice. The status note (status.txt for people, status.json for machines) is each seller's
"status page": the counts and the orders someone must look at. It is rewritten only when
what it would say changes, so sellers' sync tools do not see a new file every minute.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.inbox import Outbox
from processors import logs
from processors.ledger.queries import files_to_report, iter_file_lines, queue, status_counts
from processors.ledger.store import Ledger
from processors.reports import SIMULATED_NOTE, result_report_csv, result_report_json

RESULT_SUFFIXES = (".result.csv", ".result.json")
STATUS_TXT, STATUS_JSON = "status.txt", "status.json"
ATTENTION_LIMIT = 500  # orders listed on the status note; the CLI shows the rest
_GOOD = {"confirmed", "duplicate"}


def result_report_names(input_name: str) -> tuple[str, str]:
    return input_name + RESULT_SUFFIXES[0], input_name + RESULT_SUFFIXES[1]


class ReportWriter:
    def __init__(self, ledger: Ledger, outboxes: Mapping[str, Outbox], *, simulated: bool):
        self.ledger = ledger
        self.outboxes = outboxes
        self.simulated = simulated
        self.any_not_confirmed = False  # some reported line ended other than confirmed
        self._last_note: dict[str, str] = {}

    def write_finished(self) -> list[str]:
        """Reports for every finished file of our sellers; returns the names written."""
        written: list[str] = []
        for f in files_to_report(self.ledger):
            outbox = self.outboxes.get(f.seller)
            if outbox is None:  # another worker's seller (shared PostgreSQL ledger)
                continue
            csv_name, json_name = result_report_names(f.name)
            buf = io.BytesIO()
            counts = result_report_csv(
                f.name, iter_file_lines(self.ledger, f.id), buf, simulated=self.simulated
            )
            outbox.write(csv_name, buf.getvalue())
            buf = io.BytesIO()
            result_report_json(
                f.name, iter_file_lines(self.ledger, f.id), buf, simulated=self.simulated
            )
            outbox.write(json_name, buf.getvalue())
            self.ledger.set_file_reports(f.id, csv_name, f.error_report)
            if set(counts) - _GOOD:
                self.any_not_confirmed = True
            logs.event(
                "result_report",
                seller=f.seller,
                file=f.name,
                report=csv_name,
                **{f"n_{k}": v for k, v in sorted(counts.items())},
            )
            written.append(csv_name)
        return written

    def write_status_notes(self) -> None:
        for seller, outbox in self.outboxes.items():
            note = status_note(self.ledger, seller, simulated=self.simulated)
            key = json.dumps({k: v for k, v in note.items() if k != "updated_at"}, default=str)
            if self._last_note.get(seller) == key:
                continue
            outbox.write(STATUS_JSON, (json.dumps(note, indent=1, default=str) + "\n").encode())
            outbox.write(STATUS_TXT, status_text(note).encode("utf-8"))
            self._last_note[seller] = key


def status_note(ledger: Ledger, seller: str, *, simulated: bool) -> dict[str, Any]:
    counts = status_counts(ledger, seller)
    attention = []
    for status in ("needs_attention", "error"):
        for r in queue(ledger, status=status, seller=seller, limit=ATTENTION_LIMIT).rows:
            attention.append(
                {
                    "order_id": r.order_id,
                    "order_item_id": r.order_item_id,
                    "status": r.status,
                    "since": (ledger.clock() - r.age).isoformat(timespec="seconds"),
                    "message": r.message,
                }
            )
    return {
        "seller": seller,
        "simulated": simulated,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "counts": counts.counts,
        "oldest_waiting_since": counts.oldest_waiting.isoformat(timespec="seconds")
        if counts.oldest_waiting
        else None,
        "needs_attention": attention,
    }


def status_text(note: Mapping[str, Any]) -> str:
    out = [f"shipfeed status for {note['seller']} at {note['updated_at']}"]
    if note["simulated"]:
        out.append(SIMULATED_NOTE)
    out.append("")
    for status, n in note["counts"].items():
        out.append(f"  {status:<16} {n}")
    items = note["needs_attention"]
    out.append("")
    out.append(f"Orders needing attention: {len(items)}" if items else "No order needs attention.")
    for a in items:
        item = f" item {a['order_item_id']}" if a["order_item_id"] else ""
        out.append(f"  {a['order_id']}{item} [{a['status']} since {a['since']}] {a['message']}")
    return "\r\n".join(out) + "\r\n"
