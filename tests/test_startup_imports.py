"""`validate` and `convert` of one file load only what they use: no SQLAlchemy (the
ledger), no pydantic-settings, no simulator, no web console, and neither pandas nor polars
for a small clean file (issue 12: `validate` of a 10-line file well under half a second)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEVER = ("sqlalchemy", "pydantic_settings", "feeds.simulator", "console", "fastapi", "httpx")

PROBE = r"""
import json, runpy, sys
sys.argv = ["run.py", *sys.argv[1:]]
try:
    runpy.run_path("run.py", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def modules_after(*args: str, cwd: Path) -> set[str]:
    """The modules a fresh interpreter holds after running ``run.py ARGS``."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    loaded: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    return set(loaded)


def ten_lines(folder: Path) -> Path:
    path = folder / "orders.csv"
    rows = [
        f"112-1234567-{n:07d},{n:014d},1,2026-11-19,UPS,1Z999AA10123456784,Ground"
        for n in range(10)
    ]
    path.write_text(
        "Order ID,Order Item ID,Qty,Ship Date,Carrier,Tracking Number,Service\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    return path


def loaded(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_importing_the_command_line_loads_no_ledger_settings_library_or_simulator() -> None:
    modules = modules_after("--help", cwd=ROOT)
    assert "run" in modules or "__main__" in modules
    assert [n for n in NEVER if loaded(modules, n)] == []


@pytest.mark.parametrize("command", ["validate", "convert"])
def test_one_small_file_loads_no_ledger_settings_library_simulator_or_dataframes(
    command: str, tmp_path: Path
) -> None:
    src = ten_lines(tmp_path)
    out = ["--out", str(tmp_path / "feed.xml")] if command == "convert" else []
    modules = modules_after(command, str(src), *out, cwd=tmp_path)
    assert loaded(modules, "processors.convert")  # the command really ran
    assert [n for n in (*NEVER, "polars", "pandas") if loaded(modules, n)] == []
