"""Files received, per seller, with counts and their reports to download."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from console.auth import Viewer
from console.deps import not_found, render, seller_scope, viewer
from console.reports import report_names
from console.state import ConsoleState, state
from ingest.errors import UnsafeName
from processors.ledger import uploads
from processors.ledger.catalog import file_of, recent_files
from processors.ledger.errors import UnknownRecord
from processors.ledger.records import FileRecord

router = APIRouter()

_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def rejected_whole(f: FileRecord) -> bool:
    """Intake records a file rejected whole with no lines and its intake report as both
    reports (processors.intake)."""
    return f.lines == 0 and f.result_report is not None and f.result_report == f.error_report


def _reason(st: ConsoleState, f: FileRecord, names: dict[str, str]) -> str | None:
    """Why a file was rejected whole: its intake report says (the ledger does not)."""
    try:
        data = json.loads(st.outboxes.read(f.seller, names["intake.json"]))
    except (OSError, ValueError, KeyError):
        return None
    reason = data.get("file_error")
    return str(reason) if reason else None


@router.get("/files", response_class=HTMLResponse)
def files_page(
    request: Request, who: Viewer = Depends(viewer), st: ConsoleState = Depends(state)
) -> HTMLResponse:
    scope = seller_scope(who, request.query_params.get("seller"))
    rows = []
    for f in recent_files(st.ledger, scope):
        names = report_names(f, st.settings)
        bad = rejected_whole(f)
        reason = _reason(st, f, names) if bad else None
        rows.append({"file": f, "reports": names, "rejected": bad, "reason": reason})
    others = uploads.recent(st.ledger, scope)
    return render(request, "files.html", who, rows=rows, uploads=others, seller=scope)


@router.get("/files/{file_id}/reports/{kind}")
def download(
    file_id: int,
    kind: str,
    who: Viewer = Depends(viewer),
    st: ConsoleState = Depends(state),
) -> Response:
    try:
        f = file_of(st.ledger, file_id, who.seller)
    except UnknownRecord:
        raise not_found() from None
    return _report(st, f.seller, report_names(f, st.settings).get(kind), kind)


@router.get("/uploads/{upload_id}/reports/{kind}")
def upload_report(
    upload_id: int,
    kind: str,
    who: Viewer = Depends(viewer),
    st: ConsoleState = Depends(state),
) -> Response:
    """The intake report of a duplicate or refused upload (it has no other)."""
    try:
        u = uploads.upload_of(st.ledger, upload_id, who.seller)
    except UnknownRecord:
        raise not_found() from None
    return _report(st, u.seller, u.intake_reports.get(kind), kind)


def _report(st: ConsoleState, seller: str, name: str | None, kind: str) -> Response:
    if name is None:
        raise not_found()
    try:
        data = st.outboxes.read(seller, name)
    except (FileNotFoundError, UnsafeName):
        raise not_found() from None
    return Response(
        data,
        media_type=_TYPES[kind.rsplit(".", 1)[1]],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}"},
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
