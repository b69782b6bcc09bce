"""Reading a POST of shipments: orjson and a plain shape check instead of a pydantic model
per line, since 10,000 lines must go in within half a second (benchmarks/console_api.py)
and the values themselves are checked by feeds/rules.py anyway."""

from __future__ import annotations

from itertools import chain
from operator import methodcaller
from typing import Any

import orjson

from console.api.errors import ApiError
from feeds.model import FIELDS

#: Lines per POST at most: one POST is one ledger transaction, as one file is.
MAX_LINES = 100_000
_ALLOWED = frozenset(FIELDS)


def _types(field: str) -> list[str]:
    return ["integer", "string", "null"] if field == "quantity" else ["string", "null"]


#: The request body's schema for the OpenAPI document.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["shipments"],
    "additionalProperties": False,
    "properties": {
        "shipments": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_LINES,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "description": "One line, with the fields of a seller's file; each value is "
                "checked by the same rules as a file's cell, and a bad one rejects the line.",
                "properties": {
                    f: {
                        "type": ["integer", "string", "null"]
                        if f == "quantity"
                        else ["string", "null"]
                    }
                    for f in FIELDS
                },
            },
        }
    },
}


def parse_shipments(body: bytes) -> list[dict[str, Any]]:
    """The posted lines, or an ApiError naming the place that is wrong."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(422, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(doc, dict) or "shipments" not in doc:
        raise ApiError(422, "invalid_request", 'the body is {"shipments": [...]}', "shipments")
    if extra := sorted(doc.keys() - {"shipments"}):
        raise ApiError(422, "invalid_request", "unknown field", extra[0])
    lines = doc["shipments"]
    if not isinstance(lines, list) or not lines:
        raise ApiError(422, "invalid_request", "a list of at least one shipment", "shipments")
    if len(lines) > MAX_LINES:
        raise ApiError(
            413, "too_many_lines", f"at most {MAX_LINES:,} shipments per POST", "shipments"
        )
    if not _all_right(lines):
        _first_wrong(lines)
    return lines


def _all_right(lines: list[Any]) -> bool:
    """The shape check of every line at once, each test a pass in C over the whole list:
    objects only, known fields only, text or null values (and whole numbers for the
    quantity). Checked line by line (_first_wrong), 10,000 lines cost 40 ms."""
    if set(map(type, lines)) != {dict}:
        return False
    if not _ALLOWED.issuperset(chain.from_iterable(lines)):
        return False
    for f in FIELDS:
        kinds = set(map(type, map(methodcaller("get", f), lines)))
        if not kinds <= (_QUANTITY_TYPES if f == "quantity" else _TEXT_TYPES):
            return False
    return True


_TEXT_TYPES = frozenset({str, type(None)})
_QUANTITY_TYPES = _TEXT_TYPES | {int}  # bool is not int here: type() is exact


def _first_wrong(lines: list[Any]) -> None:
    """Raise the ApiError naming the first place that is wrong."""
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            raise ApiError(422, "invalid_request", "each shipment is an object", f"shipments.{i}")
        if line.keys() - _ALLOWED:
            bad = sorted(line.keys() - _ALLOWED)[0]
            raise ApiError(422, "invalid_request", "unknown field", f"shipments.{i}.{bad}")
        for key, value in line.items():
            if value is None or isinstance(value, str):
                continue
            if key == "quantity" and isinstance(value, int) and not isinstance(value, bool):
                continue
            raise ApiError(422, "invalid_request", "a text value (or null)", f"shipments.{i}.{key}")
