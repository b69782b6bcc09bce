"""Validation, duplicate folding, package grouping and message rendering as column expressions.

The row loop of feeds/rules.py, feeds/packages.py and feeds/xmlfeed.py decides, for each
line of a chunk, whether it is valid, which package it joins and what XML it becomes. Here
the same decisions are taken for a whole chunk at once with polars expressions (regexes,
lengths, check digits, lookups of the few distinct dates, carriers, quantities and ship
methods, a group-by, string concatenation), so no Python code runs per line on the common
path. The rule is strict: a line is taken here only when it is certainly clean, meaning
the row loop would accept it with no error and no warning. Every other line (an odd cell,
a warning, an error, anything not recognised at a glance) is handed to the row loop, one by
one, and its verdict is merged back in line order. The other lines of its chunk stay here.

Because the row loop is the reference, the tests hold this module to it byte for byte
(tests/test_columnar.py): the same rows, errors, warnings, duplicates, packages and feed.
Pure: no I/O, no clock (the RuleContext carries both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import polars as pl

from feeds.carriers import OTHER_CODES, tracking_format_hint
from feeds.model import FIELDS, LineError, LineWarning, RowChunk
from feeds.packages import DigestIndex, Row
from feeds.rules import (
    RuleContext,
    _Caches,
    _carrier,
    _quantity,
    _ship_date,
    _text_problem,
    validate_rows,
)
from feeds.xmlfeed import _carrier_data, xml_date

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

# The columns of accepted lines, in SHIPMENT_FIELDS order, plus the line, the rendered
# FulfillmentDate and the ship date's instant (equal datetimes are equal instants).
_ACCEPTED_SCHEMA: dict[str, Any] = {
    "line": pl.Int64,
    "order_id": pl.String,
    "carrier_code": pl.String,
    "carrier_name": pl.String,
    "tracking_number": pl.String,
    "ship_method": pl.String,
    "date_xml": pl.String,
    "instant": pl.Int64,
    "order_item_id": pl.String,
    "quantity": pl.Int64,
}
#: What makes two accepted lines the same line (feeds.packages.Row equality).
_ROW_KEY = (
    "order_id",
    "carrier_code",
    "carrier_name",
    "tracking_number",
    "ship_method",
    "instant",
    "order_item_id",
    "quantity",
)
#: What makes two lines one package (feeds.packages: the Row's first six fields).
_PACKAGE_KEY = (
    "order_id",
    "carrier_code",
    "carrier_name",
    "tracking_number",
    "ship_method",
    "instant",
    "has_item",
)


def instant(dt: datetime) -> int:
    """Microseconds since 1970 UTC: equal aware datetimes, equal numbers."""
    return (dt - _EPOCH) // _MICRO


@dataclass
class ColumnarResult:
    """One validated chunk: accepted lines as columns, problems as the row loop words them."""

    accepted: pl.DataFrame
    errors: list[LineError] = field(default_factory=list)
    warnings: list[LineWarning] = field(default_factory=list)
    slow_lines: int = 0  # lines the row loop decided


# --- validation ---------------------------------------------------------------------------


def validate_frame(
    frame: pl.DataFrame, ctx: RuleContext, columns: dict[str, str | None], caches: _Caches
) -> ColumnarResult:
    """Validate a chunk (``line`` plus one text column per field) as the row loop would."""
    dates = _date_table(frame["ship_date"], ctx, caches)
    carriers = _carrier_table(frame, caches)
    methods = _method_table(frame["ship_method"], caches)
    quantities = _quantity_table(frame["quantity"], caches)

    c = pl.col
    tn, iid = c("tracking_number"), c("order_item_id")
    # Each distinct cell was decided once above; joins hand the verdicts to every line.
    # Joined on the key columns alone and set beside the chunk: a join of the whole chunk
    # copies every column each time (1M lines: 0.4 s, half of it page faults).
    looked = pl.concat(
        [
            frame,
            *(
                frame.select(on).join(table, on=on, how="left", maintain_order="left").drop(on)
                for table, on in (
                    (dates, ["ship_date"]),
                    (carriers, ["carrier_code", "carrier_name"]),
                    (methods, ["ship_method"]),
                    (quantities, ["quantity"]),
                )
            ),
        ],
        how="horizontal",
    )
    looked = looked.with_columns(_tracking_fits(looked["code"], looked["tracking_number"]))
    tracking_clean = tn.str.contains(r"^[0-9A-Z]{1,50}$")
    # A clean number that does not fit its carrier's format: the line is sent with a
    # warning (feeds.rules._tracking), the one problem common in real files; it is worded
    # here instead of sending the line through the row loop. Strict: an error, row loop.
    misfit = (
        pl.lit(not ctx.strict_tracking)
        & (tn != "")
        & tracking_clean
        & c("code").is_not_null()
        & ~c("fits")
    )
    clean = (
        c("order_id").str.contains(r"^[0-9]{3}-[0-9]{7}-[0-9]{7}$")
        & ((iid == "") | iid.str.contains(r"^[0-9]{14}$"))
        & c("quantity_ok")
        & ((c("quantity_value").is_null()) | (iid != ""))
        & c("date_ok")
        & c("carrier_ok")
        & (
            (tn == "")
            | (
                tracking_clean
                & pl.when(c("code").is_not_null())
                .then(c("fits"))
                .otherwise(c("name").is_not_null())
            )
            | misfit
        )
        & c("method_ok")
        & (c("method").is_null() | (tn != ""))
    ).fill_null(False)
    looked = looked.with_columns(clean.alias("clean"), misfit.fill_null(False).alias("misfit"))
    misfits = looked.filter(c("clean") & c("misfit")).select("line", "code", "tracking_number")
    warnings = _misfit_warnings(misfits, columns.get("tracking_number") or "tracking_number")
    fast = looked.filter(c("clean")).select(
        c("line"),
        c("order_id"),
        c("code").alias("carrier_code"),
        c("name").alias("carrier_name"),
        pl.when(tn != "").then(tn).otherwise(None).alias("tracking_number"),
        pl.when(tn != "").then(c("method")).otherwise(None).alias("ship_method"),
        c("date_xml"),
        c("instant"),
        pl.when(iid != "").then(iid).otherwise(None).alias("order_item_id"),
        pl.when(iid != "").then(c("quantity_value")).otherwise(None).alias("quantity"),
    )
    rest = looked.filter(~c("clean"))
    if rest.height == 0:
        return ColumnarResult(fast.cast(_ACCEPTED_SCHEMA), [], warnings)  # type: ignore[arg-type]
    chunk = RowChunk(
        lines=rest["line"].to_list(),
        cells={f: rest[f].to_list() for f in FIELDS},
        columns=columns,
    )
    slow = validate_rows(chunk, ctx)
    accepted = pl.concat(
        [fast.cast(_ACCEPTED_SCHEMA), rows_frame(slow.lines, slow.rows)]  # type: ignore[arg-type]
    ).sort("line")
    if warnings:  # line order; a line's own warnings keep theirs (the sort is stable)
        warnings = sorted([*slow.warnings, *warnings], key=lambda w: w.line)
    else:
        warnings = slow.warnings
    return ColumnarResult(accepted, slow.errors, warnings, rest.height)


def _misfit_warnings(misfits: pl.DataFrame, column: str) -> list[LineWarning]:
    """The row loop's warning for each line whose clean tracking number does not fit its
    carrier code (feeds.rules._tracking), worded once per carrier."""
    if misfits.height == 0:
        return []
    reasons = {
        code: f"tracking number does not look like a {code} tracking number "
        f"({tracking_format_hint(code)})"
        for code in misfits["code"].unique().to_list()
    }
    return [
        LineWarning(line, column, tracking, reasons[code])
        for line, code, tracking in misfits.iter_rows()
    ]


def rows_frame(lines: Sequence[int], rows: Sequence[Row]) -> pl.DataFrame:
    """Rows the row loop accepted, as the columns of accepted lines."""
    return pl.DataFrame(
        {
            "line": list(lines),
            "order_id": [r.order_id for r in rows],
            "carrier_code": [r.carrier_code for r in rows],
            "carrier_name": [r.carrier_name for r in rows],
            "tracking_number": [r.tracking_number for r in rows],
            "ship_method": [r.ship_method for r in rows],
            "date_xml": [xml_date(r.ship_date) for r in rows],
            "instant": [instant(r.ship_date) for r in rows],
            "order_item_id": [r.order_item_id for r in rows],
            "quantity": [r.quantity for r in rows],
        },
        schema=_ACCEPTED_SCHEMA,
    )


def _date_table(texts: pl.Series, ctx: RuleContext, caches: _Caches) -> pl.DataFrame:
    keys: list[str] = []
    ok: list[bool] = []
    xml: list[str | None] = []
    inst: list[int | None] = []
    memo = caches.dates
    for text in texts.unique().to_list():
        d = memo.get(text)
        if d is None:
            d = memo[text] = _ship_date(text, ctx)
        keys.append(text)
        if isinstance(d, datetime):
            ok.append(True)
            xml.append(xml_date(d))
            inst.append(instant(d))
        else:
            ok.append(False)
            xml.append(None)
            inst.append(None)
    return pl.DataFrame(
        {"ship_date": keys, "date_ok": ok, "date_xml": xml, "instant": inst},
        schema={
            "ship_date": pl.String,
            "date_ok": pl.Boolean,
            "date_xml": pl.String,
            "instant": pl.Int64,
        },
    )


def _carrier_table(frame: pl.DataFrame, caches: _Caches) -> pl.DataFrame:
    ccs: list[str] = []
    cns: list[str] = []
    ok: list[bool] = []
    codes: list[str | None] = []
    names: list[str | None] = []
    memo = caches.carriers
    pairs = frame.select("carrier_code", "carrier_name").unique()
    for cc, cn in pairs.iter_rows():
        ccs.append(cc)
        cns.append(cn)
        if not cc and not cn:
            ok.append(True)
            codes.append(None)
            names.append(None)
            continue
        got = memo.get((cc, cn))
        if got is None:
            got = memo[(cc, cn)] = _carrier(cc, cn)
        code, name, problems = got
        ok.append(not problems and (code is None or code not in OTHER_CODES))
        codes.append(code)
        names.append(name)
    return pl.DataFrame(
        {"carrier_code": ccs, "carrier_name": cns, "carrier_ok": ok, "code": codes, "name": names},
        schema={
            "carrier_code": pl.String,
            "carrier_name": pl.String,
            "carrier_ok": pl.Boolean,
            "code": pl.String,
            "name": pl.String,
        },
    )


def _method_table(texts: pl.Series, caches: _Caches) -> pl.DataFrame:
    keys: list[str] = []
    ok: list[bool] = []
    methods: list[str | None] = []
    memo = caches.methods
    for text in texts.unique().to_list():
        keys.append(text)
        if not text:
            ok.append(True)
            methods.append(None)
            continue
        got = memo.get(text)
        if got is None:
            got = memo[text] = _text_problem("ship_method", text, "ship method")
        ok.append(got[1] is None)
        methods.append(got[0])
    return pl.DataFrame(
        {"ship_method": keys, "method_ok": ok, "method": methods},
        schema={"ship_method": pl.String, "method_ok": pl.Boolean, "method": pl.String},
    )


def _quantity_table(texts: pl.Series, caches: _Caches) -> pl.DataFrame:
    keys: list[str] = []
    ok: list[bool] = []
    values: list[int | None] = []
    memo = caches.quantities
    for text in texts.unique().to_list():
        keys.append(text)
        if not text:
            ok.append(True)
            values.append(None)
            continue
        q = memo.get(text, False)
        if q is False:
            q = memo[text] = _quantity(text)
        ok.append(not isinstance(q, tuple))
        values.append(q if isinstance(q, int) else None)
    return pl.DataFrame(
        {"quantity": keys, "quantity_ok": ok, "quantity_value": values},
        schema={"quantity": pl.String, "quantity_ok": pl.Boolean, "quantity_value": pl.Int64},
    )


# --- tracking numbers, vectorized (feeds/carriers.py TRACKING_CHECKS) ----------------------

_UPS_1Z = r"^1Z[0-9A-Z]{16}$"
_UPS_MI = r"^(?:T[0-9]{10}|MI[0-9]{6}[0-9A-Z]{1,22})$"
_USPS_IMPB = r"^(?:420[0-9]{5}(?:[0-9]{4})?)?9[1-5][0-9]{18,20}$"
_USPS_LEGACY = r"^(?:(?:70|23|03)[0-9]{18}|82[0-9]{8})$"
_FEDEX = r"^(?:[0-9]{12}|[0-9]{15}|[0-9]{20}|[0-9]{22})$"
_DHL = r"^(?:[0-9]{10}|JD[0-9]{16,20})$"
_DHL_GM = r"^(?:GM[0-9]{16,20}|JD[0-9]{16,20}|(?:420[0-9]{5})?9[1-5][0-9]{18,20}|[0-9]{10,22})$"
_ONTRAC = r"^[CD][0-9]{14}$"
_AMAZON = r"^TBA[0-9]{12}$"
_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
_UPS_LETTER_VALUES = [str((ord(ch) - ord("A") + 2) % 10) for ch in _LETTERS]
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def _fixed_width(texts: pl.Series, width: int) -> npt.NDArray[np.uint8]:
    """ASCII texts all ``width`` long as an (n, width) array of their bytes."""
    joined: str = texts.str.join("").item() if len(texts) else ""
    return np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(texts), width)


def _ups_check(t: pl.Series) -> npt.NDArray[np.bool_]:
    """feeds.carriers.ups_check_digit_ok for numbers matching 1Z + 16 letters or digits."""
    b = _fixed_width(t, 18).astype(np.int64)
    v = np.where(b >= 65, (b - 65 + 2) % 10, b - 48)  # letters fold onto digits
    odd = v[:, 2:17:2].sum(axis=1)
    even = v[:, 3:17:2].sum(axis=1)
    last = b[:, 17]
    return (last >= 48) & (last <= 57) & ((10 - (odd + 2 * even) % 10) % 10 == last - 48)


def _s10_check(t: pl.Series) -> npt.NDArray[np.bool_]:
    """feeds.carriers.s10_check_digit_ok for numbers shaped like AA123456789CC."""
    d = _fixed_width(t, 13).astype(np.int64) - 48
    total = d[:, 2:10] @ np.array(_S10_WEIGHTS, dtype=np.int64)
    check = 11 - total % 11
    check = np.where(check == 10, 0, np.where(check == 11, 5, check))
    return check == d[:, 10]


def _s10(t: pl.Series, country: str) -> npt.NDArray[np.bool_]:
    shaped = t.str.contains(rf"^[A-Z]{{2}}[0-9]{{9}}{country}$").to_numpy()
    out = np.zeros(len(t), dtype=bool)
    if shaped.any():
        out[shaped] = _s10_check(t.filter(pl.Series(shaped)))
    return out


def _matches(t: pl.Series, pattern: str) -> npt.NDArray[np.bool_]:
    return t.str.contains(pattern).to_numpy()


def _check(code: str, t: pl.Series) -> npt.NDArray[np.bool_] | None:
    """feeds.carriers.TRACKING_CHECKS[code] over clean tracking numbers; None: unchecked."""
    if code == "UPS":
        one_z = _matches(t, _UPS_1Z)
        out = _matches(t, _UPS_MI) & ~one_z
        if one_z.any():
            out[one_z] = _ups_check(t.filter(pl.Series(one_z)))
        return out
    if code in ("UPSMI", "UPS Mail Innovations"):
        return _matches(t, _UPS_MI) | _matches(t, _USPS_IMPB)
    if code == "USPS":
        return _matches(t, _USPS_IMPB) | _matches(t, _USPS_LEGACY) | _s10(t, "US")
    if code in ("FedEx", "FedEx SmartPost"):
        return _matches(t, _FEDEX)
    if code == "DHL":
        return _matches(t, _DHL)
    if code == "DHL Global Mail":
        return _matches(t, _DHL_GM)
    if code == "Royal Mail":
        return _s10(t, "GB")
    if code == "OnTrac":
        return _matches(t, _ONTRAC)
    if code == "Amazon Shipping":
        return _matches(t, _AMAZON)
    return None  # a carrier whose numbers are not checked


def _tracking_fits(codes: pl.Series, tracking: pl.Series) -> pl.Series:
    """Whether each clean tracking number fits its carrier code (True where nothing is
    checked), each carrier's check run on that carrier's numbers only."""
    fits = np.ones(len(tracking), dtype=bool)
    clean = tracking.str.contains(r"^[0-9A-Z]{1,50}$").fill_null(False).to_numpy()
    for name in codes.drop_nulls().unique().to_list():
        at = (codes == name).fill_null(False).to_numpy() & clean
        if not at.any():
            continue
        result = _check(name, tracking.filter(pl.Series(at)))
        if result is not None:
            fits[at] = result
    return pl.Series("fits", fits)


# --- duplicates and packages ---------------------------------------------------------------


def fold_duplicates(
    accepted: pl.DataFrame, seen: DigestIndex
) -> tuple[pl.DataFrame, list[tuple[int, int]]]:
    """Drop lines equal to an earlier line of the file; (kept, [(line, first line)])."""
    if accepted.height == 0:
        return accepted, []
    digests = accepted.select(_ROW_KEY).hash_rows(seed=7).reinterpret(signed=True).to_numpy()
    lines = accepted["line"].to_numpy()
    firsts = seen.first_lines(digests, lines)
    repeated = firsts != lines
    if not repeated.any():
        return accepted, []
    at = repeated.nonzero()[0]
    pairs = list(zip(lines[at].tolist(), firsts[at].tolist(), strict=True))
    return accepted.filter(pl.Series(~repeated)), pairs


#: A message's text after its MessageID and before its order id; the rest is per package.
_OPEN = "<OrderFulfillment><AmazonOrderID>"
_ITEM_OPEN = "<Item><AmazonOrderItemCode>"
_CLOSE = "</OrderFulfillment></Message>\n"
#: What decides the text between a message's order id and its items, except the tracking
#: number: few distinct values in a file, so each is rendered once, in Python, by the row
#: path's own code (feeds.xmlfeed._carrier_data, escaping included).
_COMBO_KEY = ("date_xml", "carrier_code", "carrier_name", "ship_method", "has_tracking")


@dataclass
class ChunkPackages:
    """A chunk's packages in message order, one row per accepted line, rendered when written.

    A package's lines are contiguous in ``rows`` (ordered by the package's first line, then
    by line). A line's text is one flat concatenation of columns, and null columns drop
    out: the package's first line carries the order id, its ``combo`` (an index into
    ``mids`` and ``closes``: date, carrier and ship method as XML) and the tracking number;
    every line with an item carries the item id and a ``tail`` (an index into ``tails``:
    the item's quantity, and the message's end on the last line); a package that names one
    item on several lines (rare) is rendered whole in Python into ``override`` on its first
    line. ``starts[k]`` is the row where package k begins; ``sizes[k]`` is the UTF-8 length
    of its message after the MessageID, counted from the pieces' lengths without rendering.
    """

    rows: pl.DataFrame
    starts: npt.NDArray[np.int64]
    sizes: npt.NDArray[np.int64]
    mids: pl.Series
    closes: pl.Series
    tails: pl.Series

    def __len__(self) -> int:
        return len(self.starts)

    def body_bytes(self) -> npt.NDArray[np.int64]:
        """UTF-8 length of each package's message after its MessageID."""
        return self.sizes

    def render(self, start: int, stop: int, first_id: int, out: BinaryIO) -> None:
        """Write packages start..stop-1 to ``out`` as complete messages, MessageIDs from
        ``first_id`` (polars writes the texts as they are: no quoting, no separator)."""
        lo = int(self.starts[start])
        hi = int(self.starts[stop]) if stop < len(self.starts) else self.rows.height
        c, lit = pl.col, pl.lit
        first = c("first")
        ids = first.cum_sum() + (first_id - 1)
        prefix = pl.when(first).then(pl.format("<Message><MessageID>{}</MessageID>" + _OPEN, ids))
        self.rows.slice(lo, hi - lo).select(
            pl.concat_str(
                [
                    prefix,
                    c("order_id"),
                    lit(self.mids).gather(c("combo")),
                    c("tracking_number"),
                    lit(self.closes).gather(c("combo")),
                    pl.when(c("order_item_id").is_not_null()).then(lit(_ITEM_OPEN)),
                    c("order_item_id"),
                    lit(self.tails).gather(c("tail")),
                    c("override"),
                ],
                ignore_nulls=True,
            )
        ).write_csv(out, include_header=False, quote_style="never", line_terminator="")


def group_packages(accepted: pl.DataFrame, memo: ComboTexts | None = None) -> ChunkPackages:
    """The chunk's packages as feeds.packages.PackageGrouper forms them and feeds.xmlfeed
    renders them: lines equal on the package key (whole-order lines apart from item lines)
    share a message, in the order of each package's first line. ``memo``: the texts of
    dates and carriers already rendered for earlier chunks of the file."""
    c = pl.col
    key = list(_PACKAGE_KEY)
    with_item = accepted.with_columns(c("order_item_id").is_not_null().alias("has_item"))
    grouped = _contiguous_groups(with_item, key)
    if grouped is not None:
        rows = grouped
    else:  # a package's lines apart in the chunk: bring them together
        rows = (
            with_item.with_row_index("i")
            .with_columns(c("i").min().over(key).alias("g"))
            .sort("g", "i")
        )
    first = c("g") != c("g").shift(1).fill_null(-1)
    last = c("g") != c("g").shift(-1).fill_null(-1)
    rows = rows.with_columns(
        first.alias("first"),
        last.alias("last"),
        c("tracking_number").is_not_null().alias("has_tracking"),
    )
    pairs = rows.filter(c("has_item")).select("g", "order_item_id")
    repeated = bool(
        pairs.height
        and pairs.hash_rows(seed=3).is_duplicated().any()  # no equal hashes: no equal pairs
        and pairs.is_duplicated().any()
    )
    combos = rows.filter(c("first")).select(_COMBO_KEY).unique(maintain_order=True)
    mids, closes = _combo_texts(combos, {} if memo is None else memo)
    rows = rows.join(
        combos.with_row_index("combo"),
        on=list(_COMBO_KEY),
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    quantities = rows.filter(c("has_item"))["quantity"].drop_nulls().unique().sort()
    k = (
        c("quantity")
        .replace_strict(quantities, pl.int_range(1, len(quantities) + 1, eager=True), default=0)
        .fill_null(0)
        .cast(pl.UInt32)
    )
    rows = rows.select(
        "first",
        "g",
        "has_item",
        "quantity",
        pl.when(c("first")).then(c("order_id")).alias("order_id"),
        pl.when(c("first")).then(c("combo")).alias("combo"),
        pl.when(c("first")).then(c("tracking_number")).alias("tracking_number"),
        c("order_item_id"),
        (
            (pl.when(c("has_item")).then(k).otherwise(0) * 2 + c("has_item").cast(pl.UInt32)) * 2
            + c("last").cast(pl.UInt32)
        ).alias("tail"),
        pl.lit(None, dtype=pl.String).alias("override"),
    )
    tails = _tail_texts(quantities.to_list())
    if repeated:
        rows = _merge_repeated_items(rows, mids, closes)
    starts = np.flatnonzero(rows["first"].to_numpy()).astype(np.int64)
    mid_bytes = mids.str.len_bytes().cast(pl.Int64)
    close_bytes = closes.str.len_bytes().cast(pl.Int64)
    tail_bytes = tails.str.len_bytes().cast(pl.Int64)
    line_bytes = rows.select(
        (
            c("first").cast(pl.Int64) * len(_OPEN)
            + _bytes(c("order_id"))
            + pl.lit(mid_bytes).gather(c("combo")).fill_null(0)
            + _bytes(c("tracking_number"))
            + pl.lit(close_bytes).gather(c("combo")).fill_null(0)
            + c("order_item_id").is_not_null().cast(pl.Int64) * len(_ITEM_OPEN)
            + _bytes(c("order_item_id"))
            + pl.lit(tail_bytes).gather(c("tail"))
            + _bytes(c("override"))
        ).alias("n")
    )["n"].to_numpy()
    sizes = np.add.reduceat(line_bytes, starts) if len(starts) else np.empty(0, dtype=np.int64)
    return ChunkPackages(
        rows.select(
            "first", "order_id", "combo", "tracking_number", "order_item_id", "tail", "override"
        ),
        starts,
        sizes.astype(np.int64),
        mids,
        closes,
        tails,
    )


def _bytes(e: pl.Expr) -> pl.Expr:
    return e.str.len_bytes().cast(pl.Int64).fill_null(0)


#: (date, carrier code, carrier name, ship method, has tracking) -> (mid, close) texts.
ComboTexts = dict[tuple[Any, ...], tuple[str, str]]


def _combo_texts(combos: pl.DataFrame, memo: ComboTexts) -> tuple[pl.Series, pl.Series]:
    """For each distinct (date, carrier code, carrier name, ship method, has tracking) of
    a chunk's packages: the text from the order id's end to the tracking number, and the
    text after it, as feeds.xmlfeed writes them (``memo``: a file's texts so far)."""
    if len(memo) > 100_000:
        memo.clear()  # bounded, whatever the file
    mids: list[str] = []
    closes: list[str] = []
    for combo in combos.iter_rows():
        texts = memo.get(combo)
        if texts is None:
            texts = memo[combo] = _combo_text(*combo)
        mids.append(texts[0])
        closes.append(texts[1])
    return pl.Series("mid", mids, dtype=pl.String), pl.Series("close", closes, dtype=pl.String)


def _combo_text(
    date: str, code: str | None, name: str | None, method: str | None, tracking: bool
) -> tuple[str, str]:
    # Raises FeedWriteError where the writer would refuse the package; validation lets
    # no such line through, and if one came the caller reads the file the row way.
    data = _carrier_data("", code, name, "1" if tracking else None, method)
    mid = f"</AmazonOrderID><FulfillmentDate>{date}</FulfillmentDate>{data}"
    if tracking:
        return mid + "<ShipperTrackingNumber>", "</ShipperTrackingNumber></FulfillmentData>"
    return mid, ""


def _tail_texts(quantities: list[int]) -> pl.Series:
    """A line's text after its item id, at index ((k * 2) + has item) * 2 + last: k is 0
    for no quantity, else 1 + the quantity's place in ``quantities``."""
    texts: list[str] = []
    for q in [None, *quantities]:
        for has_item in (False, True):
            item = ""
            if has_item:
                quantity = "" if q is None else f"<Quantity>{q}</Quantity>"
                item = f"</AmazonOrderItemCode>{quantity}</Item>"
            texts.extend((item, item + _CLOSE))
    return pl.Series("tail", texts, dtype=pl.String)


def _contiguous_groups(rows: pl.DataFrame, key: list[str]) -> pl.DataFrame | None:
    """``rows`` with ``g`` numbering its packages, when every package's lines are already
    next to each other (the usual file: an order's lines together, repeats folded away);
    None otherwise. Exact: runs of equal keys are counted by comparing the keys, and if
    the distinct key hashes are as many as the runs, so are the distinct keys (never fewer
    hashes than keys, never more keys than runs), so no key has two runs."""
    c = pl.col
    starts = pl.any_horizontal([c(k).ne_missing(c(k).shift(1)) for k in key]).fill_null(True)
    rows = rows.with_columns(starts.alias("start"))
    runs = int(rows["start"].sum())
    if rows.select(key).hash_rows(seed=5).n_unique() != runs:
        return None
    return rows.with_columns((c("start").cum_sum() - 1).cast(pl.Int64).alias("g"))


def _merge_repeated_items(rows: pl.DataFrame, mids: pl.Series, closes: pl.Series) -> pl.DataFrame:
    """Packages naming one item on several lines, rendered one by one: their quantities
    add up (feeds.packages._items). Such a package is written whole into ``override`` on
    its first line, and its lines' other pieces are emptied, so the other packages keep
    theirs."""
    c = pl.col
    merged_groups = set(
        rows.filter(c("has_item") & pl.struct("g", "order_item_id").is_duplicated())["g"]
        .unique()
        .to_list()
    )
    mid_texts = mids.to_list()
    close_texts = closes.to_list()
    firsts = rows["first"].to_list()
    g_col = rows["g"].to_list()
    ids = rows["order_item_id"].to_list()
    qs = rows["quantity"].to_list()
    oids = rows["order_id"].to_list()
    combos = rows["combo"].to_list()
    trackings = rows["tracking_number"].to_list()
    override: list[str | None] = [None] * rows.height
    inside = np.zeros(rows.height, dtype=bool)
    at = 0
    n = rows.height
    while at < n:
        end = at + 1
        while end < n and not firsts[end]:
            end += 1
        if g_col[at] in merged_groups:
            combo = combos[at]
            override[at] = (
                f"{oids[at]}{mid_texts[combo]}{trackings[at] or ''}{close_texts[combo]}"
                f"{_items_xml(ids[at:end], qs[at:end])}{_CLOSE}"
            )
            inside[at:end] = True
        at = end
    gone = pl.Series(inside)
    return rows.with_columns(
        *[
            pl.when(gone).then(None).otherwise(c(name)).alias(name)
            for name in ("order_id", "combo", "tracking_number", "order_item_id")
        ],
        pl.when(gone).then(0).otherwise(c("tail")).cast(pl.UInt32).alias("tail"),
        pl.Series("override", override, dtype=pl.String),
    )


def _items_xml(item_ids: list[str], quantities: list[int | None]) -> str:
    """feeds.packages._items and the writer's Item elements, for a package naming one item
    on several lines (their quantities add up; a line without one means all units)."""
    merged: dict[str, int | None] = {}
    for item_id, q in zip(item_ids, quantities, strict=True):
        if item_id not in merged:
            merged[item_id] = q
        else:
            before = merged[item_id]
            merged[item_id] = None if before is None or q is None else before + q
    return "".join(
        f"<Item><AmazonOrderItemCode>{i}</AmazonOrderItemCode></Item>"
        if q is None
        else f"<Item><AmazonOrderItemCode>{i}</AmazonOrderItemCode><Quantity>{q}</Quantity></Item>"
        for i, q in merged.items()
    )
