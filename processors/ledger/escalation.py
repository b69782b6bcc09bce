"""Escalation: a line in error handed to a person (needs_attention), at someone's request.

The ledger escalates by itself when a resend keeps failing (past max_resends a resend
goes to needs_attention). A seller whose line Amazon refused may not want to wait for
that: resending a line Amazon refused for its content only fails again, and the seller
may not know why it fails. Escalating moves the line to needs_attention now, with who
asked and what they said; the alerts then tell the operators (and the seller's own
destinations) as for any line that needs attention, and an operator resends, corrects or
cancels it.

Only lines in error are escalated. A line already waiting for a person (needs_attention,
conflict) stays as it is; a submitted line stays with Amazon until Amazon answers (taking
it away could lose a confirmation that comes late; a feed stuck there is alerted anyway).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from feeds.excerpt import clip
from processors.ledger.errors import UnknownRecord
from processors.ledger.moves import Move
from processors.ledger.schema import lines
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger

S = LineStatus
#: A note is a message for a person, shown in the history and the alert; a few lines.
MAX_NOTE_CHARS = 500

_WHY_NOT = {
    S.NEEDS_ATTENTION: "it already waits for a person",
    S.CONFLICT: "it already waits for an operator to send it as a correction",
    S.SUBMITTED: "it is with Amazon, which may still apply it; shipfeed polls it until Amazon "
    "answers, and a feed stuck there is alerted to the operators",
    S.IN_QUEUE: "it is waiting for the next batch, not failing",
}


@dataclass
class Escalated:
    moved: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # line id -> why not


def escalate(
    ledger: Ledger,
    line_ids: Iterable[int],
    *,
    actor: str,
    seller: str | None = None,
    note: str = "",
) -> Escalated:
    """Lines in error -> needs_attention, each an event naming ``actor``. With ``seller``,
    only that seller's lines (another seller's id is UnknownRecord, as a missing one)."""
    ids = sorted(set(line_ids))
    text = f"a person is asked to look (by {actor})"
    if note.strip():
        text += f": {clip(' '.join(note.split()), MAX_NOTE_CHARS)}"
    out = Escalated()
    with ledger._writing() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                ledger._lock(select(lines).where(lines.c.id.in_(ids)).order_by(lines.c.id))
            ).mappings()
        ]
        found = {r["id"] for r in rows if seller is None or r["seller"] == seller}
        if missing := [i for i in ids if i not in found]:
            raise UnknownRecord("order line", missing)
        moves = []
        for r in rows:
            status = S(r["status"])
            if status != S.ERROR:
                out.skipped[r["id"]] = _WHY_NOT.get(status, f"it is {status.value}")
                continue
            moves.append(Move(r, S.NEEDS_ATTENTION, text, actor=actor))
            out.moved.append(r["id"])
        ledger._move(conn, moves)
    return out
