"""What an XLSX workbook says about itself, checked before anything unpacks it.

An XLSX file is a zip of XML parts, and both layers can be made to cost far more than the
file's size: a zip member of a few KB that inflates to gigabytes (a zip bomb), or one cell
typed at XFD1048576, which makes the sheet 16,384 columns by 1,048,576 rows, and a reader
that holds a sheet as one dense grid asks for 512 GiB. These checks look at what the file
declares (the zip's central directory, the sheet's ``<dimension ref>``) and at what it
really inflates to, with bounded memory, and refuse before the real reader starts.

Standard library only (and feeds.excerpt, which is too), so the sandboxed child process
(ingest/xlsx_child.py) stays small; what the checks cannot see coming (a sheet that lies
about its dimension) meets the limits the operating system enforces there instead.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any
from xml.etree import ElementTree

from feeds.excerpt import excerpt

#: Excel's own grid: 16,384 columns (XFD) by 1,048,576 rows.
MAX_EXCEL_ROWS = 1_048_576
MAX_EXCEL_COLUMNS = 16_384


@dataclass(frozen=True)
class SheetLimits:
    """How much one workbook may cost to read. The defaults take a 1,048,576-row sheet of
    ordinary width (about 0.8 GB in the reader) and refuse what no shipping export needs."""

    memory_bytes: int = 3 * 1024**3  # the reading process's address space (RLIMIT_AS)
    cpu_seconds: int = 300  # processor time of the reading process (RLIMIT_CPU)
    wall_seconds: float = 600.0  # clock time before the reading process is killed
    unpacked_bytes: int = 2 * 1024**3  # all zip members together, once inflated
    max_ratio: float = 100.0  # inflated/compressed size of one member past ratio_from_bytes
    ratio_from_bytes: int = 1024**2  # small members compress oddly; only judge big ones
    max_members: int = 10_000
    max_cells: int = 64 * 1024**2  # rows x columns of the sheet's used area
    rows_bytes: int = 4 * 1024**3  # the plain rows the reading process hands back
    max_formulas: int = 1_000  # formula cells without a value reported one by one
    max_row_bytes: int = 64 * 1024**2  # one <row> element of the sheet's XML

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SheetRefused(Exception):
    """The workbook is refused before reading; ``reason`` is said to the seller as is."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass
class SheetScan:
    """What one pass over the chosen sheet's XML found."""

    dimension: str | None = None
    #: formula cells that have no saved value: (row, column index from A = 0, formula)
    formulas: list[tuple[int, int, str]] = field(default_factory=list)
    more_formulas: bool = False  # more than SheetLimits.max_formulas of them
    formula_without_ref: str | None = None  # one of them had no r="A1" position


_RESAVE = "open it in Excel, check it, and save it again as .xlsx or as CSV UTF-8"


def size_text(n: float) -> str:
    """Bytes as a person reads them: 512 GiB, 1.2 MB."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def check_archive(zf: zipfile.ZipFile, limits: SheetLimits) -> None:
    """The zip's declared sizes: member count, total inflated size, compression ratios.

    Declared sizes can lie; ``inflate`` holds each member read to its declared size (the
    zip module stops there and fails the CRC), so a lie ends as a refusal, not a bomb.
    """
    members = zf.infolist()
    if len(members) > limits.max_members:
        raise SheetRefused(
            f"the workbook holds {len(members):,} parts; a spreadsheet has a few dozen",
            hint=_RESAVE,
        )
    total = sum(m.file_size for m in members)
    if total > limits.unpacked_bytes:
        raise SheetRefused(
            f"the workbook unpacks to {size_text(total)}, more than the "
            f"{size_text(limits.unpacked_bytes)} that can be read "
            f"(the file itself is {size_text(sum(m.compress_size for m in members))})",
            hint="split it into smaller files, or save it as CSV UTF-8",
        )
    for m in members:
        if m.file_size < limits.ratio_from_bytes:
            continue
        ratio = m.file_size / max(m.compress_size, 1)
        if ratio > limits.max_ratio:
            raise SheetRefused(
                f"the workbook part {excerpt(m.filename)} is packed {ratio:,.0f} to 1 "
                f"({size_text(m.compress_size)} unpacking to {size_text(m.file_size)}); "
                "spreadsheets pack about 10 to 1, and this looks like a zip bomb",
                hint=_RESAVE,
            )


def sheet_parts(zf: zipfile.ZipFile, limits: SheetLimits) -> dict[str, str]:
    """Sheet name → the zip member holding its XML, as the workbook's relationships say.

    An empty dict when the workbook's structure cannot be followed; the caller then reads
    without the per-sheet checks (the process limits still hold).
    """
    try:
        root_rels = _xml(zf, "_rels/.rels", limits)
        book = "xl/workbook.xml"
        for rel in root_rels.iter():
            if rel.tag.endswith("Relationship") and rel.get("Type", "").endswith("/officeDocument"):
                book = _resolve("", rel.get("Target", book))
        folder = posixpath.dirname(book)
        rels_name = posixpath.join(folder, "_rels", posixpath.basename(book) + ".rels")
        targets = {
            rel.get("Id"): _resolve(folder, rel.get("Target", ""))
            for rel in _xml(zf, rels_name, limits).iter()
            if rel.tag.endswith("Relationship")
        }
        parts: dict[str, str] = {}
        for sheet in _xml(zf, book, limits).iter():
            if not sheet.tag.endswith("}sheet"):
                continue
            rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
            name = sheet.get("name")
            if name is not None and rid in targets:
                parts[name] = targets[rid]
        return parts
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, ValueError):
        return {}


def _resolve(folder: str, target: str) -> str:
    path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
    return posixpath.normpath(path)


def _xml(zf: zipfile.ZipFile, member: str, limits: SheetLimits) -> ElementTree.Element:
    """A small XML part, parsed (expat 2.4+ refuses entity expansion bombs)."""
    info = zf.getinfo(member)
    if info.file_size > min(limits.unpacked_bytes, 64 * 1024**2):
        raise ValueError(f"{member} is too big for a workbook index")
    return ElementTree.fromstring(zf.read(member))


_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")


def cell_position(ref: str) -> tuple[int, int] | None:
    """'F2' → (2, 5): the row number and the column index counted from A = 0."""
    m = _CELL_REF.match(ref.strip().upper())
    if m is None:
        return None
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col - 1


def column_letters(index: int) -> str:
    """0 → 'A', 16383 → 'XFD'."""
    out = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def check_dimension(ref: str, limits: SheetLimits) -> None:
    """Refuse a sheet whose declared used area is bigger than can be read.

    A reader holds every cell of the used area, filled or not, so a single stray cell at
    the far corner costs as much as a sheet filled to there.
    """
    corners = [cell_position(p) for p in ref.split(":")]
    if not corners or any(c is None for c in corners):
        return  # an odd ref says nothing we can use; the process limits still hold
    rows = [c[0] for c in corners if c is not None]
    cols = [c[1] for c in corners if c is not None]
    height = max(rows) - min(rows) + 1
    width = max(cols) - min(cols) + 1
    if height * width > limits.max_cells:
        raise SheetRefused(
            f"the sheet's used area is {excerpt(ref)}: {width:,} columns by {height:,} rows, "
            f"{height * width:,} cells, more than the {limits.max_cells:,} that can be read; "
            "usually one value typed far to the right or far below the data does this",
            hint="delete the empty columns right of the data and the empty rows below it, "
            "save, and upload the file again",
        )


def inflate(
    zf: zipfile.ZipFile, member: str, budget: list[int], chunk: int = 1 << 20
) -> Iterator[bytes]:
    """A member's bytes, chunk by chunk, never more than its declared size nor ``budget[0]``
    (the unpacked bytes left for the whole workbook, shared between members)."""
    try:
        with zf.open(member) as fh:
            yield from _read_bounded(fh, member, budget, chunk)
    except zipfile.BadZipFile as exc:
        raise _damaged(member, exc) from exc


def _damaged(member: str, exc: Exception) -> SheetRefused:
    return SheetRefused(
        f"the workbook is damaged: its part {excerpt(member)} does not unpack to what "
        f"the file says ({exc})",
        hint=_RESAVE,
    )


def _read_bounded(fh: IO[bytes], member: str, budget: list[int], chunk: int) -> Iterator[bytes]:
    while data := fh.read(chunk):
        budget[0] -= len(data)
        if budget[0] < 0:
            raise SheetRefused(
                f"the workbook part {excerpt(member)} unpacks to more than can be read",
                hint=_RESAVE,
            )
        yield data


_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\bref=\"([^\"]*)\"")
_SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData\b")
_ROW_END = re.compile(rb"</(?:[\w.-]+:)?row>")
_CELL = re.compile(rb"<((?:[\w.-]+:)?)c\b([^>]*)(?<!/)>(.*?)</\1c>", re.DOTALL)
_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f\b([^>]*?)(/?)>(?:(.*?)</(?:[\w.-]+:)?f>)?", re.DOTALL)
_VALUE = re.compile(rb"<(?:[\w.-]+:)?(?:v|is)\b")
_REF = re.compile(rb"\br=\"([^\"]*)\"")


def sheet_dimension(zf: zipfile.ZipFile, member: str, limits: SheetLimits) -> str | None:
    """The sheet's declared used area (``<dimension ref>``), read from the start of its XML
    only, and refused at once if too big: this runs before any reader holds the sheet."""
    try:
        with zf.open(member) as fh:
            head = fh.read(256 * 1024)
    except zipfile.BadZipFile as exc:
        raise _damaged(member, exc) from exc
    data = _SHEET_DATA.search(head)
    found = _DIMENSION.search(head, 0, data.start() if data else len(head))
    if found is None:
        return None
    ref = found.group(1).decode("utf-8", "replace")
    check_dimension(ref, limits)
    return ref


def scan_sheet(
    zf: zipfile.ZipFile, member: str, limits: SheetLimits, budget: list[int]
) -> SheetScan:
    """One bounded pass over a sheet's whole XML: that it unpacks to what the zip says,
    within ``budget``, and every formula cell that has no saved value.

    A formula without a saved value is what a file written by a program (not by Excel)
    holds: Excel computes and saves a value, other writers often do not. Read as a value,
    such a cell is empty, and an empty tracking column is a valid line, so it is found here
    and reported instead.
    """
    scan = SheetScan()
    pending = b""
    for data in inflate(zf, member, budget):
        buf = pending + data
        # Only whole rows are searched for formulas, so a cell is never cut in two.
        cut = _last_row_end(buf)
        if cut is None:
            if len(buf) > limits.max_row_bytes:
                raise SheetRefused(
                    f"one row of the sheet is bigger than {size_text(limits.max_row_bytes)}",
                    hint=_RESAVE,
                )
            pending = buf
            continue
        _find_formulas(buf[:cut], scan, limits)
        pending = buf[cut:]
    _find_formulas(pending, scan, limits)
    return scan


def _last_row_end(buf: bytes) -> int | None:
    at = buf.rfind(b"row>")
    while at >= 0:
        start = buf.rfind(b"</", 0, at)
        if start >= 0 and _ROW_END.match(buf, start):
            return at + 4
        at = buf.rfind(b"row>", 0, at)
    return None


def _find_formulas(buf: bytes, scan: SheetScan, limits: SheetLimits) -> None:
    # Cheap test first: most sheets have no formulas at all, and the full cell regex is
    # slow. Every formula element ends with "f>" ("</f>", or "/>" after a shared one's
    # attributes, which needs a "</f>" master somewhere; searching "f>" finds both kinds).
    if b"f>" not in buf and b"<f " not in buf and b":f " not in buf:
        return
    for cell in _CELL.finditer(buf):
        body = cell.group(3)
        formula = _FORMULA.search(body)
        if formula is None or _VALUE.search(body) is not None:
            continue
        ref = _REF.search(cell.group(2))
        text = _formula_text(formula)
        position = cell_position(ref.group(1).decode("ascii", "replace")) if ref else None
        if position is None:
            scan.formula_without_ref = scan.formula_without_ref or text
            continue
        if len(scan.formulas) >= limits.max_formulas:
            scan.more_formulas = True
            return
        scan.formulas.append((position[0], position[1], text))


def _formula_text(match: re.Match[bytes]) -> str:
    body = match.group(3)
    if not body:
        return "(a shared formula)" if b"shared" in match.group(1) else "(a formula)"
    return "=" + excerpt(html.unescape(body.decode("utf-8", "replace")))
