"""A typed spreadsheet cell as the text a seller would have typed.

Stdlib only: the sandboxed sheet reader (ingest/xlsx_child.py) imports it in a process
that loads nothing else of ours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any


def cell_text(value: Any) -> str:
    """A typed spreadsheet cell as the text a person reads in it.

    Whole floats lose their '.0' (Excel stores every number as a float); numbers too long
    to be exact (a 22-digit tracking number typed into a General cell) keep Excel's
    scientific look so that validation rejects them instead of inventing digits.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}".upper()
    if isinstance(value, datetime):  # calamine gives date for date-only formats
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)
