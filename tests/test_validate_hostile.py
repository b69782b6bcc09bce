"""``validate`` on a file that aborted it (a far cell) or that its reader cannot handle exits
2 with the reason, like any rejected file, instead of dying."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from xlsx_support import far_cell_workbook, zip_bomb_workbook

ROOT = Path(__file__).resolve().parents[1]


def validate(path: Path) -> tuple[int, dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "validate", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=path.parent,
        timeout=120,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_validate_far_cell_workbook_exits_2_with_the_reason(tmp_path: Path) -> None:
    code, report = validate(far_cell_workbook(tmp_path / "far.xlsx"))
    assert code == 2
    assert "512 GiB" in str(report["file_error"])


def test_validate_zip_bomb_exits_2_with_the_reason(tmp_path: Path) -> None:
    code, report = validate(zip_bomb_workbook(tmp_path / "bomb.xlsx"))
    assert code == 2
    assert "zip bomb" in str(report["file_error"])


def test_validate_wide_header_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    header = "Order ID,Tracking Number," + ",".join(f"c{i}" for i in range(15_000))
    path.write_text(header + "\n" + "1," * 15_002 + "\n")
    code, report = validate(path)
    assert code == 2
    assert "header row is longer than 64 KiB" in str(report["file_error"])
