"""The process that opens a seller's workbook, under limits, and hands back plain rows.

Run by ingest/xlsx_sandbox.py as ``python -I -S -c ...`` with one JSON argument. It puts the
operating system's limits on itself first (address space, processor time, size of what it
writes, no core file), then reads the workbook's bytes from stdin, checks what the
workbook declares (ingest/xlsx_guard.py), opens the sheet with calamine, and writes the
rows to the file descriptor it was given as frames: 4 bytes of big-endian length, then a
JSON list of rows, each a list of cell texts with trailing empty cells left off. Its last
word is one JSON line on stdout: the sheet's names and position, the formula cells that
have no value, or why the workbook was refused.

Whatever a workbook makes this process do (abort on a 512 GiB allocation, spin, fill the
disk), it ends here: the service that started it reads the exit and rejects the file.
Imports only the standard library, python_calamine and the stdlib-only ingest.cells,
ingest.xlsx_guard and feeds.excerpt.
"""

from __future__ import annotations

import errno
import io
import json
import os
import resource
import struct
import sys
import threading
import zipfile
from collections.abc import Callable
from typing import Any

from feeds.excerpt import excerpt
from ingest.cells import cell_text
from ingest.xlsx_guard import (
    SheetLimits,
    SheetRefused,
    SheetScan,
    check_archive,
    inflate,
    scan_sheet,
    sheet_dimension,
    sheet_parts,
)

_RESAVE = "open it in Excel, check it, and save it again as .xlsx or as CSV UTF-8"

#: Rows per frame: big enough that framing costs nothing, small enough to stay light.
FRAME_ROWS = 4096

#: Exit codes the parent reads; anything else (or a signal) is a crash.
EXIT_OK = 0
EXIT_NO_MEMORY = 3
EXIT_TOO_MUCH_OUTPUT = 4


def limit_self(limits: SheetLimits) -> None:
    """The OS limits, set before a byte of the workbook is read."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not dump 512 GiB
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    cpu = max(1, int(limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.rows_bytes, limits.rows_bytes))


def extract(
    data: bytes, sheet: str | None, limits: SheetLimits, write: Callable[[bytes], object]
) -> dict[str, Any]:
    """Check and read the workbook in ``data``; write row frames with ``write``; return
    what the parent needs to know (see the module docstring). Raises SheetRefused."""
    from python_calamine import CalamineWorkbook

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SheetRefused(f"the file could not be opened as an Excel workbook ({exc})") from exc
    with zf:
        # Everything calamine will unpack is checked before calamine opens the workbook:
        # opening already reads the shared strings, and a sheet is read whole.
        check_archive(zf, limits)
        parts = sheet_parts(zf, limits)
        budget = [limits.unpacked_bytes]
        strings = _shared_strings(zf)
        if strings is not None:
            for _ in inflate(zf, strings, budget):
                pass
        guess = sheet if sheet is not None else next(iter(parts), None)
        dimension = None
        if guess is not None and parts.get(guess) in zf.NameToInfo:
            dimension = sheet_dimension(zf, parts[guess], limits)
        try:
            workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as exc:  # calamine raises several unrelated types for a bad zip
            raise SheetRefused(
                f"the file could not be opened as an Excel workbook ({exc})"
            ) from exc
        names = list(workbook.sheet_names)
        meta: dict[str, Any] = {"names": names}
        chosen = sheet if sheet is not None else (names[0] if names else None)
        if chosen is None or chosen not in names:
            return meta  # the parent words "no sheets" and "no sheet named X"
        meta["sheet"] = chosen
        part = parts.get(chosen)
        if chosen != guess and part in zf.NameToInfo:
            dimension = sheet_dimension(zf, part, limits)
        # The whole-sheet pass (sizes, formulas) runs beside calamine's parse, which lets
        # go of the GIL: on a second core it costs no time. The dimension and the zip's
        # declared sizes were checked before; if the sheet lies about its size, calamine
        # meets the memory limit or finishes first and the pass refuses it after.
        scan = _Scan(zf, part, limits, budget) if part in zf.NameToInfo else None
        try:
            opened = workbook.get_sheet_by_name(chosen)
        except Exception as exc:  # calamine's own errors: a damaged or lying sheet
            if scan is not None:
                scan.result()  # the pass's refusal, when it has one, says more
            raise SheetRefused(
                f"the sheet could not be read ({excerpt(str(exc))})", hint=_RESAVE
            ) from exc
        finally:
            if scan is not None:
                scan.wait()  # never left reading a zip that is about to close
        start = opened.start
        meta["start"] = list(start) if start else None
        meta["dimension"] = dimension
        if scan is not None:
            found = scan.result()
            meta["formulas"] = found.formulas
            meta["more_formulas"] = found.more_formulas
            meta["formula_without_ref"] = found.formula_without_ref
        meta["rows"] = _write_rows(opened, write)
    return meta


class _Scan:
    """scan_sheet in a thread; ``result()`` waits for it and raises what it raised."""

    def __init__(
        self, zf: zipfile.ZipFile, member: Any, limits: SheetLimits, budget: list[int]
    ) -> None:
        self._found: SheetScan | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(zf, member, limits, budget))
        self._thread.start()

    def _run(
        self, zf: zipfile.ZipFile, member: str, limits: SheetLimits, budget: list[int]
    ) -> None:
        try:
            self._found = scan_sheet(zf, member, limits, budget)
        except BaseException as exc:  # handed to the main thread by result()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> SheetScan:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._found is not None
        return self._found


def _shared_strings(zf: zipfile.ZipFile) -> str | None:
    for info in zf.infolist():
        if info.filename.lower().endswith("sharedstrings.xml"):
            return info.filename
    return None


def _write_rows(opened: Any, write: Callable[[bytes], object]) -> int:
    batch: list[list[str]] = []
    count = 0
    for row in opened.iter_rows():
        cells = [c if c.__class__ is str else cell_text(c) for c in row]  # most are text
        while cells and not cells[-1]:
            cells.pop()
        batch.append(cells)
        count += 1
        if len(batch) >= FRAME_ROWS:
            _write_frame(batch, write)
            batch = []
    if batch:
        _write_frame(batch, write)
    return count


def _write_frame(batch: list[list[str]], write: Callable[[bytes], object]) -> None:
    payload = json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    write(struct.pack(">I", len(payload)) + payload)


def main(argv: list[str] | None = None) -> int:
    args = json.loads((argv or sys.argv)[1])
    limits = SheetLimits(**args["limits"])
    limit_self(limits)
    out = os.fdopen(args["fd"], "wb", buffering=1 << 20)
    try:
        data = sys.stdin.buffer.read()
        meta = extract(data, args["sheet"], limits, out.write)
        out.flush()
    except SheetRefused as exc:
        meta = {"refused": exc.reason, "hint": exc.hint}
    except MemoryError:
        return EXIT_NO_MEMORY
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            return EXIT_TOO_MUCH_OUTPUT
        raise
    sys.stdout.write(json.dumps(meta) + "\n")
    sys.stdout.flush()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover - run through xlsx_sandbox
    sys.exit(main())
