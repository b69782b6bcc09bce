"""Bytes of a seller's file → bounded chunks of rows, whatever Excel or a legacy system made.

A reader finds the file's kind, encoding, delimiter and header row once, up front, so a
file that cannot be used is rejected whole before any line is validated; then it streams
the rows in chunks of bounded size so memory does not grow with the file.

Line numbers are what a seller sees in a spreadsheet: the header is row 1 (or wherever it
was found), blank rows are counted and left out. A quoted cell holding a line break is
still one row, so after such a cell the number is the record number (what Excel shows),
not the physical line of a text editor.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

from feeds.errors import FileRejected, ShipfeedError
from feeds.excerpt import excerpt
from feeds.model import FIELDS, LineError, RowChunk
from ingest.columnar import ColumnarLayout, columnar_layout
from ingest.columns import map_headers, missing_required, require_columns
from ingest.encodings import detect_encoding
from ingest.xlsx_guard import SheetLimits, column_letters
from ingest.xlsx_sandbox import read_sheet

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["csv", "tsv", "xlsx"]

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_SAMPLE_BYTES = 64 * 1024
_HEADER_SEARCH_ROWS = 10  # a title line or two above the header is common in exports
_DELIMITERS = (",", "\t", ";", "|")


@dataclass
class FileInfo:
    """What was found out about a file, shown at the top of its report."""

    name: str
    kind: Kind
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    headers: list[str]
    columns: dict[str, str | None]
    unknown_columns: list[str] = field(default_factory=list)
    header_line: int = 1  # row number of the header as a spreadsheet shows it


class RowReader(Protocol):
    info: FileInfo

    def chunks(self) -> Iterator[RowChunk]: ...

    def close(self) -> None:
        """Let go of what the reader holds (a workbook's rows in a temporary file)."""
        ...

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Every line ``chunks`` yields, with the same line number, as ALL its cells: one
        text per header in ``info.headers``. The result report mirrors the seller's own
        columns from this; cells past the last named column belong to no column and are
        left out."""
        ...


def open_reader(
    stream: BinaryIO,
    name: str,
    *,
    column_map: Mapping[str, str] | None = None,
    sheet: str | None = None,
    chunk_rows: int = 50_000,
    limits: SheetLimits | None = None,
) -> RowReader:
    """Inspect ``stream`` and return a reader of its rows; raise FileRejected if unusable.

    The stream must be seekable: the header is read first and the rows are read again
    from the start, so nothing is held in memory in between.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    stream.seek(0)
    head = stream.read(_SAMPLE_BYTES)
    stream.seek(0)
    if head.startswith(_XLSX_MAGIC):
        return XlsxReader(
            stream, name, column_map=column_map, sheet=sheet, chunk_rows=chunk_rows, limits=limits
        )
    if head.startswith(_OLE_MAGIC):
        raise FileRejected(
            name,
            "this is an old-style Excel .xls workbook, which cannot be read",
            hint="open it in Excel and save it as .xlsx or as CSV UTF-8",
        )
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise FileRejected(
            name, "the file is empty: no header row and no lines", hint="check the export"
        )
    return TextReader(stream, name, column_map=column_map, chunk_rows=chunk_rows)


def unreadable(name: str, exc: BaseException) -> FileRejected | None:
    """An unexpected exception raised while reading ``name``, as the rejection of that file.

    Whatever a file's bytes make a reader raise (a pandas error no one foresaw, a
    MemoryError, a bug that only this file finds) is that file's problem: it is rejected
    and the other files go on, instead of the file staying claimed and failing every run.
    None for what is not the file's doing: the disk or network (OSError), our own errors
    (ledger, settings, Amazon), and a stop (KeyboardInterrupt, SystemExit).
    """
    if isinstance(exc, FileRejected):
        return exc
    if not isinstance(exc, Exception) or isinstance(exc, OSError | ShipfeedError):
        return None
    return FileRejected(
        name,
        f"the file could not be read ({type(exc).__name__}: {excerpt(str(exc))})",
        hint="check that it opens in Excel; if it does, send it to the operator, whose log "
        "says more",
    )


# ---------------------------------------------------------------------------------------
# Delimited text (CSV, TSV, TXT)


class TextReader:
    """CSV/TSV through pandas' C parser, the only pure-Python-callable parser fast enough.

    Only the mapped columns are converted (``usecols``), which is both faster and tolerant
    of rows with stray extra cells after the last header.
    """

    def __init__(
        self,
        stream: BinaryIO,
        name: str,
        *,
        column_map: Mapping[str, str] | None,
        chunk_rows: int,
    ) -> None:
        self._stream = stream
        self._chunk_rows = chunk_rows
        encoding = detect_encoding(stream, name)
        text = _decode_sample(stream, encoding)
        delimiter = sniff_delimiter(text, name)
        records = _first_records(text, delimiter)
        cut = _size(stream) > _SAMPLE_BYTES  # the sample ends inside the file
        if cut and len(records) <= 1:
            raise _header_too_long(name)
        header_index, headers = _find_header(records, column_map, name)
        if cut and header_index >= len(records) - 1:
            raise _header_too_long(name)
        columns, unknown = map_headers(headers, column_map, file=name)
        require_columns(columns, headers, name)
        self._header_index = header_index
        self._usecols = sorted({headers.index(h) for h in columns.values() if h is not None})
        # Name every cell the sampled rows have, or pandas takes extras for an index.
        self._width = max(len(r) for r in records)
        self._fields_at = {f: headers.index(h) for f, h in columns.items() if h is not None}
        self.info = FileInfo(
            name=name,
            kind="tsv" if delimiter == "\t" else "csv",
            encoding=encoding,
            delimiter=delimiter,
            sheet=None,
            headers=headers,
            columns=columns,
            unknown_columns=unknown,
            header_line=header_index + 1,
        )

    def close(self) -> None:
        return None  # the stream belongs to the caller

    def columnar_layout(self) -> ColumnarLayout | None:
        """How ingest/columnar.py reads this file's rows exactly as :meth:`chunks` does, or
        None when only pandas can (quotes, another encoding, bare carriage returns)."""
        return columnar_layout(
            self._stream,
            encoding=self.info.encoding,
            delimiter=self.info.delimiter,
            header_index=self._header_index,
            width=self._width,
            fields_at=self._fields_at,
        )

    def chunks(self) -> Iterator[RowChunk]:
        for frame, first_line in self._frames(self._usecols):
            chunk = self._to_chunk(frame, first_line)
            if len(chunk):
                yield chunk

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        # The same parse as chunks() with every named column kept, so record boundaries
        # and line numbers are identical; a line is left out by the same rule (every
        # mapped cell empty).
        n = max(len(self.info.headers), 1)
        mapped = sorted(set(self._fields_at.values()))
        for frame, first_line in self._frames(list(range(n))):
            values = frame.to_numpy()
            filled = (values[:, mapped] != "").any(axis=1)
            for k in filled.nonzero()[0].tolist():
                yield first_line + k, [c if isinstance(c, str) else str(c) for c in values[k]]

    def _frames(self, usecols: list[int]) -> Iterator[tuple[pd.DataFrame, int]]:
        """The file's data rows as DataFrames of ``usecols``, each with its first line number."""
        import pandas as pd  # here, not at import: the columnar path and small commands skip it

        self._stream.seek(0)
        encoding = self.info.encoding or "utf-8"
        wrapper: io.TextIOWrapper | None = None
        source: Any
        if encoding in ("utf-8", "utf-8-sig", "ascii"):
            source = self._stream  # the C parser decodes UTF-8 itself, fastest
        else:
            # Transcode incrementally; newline='' keeps CR/LF for the parser's quoting.
            wrapper = io.TextIOWrapper(self._stream, encoding=encoding, newline="")
            source = wrapper
        try:
            reader = pd.read_csv(
                source,
                sep=self.info.delimiter,
                header=None,
                names=range(self._width),
                usecols=usecols,
                skiprows=self._header_index + 1,
                dtype=object,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
                quotechar='"',
                doublequote=True,
                encoding=encoding if wrapper is None else None,
                chunksize=self._chunk_rows,
            )
            next_line = self._header_index + 2
            with reader:
                for frame in reader:
                    yield frame, next_line
                    next_line += len(frame)
        except pd.errors.ParserError as exc:
            raise FileRejected(
                self.info.name,
                f"the file could not be read as {_kind_label(self.info)}: {_parser_message(exc)}",
                hint='look for a quote (") that is opened but never closed',
            ) from exc
        except UnicodeDecodeError as exc:
            raise FileRejected(
                self.info.name,
                f"the file is not valid {encoding} text after the start ({exc.reason})",
                hint="save it again as CSV UTF-8 from Excel",
            ) from exc
        except ValueError as exc:  # pandas: a first line wider than every sampled one
            raise FileRejected(
                self.info.name,
                f"the file could not be read as {_kind_label(self.info)}: the first line "
                f"has more cells than the header names ({excerpt(str(exc))})",
                hint="delete the cells right of the last named column",
            ) from exc
        finally:
            if wrapper is not None:
                wrapper.detach()  # the stream belongs to the caller: do not close it

    def _to_chunk(self, frame: pd.DataFrame, first_line: int) -> RowChunk:
        n = len(frame)
        columns = {f: frame[i] for f, i in self._fields_at.items()}
        filled = None
        for series in columns.values():
            mask = series.to_numpy() != ""
            filled = mask if filled is None else filled | mask
        if filled is None or filled.all():
            lines = list(range(first_line, first_line + n))
            cells = {f: s.tolist() for f, s in columns.items()}
        else:
            lines = (filled.nonzero()[0] + first_line).tolist()
            cells = {f: s.to_numpy()[filled].tolist() for f, s in columns.items()}
        rows = len(lines)
        for f in FIELDS:
            if f not in cells:
                cells[f] = [""] * rows
        return RowChunk(lines=lines, cells=cells, columns=dict(self.info.columns))


def _size(stream: BinaryIO) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _header_too_long(name: str) -> FileRejected:
    return FileRejected(
        name,
        f"the header row is longer than {_SAMPLE_BYTES // 1024} KiB (or there is no line "
        "break after it); a header row names the columns in a few hundred characters",
        hint="check that this is the shipped-orders export and that its lines end with line breaks",
    )


def _decode_sample(stream: BinaryIO, encoding: str) -> str:
    stream.seek(0)
    raw = stream.read(_SAMPLE_BYTES)
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(raw, final=len(raw) < _SAMPLE_BYTES)


def sniff_delimiter(text: str, name: str = "the file") -> str:
    """Pick the delimiter from the first lines: the candidate splitting them most evenly.

    csv.Sniffer guesses from letter frequencies and picks letters or spaces on short
    files; counting a fixed set of candidates outside quotes is predictable.
    """
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for delim in _DELIMITERS:
        counts = [_count_outside_quotes(ln, delim) for ln in lines[:10]]
        header = counts[0]
        if header == 0:
            continue
        consistent = sum(1 for c in counts if c == header)
        score = (consistent, header)
        if score > best_score:
            best, best_score = delim, score
    if name.lower().endswith((".tsv", ".txt")) and _count_outside_quotes(lines[0], "\t"):
        return "\t"
    return best


def _count_outside_quotes(line: str, delim: str) -> int:
    if '"' not in line:
        return line.count(delim)
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delim and not quoted:
            count += 1
    return count


def _first_records(text: str, delimiter: str) -> list[list[str]]:
    """The first records of the sample, blank ones kept so indexes are row numbers."""
    out: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            out.append(row)
            if len(out) >= _HEADER_SEARCH_ROWS + 5:
                break
    except csv.Error:
        pass  # a sample cut inside a quoted cell; the rows before it are enough
    return out


def _find_header(
    records: list[list[str]], column_map: Mapping[str, str] | None, name: str
) -> tuple[int, list[str]]:
    """The header is the first row naming every required column, else the first non-blank.

    Exports often put a title or a template marker above the header; looking a few rows
    down accepts those without guessing at rows that do not name the columns.
    """
    first: tuple[int, list[str]] | None = None
    seen = 0
    for index, row in enumerate(records):
        if not any(c.strip() for c in row):
            continue
        headers = _trim_trailing_blank(row)
        if first is None:
            first = (index, headers)
        try:
            columns, _ = map_headers(headers, column_map, file=name)
        except FileRejected:
            if first[0] == index:
                raise
            columns = {}
        if columns and not missing_required(columns):
            return index, headers
        seen += 1
        if seen >= _HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise FileRejected(name, "the file has no header row", hint="check the export")
    return first


def _trim_trailing_blank(row: list[Any]) -> list[str]:
    cells = ["" if c is None else str(c).strip() for c in row]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _kind_label(info: FileInfo) -> str:
    return "tab-separated text" if info.delimiter == "\t" else f"'{info.delimiter}'-separated text"


def _parser_message(exc: Exception) -> str:
    return excerpt(str(exc).replace("Error tokenizing data. C error: ", "").strip())


# ---------------------------------------------------------------------------------------
# XLSX


class XlsxReader:
    """A worksheet read by calamine (Rust) in a limited child process (ingest/xlsx_sandbox):
    fast, cells come typed, and a hostile workbook kills only the child.

    Typed cells are turned into the text a seller would have typed (ingest/cells.py):
    whole numbers without '.0', dates as ISO dates, date-times as ISO date-times. A formula
    cell that has no saved value is not empty: its line is rejected with the formula.
    """

    def __init__(
        self,
        stream: BinaryIO,
        name: str,
        *,
        column_map: Mapping[str, str] | None,
        sheet: str | None,
        chunk_rows: int,
        limits: SheetLimits | None = None,
    ) -> None:
        self._chunk_rows = chunk_rows
        read = read_sheet(stream, name, sheet, limits)
        self._sheet = read
        names = read.names
        if not names:
            raise FileRejected(name, "the workbook has no sheets")
        if read.sheet is None:
            raise FileRejected(
                name,
                f"there is no sheet named '{excerpt(sheet or '')}'; the workbook has: "
                + excerpt(", ".join(f"'{n}'" for n in names)),
                hint="fix the sheet name in the seller's settings",
            )
        chosen = read.sheet
        if read.formula_without_ref is not None or read.more_formulas:
            first = read.formula_without_ref or next(iter(read.formulas.values()), "")
            raise FileRejected(
                name,
                "the sheet has formulas without a saved value (such as "
                f"{first}), too many to list line by line; a program that writes formulas "
                "does not calculate them",
                hint="open the file in Excel so that it calculates, save it and upload it "
                "again, or export plain values",
            )
        start = read.start
        self._first_row = (start[0] if start else 0) + 1  # spreadsheet row of the first row
        self._first_col = start[1] if start else 0  # column index of each row's first cell
        head_rows = []
        for row in read.iter_rows():
            head_rows.append(row)
            if len(head_rows) >= _HEADER_SEARCH_ROWS + 5:
                break
        if not any(any(c.strip() for c in r) for r in head_rows):
            raise FileRejected(
                name, f"the sheet '{excerpt(chosen)}' is empty: no header row and no lines"
            )
        header_index, headers = _find_header(head_rows, column_map, name)
        columns, unknown = map_headers(headers, column_map, file=name)
        require_columns(columns, headers, name)
        self._header_index = header_index
        self._fields_at = {f: headers.index(h) for f, h in columns.items() if h is not None}
        # Formula cells without a value, by (line, index in the row), in mapped columns only:
        # a value nothing reads cannot make a line wrong.
        mapped = {i: f for f, i in self._fields_at.items()}
        self._formulas = {
            (line, col - self._first_col): text
            for (line, col), text in read.formulas.items()
            if col - self._first_col in mapped
        }
        self.info = FileInfo(
            name=name,
            kind="xlsx",
            encoding=None,
            delimiter=None,
            sheet=chosen,
            headers=headers,
            columns=columns,
            unknown_columns=unknown,
            header_line=self._first_row + header_index,
        )

    def close(self) -> None:
        self._sheet.close()

    def chunks(self) -> Iterator[RowChunk]:
        fields_at = list(self._fields_at.items())
        headers = self.info.columns
        lines: list[int] = []
        kept: list[list[str]] = []
        for line, row in self._lines():
            lines.append(line)
            kept.append(row)
            if len(lines) >= self._chunk_rows:
                yield self._chunk(lines, kept, fields_at, headers)
                lines, kept = [], []
        if lines:
            yield self._chunk(lines, kept, fields_at, headers)

    def _chunk(
        self,
        lines: list[int],
        kept: list[list[str]],
        fields_at: list[tuple[str, int]],
        headers: dict[str, str | None],
    ) -> RowChunk:
        # Column by column: one comprehension per field beats a dict per row.
        cells = {f: [r[i] if i < len(r) else "" for r in kept] for f, i in fields_at}
        for f in FIELDS:
            if f not in cells:
                cells[f] = [""] * len(lines)
        problems = [
            _formula_error(line, headers[f] or f, i + self._first_col, self._formulas[(line, i)])
            for line in (lines if self._formulas else ())
            for f, i in fields_at
            if (line, i) in self._formulas
        ]
        return RowChunk(lines=lines, cells=cells, columns=dict(headers), problems=problems)

    def _lines(self) -> Iterator[tuple[int, list[str]]]:
        """Each data row below the header with its line number, except those whose mapped
        cells are all blank (a formula without a value is not blank)."""
        mapped = list(self._fields_at.values())
        formulas = self._formulas
        line = self._first_row - 1
        for index, row in enumerate(self._sheet.iter_rows()):
            line += 1
            if index <= self._header_index:
                continue
            n = len(row)
            for i in mapped:
                if i < n and row[i].strip():
                    break
            else:
                if not formulas or not any((line, i) in formulas for i in mapped):
                    continue
            yield line, row

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        # The same lines as chunks(), every named column kept.
        width = len(self.info.headers)
        for line, row in self._lines():
            yield line, [row[i] if i < len(row) else "" for i in range(width)]


def _formula_error(line: int, header: str, column: int, formula: str) -> LineError:
    return LineError(
        line,
        header,
        formula,
        f"cell {column_letters(column)}{line} holds the formula {formula} but no saved value, "
        "so it is not known what it shows; open the file in Excel so that it calculates, "
        "save it and upload it again, or type the value",
    )
