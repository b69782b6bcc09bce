"""What reading workbooks in a limited child process costs, and what it saves.

(1) Peak memory (max RSS) of the process that reads, and of the child that does the work,
    for a far-cell workbook, a 1 MB zip bomb and a normal 100,000-row workbook: before
    (calamine in the reading process itself, as the reader was) and now (the sandbox).
(2) Time to read a normal 10-row and 100,000-row workbook to the end: calamine in this
    process (before), the new reader without the child (checks + rows), and with it.

Each measurement of (1) runs in a fresh process, so one workbook's peak cannot hide
another's.

    python benchmarks/xlsx_sandbox.py [--rows 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from xlsx_support import (  # noqa: E402
    far_cell_workbook,
    order_rows,
    orders_workbook,
    zip_bomb_workbook,
)


def read_before(path: str) -> int:
    """The reader as it was: calamine in this process, each row's mapped cells through
    cell_text into column lists (the old XlsxReader.chunks loop), with ingest.readers
    imported as the service has it (pandas is part of the baseline)."""
    from python_calamine import CalamineWorkbook

    import ingest.readers  # noqa: F401
    from feeds.model import FIELDS
    from ingest.cells import cell_text
    from ingest.columns import map_headers

    with open(path, "rb") as fh:
        book = CalamineWorkbook.from_filelike(fh)
        sheet = book.get_sheet_by_name(book.sheet_names[0])
        rows = sheet.iter_rows()
        headers = [cell_text(c) for c in next(rows)]
        columns, _ = map_headers(headers, None, file=path)
        fields_at = [(f, headers.index(h)) for f, h in columns.items() if h is not None]
        lines: list[int] = []
        cells: dict[str, list[str]] = {f: [] for f in FIELDS}
        for line, row in enumerate(rows, 2):
            values = {f: cell_text(row[i]) if i < len(row) else "" for f, i in fields_at}
            if not any(v.strip() for v in values.values()):
                continue
            lines.append(line)
            for f in FIELDS:
                cells[f].append(values.get(f, ""))
        return len(lines)


def read_now(path: str, *, sandboxed: bool = True) -> int:
    from feeds.errors import FileRejected
    from ingest import xlsx_sandbox
    from ingest.readers import open_reader

    xlsx_sandbox.SANDBOXED = sandboxed
    try:
        with open(path, "rb") as fh, closing(open_reader(fh, Path(path).name)) as reader:
            return sum(len(c) for c in reader.chunks())
    except FileRejected:
        return -1
    finally:
        xlsx_sandbox.SANDBOXED = True


def high_water_kb(pid: int | str = "self") -> int:
    """VmHWM: the peak resident memory of one process's own address space (ru_maxrss is
    carried over from the parent across exec, so it would count the benchmark's own)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _Watched(subprocess.Popen):
    """The sandbox's child, its VmHWM sampled every few milliseconds until it exits."""

    peak_kb = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while self.poll() is None:
            _Watched.peak_kb = max(_Watched.peak_kb, high_water_kb(self.pid))
            time.sleep(0.005)


def one(way: str, path: str) -> None:
    """Child mode: read ``path`` one way, print this process's and its child's peaks."""
    from ingest import xlsx_sandbox

    xlsx_sandbox.subprocess.Popen = _Watched  # type: ignore[misc]
    rows = read_before(path) if way == "before" else read_now(path)
    print(json.dumps({"rows": rows, "self_kb": high_water_kb(), "children_kb": _Watched.peak_kb}))


def peak(way: str, path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", way, str(path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        said = [ln for ln in proc.stderr.splitlines() if "memory allocation" in ln][:1]
        return f"the reading process died ({how}){': ' + said[0] if said else ''}"
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    outcome = "rejected" if got["rows"] < 0 else f"{got['rows']:,} rows"
    child = f", child {got['children_kb'] / 1024:.0f} MB" if way == "now" else ""
    return f"{outcome}; reading process {got['self_kb'] / 1024:.0f} MB{child}"


def timed(fn: object, path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(str(path))  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--one", nargs=2, metavar=("WAY", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(*args.one)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small = orders_workbook(folder / "small.xlsx", order_rows(10))
        big = orders_workbook(folder / "big.xlsx", order_rows(args.rows))
        far = far_cell_workbook(folder / "far.xlsx")
        bomb = zip_bomb_workbook(folder / "bomb.xlsx")
        print("peak memory (max RSS), each in a fresh process:")
        for label, path in (
            (f"far cell ({far.stat().st_size:,} bytes)", far),
            (f"zip bomb ({bomb.stat().st_size:,} bytes)", bomb),
            (f"{args.rows:,} rows ({big.stat().st_size:,} bytes)", big),
        ):
            print(f"  {label}")
            print(f"    before: {peak('before', path)}")
            print(f"    now:    {peak('now', path)}")
        bare = timed(
            lambda _: subprocess.run([sys.executable, "-I", "-c", "pass"], check=True),
            small,
            args.repeat,
        )
        print(f"time to read every row, median of {args.repeat}:")
        print(f"  (starting a bare python -I on this machine now: {bare:.1f} ms)")
        for label, path in (("10 rows", small), (f"{args.rows:,} rows", big)):
            before = timed(read_before, path, args.repeat)
            here = timed(lambda p: read_now(p, sandboxed=False), path, args.repeat)
            child = timed(read_now, path, args.repeat)
            print(
                f"  {label:>12}: calamine in-process (before) {before:8.1f} ms | "
                f"new reader in-process {here:8.1f} ms | in the child {child:8.1f} ms "
                f"(child overhead {child - here:+.1f} ms, vs before {child - before:+.1f} ms)"
            )


if __name__ == "__main__":
    main()
