"""A line's status changes in one place (processors.ledger.moves), checked against the one
transition table (processors.ledger.statuses): no other code writes ``lines.status``.

A statement elsewhere that set the status directly would skip the table and leave no
event row: an order's history would lie. The check reads the source (ast), so it also
covers modules added later.
"""

from __future__ import annotations

import ast
from pathlib import Path

import processors

ROOT = Path(processors.__file__).parent.parent
#: Where status changes are written: the moves, applied from every step of the ledger.
ALLOWED = {Path("processors/ledger/moves.py")}


def _receiver_names(node: ast.AST) -> set[str]:
    """Names passed to update(...) somewhere in a chained call's receivers."""
    names: set[str] = set()
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "update":
                names.update(a.id for a in node.args if isinstance(a, ast.Name))
            node = node.func
        else:
            node = node.value
    return names


def _sets_status(call: ast.Call) -> bool:
    if any(k.arg == "status" for k in call.keywords):
        return True
    return any(
        isinstance(a, ast.Dict)
        and any(isinstance(k, ast.Constant) and k.value == "status" for k in a.keys)
        for a in call.args
    )


def status_writes(source: str) -> list[int]:
    """Line numbers of ``update(lines)....values(status=...)`` statements in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "values"
            and "lines" in _receiver_names(node.func.value)
            and _sets_status(node)
        ):
            found.append(node.lineno)
    return found


def test_the_check_finds_a_status_written_directly() -> None:
    direct = "update(lines).where(lines.c.id == 1).values(status='confirmed', message=None)\n"
    other_table = "update(files).where(files.c.id == 1).values(status='done')\n"
    assert status_writes(direct) == [1]
    assert status_writes(other_table) == []


def test_no_code_but_the_moves_writes_a_line_status() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines_at
        for folder in ("processors", "console")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.relative_to(ROOT) not in ALLOWED
        and (lines_at := status_writes(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
