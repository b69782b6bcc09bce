"""Workbooks written part by part, for the tests and benchmarks that need odd ones.

openpyxl writes only well-formed workbooks (and always a truthful ``<dimension>``); the
hostile files a seller's broken tool or an attacker can send need the parts written by
hand: a cell at XFD1048576 with no dimension saying so, a sheet that unpacks to a gigabyte,
central-directory sizes that lie, formulas without saved values. Importable without pytest.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
HEADERS = ["Order ID", "Order Item ID", "Qty", "Ship Date", "Carrier", "Tracking Number"]


def column(index: int) -> str:
    out, n = "", index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@dataclass(frozen=True)
class Formula:
    """A formula cell; ``saved`` is the value Excel stored with it (None: none stored, as
    programs that write formulas without calculating them leave it)."""

    text: str
    saved: str | None = None


def cell(ref: str, value: object) -> str:
    """One <c>: a number as <v>, text inline, a Formula with or without its saved value."""
    if isinstance(value, Formula):
        saved = "" if value.saved is None else f"<v>{escape(value.saved)}</v>"
        return f'<c r="{ref}" t="str"><f>{escape(value.text)}</f>{saved}</c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def rows_xml(rows: Iterable[Sequence[object]], first_row: int = 1) -> Iterable[str]:
    for r, values in enumerate(rows, first_row):
        cells = "".join(cell(f"{column(c)}{r}", v) for c, v in enumerate(values) if v != "")
        yield f'<row r="{r}">{cells}</row>'


def write_workbook(
    path: Path, sheet_parts: Iterable[str], *, dimension: str | None = None, repeat: int = 0
) -> Path:
    """A one-sheet workbook whose sheetData is ``sheet_parts`` joined. ``repeat``: the last
    part is written that many times more, compressed once (how a test makes a gigabyte
    of sheet in a second: each copy is a deflate block that starts afresh)."""
    head = SHEET_HEAD + (f'<dimension ref="{dimension}"/>' if dimension else "") + "<sheetData>"
    parts = [p.encode() for p in [head, *sheet_parts]]
    tail = b"</sheetData></worksheet>"
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out, crc, size = [], 0, 0
    for part in parts:
        out.append(c.compress(part))
        crc, size = zlib.crc32(part, crc), size + len(part)
    if repeat:
        out.append(c.flush(zlib.Z_FULL_FLUSH))
        block = c.compress(parts[-1]) + c.flush(zlib.Z_FULL_FLUSH)
        out.extend(block for _ in range(repeat))
        for _ in range(repeat):
            crc = zlib.crc32(parts[-1], crc)
        size += len(parts[-1]) * repeat
    out.append(c.compress(tail) + c.flush())
    crc, size = zlib.crc32(tail, crc), size + len(tail)
    members = [_member(n, t.encode()) for n, t in _FIXED_PARTS]
    members.append(("xl/worksheets/sheet1.xml", b"".join(out), crc, size))
    path.write_bytes(_zip(members))
    return path


_FIXED_PARTS = [
    ("[Content_Types].xml", _CONTENT_TYPES),
    ("_rels/.rels", _RELS),
    ("xl/workbook.xml", _WORKBOOK),
    ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
]


def _member(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return name, c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A plain (not zip64) zip of already deflated members."""
    body, central = bytearray(), bytearray()
    for name, raw, crc, size in members:
        encoded = name.encode()
        fixed = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0x21, crc, len(raw), size, len(encoded), 0)
        central += (
            b"PK\x01\x02"
            + struct.pack("<H", 20)
            + fixed
            + struct.pack("<HHHII", 0, 0, 0, 0, len(body))
            + encoded
        )
        body += b"PK\x03\x04" + fixed + encoded + raw
    end = struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(body), 0)
    return bytes(body + central + b"PK\x05\x06" + end)


def orders_workbook(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    return write_workbook(path, rows_xml([HEADERS, *rows]))


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def order_rows(count: int, seed: int = 7, batch: int = 9) -> list[list[object]]:
    """Valid orders shipped today by UPS (order ids 111-<batch>-<n>)."""
    from service_support import item_id, order_id, ups

    rng = random.Random(seed)
    return [
        [order_id(n, batch), item_id(n), 1, today(), "UPS", ups(rng)] for n in range(1, count + 1)
    ]


def far_cell_workbook(path: Path, *, declared: bool = False) -> Path:
    """A header, one order, and one cell at XFD1048576: a few KB that a dense reader
    turns into 17 billion cells. ``declared``: the dimension says so (Excel would)."""
    parts = [
        *rows_xml([HEADERS, *order_rows(1)]),
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
    ]
    return write_workbook(path, parts, dimension="A1:XFD1048576" if declared else None)


def zip_bomb_workbook(path: Path, unpacked_mb: int = 1100) -> Path:
    """About 1 MB that unpacks to ``unpacked_mb`` MB of sheet XML: a header, then the same
    padding whitespace over and over (deflate packs it about 1000 to 1)."""
    pad = " " * (1 << 20)
    return write_workbook(path, [*rows_xml([HEADERS]), pad], repeat=unpacked_mb - 1)


def lie_about_sizes(path: Path, member: str, declared: int) -> Path:
    """Rewrite ``member``'s uncompressed size in both zip headers as ``declared``: the
    central directory then says nothing is big, and only unpacking finds out."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo(member)
    if info.file_size >= 0xFFFFFFFF or info.compress_size >= 0xFFFFFFFF:
        raise ValueError("zip64 members are not supported here")
    name = member.encode()
    local = data.find(b"PK\x03\x04" + data[info.header_offset + 4 : info.header_offset + 26])
    struct.pack_into("<I", data, local + 22, declared)
    central = data.rfind(b"PK\x01\x02", 0)
    while central >= 0:
        n = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + n] == name:
            struct.pack_into("<I", data, central + 24, declared)
            break
        central = data.rfind(b"PK\x01\x02", 0, central)
    path.write_bytes(bytes(data))
    return path
