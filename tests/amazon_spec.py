"""Where the tests find Amazon's official files, and what a test does when they are absent.

Amazon's schemas and SP-API models are Amazon's, not ours, so the repository does not carry
them. The folder holding them is named by SHIPFEED_AMAZON_SPEC (scripts/test.sh sets it, and
fetches the pinned files with scripts/fetch_amazon_spec.py where it must). The variable is read
when a test asks for a file, never at import, so a clone without the files still collects and
runs every other test. A test that needs the files skips without them, with the same reason
each time so that conftest can sum them up in one line; under CI=true it fails instead, because
CI must never pass with the checks against Amazon's files quietly left out.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

ENV = "SHIPFEED_AMAZON_SPEC"
# Amazon's files the tests read, by their place in the folder (the layout the fetch script writes).
SCHEMAS = ("amzn-base.xsd", "amzn-header.xsd", "OrderFulfillment.xsd", "ProcessingReport.xsd")
MODELS = ("feeds_2021-06-30.json", "ordersV0.json")
NEEDED = tuple(f"xsd/{name}" for name in SCHEMAS) + MODELS
# The project's own envelope: it includes Amazon's schemas by name, found in the folder.
ENVELOPE = Path(__file__).resolve().parent / "schemas" / "amazon-envelope.xsd"

SKIP_PREFIX = "needs Amazon's official files: "
HOW_TO_GET = (
    "run `python scripts/fetch_amazon_spec.py` (downloads and checks them) and set "
    f"{ENV} to the folder it prints; `bash scripts/test.sh` does both"
)


def missing_reason() -> str | None:
    """Why the folder cannot be used right now, or None when every needed file is there."""
    value = os.environ.get(ENV, "")
    if not value:
        return f"{ENV} is not set"
    absent = [name for name in NEEDED if not (Path(value) / name).is_file()]
    if absent:
        return f"{ENV}={value} lacks {', '.join(absent)}"
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def spec_dir() -> Path:
    """The folder of Amazon's files; skips the calling test (fails it under CI) without it."""
    reason = missing_reason()
    if reason is None:
        return Path(os.environ[ENV])
    message = f"{SKIP_PREFIX}{reason}; {HOW_TO_GET}"
    if in_ci():
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def official(name: str) -> Path:
    """One of Amazon's files, e.g. "xsd/amzn-base.xsd" or "ordersV0.json"."""
    return spec_dir() / name


def model(name: str) -> dict[str, Any]:
    """An official SP-API model (Swagger JSON), e.g. "ordersV0.json"."""
    return _model_at(str(spec_dir()), name)


def envelope_schema() -> etree.XMLSchema:
    """The project's envelope with Amazon's OrderFulfillment and ProcessingReport inside it."""
    return _envelope_at(str(spec_dir() / "xsd"))


@cache
def _model_at(folder: str, name: str) -> dict[str, Any]:
    return dict(json.loads((Path(folder) / name).read_text(encoding="utf-8")))


@cache
def _envelope_at(folder: str) -> etree.XMLSchema:
    """Points the envelope's includes of Amazon's schemas at the folder, then compiles it."""
    doc = etree.parse(str(ENVELOPE))
    for include in doc.getroot().iter("{http://www.w3.org/2001/XMLSchema}include"):
        name = str(include.get("schemaLocation"))
        include.set("schemaLocation", str((Path(folder) / name).resolve()))
    return etree.XMLSchema(doc)


def summary_line(skipped_reasons: list[str]) -> str | None:
    """The one line that tells how many tests lacked Amazon's files, why, and how to get them."""
    mine = [r for r in skipped_reasons if SKIP_PREFIX in r]
    if not mine:
        return None
    reason = mine[0].split(SKIP_PREFIX, 1)[1]
    return f"{len(mine)} tests skipped that check against Amazon's official files: {reason}"
