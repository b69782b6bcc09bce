"""Which queued lines are corrections: the one test, shared by the store and corrections.

A correction line points (``duplicate_of``) at a CONFIRMED line whose package it edits on
Amazon; it is sent with confirmShipment, never in a feed. Other lines may point at an
earlier line too (a later upload that superseded a queued line, which goes in a feed as
usual), so the pointer alone does not make a correction: the confirmed line it points at
does.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select

from processors.ledger.schema import lines
from processors.ledger.statuses import LineStatus

_original = lines.alias("corrected_line")


def is_correction() -> ColumnElement[bool]:
    """True for a line that corrects a confirmed line (see the module docstring)."""
    return exists(
        select(_original.c.id).where(
            _original.c.id == lines.c.duplicate_of,
            _original.c.status == LineStatus.CONFIRMED.value,
        )
    )
