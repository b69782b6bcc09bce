"""Reading a workbook in a child process under limits, so a hostile one cannot take the
service down with it.

calamine (Rust) holds a sheet as one dense grid of its used area. One cell at XFD1048576
makes that 17 billion cells; the allocation fails and Rust aborts the whole process: no
exception, no report, and at the next start the same file is claimed first and aborts it
again. A zip bomb of 1 MB takes 1.2 GB. So the workbook is opened by ingest/xlsx_child.py
in its own process, with the operating system's limits on memory, processor time and
output, and a clock; the child writes the sheet's rows to an unnamed temporary file and
exits. Whatever kills the child becomes a FileRejected naming what happened, and the
caller's process never holds the workbook at all (it used to hold the whole grid).

Rows are read back from the temporary file with positioned reads (``os.pread``), so any
number of passes, and a forked worker (processors/readahead.py), each keep their own place.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from feeds.errors import FileRejected
from feeds.excerpt import excerpt
from ingest import xlsx_child
from ingest.xlsx_guard import SheetLimits, SheetRefused, size_text

#: The folder holding the ``ingest`` package, put first on the child's sys.path.
_ROOT = str(Path(__file__).resolve().parents[1])
#: The child starts with ``-I -S``: no site (site's .pth hooks cost 170 ms a file here),
#: just our package and the folder python_calamine is installed in.
_BOOT = (
    "import sys; sys.path[:0] = [sys.argv[2]]; sys.path.append(sys.argv[3]); "
    "from ingest.xlsx_child import main; sys.exit(main(sys.argv[:2]))"
)


def _calamine_dir() -> str:
    spec = importlib.util.find_spec("python_calamine")
    if spec is None or spec.origin is None:
        raise ImportError("python_calamine is not installed")
    return str(Path(spec.origin).resolve().parents[1])


#: False reads in this process without limits: only for tests that compare both ways.
SANDBOXED = True

_ALLOCATION = re.compile(r"memory allocation of (\d+) bytes failed")
_HINT = "open it in Excel, check it, and save it again as .xlsx or as CSV UTF-8"


@dataclass
class Sheet:
    """One sheet read by the child: its rows (``iter_rows``) and what was found out."""

    names: list[str]
    sheet: str | None
    #: (row, column) of the first cell of the used area, both from 0, as calamine counts
    start: tuple[int, int] | None
    row_count: int = 0
    #: formula cells without a saved value: (row number, column index from A = 0) → formula
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    more_formulas: bool = False
    formula_without_ref: str | None = None
    _spool: IO[bytes] | None = None

    def __post_init__(self) -> None:
        if self._spool is not None:
            weakref.finalize(self, self._spool.close)

    def iter_rows(self) -> Iterator[list[str]]:
        """Every row of the used area from its first, each a list of cell texts without
        its trailing empty cells. Each call starts again from the first row."""
        if self._spool is None:
            return
        fd = self._spool.fileno()
        offset = 0
        while True:
            head = os.pread(fd, 4, offset)
            if len(head) < 4:
                return
            (size,) = struct.unpack(">I", head)
            payload = _pread_exactly(fd, size, offset + 4)
            offset += 4 + size
            yield from json.loads(payload)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def _pread_exactly(fd: int, size: int, offset: int) -> bytes:
    parts: list[bytes] = []
    while size:
        got = os.pread(fd, size, offset)
        if not got:
            raise EOFError("the sheet's rows end in the middle of a frame")
        parts.append(got)
        size -= len(got)
        offset += len(got)
    return b"".join(parts)


def read_sheet(
    stream: BinaryIO, name: str, sheet: str | None, limits: SheetLimits | None = None
) -> Sheet:
    """Open ``sheet`` (None: the first) of the workbook in ``stream`` in a limited child
    process; FileRejected for a workbook refused, or one that killed its reader."""
    limits = limits or SheetLimits()
    stream.seek(0)
    data = stream.read()
    stream.seek(0)
    # Unnamed, so nothing is left behind; owned by the Sheet returned (closed on error here).
    spool = tempfile.TemporaryFile(prefix="shipfeed-sheet-")  # noqa: SIM115
    try:
        if SANDBOXED:
            meta = _run_child(data, name, sheet, limits, spool)
        else:
            meta = _run_here(data, sheet, limits, spool)
        if "refused" in meta:
            raise FileRejected(name, meta["refused"], hint=meta.get("hint"))
    except BaseException:
        spool.close()
        raise
    start = meta.get("start")
    return Sheet(
        names=list(meta["names"]),
        sheet=meta.get("sheet"),
        start=(int(start[0]), int(start[1])) if start else None,
        row_count=int(meta.get("rows", 0)),
        formulas={(int(r), int(c)): str(t) for r, c, t in meta.get("formulas") or []},
        more_formulas=bool(meta.get("more_formulas")),
        formula_without_ref=meta.get("formula_without_ref"),
        _spool=spool,
    )


def _run_here(data: bytes, sheet: str | None, limits: SheetLimits, spool: IO[bytes]) -> Any:
    try:
        meta = xlsx_child.extract(data, sheet, limits, spool.write)
    except SheetRefused as exc:
        return {"refused": exc.reason, "hint": exc.hint}
    spool.flush()
    return meta


def _run_child(
    data: bytes, name: str, sheet: str | None, limits: SheetLimits, spool: IO[bytes]
) -> Any:
    args = {"limits": limits.to_json(), "sheet": sheet, "fd": spool.fileno()}
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _BOOT, json.dumps(args), _ROOT, _calamine_dir()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(spool.fileno(),),
    )
    try:
        out, err = proc.communicate(data, timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise FileRejected(
            name,
            f"reading the workbook took longer than {limits.wall_seconds:g} seconds, "
            "so it was stopped",
            hint=_HINT,
        ) from None
    finally:
        if proc.poll() is None:  # an exception of our own (KeyboardInterrupt) mid-read
            proc.kill()
            proc.wait()
    if proc.returncode == xlsx_child.EXIT_OK:
        lines = out.decode("utf-8", "replace").strip().splitlines()
        if lines:
            return json.loads(lines[-1])
    raise FileRejected(name, _death(proc.returncode, err, limits), hint=_HINT)


def _death(code: int, stderr: bytes, limits: SheetLimits) -> str:
    """Why the child ended as it did, in words for the seller and the operator."""
    text = stderr.decode("utf-8", "replace")
    allocation = _ALLOCATION.search(text)
    if allocation is not None or code == xlsx_child.EXIT_NO_MEMORY:
        asked = f" asked for {size_text(int(allocation.group(1)))} and" if allocation else ""
        return (
            f"the workbook could not be read: its reader{asked} ran out of the "
            f"{size_text(limits.memory_bytes)} of memory it may use; usually one value typed "
            "far to the right or far below the data (e.g. in cell XFD1048576) makes a sheet "
            "this big, or the file is a zip bomb"
        )
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return (
            f"reading the workbook took more than {limits.cpu_seconds} seconds of processor "
            "time, so it was stopped"
        )
    if code == xlsx_child.EXIT_TOO_MUCH_OUTPUT:
        return f"the workbook's rows take more than {size_text(limits.rows_bytes)}"
    how = f"exit code {code}"
    if code < 0:
        try:
            how = f"signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"signal {-code}"
    last = text.strip().splitlines()[-1] if text.strip() else "no message"
    return f"the workbook's reader stopped ({how}) while reading it: {excerpt(last)}"
