"""POST /api/v1/shipments: lines in, the intake report's verdict per line out."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from config.settings import SellerSettings
from console.api.access import caller
from console.api.errors import ApiError
from console.api.views import file_json, verdict_json
from console.state import ConsoleState, state
from processors.apiintake import KeyReused, take_in_posted

router = APIRouter()

#: Lines per POST at most: one POST is one ledger transaction, as one file is.
MAX_LINES = 100_000
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,100}")


class ShipmentIn(BaseModel):
    """One line, with the fields of a seller's file. Each is checked by the same rules
    as a file's cell (feeds/rules.py): a bad value rejects the line, not the request."""

    model_config = ConfigDict(extra="forbid")

    order_id: str | None = None
    order_item_id: str | None = None
    quantity: int | str | None = None
    ship_date: str | None = None
    carrier_code: str | None = None
    carrier_name: str | None = None
    tracking_number: str | None = None
    ship_method: str | None = None


class ShipmentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipments: list[ShipmentIn] = Field(min_length=1, max_length=MAX_LINES)


@router.post(
    "/shipments",
    summary="Queue shipments for confirmation, as an uploaded file would",
    responses={200: {"description": "Seen before: the first answer again"}},
    status_code=201,
)
def post_shipments(
    payload: ShipmentsIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    seller: SellerSettings = Depends(caller),
    st: ConsoleState = Depends(state),
) -> JSONResponse:
    if idempotency_key is None:
        raise ApiError(
            400,
            "idempotency_key_required",
            "send an Idempotency-Key header, the same on every retry of this POST",
            "Idempotency-Key",
        )
    if not _KEY.fullmatch(idempotency_key):
        raise ApiError(
            400,
            "idempotency_key_invalid",
            "1 to 100 letters, digits, '.', '_', ':' or '-'",
            "Idempotency-Key",
        )
    records = [s.model_dump() for s in payload.shipments]
    # The canonical form, not the bytes: a retry that serialises the same lines otherwise
    # (key order, spacing) is still the same POST.
    body = json.dumps(records, sort_keys=True, separators=(",", ":")).encode()
    try:
        got = take_in_posted(
            st.ledger, st.settings, seller, idempotency_key, body, records, datetime.now(UTC)
        )
    except KeyReused:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a POST with other lines",
            "Idempotency-Key",
        ) from None
    answer: dict[str, Any] = {
        "file": file_json(got.file),
        "replayed": got.replayed,
        "duplicate_of": None if got.duplicate_of is None else file_json(got.duplicate_of),
        "lines": [verdict_json(ln) for ln in got.lines],
    }
    if got.duplicate_of is not None:
        answer["reason"] = (
            f"the same lines were posted as {got.duplicate_of.name}; nothing was queued again"
        )
    fresh = not got.replayed and got.duplicate_of is None
    return JSONResponse(answer, status_code=201 if fresh else 200)
