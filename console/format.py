"""Jinja filters: how times, ages and missing values read on every page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

MISSING = "—"  # a value the ledger does not have: shown as such, never made up


def when(value: datetime | None) -> str:
    return MISSING if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def day(value: datetime | None) -> str:
    return MISSING if value is None else value.strftime("%Y-%m-%d")


def age(value: timedelta | None) -> str:
    if value is None:
        return MISSING
    s = max(0, int(value.total_seconds()))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def capped(value: int) -> str:
    """A capped count (processors.ledger.browse.COUNT_CAP) reads "1,000+"."""
    from processors.ledger.browse import COUNT_CAP

    return f"{COUNT_CAP:,}+" if value > COUNT_CAP else f"{value:,}"


def money(value: object) -> str:
    """A price or total as Amazon gives it ("23.50 USD"); — when there is none."""
    return MISSING if value is None else str(value)


def amounts(value: Any) -> str:
    """A sum per currency (processors.ledger.orderfacts.Amounts): "12.00 USD + 4.50 EUR",
    saying how many lines had no price to add."""
    parts = value.text()
    text = " + ".join(parts) if parts else MISSING
    if value.unpriced and parts:
        n = value.unpriced
        text += f" ({n:,} line{'s' if n != 1 else ''} without a price)"
    return text


def or_missing(value: Any) -> Any:
    return MISSING if value is None or value == "" else value


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "day": day,
    "age": age,
    "or_missing": or_missing,
    "capped": capped,
    "money": money,
    "amounts": amounts,
}
