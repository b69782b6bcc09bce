"""Values that cross the boundary between reading a file and talking to Amazon.

They are plain frozen dataclasses so that the pure core (rules, XML writer) can take and
return them without I/O, and so that the ledger can store them field by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Final

#: The canonical names of the input columns. Readers map a file's headers onto these;
#: rules read cells by these names; error reports name the column as the file spelt it.
FIELDS: tuple[str, ...] = (
    "order_id",
    "order_item_id",
    "quantity",
    "ship_date",
    "carrier_code",
    "carrier_name",
    "tracking_number",
    "ship_method",
)
REQUIRED_FIELDS: tuple[str, ...] = ("order_id", "ship_date")

#: The one field order of a validated shipment, wherever it travels (Shipment after its
#: line, feeds.packages.Row, Package and CompactPackage before their items): the fields
#: that make a package first (order, carrier, tracking, method, date), then the item.
SHIPMENT_FIELDS: tuple[str, ...] = (
    "order_id",
    "carrier_code",
    "carrier_name",
    "tracking_number",
    "ship_method",
    "ship_date",
    "order_item_id",
    "quantity",
)
#: How many leading SHIPMENT_FIELDS make the package key (lines equal on them share a box).
PACKAGE_KEY_LEN: Final = 6


@dataclass(frozen=True, slots=True)
class RawLine:
    """One data row of an input file, before validation.

    ``line`` is the 1-based physical line (CSV/TSV) or row number (XLSX) where the row
    starts, counting the header, so a seller can find it in their own editor.
    ``cells`` maps canonical field names to the text found; missing cells are absent.
    ``columns`` maps canonical field names to the header as spelt in the file.
    """

    line: int
    cells: Mapping[str, str]
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RowChunk:
    """A block of consecutive data rows, column-wise, as readers stream them.

    Column-wise because validation of a million rows is done a column at a time far
    faster than a row at a time. ``lines[i]`` is row i's line number as a spreadsheet
    shows it (the header is line 1; blank rows are counted, then left out of the chunk).
    ``cells[field][i]`` is row i's text for a canonical field ('' when empty); every
    field in FIELDS is present. ``columns`` maps each field to the file's own header, or
    to None when the file has no such column. ``problems`` are lines the reader already
    knows are wrong (a formula cell without a value): validation rejects them with these
    reasons whatever their other cells say.
    """

    lines: list[int]
    cells: dict[str, list[str]]
    columns: dict[str, str | None]
    problems: list[LineError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)

    def row(self, i: int) -> RawLine:
        return RawLine(
            line=self.lines[i],
            cells={f: v[i] for f, v in self.cells.items() if v[i] != ""},
            columns={f: h for f, h in self.columns.items() if h is not None},
        )


@dataclass(frozen=True, slots=True)
class Shipment:
    """One validated input line: an order (or one item of it) shipped in one package.

    Fields in SHIPMENT_FIELDS order (after ``line``), the one order every shape of a
    shipment uses (feeds.packages.Row, Package, CompactPackage); keyword-only past the
    order id, so no caller depends on positions.
    """

    line: int
    order_id: str
    _: KW_ONLY
    carrier_code: str | None = None  # one of Amazon's CarrierCode values
    carrier_name: str | None = None  # free text, sent when the carrier has no code
    tracking_number: str | None = None  # normalised: no spaces/dashes, upper-case
    ship_method: str | None = None  # sent only together with a tracking number
    ship_date: datetime  # timezone-aware
    order_item_id: str | None = None  # None: confirm the whole order
    quantity: int | None = None  # None: all units of the item

    @property
    def package_key(self) -> tuple[str, str | None, str | None, str | None]:
        """Lines sharing this key travel in one package, so one feed message."""
        return (self.order_id, self.tracking_number, self.carrier_code, self.carrier_name)


@dataclass(frozen=True, slots=True)
class Item:
    order_item_id: str
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class Package:
    """One OrderFulfillment message: one order, one carrier/tracking, its items.

    An empty ``items`` confirms every item of the order. ``lines`` keeps the input lines
    folded into this package so a processing result can be traced back to them.
    """

    order_id: str
    carrier_code: str | None
    carrier_name: str | None
    tracking_number: str | None
    ship_method: str | None
    ship_date: datetime
    items: tuple[Item, ...]
    lines: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LineError:
    """Why one input line was not accepted, in words a seller can act on.

    ``column`` is the header as the seller's file spells it (None for whole-line problems);
    ``value`` is the cell as found (reports make it formula-safe before writing it).
    """

    line: int
    column: str | None
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class LineWarning:
    """A problem that does not stop the line (e.g. ship method dropped without tracking)."""

    line: int
    column: str | None
    value: str
    reason: str
