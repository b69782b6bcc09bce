"""One table of exit codes: every error ends with a code from it, and no code means two things."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import run
from feeds.errors import (
    EXIT_CODE_MEANINGS,
    AmazonIdentityMismatch,
    CredentialsError,
    ExitCode,
    FileRejected,
    ShipfeedError,
)
from feeds.spapi.errors import AccessDenied, LwaCredentialsError
from processors.ledger.errors import IllegalTransition, LedgerError, UnknownRecord

ROOT = Path(__file__).resolve().parents[1]


def _all_error_classes() -> set[type[ShipfeedError]]:
    for package in ("feeds", "ingest", "processors", "config"):
        pkg = importlib.import_module(package)
        for mod in pkgutil.walk_packages(pkg.__path__, f"{package}."):
            if ".migrations" not in mod.name:
                importlib.import_module(mod.name)
    found: set[type[ShipfeedError]] = set()
    todo: list[type[ShipfeedError]] = [ShipfeedError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(c for c in cls.__subclasses__() if c not in found)
    return found


def test_every_error_class_ends_with_a_code_from_the_table() -> None:
    classes = _all_error_classes()
    assert len(classes) > 20
    outside = {c.__name__: c.exit_code for c in classes if c.exit_code not in set(ExitCode)}
    assert outside == {}


def test_no_exit_code_has_two_meanings() -> None:
    # Iterating an IntEnum hides aliases (a second name for a value): count every name.
    values = [int(c) for c in ExitCode.__members__.values()]
    assert len(values) == len(set(values))
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)


def test_a_ledger_error_is_not_a_rejected_file() -> None:
    assert LedgerError.exit_code == IllegalTransition.exit_code == ExitCode.INTERNAL
    assert FileRejected.exit_code == ExitCode.FILE_REJECTED
    assert ShipfeedError.exit_code == ExitCode.INTERNAL  # an unclassified error is a failure


def test_refused_amazon_login_has_its_own_code() -> None:
    for cls in (CredentialsError, LwaCredentialsError, AccessDenied):
        assert cls.exit_code == ExitCode.LOGIN_REFUSED
    assert AmazonIdentityMismatch.exit_code == ExitCode.IDENTITY_MISMATCH


def test_readme_lists_every_exit_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = {int(m) for m in re.findall(r"^\| (\d+) \| ", readme, re.MULTILINE)}
    assert listed == {int(c) for c in ExitCode}


@pytest.mark.parametrize(
    "args",
    [["--no-such-option"], ["no-such-command"], ["status", "--no-such-option"], ["convert"]],
    ids=["global option", "command", "command option", "missing argument"],
)
def test_wrong_command_line_exits_with_usage_code(args: list[str]) -> None:
    result = CliRunner().invoke(run.app, args)
    assert result.exit_code == ExitCode.USAGE, result.output


def test_unknown_record_is_a_refused_request_not_a_failure() -> None:
    assert UnknownRecord("order", ["1"]).exit_code == ExitCode.REQUEST_REFUSED


def test_an_unexpected_error_ends_70_not_1_which_means_lines_were_rejected(
    tmp_path: Path,
) -> None:
    (tmp_path / "ledger.sqlite3").write_text("not a database\n")
    done = subprocess.run(
        [sys.executable, "run.py", "--data-dir", str(tmp_path), "status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == ExitCode.INTERNAL, done.stderr
    assert "not a database" in done.stderr
