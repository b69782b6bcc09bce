"""A file's reports, read from its seller's outbox through the outbox interface.

Only the names the service itself gives a file's reports are offered, built by the
same functions that name them when written; a seller's outbox is opened once, as the
service opens it, and kept for the console's life.
"""

from __future__ import annotations

import threading

from config.settings import Secrets, Settings
from ingest.inbox import Outbox
from processors.intake import intake_report_names
from processors.ledger.records import FileRecord
from processors.results import DEFAULT_FORMATS, result_report_names
from processors.service import open_seller_outbox

#: The report kinds a file may have, as they appear in its download links.
KINDS = ("intake.csv", "intake.json", "result.csv", "result.xlsx", "result.json")


def report_names(f: FileRecord, settings: Settings) -> dict[str, str]:
    """kind -> name in the outbox, for the reports this file has."""
    intake_csv, intake_json = intake_report_names(f.name)
    out = {"intake.csv": intake_csv, "intake.json": intake_json}
    rejected_whole = f.lines == 0 and f.result_report == f.error_report
    if f.result_report is not None and not rejected_whole:
        formats: list[str]
        try:
            formats = list(settings.seller(f.seller).report_formats)
        except KeyError:
            formats = list(DEFAULT_FORMATS)
        csv_name, xlsx_name, json_name = result_report_names(f.name)
        for kind, name, fmt in (
            ("result.csv", csv_name, "csv"),
            ("result.xlsx", xlsx_name, "xlsx"),
            ("result.json", json_name, "json"),
        ):
            if fmt in formats or fmt == "json":
                out[kind] = name
    return out


class Outboxes:
    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self.settings = settings
        self.secrets = secrets
        self._open: dict[str, Outbox] = {}
        self._lock = threading.Lock()

    def read(self, seller: str, name: str) -> bytes:
        """FileNotFoundError when the report is not (or no longer) there."""
        with self._lock:
            box = self._open.get(seller)
            if box is None:
                box = open_seller_outbox(self.settings, self.secrets, self.settings.seller(seller))
                self._open[seller] = box
            return box.read(name)

    def close(self) -> None:
        with self._lock:
            for box in self._open.values():
                box.close()
            self._open.clear()
