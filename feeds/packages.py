"""Fold validated lines into packages: one Order Fulfillment message per package.

Sellers' files repeat lines (an export run twice, a row copied down). A repeated line must
be confirmed once, so identical lines are collapsed across the whole file. To keep memory
flat on million-line files only a 64-bit digest of each distinct line (and the line it was
first seen on) is remembered, never the Shipment itself, and in a :class:`DigestIndex`
(two sorted numpy arrays, 16 bytes per distinct line) rather than a Python dict (~100).

Item lines that travel in one box (same order, carrier, tracking number, ship method and
ship date) become one Package with several Items. Grouping is done per batch handed to
:meth:`PackageGrouper.add`, so memory does not grow with the file: if lines of one package
are split across two batches they become two messages. Amazon accepts that, because each
message confirms only its own items against the same tracking number.

The convert path hands rows over as plain tuples (:data:`Row`) and gets packages back as
plain tuples (:data:`CompactPackage`): building a frozen dataclass per line and per
package costs more than validating the line. :meth:`PackageGrouper.add` keeps the
Shipment/Package interface on top of the same code.
"""

from __future__ import annotations

from datetime import datetime
from itertools import starmap
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from feeds.model import PACKAGE_KEY_LEN, SHIPMENT_FIELDS, Item, Package, Shipment

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


class Row(NamedTuple):
    """A validated line without its line number, in SHIPMENT_FIELDS order (feeds/model.py).

    A plain tuple underneath (equal rows are duplicate lines, and hash like tuples), so the
    convert path pays no object per line; the names are for readers.
    """

    order_id: str
    carrier_code: str | None
    carrier_name: str | None
    tracking_number: str | None
    ship_method: str | None
    ship_date: datetime
    order_item_id: str | None
    quantity: int | None


class CompactPackage(NamedTuple):
    """One message's content in SHIPMENT_FIELDS order, then its items as (order_item_id,
    quantity) pairs and the input lines folded into it: a Package without the objects."""

    order_id: str
    carrier_code: str | None
    carrier_name: str | None
    tracking_number: str | None
    ship_method: str | None
    ship_date: datetime
    items: tuple[tuple[str, int | None], ...]
    lines: tuple[int, ...]


assert Row._fields == SHIPMENT_FIELDS
assert CompactPackage._fields[:PACKAGE_KEY_LEN] == SHIPMENT_FIELDS[:PACKAGE_KEY_LEN]

_row_of = attrgetter(*SHIPMENT_FIELDS)
_line_of = attrgetter("line")


def row_of(s: Shipment) -> Row:
    """The compact row of a Shipment."""
    return Row._make(_row_of(s))


def package_of(cp: CompactPackage) -> Package:
    """The Package of a compact package."""
    return Package(
        order_id=cp.order_id,
        carrier_code=cp.carrier_code,
        carrier_name=cp.carrier_name,
        tracking_number=cp.tracking_number,
        ship_method=cp.ship_method,
        ship_date=cp.ship_date,
        items=tuple(starmap(Item, cp.items)),
        lines=cp.lines,
    )


class DigestIndex:
    """The first line of every distinct 64-bit digest seen so far, in sorted numpy runs.

    A batch is looked up and added at once (sort, searchsorted per run), so the cost is a
    few numpy passes per batch instead of a dict operation per line, and memory is 16 bytes
    per distinct line whatever the file size. New digests go into a run of their own, and
    runs are merged two at a time like a binary counter up to _RUN_MAX digests: a batch
    never copies the whole index (one sorted array took a full copy per batch, 0.3 s and a
    second copy of 16 MB at a million lines), and a lookup searches a handful of runs.
    """

    _RUN_MAX = 1 << 18  # digests in a merged run: 4 MB with its first lines
    #: Up to this many digests live in a dict, so a small file never loads numpy.
    _DICT_MAX = 4096

    def __init__(self) -> None:
        self._runs: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
        self._small: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._small) + sum(len(keys) for keys, _ in self._runs)

    def first_lines_of(self, digests: list[int], lines: list[int]) -> list[int]:
        """:meth:`first_lines` for Python lists: a dict while the index is small."""
        small = self._small
        if not self._runs and len(small) + len(digests) <= self._DICT_MAX:
            return [small.setdefault(d, n) for d, n in zip(digests, lines, strict=True)]
        import numpy as np

        found = self.first_lines(np.array(digests, dtype=np.int64), np.array(lines, dtype=np.int64))
        return found.tolist()

    def first_lines(
        self, digests: npt.NDArray[np.int64], lines: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """For each (digest, line), the first line that digest was seen on, this batch included.

        A line is a repeat exactly where the answer differs from its own line number.
        """
        import numpy as np

        if self._small:  # the dict's digests become the first run
            keys = np.array(list(self._small), dtype=np.int64)
            order_small = np.argsort(keys)
            firsts_small = np.array(list(self._small.values()), dtype=np.int64)
            self._small = {}
            self._add(keys[order_small], firsts_small[order_small])
        n = len(digests)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        order = np.argsort(digests, kind="stable")  # stable: earliest line first per digest
        sorted_digests = digests[order]
        starts = np.empty(n, dtype=bool)
        starts[0] = True
        np.not_equal(sorted_digests[1:], sorted_digests[:-1], out=starts[1:])
        group = np.cumsum(starts) - 1  # distinct-digest number of each sorted position
        unique = sorted_digests[starts]
        firsts = lines[order[starts]]
        found = np.zeros(len(unique), dtype=bool)
        for keys, run_firsts in self._runs:  # a digest is in at most one run
            pos = np.searchsorted(keys, unique)
            inside = pos < len(keys)
            hit = np.zeros(len(unique), dtype=bool)
            hit[inside] = keys[pos[inside]] == unique[inside]
            firsts[hit] = run_firsts[pos[hit]]
            found |= hit
        new = ~found
        if new.any():
            self._add(unique[new], firsts[new])
        out = np.empty(n, dtype=np.int64)
        out[order] = firsts[group]
        return out

    def _add(self, keys: npt.NDArray[np.int64], firsts: npt.NDArray[np.int64]) -> None:
        """A new sorted run, merged into the runs before it while they are no more than
        twice its size and the merge stays within _RUN_MAX."""
        import numpy as np

        runs = self._runs
        runs.append((keys, firsts))
        while len(runs) >= 2:
            (k1, f1), (k2, f2) = runs[-2], runs[-1]
            if len(k1) + len(k2) > self._RUN_MAX or len(k1) > 2 * len(k2):
                break
            merged = np.concatenate((k1, k2))
            order = np.argsort(merged)
            runs[-2:] = [(merged[order], np.concatenate((f1, f2))[order])]


class PackageGrouper:
    """Collapse identical duplicate lines across the whole file; group the lines of one package."""

    def __init__(self) -> None:
        self.duplicates = 0
        self.duplicate_lines: list[tuple[int, int]] = []
        self._seen = DigestIndex()  # digest of a distinct line -> the first line it was seen on

    def add(self, shipments: list[Shipment]) -> list[Package]:
        """Packages formed from this batch, in the order their first line appeared."""
        rows: list[Row] = list(map(row_of, shipments))
        lines: list[int] = list(map(_line_of, shipments))
        return list(map(package_of, self.add_rows(lines, rows)))

    def add_rows(self, lines: list[int], rows: list[Row]) -> list[CompactPackage]:
        """:meth:`add` for compact rows (``lines[i]`` is the line of ``rows[i]``)."""
        n = len(rows)
        if n == 0:
            return []
        firsts = self._seen.first_lines_of(list(map(hash, rows)), lines)
        if firsts != lines:
            repeats = [(n, f) for n, f in zip(lines, firsts, strict=True) if f != n]
            self.duplicate_lines.extend(repeats)
            self.duplicates += len(repeats)
            keep = [i for i, (n, f) in enumerate(zip(lines, firsts, strict=True)) if f == n]
            rows = [rows[i] for i in keep]
            lines = [lines[i] for i in keep]
        # Group key: the package key; whole-order lines (no item id) are wrapped once more
        # so that they never share a package with item lines.
        # Value: the index of the package's only line, or a list once a second line joins.
        groups: dict[object, int | list[int]] = {}
        get = groups.get
        for i, r in enumerate(rows):
            key = r[:PACKAGE_KEY_LEN] if r.order_item_id is not None else (r[:PACKAGE_KEY_LEN],)
            g = get(key)
            if g is None:
                groups[key] = i
            elif type(g) is int:
                groups[key] = [g, i]
            else:
                g.append(i)  # type: ignore[union-attr]
        out: list[CompactPackage] = []
        append = out.append
        for g in groups.values():
            if type(g) is int:
                r = rows[g]
                iid = r.order_item_id
                items = () if iid is None else ((iid, r.quantity),)
                append(CompactPackage._make((*r[:PACKAGE_KEY_LEN], items, (lines[g],))))
            else:
                append(_package([rows[i] for i in g], [lines[i] for i in g]))  # type: ignore[union-attr]
        return out


def _package(rows: list[Row], lines: list[int]) -> CompactPackage:
    first = rows[0]
    items: tuple[tuple[str, int | None], ...] = ()
    if first.order_item_id is not None:
        items = _items(rows)
    return CompactPackage._make((*first[:PACKAGE_KEY_LEN], items, tuple(lines)))


def _items(rows: list[Row]) -> tuple[tuple[str, int | None], ...]:
    """One item per order item; the same item on two lines of one box adds up its quantities.

    A line without a quantity means "all units", which absorbs any counted line of that item.
    """
    quantities: dict[str, int | None] = {}
    for r in rows:
        item_id: str = r.order_item_id  # type: ignore[assignment]
        q = r.quantity
        if item_id not in quantities:
            quantities[item_id] = q
        else:
            before = quantities[item_id]
            quantities[item_id] = None if before is None or q is None else before + q
    return tuple(quantities.items())
