"""POST /api/v1/shipments: lines in, the intake report's verdict per line out."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from config.settings import SellerSettings
from console.api.access import caller
from console.api.errors import ApiError
from console.api.payload import SCHEMA, parse_shipments
from console.api.views import file_json, verdict_json
from console.state import ConsoleState, state
from processors.apiintake import KeyReused, take_in_posted

router = APIRouter()

_KEY = re.compile(r"[A-Za-z0-9._:-]{1,100}")


@router.post(
    "/shipments",
    summary="Queue shipments for confirmation, as an uploaded file would",
    responses={200: {"description": "Seen before: the first answer again"}},
    status_code=201,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": SCHEMA}}}
    },
)
async def post_shipments(
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    seller: SellerSettings = Depends(caller),
    st: ConsoleState = Depends(state),
) -> Response:
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
    body = await request.body()
    records = parse_shipments(body)
    try:
        # A retry sends the same bytes; the ledger work runs off the event loop.
        got = await run_in_threadpool(
            take_in_posted,
            st.ledger,
            st.settings,
            seller,
            idempotency_key,
            body,
            records,
            datetime.now(UTC),
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
        "lines": [verdict_json(ln, got.warnings.get(ln.line, ())) for ln in got.lines],
    }
    if got.duplicate_of is not None:
        answer["reason"] = (
            f"the same lines were posted as {got.duplicate_of.name}; nothing was queued again"
        )
    fresh = not got.replayed and got.duplicate_of is None
    return Response(
        orjson.dumps(answer), status_code=201 if fresh else 200, media_type="application/json"
    )
