"""Line validation: turn the cells of a seller's file into Shipments or seller-readable errors.

Validation runs over a whole :class:`~feeds.model.RowChunk` at once because files reach a
million lines: cell values that repeat (ship dates, carriers, ship methods, quantities) are
parsed once per distinct text and looked up afterwards, and the common shapes (ISO dates,
known carriers, well-formed ids) go through precompiled regexes without exceptions.

Everything here is pure: the clock and the seller's time zone come in a :class:`RuleContext`
so the same file validates the same way in tests and in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from operator import itemgetter
from typing import Literal

from feeds.carriers import (
    OTHER_CODES,
    TRACKING_CHECKS,
    carrier_from_tracking,
    resolve_carrier,
    tracking_fits,
    tracking_format_hint,
)
from feeds.dateorder import SLASH_DATE
from feeds.model import FIELDS, LineError, LineWarning, RawLine, RowChunk, Shipment
from feeds.packages import Row


@dataclass(frozen=True)
class RuleContext:
    """What validation depends on besides the line itself."""

    now: datetime  # aware; injected so tests are deterministic
    timezone: tzinfo  # the seller's zone for dates written without one
    future_tolerance: timedelta = timedelta(minutes=60)
    max_age: timedelta = timedelta(days=60)
    strict_tracking: bool = False  # tracking format mismatch: warning (False) or error (True)
    date_order: Literal["US", "EU"] = "US"


@dataclass
class ChunkResult:
    shipments: list[Shipment] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    warnings: list[LineWarning] = field(default_factory=list)


@dataclass
class ChunkRows:
    """A validated chunk in compact form: ``rows[i]`` (a feeds.packages.Row) is line ``lines[i]``.

    What :func:`validate_rows` returns for callers that go straight on to grouping (convert):
    a tuple per valid line instead of a Shipment saves more time than validation costs.
    """

    lines: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    warnings: list[LineWarning] = field(default_factory=list)


#: Longest text Amazon's schema takes for a carrier name, ship method or tracking number.
MAX_TEXT = 50

_ERROR: Literal["error"] = "error"
_WARNING: Literal["warning"] = "warning"

# A problem found in one cell: (error|warning, field, value as found, reason).
Problem = tuple[Literal["error", "warning"], str, str, str]

_ORDER_ID = re.compile(r"\d{3}-\d{7}-\d{7}", re.ASCII)
_ORDER_ID_LOOSE = re.compile(r"\s*(\d{3}-\d{7}-\d{7})\s*", re.ASCII)
_ITEM_ID = re.compile(r"\d{14}", re.ASCII)
# Whole-column pre-checks: when every cell of a column is already clean (the usual case)
# the per-row loop skips its regex for that column.
_ITEM_ID_OR_EMPTY = re.compile(r"(?:\d{14})?", re.ASCII)
_TRACKING_CLEAN_OR_EMPTY = re.compile(r"[0-9A-Z]{0,50}")
_ITEM_ID_LOOSE = re.compile(r"\s*(\d{14})(?:\.0*)?\s*", re.ASCII)
_SCIENTIFIC = re.compile(r"\s*\d(?:[.,]\d+)?[eE]\+?\d+\s*", re.ASCII)
_QUANTITY = re.compile(r"\s*(\d{1,9})(?:\.0*)?\s*", re.ASCII)
_TRACKING_CLEAN = re.compile(r"[0-9A-Z]{1,50}")
_TRACKING_DROP = re.compile(r"[\s\-]+")
_WHITESPACE = re.compile(r"\s+")
#: Characters XML 1.0 cannot carry at all (plus lone surrogates from broken decoding).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@")

_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_EXCEL_SERIAL = re.compile(r"(\d{1,7})(?:\.(\d+))?", re.ASCII)
_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01 past Excel's 1900 leap-year bug


def _text_problem(fld: str, raw: str, what: str) -> tuple[str | None, Problem | None]:
    """Clean a free-text cell (carrier name, ship method) or say why it cannot be sent."""
    if _XML_INVALID.search(raw):  # before whitespace folding, which would hide \x0b and \x1c
        return None, (
            _ERROR,
            fld,
            raw,
            f"{what} contains invisible control characters; retype it",
        )
    text = _WHITESPACE.sub(" ", raw).strip()
    if not text:
        return None, None
    if text.startswith(_FORMULA_START):
        return None, (_ERROR, fld, raw, f"{what} looks like a spreadsheet formula, not a value")
    if len(text) > MAX_TEXT:
        return None, (_ERROR, fld, raw, f"{what} is longer than Amazon's {MAX_TEXT} characters")
    return text, None


# --- ship dates ------------------------------------------------------------------------


def _date_hint(order: str) -> str:
    slash = "20/11/2026" if order == "EU" else "11/20/2026"
    return f"use a date like 2026-11-20, {slash} or 2026-11-20 14:30"


def parse_ship_date(text: str, tz: tzinfo, date_order: str) -> datetime | None:
    """Read a ship date as sellers and spreadsheets write it; None when it is not a date."""
    text = text.strip()
    try:
        if _ISO_DATE.fullmatch(text):
            dt = datetime.fromisoformat(text.replace(",", ".").replace(" Z", "Z"))
        elif m := SLASH_DATE.fullmatch(text):
            a, b, y, hh, mm, ss, ampm = m.groups()
            month, day = (int(a), int(b)) if date_order == "US" else (int(b), int(a))
            year = int(y) + 2000 if len(y) == 2 else int(y)
            hour = int(hh) if hh else 0
            if ampm:
                if not 1 <= hour <= 12:
                    return None
                hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
            dt = datetime(year, month, day, hour, int(mm or 0), int(ss or 0))
        elif m := _EXCEL_SERIAL.fullmatch(text):
            serial = float(text)
            if not 61 <= serial < 2958466:  # before 1900-03-01 Excel's calendar is wrong
                return None
            dt = _EXCEL_EPOCH + timedelta(seconds=round(serial * 86400))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def _ship_date(text: str, ctx: RuleContext) -> datetime | Problem:
    if not text.strip():
        return (_ERROR, "ship_date", text, "ship date is missing")
    dt = parse_ship_date(text, ctx.timezone, ctx.date_order)
    if dt is None:
        return (
            _ERROR,
            "ship_date",
            text,
            f"ship date is not a date we can read; {_date_hint(ctx.date_order)}",
        )
    if dt > ctx.now + ctx.future_tolerance:
        return (_ERROR, "ship_date", text, "ship date is in the future; use the day it shipped")
    if dt < ctx.now - ctx.max_age:
        days = ctx.max_age.days
        return (
            _ERROR,
            "ship_date",
            text,
            f"ship date is more than {days} days ago; Amazon does not take confirmations this old",
        )
    return dt


# --- carriers and tracking ---------------------------------------------------------------

CarrierResult = tuple[str | None, str | None, tuple[Problem, ...]]


def _carrier(code_text: str, name_text: str) -> CarrierResult:
    """(CarrierCode, CarrierName, problems) for a line's carrier cells."""
    problems: list[Problem] = []
    name, p = _text_problem("carrier_name", name_text, "carrier name")
    if p:
        return None, None, (p,)
    code_clean = code_text.strip()
    if code_clean:
        if code_clean.startswith(_FORMULA_START):
            return (
                None,
                None,
                (
                    (
                        _ERROR,
                        "carrier_code",
                        code_text,
                        "carrier looks like a spreadsheet formula, not a value",
                    ),
                ),
            )
        code = resolve_carrier(code_clean)
        if code in OTHER_CODES:
            if name is None:
                return (
                    None,
                    None,
                    (
                        (
                            _ERROR,
                            "carrier_name",
                            name_text,
                            f"carrier '{code_clean}'"
                            " needs the carrier's name in the carrier name column",
                        ),
                    ),
                )
            return None, name, ()
        if code is not None:
            return code, None, ()
        if name is None:
            text, p = _text_problem("carrier_code", code_text, "carrier")
            if p:
                return None, None, (p,)
            name = text
        problems.append(
            (
                _WARNING,
                "carrier_code",
                code_text,
                f"'{code_clean}' is not one of Amazon's carrier codes; sent as the carrier name "
                f"'{name}' instead",
            )
        )
        return None, name, tuple(problems)
    if name is not None:
        code = resolve_carrier(name)
        if code is not None and code not in OTHER_CODES:
            return code, None, ()
        return None, name, ()
    return None, None, ()


def _tracking(
    text: str, code: str | None, has_name: bool, strict: bool
) -> tuple[str | None, str | None, Problem | None]:
    """(tracking, carrier code inferred from it, problem) for a tracking cell."""
    if _TRACKING_CLEAN.fullmatch(text):
        tracking = text
    else:
        stripped = text.strip()
        if not stripped:
            return None, None, None
        if stripped.startswith(_FORMULA_START):
            return (
                None,
                None,
                (
                    _ERROR,
                    "tracking_number",
                    text,
                    "tracking number looks like a spreadsheet formula, not a value",
                ),
            )
        tracking = _TRACKING_DROP.sub("", stripped).upper()
        if not _TRACKING_CLEAN.fullmatch(tracking):
            reason = (
                f"tracking number is longer than {MAX_TEXT} characters"
                if len(tracking) > MAX_TEXT and tracking.isalnum()
                else "tracking number may contain only letters and digits"
            )
            return None, None, (_ERROR, "tracking_number", text, reason)
    if code is None:
        if has_name:
            return tracking, None, None
        guessed = carrier_from_tracking(tracking)
        if guessed is None:
            return (
                None,
                None,
                (
                    _ERROR,
                    "carrier_code",
                    "",
                    "a tracking number needs a carrier; fill in the carrier",
                ),
            )
        return (
            tracking,
            guessed,
            (
                _WARNING,
                "carrier_code",
                "",
                f"carrier was empty; {guessed} taken from the tracking number's format",
            ),
        )
    fits = tracking_fits(code, tracking)
    if fits is False:
        reason = (
            f"tracking number does not look like a {code} tracking number "
            f"({tracking_format_hint(code)})"
        )
        return tracking, None, (_ERROR if strict else _WARNING, "tracking_number", text, reason)
    return tracking, None, None


# --- the chunk -----------------------------------------------------------------------------


class _Caches:
    """Per-context memo of parsed cells; bounded so a hostile file cannot grow it forever."""

    LIMIT = 200_000

    def __init__(self) -> None:
        self.dates: dict[str, datetime | Problem] = {}
        self.carriers: dict[tuple[str, str], CarrierResult] = {}
        self.methods: dict[str, tuple[str | None, Problem | None]] = {}
        self.quantities: dict[str, int | Problem | None] = {}

    def trim(self) -> None:
        for cache in (self.dates, self.carriers, self.methods, self.quantities):
            if len(cache) > self.LIMIT:
                cache.clear()


_CACHES: dict[RuleContext, _Caches] = {}


def _caches_for(ctx: RuleContext) -> _Caches:
    caches = _CACHES.get(ctx)
    if caches is None:
        if len(_CACHES) > 8:
            _CACHES.clear()
        caches = _CACHES[ctx] = _Caches()
    caches.trim()
    return caches


def _quantity(text: str) -> int | Problem | None:
    if text == "" or text.isspace():
        return None
    m = _QUANTITY.fullmatch(text.strip())
    if m is None or int(m.group(1)) == 0:
        return (_ERROR, "quantity", text, "quantity must be a whole number of at least 1")
    return int(m.group(1))


def _order_item(text: str) -> str | Problem:
    m = _ITEM_ID_LOOSE.fullmatch(text.strip())
    if m:
        return m.group(1)
    if _SCIENTIFIC.fullmatch(text):
        return (
            _ERROR,
            "order_item_id",
            text,
            "order item id was turned into a rounded number by "
            "the spreadsheet; format the column as text and export again",
        )
    return (
        _ERROR,
        "order_item_id",
        text,
        "order item id must be Amazon's 14-digit order item code",
    )


def _order_id(text: str) -> str | Problem:
    m = _ORDER_ID_LOOSE.fullmatch(text.strip())  # strip() also drops no-break spaces
    if m:
        return m.group(1)
    if not text.strip():
        return (_ERROR, "order_id", text, "Amazon order id is missing")
    return (
        _ERROR,
        "order_id",
        text,
        "Amazon order id must be 3-7-7 digits, like 112-1234567-1234567",
    )


def _with_reader_problems(chunk: RowChunk, ctx: RuleContext) -> ChunkRows:
    """Lines the reader found wrong (RowChunk.problems) are rejected with its reasons,
    whatever their cells say; the rest are validated as usual. Errors stay in line order."""
    bad = {p.line for p in chunk.problems}
    keep = [i for i, n in enumerate(chunk.lines) if n not in bad]
    rest = RowChunk(
        lines=[chunk.lines[i] for i in keep],
        cells={f: [v[i] for i in keep] for f, v in chunk.cells.items()},
        columns=chunk.columns,
    )
    result = validate_rows(rest, ctx)
    result.errors = sorted([*chunk.problems, *result.errors], key=lambda e: e.line)
    return result


def validate_chunk(chunk: RowChunk, ctx: RuleContext) -> ChunkResult:
    """Validate every row of a chunk; each row ends as one Shipment or at least one error."""
    r = validate_rows(chunk, ctx)
    return ChunkResult(
        shipments=[
            Shipment(line, **row._asdict()) for line, row in zip(r.lines, r.rows, strict=True)
        ],
        errors=r.errors,
        warnings=r.warnings,
    )


def validate_rows(chunk: RowChunk, ctx: RuleContext) -> ChunkRows:
    """:func:`validate_chunk` with each valid line as a compact row instead of a Shipment."""
    if chunk.problems:
        return _with_reader_problems(chunk, ctx)
    caches = _caches_for(ctx)
    dates, carriers, methods, quantities = (
        caches.dates,
        caches.carriers,
        caches.methods,
        caches.quantities,
    )
    strict = ctx.strict_tracking
    result = ChunkRows()
    accepted_lines = result.lines
    accepted = result.rows
    errors = result.errors
    warnings = result.warnings
    headers = {f: (chunk.columns.get(f) or f) for f in FIELDS}
    order_match = _ORDER_ID.fullmatch
    item_match = _ITEM_ID.fullmatch
    track_clean = _TRACKING_CLEAN.fullmatch
    tracking_check = TRACKING_CHECKS.get
    cells = chunk.cells
    oids_clean = all(map(order_match, cells["order_id"]))
    iids_clean = all(map(_ITEM_ID_OR_EMPTY.fullmatch, cells["order_item_id"]))
    tracking_clean = all(map(_TRACKING_CLEAN_OR_EMPTY.fullmatch, cells["tracking_number"]))
    if oids_clean and iids_clean and tracking_clean and _fast_path and len(chunk) >= _FAST_MIN:
        clean = _clean_chunk(chunk, ctx, caches)
        if clean is not None:
            result.rows = clean
            result.lines = list(chunk.lines)
            return result

    def report(line: int, problems: list[Problem]) -> bool:
        ok = True
        for kind, fld, value, reason in problems:
            if kind == _ERROR:
                ok = False
                errors.append(LineError(line, headers[fld], value, reason))
            else:
                warnings.append(LineWarning(line, headers[fld], value, reason))
        return ok

    rows = zip(
        chunk.lines,
        cells["order_id"],
        cells["order_item_id"],
        cells["quantity"],
        cells["ship_date"],
        cells["carrier_code"],
        cells["carrier_name"],
        cells["tracking_number"],
        cells["ship_method"],
        strict=True,
    )
    for line, oid, iid, qty, sd, cc, cn, tn, sm in rows:
        problems: list[Problem] = []
        carrier_failed = False

        if oids_clean or order_match(oid):
            order_id: str | None = oid
        else:
            o = _order_id(oid)
            order_id = o if isinstance(o, str) else None
            if not isinstance(o, str):
                problems.append(o)

        item_id: str | None = None
        if iid:
            if iids_clean or item_match(iid):
                item_id = iid
            else:
                i = _order_item(iid)
                if isinstance(i, str):
                    item_id = i
                else:
                    problems.append(i)

        quantity: int | None = None
        if qty:
            q = quantities.get(qty, False)
            if q is False:
                q = quantities[qty] = _quantity(qty)
            if isinstance(q, tuple):
                problems.append(q)
            elif q is not None:
                if item_id is None and not iid:
                    problems.append(
                        (
                            _WARNING,
                            "quantity",
                            qty,
                            "quantity is ignored without an "
                            "order item id: the whole order is confirmed",
                        )
                    )
                else:
                    quantity = q

        d = dates.get(sd)
        if d is None:
            d = dates[sd] = _ship_date(sd, ctx)
        ship_date: datetime | None = None
        if isinstance(d, tuple):
            problems.append(d)
        else:
            ship_date = d

        if cc or cn:
            key = (cc, cn)
            c = carriers.get(key)
            if c is None:
                c = carriers[key] = _carrier(cc, cn)
            code, name, cproblems = c
            if cproblems:
                problems.extend(cproblems)
                carrier_failed = cproblems[0][0] == _ERROR
        else:
            code = name = None

        tracking: str | None = None
        if tn:
            if code is not None and (tracking_clean or track_clean(tn)):
                tracking = tn
                check = tracking_check(code)
                if check is not None and not check(tn):
                    reason = (
                        f"tracking number does not look like a {code} tracking number "
                        f"({tracking_format_hint(code)})"
                    )
                    problems.append((_ERROR if strict else _WARNING, "tracking_number", tn, reason))
            else:
                # a carrier cell already reported as wrong is not reported again as missing
                has_carrier = name is not None or carrier_failed
                tracking, guessed, tp = _tracking(tn, code, has_carrier, strict)
                if guessed is not None:
                    code = guessed
                if tp is not None:
                    problems.append(tp)

        method: str | None = None
        if sm:
            mres = methods.get(sm)
            if mres is None:
                mres = methods[sm] = _text_problem("ship_method", sm, "ship method")
            method, mp = mres
            if mp is not None:
                problems.append(mp)
            elif method is not None and tracking is None:
                method = None
                if not tn.strip():
                    problems.append(
                        (
                            _WARNING,
                            "ship_method",
                            sm,
                            "ship method is sent only with a tracking number; it was left out",
                        )
                    )

        if problems and not report(line, problems):
            continue
        if order_id is None or ship_date is None:  # pragma: no cover - reported above
            continue
        accepted_lines.append(line)
        accepted.append(Row(order_id, code, name, tracking, method, ship_date, item_id, quantity))
    return result


#: Tests turn the whole-chunk fast path off to hold it to the row-by-row path.
_fast_path = True
#: Smaller chunks take the row loop: as fast for a few lines, and `validate` of a small
#: file then never loads numpy (70 ms of its start).
_FAST_MIN = 256


def _clean_chunk(chunk: RowChunk, ctx: RuleContext, caches: _Caches) -> list[Row] | None:
    """The rows of a chunk in which no line has any problem, built column-wise; else None.

    Most big files are clean throughout. Then every decision of the row loop can be taken
    once per distinct cell value (dates, carriers, ship methods, quantities) or per column
    (ids, tracking numbers, which the caller has already matched), and the rows are zipped
    together in C. The first sign of any problem, error or warning, hands the chunk back to
    the row loop, which words the problems; so this path never decides what is reported.
    Ids and tracking numbers are known clean here (checked by the caller).
    """
    import numpy as np

    cells = chunk.cells
    oids = cells["order_id"]
    iids = cells["order_item_id"]
    qtys = cells["quantity"]
    sds = cells["ship_date"]
    ccs = cells["carrier_code"]
    cns = cells["carrier_name"]
    tns = cells["tracking_number"]
    sms = cells["ship_method"]

    dates = caches.dates
    for text in set(sds):
        d = dates.get(text)
        if d is None:
            d = dates[text] = _ship_date(text, ctx)
        if isinstance(d, tuple):
            return None
    quantities = caches.quantities
    qty_of: dict[str, int | None] = {"": None}
    for text in set(qtys):
        if text:
            q = quantities.get(text, False)
            if q is False:
                q = quantities[text] = _quantity(text)
            if type(q) is not int:
                return None
            qty_of[text] = q
    methods = caches.methods
    method_of: dict[str, str | None] = {"": None}
    for text in set(sms):
        if text:
            m = methods.get(text)
            if m is None:
                m = methods[text] = _text_problem("ship_method", text, "ship method")
            if m[0] is None or m[1] is not None:
                return None
            method_of[text] = m[0]
    carriers = caches.carriers
    carrier_of: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for pair in set(zip(ccs, cns, strict=True)):
        if pair[0] or pair[1]:
            c = carriers.get(pair)
            if c is None:
                c = carriers[pair] = _carrier(*pair)
            if c[2]:
                return None
            carrier_of[pair] = (c[0], c[1])
        else:
            carrier_of[pair] = (None, None)

    iid_arr = np.array(iids, dtype=object)
    tn_arr = np.array(tns, dtype=object)
    no_item = iid_arr == ""
    no_tracking = tn_arr == ""
    if (no_item & (np.array(qtys, dtype=object) != "")).any():
        return None  # quantity without an item id: a warning
    if (no_tracking & (np.array(sms, dtype=object) != "")).any():
        return None  # ship method without tracking: dropped with a warning
    pairs = list(map(carrier_of.__getitem__, zip(ccs, cns, strict=True)))
    codes = list(map(itemgetter(0), pairs))
    names = list(map(itemgetter(1), pairs))
    code_arr = np.array([c or "" for c in codes], dtype=object)  # "" for no code
    with_tracking = ~no_tracking
    for code in set(codes):
        at = (code_arr == (code or "")) & with_tracking
        if not at.any():
            continue
        if code is None:
            name_arr = np.array([n or "" for n in names], dtype=object)
            if ((name_arr == "") & at).any():
                return None  # tracking without a carrier: guessed or refused, with words
            continue  # a carrier name: the number is sent as it is
        check = TRACKING_CHECKS.get(code)
        if check is not None and not all(map(check, tn_arr[at].tolist())):
            return None  # a number that does not fit its carrier: a warning or an error
    return list(
        map(
            Row._make,
            zip(
                oids,
                codes,
                names,
                [t or None for t in tns],
                map(method_of.__getitem__, sms),
                map(dates.__getitem__, sds),
                [i or None for i in iids],
                map(qty_of.__getitem__, qtys),
                strict=True,
            ),
        )
    )


def validate_line(
    line: RawLine, ctx: RuleContext
) -> tuple[Shipment | None, list[LineError], list[LineWarning]]:
    """Validate one row the same way as a chunk does (for callers that hold a single line)."""
    chunk = RowChunk(
        lines=[line.line],
        cells={f: [line.cells.get(f, "")] for f in FIELDS},
        columns={f: line.columns.get(f) for f in FIELDS},
    )
    r = validate_chunk(chunk, ctx)
    return (r.shipments[0] if r.shipments else None), r.errors, r.warnings
