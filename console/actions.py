"""What the queue's buttons do: the ledger's own resend, cancel and correction
operations (the same the command line calls), with the console account as the actor.

No rule lives here: which line may be resent, cancelled or corrected is the ledger's
answer, reported back line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from processors.ledger.corrections import NothingToCorrect, request_correction
from processors.ledger.errors import LedgerError, UnknownRecord
from processors.ledger.records import LineRow
from processors.ledger.store import Ledger

ACTIONS = {
    "resend": "Resend",
    "cancel": "Cancel",
    "correct": "Send as a correction",
}


@dataclass
class ActionResult:
    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "; ".join([*self.done, *self.refused]) or "nothing to do"


def selected_lines(ledger: Ledger, ids: list[int], seller: str | None) -> list[LineRow]:
    """The selected lines this viewer may act on; others are as if absent."""
    try:
        found = ledger.lines(ids)
    except UnknownRecord:
        found = ledger.lines([i for i in ids if _exists(ledger, i)])
    return [ln for ln in found if seller is None or ln.seller == seller]


def _exists(ledger: Ledger, line_id: int) -> bool:
    try:
        ledger.lines([line_id])
    except UnknownRecord:
        return False
    return True


def run_action(
    ledger: Ledger, action: str, chosen: list[LineRow], actor: str, seller: str | None
) -> ActionResult:
    out = ActionResult()
    if action == "resend":
        r = ledger.resend(line_ids=[ln.id for ln in chosen], seller=seller, actor=actor)
        out.done.append(f"requeued {len(r.requeued)}")
        if r.needs_attention:
            out.done.append(f"needs attention (resent too often) {len(r.needs_attention)}")
        out.refused += [f"line {i}: {why}" for i, why in r.skipped.items()]
    elif action == "cancel":
        for order_id in sorted({ln.order_id for ln in chosen}):
            try:
                ids = ledger.cancel(order_id, seller=seller, actor=actor)
                out.done.append(f"order {order_id}: cancelled {len(ids)} line(s)")
            except LedgerError as exc:
                out.refused.append(f"order {order_id}: {exc}")
    elif action == "correct":
        for ln in chosen:
            try:
                request_correction(ledger, line_id=ln.id, seller=seller, actor=actor)
                out.done.append(f"line {ln.id}: queued as a correction")
            except (NothingToCorrect, LedgerError) as exc:
                out.refused.append(f"line {ln.id}: {exc}")
    else:
        raise ValueError(action)
    return out
