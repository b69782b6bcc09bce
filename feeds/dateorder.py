"""Which way round a file writes its dates, decided from the whole file, never in silence.

``03/11/2025`` is 11 March to an American and 3 November to a European, and nothing in
the cell says which. A single global setting read European files the American way without
a word, and the report echoed the seller's own cell, so nobody noticed. So the order is a
property of the FILE: one date that can only be read one way (``25/11/2025``) settles it
for every line, and the report says which line settled it. A file where every slash date
reads both ways falls back on the seller's setting and says, once, how a date was read, so
a wrong setting is seen on the first file. A file whose dates contradict each other cannot
be read safely at all and is rejected whole, naming a line of each kind.

ISO dates (``2025-11-03``) and Excel serials are unambiguous and take no part.

Files arrive in chunks, and inference must not cost a second read of a million lines. So
:class:`FileDates` decides as it goes: each chunk's distinct date texts are classified
(cheap: a file repeats few distinct dates) before the chunk is validated, with the order
known so far. Only when a later chunk proves the order wrong for ambiguous dates that were
already read does the caller have to read the file again (:class:`DateOrderChanged`), with
the order now known; that needs ambiguous dates first and the deciding date more than a
chunk later, which is rare, and then costs one more pass, never a wrong date.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from feeds.errors import FileRejected

DateOrder = Literal["US", "EU"]

#: A date written with slashes, dots or dashes, day and month in either order.
SLASH_DATE = re.compile(
    r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?",
    re.ASCII,
)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SPELLED = {"US": "month/day/year", "EU": "day/month/year"}

# What a date text says about the order: only day-first, only month-first, or both fit.
_DAY_FIRST: Literal["EU"] = "EU"
_MONTH_FIRST: Literal["US"] = "US"
_BOTH: Literal["both"] = "both"
Kind = Literal["EU", "US", "both"] | None


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def date_kind(text: str) -> Kind:
    """Which orders a ship date text can be read in; None when the order does not matter.

    None for ISO dates, Excel serials, text that is no date at all, and slash dates that
    read the same both ways (05/05/2025): none of them can be misread.
    """
    m = SLASH_DATE.fullmatch(text.strip())
    if m is None:
        return None
    a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
    year = int(y) + 2000 if len(y) == 2 else int(y)
    month_first = _valid(year, a, b)
    day_first = _valid(year, b, a)
    if month_first and day_first:
        return _BOTH if a != b else None
    if day_first:
        return _DAY_FIRST
    if month_first:
        return _MONTH_FIRST
    return None  # neither: validation rejects it whichever way round


def spelled(text: str, order: DateOrder) -> str:
    """``03/11/2025`` as a person reads it in ``order``: '11 March 2025' (US)."""
    m = SLASH_DATE.fullmatch(text.strip())
    if m is None:
        return text
    a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
    month, day = (a, b) if order == "US" else (b, a)
    year = int(y) + 2000 if len(y) == 2 else int(y)
    return f"{day} {_MONTHS[month - 1]} {year}"


class DateOrderChanged(Exception):
    """Not an error: dates already read were read the wrong way round; read the file again
    from the start with ``order`` (a fresh :class:`FileDates` started at it)."""

    def __init__(self, order: DateOrder) -> None:
        super().__init__(f"read the file again with date order {order}")
        self.order = order


@dataclass(frozen=True)
class DateReading:
    """How a file's dates were read, for its report: a note, or a warning to check it."""

    order: DateOrder
    inferred: bool  # True: a date of the file settled it; False: the seller's setting
    message: str

    @property
    def is_warning(self) -> bool:
        return not self.inferred


#: Where a kind of date was first seen: (line, text as written).
Seen = tuple[int, str]

_KIND_CACHE_LIMIT = 100_000


class FileDates:
    """The date order of one file, decided chunk by chunk; see the module docstring.

    ``setting``: the seller's date_order, used when no date decides. ``start``: the order
    to begin with (the one a :class:`DateOrderChanged` asked for; default ``setting``).
    """

    def __init__(self, file: str, setting: DateOrder, start: DateOrder | None = None) -> None:
        self.file = file
        self.setting = setting
        self.order: DateOrder = start or setting
        self.first: dict[str, Seen] = {}  # kind -> first line of that kind
        self._kinds: dict[str, Kind] = {}

    def see(self, lines: Sequence[int], texts: Sequence[str]) -> DateOrder:
        """Take in the next chunk's ship date cells; return the order to read it with.

        Raises FileRejected when the file's dates contradict each other, and
        DateOrderChanged when dates of earlier chunks were read the wrong way round.
        """
        kinds = self._kinds
        if len(kinds) > _KIND_CACHE_LIMIT:
            kinds.clear()
        present: set[str] = set()
        for text in set(texts):
            if text in kinds:
                kind = kinds[text]
            else:
                kind = kinds[text] = date_kind(text)
            if kind is not None and kind not in self.first:
                present.add(kind)
        if not present:
            return self.order
        for line, text in zip(lines, texts, strict=True):
            kind = kinds[text]
            if kind in present:
                self.first[kind] = (line, text)
                present.discard(kind)
                if not present:
                    break
        day_first, month_first = self.first.get(_DAY_FIRST), self.first.get(_MONTH_FIRST)
        if day_first and month_first:
            raise FileRejected(
                self.file,
                "the ship dates are written both ways round: "
                f'line {day_first[0]} has "{day_first[1]}" (only day/month/year) and '
                f'line {month_first[0]} has "{month_first[1]}" (only month/day/year), '
                "so no date of the file can be trusted",
                hint="write every ship date the same way, best as 2025-11-25",
            )
        decided = _DAY_FIRST if day_first else _MONTH_FIRST if month_first else None
        if decided is not None and decided != self.order:
            both = self.first.get(_BOTH)
            if both is not None and both[0] < lines[0]:
                raise DateOrderChanged(decided)  # earlier chunks read ambiguous dates wrong
            self.order = decided
        return self.order

    def adopt(self, order: DateOrder, first: dict[str, Seen]) -> None:
        """Take the verdict of a FileDates that saw the file in another process."""
        self.order, self.first = order, dict(first)

    def reading(self) -> DateReading | None:
        """What the report says about the file's dates; None when nothing could be misread."""
        for kind in (_DAY_FIRST, _MONTH_FIRST):
            seen = self.first.get(kind)
            if seen is not None:
                order: DateOrder = kind
                return DateReading(
                    order,
                    True,
                    f"dates read as {_SPELLED[order]} because line {seen[0]} has {seen[1]}",
                )
        seen = self.first.get(_BOTH)
        if seen is None:
            return None
        line, text = seen
        return DateReading(
            self.order,
            False,
            f"{text.strip()} (line {line}) was read as {spelled(text, self.order)} "
            f"(date_order {self.order}); every date of the file can be read both ways: "
            "set date_order for this seller if that is wrong",
        )
