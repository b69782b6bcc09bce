"""A delimited text file's rows as polars columns, chunk for chunk what TextReader yields.

The columnar convert path (processors/columnar.py) reads with polars' CSV parser, which
hands over Arrow strings without one Python object per cell. It must see the same rows
with the same line numbers as TextReader (pandas' C parser), so it takes only the files on
which the two parsers cannot differ, and says so up front (:func:`columnar_layout`):

- UTF-8 (or ASCII) text, which polars decodes itself;
- no quote character anywhere: every line is one record, split at every delimiter;
- no bare carriage return (pandas ends a line there, polars does not) and no NUL byte.

Chunks are cut at exactly ``chunk_rows`` records, as pandas' ``chunksize`` cuts them, so
package grouping (per chunk) gives the same messages either way. A line with more cells
than the file's widest sampled line makes polars raise, which the caller takes as "read
this file the plain way" (where pandas rejects it with its own words).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from feeds.model import FIELDS, RowChunk

if TYPE_CHECKING:
    import polars as pl

_BLOCK = 4 * 1024 * 1024
_NEWLINE = 10


class NotColumnar(Exception):
    """This file (or a line of it) is not one the columnar reader reads like pandas."""


@dataclass(frozen=True)
class ColumnarLayout:
    """Where the data rows start and how to split them (from TextReader's inspection)."""

    data_offset: int  # byte offset of the first data line
    first_line: int  # its line number as a spreadsheet shows it
    delimiter: str
    width: int  # cells per line, as TextReader names them
    fields_at: dict[str, int]  # field -> cell index


def columnar_layout(
    stream: BinaryIO,
    *,
    encoding: str | None,
    delimiter: str | None,
    header_index: int,
    width: int,
    fields_at: dict[str, int],
) -> ColumnarLayout | None:
    """The layout for :func:`columnar_chunks`, or None when the file must be read the
    plain way (see the module docstring). Reads the stream once (C speed, no decoding)."""
    if encoding not in ("utf-8", "utf-8-sig", "ascii") or delimiter is None:
        return None
    if len(delimiter.encode()) != 1:
        return None
    stream.seek(0)
    offset = 0
    newlines = 0
    data_offset: int | None = None
    tail = b""
    while True:
        block = stream.read(_BLOCK)
        if not block:
            break
        if b'"' in block or b"\x00" in block:
            stream.seek(0)
            return None
        if tail == b"\r" and block[:1] != b"\n":
            stream.seek(0)
            return None  # a bare carriage return at the end of the previous block
        carriage_returns = block.count(b"\r")
        if carriage_returns:
            bare = carriage_returns - block.count(b"\r\n") - block.endswith(b"\r")
            if bare:
                stream.seek(0)
                return None
        tail = block[-1:]
        if data_offset is None:
            need = header_index + 1 - newlines
            count = block.count(b"\n")
            if count >= need:
                at = -1
                for _ in range(need):  # the header is near the top: a few finds
                    at = block.index(b"\n", at + 1)
                data_offset = offset + at + 1
            newlines += count
        offset += len(block)
    stream.seek(0)
    if tail == b"\r":
        return None  # the file ends with a bare carriage return
    if data_offset is None:
        data_offset = offset  # no data line at all
    return ColumnarLayout(
        data_offset=data_offset,
        first_line=header_index + 2,
        delimiter=delimiter,
        width=width,
        fields_at=dict(fields_at),
    )


def columnar_chunks(
    stream: BinaryIO, layout: ColumnarLayout, chunk_rows: int
) -> Iterator[tuple[pl.DataFrame, int, int]]:
    """(frame, records read, bytes read so far) per chunk of ``chunk_rows`` records.

    The frame has a column per field (text, '' when empty or absent) and ``line`` (int64),
    without the lines whose mapped cells are all empty (counted, left out), as TextReader.
    """
    stream.seek(layout.data_offset)
    first_line = layout.first_line
    done = layout.data_offset
    buf = b""
    count = 0  # line breaks in buf, each block counted once as it comes
    eof = False
    while True:
        parts = [buf]
        while not eof and count < chunk_rows:
            more = stream.read(_BLOCK)
            if not more:
                eof = True
            parts.append(more)
            count += more.count(b"\n")
        buf = b"".join(parts) if len(parts) > 1 else buf
        if not buf:
            return
        if count >= chunk_rows:
            import numpy as np

            ends = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == _NEWLINE)
            cut = int(ends[chunk_rows - 1]) + 1
            count -= chunk_rows
        else:
            cut = len(buf)
            count = 0
        block, buf = buf[:cut], buf[cut:]
        done += len(block)
        frame = _parse(block, layout)
        records = frame.height
        yield _shape(frame, layout, first_line), records, done
        first_line += records


def _parse(block: bytes, layout: ColumnarLayout) -> pl.DataFrame:
    import polars as pl

    used = sorted(set(layout.fields_at.values()))
    try:
        return pl.read_csv(
            block,
            has_header=False,
            separator=layout.delimiter,
            quote_char=None,
            schema={f"c{i}": pl.String for i in range(layout.width)},
            columns=used,
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except Exception as exc:  # a line wider than the header, bad UTF-8...
        raise NotColumnar(f"{type(exc).__name__}: {exc}") from exc


def _shape(frame: pl.DataFrame, layout: ColumnarLayout, first_line: int) -> pl.DataFrame:
    import polars as pl

    cells = {
        f: (pl.col(f"c{layout.fields_at[f]}").fill_null("") if f in layout.fields_at else None)
        for f in FIELDS
    }
    out = frame.select(
        pl.int_range(first_line, first_line + frame.height, dtype=pl.Int64).alias("line"),
        *[(e if e is not None else pl.lit("")).alias(f) for f, e in cells.items()],
    )
    mapped = [f for f in FIELDS if f in layout.fields_at]
    return out.filter(pl.any_horizontal([pl.col(f) != "" for f in mapped]))


class SplitReader:
    """The rows of a small file polars would read (see :func:`columnar_layout`) as the
    RowChunks TextReader makes, split in plain Python: for a file of a few lines, loading
    pandas or polars costs more than reading it (`validate` of 10 lines: under 0.5 s).

    Same rule as pandas on such a file: a line is a record, cells are split at every
    delimiter, missing cells are empty, and a line with more cells than the file's widest
    sampled line is refused by raising NotColumnar (the caller reads it with pandas).
    """

    def __init__(
        self,
        stream: BinaryIO,
        layout: ColumnarLayout,
        chunk_rows: int,
        columns: dict[str, str | None],
    ) -> None:
        self._stream = stream
        self._layout = layout
        self._chunk_rows = chunk_rows
        self._columns = dict(columns)

    def chunks(self) -> Iterator[RowChunk]:
        layout = self._layout
        self._stream.seek(layout.data_offset)
        data = self._stream.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotColumnar(str(exc)) from exc
        records = text.split("\n")
        if records and records[-1] == "":
            records.pop()  # the line break that ends the last line starts no record
        fields = [(f, layout.fields_at[f]) for f in FIELDS if f in layout.fields_at]
        width = layout.width
        line = layout.first_line
        for start in range(0, len(records), self._chunk_rows):
            lines: list[int] = []
            cells: dict[str, list[str]] = {f: [] for f in FIELDS}
            for record in records[start : start + self._chunk_rows]:
                parts = record.removesuffix("\r").split(layout.delimiter)
                if len(parts) > width:
                    raise NotColumnar(f"line {line} has more cells than the header names")
                row = [parts[i] if i < len(parts) else "" for _, i in fields]
                if any(row):
                    lines.append(line)
                    for (f, _), value in zip(fields, row, strict=True):
                        cells[f].append(value)
                line += 1
            for f in FIELDS:
                if f not in layout.fields_at:
                    cells[f] = [""] * len(lines)
            if lines:
                yield RowChunk(lines=lines, cells=cells, columns=dict(self._columns))
