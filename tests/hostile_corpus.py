"""The hostile-file corpus: files a broken export or an attacker can put in an inbox, each
with what the service must make of it. Generated, not checked in (the zip bomb is a
gigabyte of sheet in 1 MB); importable without pytest."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from service_support import HEADER, order_lines
from xlsx_support import (
    HEADERS,
    Formula,
    far_cell_workbook,
    order_rows,
    rows_xml,
    write_workbook,
    zip_bomb_workbook,
)


@dataclass(frozen=True)
class Hostile:
    """One file of the corpus and what must become of it.

    ``rejected``: words the file's rejection reason must hold (the whole file refused,
    quarantined, and a rejection report written). ``bad_lines``: for a file taken in,
    the lines rejected and words of their reason; its other lines must be confirmed.
    ``report_as``: the name its reports carry, when its own name is refused.
    """

    name: str
    data: bytes
    rejected: str | None = None
    bad_lines: dict[int, str] = field(default_factory=dict)
    confirmed: int = 0
    report_as: str | None = None

    @property
    def reported_name(self) -> str:
        return self.report_as or self.name


def _xlsx(path: Path) -> bytes:
    data = path.read_bytes()
    path.unlink()
    return data


def corpus(scratch: Path, batch: int = 3) -> list[Hostile]:
    """Every hostile file, and one good file (the last) that must be confirmed beside them.
    Order ids come from ``batch`` (service_support.order_id) so counts can be checked."""
    scratch.mkdir(parents=True, exist_ok=True)
    rng = random.Random(9)
    good = HEADER + "".join(order_lines(1, 3, batch=batch))
    formula_rows = order_rows(3, batch=batch + 1)
    formula_rows[1][5] = Formula("VLOOKUP(A3,Tracking!A:B,2,FALSE)")
    wide_header = "Order ID,Tracking Number," + ",".join(f"c{i}" for i in range(12_000))
    return [
        Hostile(
            "far-cell.xlsx",
            _xlsx(far_cell_workbook(scratch / "a.xlsx")),
            rejected="asked for 512 GiB",
        ),
        Hostile(
            "far-cell-declared.xlsx",
            _xlsx(far_cell_workbook(scratch / "b.xlsx", declared=True)),
            rejected="A1:XFD1048576",
        ),
        Hostile("zip-bomb.xlsx", _xlsx(zip_bomb_workbook(scratch / "c.xlsx")), rejected="zip bomb"),
        Hostile(
            "wide-header.csv",
            (wide_header + "\r\n" + "1," * 12_002 + "\r\n").encode(),
            rejected="header row is longer than 64 KiB",
        ),
        Hostile(
            "formulas.xlsx",
            _xlsx(write_workbook(scratch / "d.xlsx", rows_xml([HEADERS, *formula_rows]))),
            bad_lines={3: "holds the formula =VLOOKUP(A3,Tracking!A:B,2,FALSE) but no saved"},
            confirmed=2,
        ),
        Hostile(
            "garbage.csv",
            bytes(rng.randrange(256) for _ in range(20_000)),
            rejected="NUL (zero) bytes",
        ),
        Hostile(
            "nul-bytes.csv",
            good.replace("UPS", "U\x00PS", 1).encode(),
            rejected="NUL (zero) bytes",
        ),
        Hostile(
            "line\nbreak.csv",
            good.encode(),
            rejected="line break",
            report_as="line_break.csv",
        ),
        Hostile(
            "long-" + "x" * 220 + ".csv",
            good.encode(),
            rejected="229 bytes long",
            report_as="long-" + "x" * 111 + ".csv",
        ),
        Hostile(
            "-leading-dash.csv",
            (HEADER + "".join(order_lines(1, 2, batch=batch + 2))).encode(),
            confirmed=2,
        ),
        Hostile(
            "заказы-ü 📦.csv",
            (HEADER + "".join(order_lines(1, 2, batch=batch + 3))).encode(),
            confirmed=2,
        ),
        Hostile("good.csv", good.encode(), confirmed=3),
    ]
