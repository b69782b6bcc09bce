"""What the queue's buttons do: the ledger's own resend, cancel, correction and
escalation operations (the same the command line calls), with the console account as the
actor.

Who may press which button is decided here, and enforced on every POST, not only by the
buttons a page shows. An operator resends, cancels and sends corrections. A seller
account acts on its own lines only, as the seller would through its own files: resend
lines in error (the ledger's limits apply, without force: past max_resends a line goes
to a person instead), cancel orders it has not shipped after all, and hand a failing
line to a person (escalate) instead of resending it again. Corrections of a confirmed
shipment stay with the operators, as the conflict status says.

No other rule lives here: which line may be resent, cancelled, corrected or escalated is
the ledger's answer, reported back line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.auth import Viewer
from processors.ledger.corrections import NothingToCorrect, request_correction
from processors.ledger.errors import LedgerError, UnknownRecord
from processors.ledger.escalation import escalate
from processors.ledger.queries import order_history
from processors.ledger.records import LineRow
from processors.ledger.store import Ledger

ACTIONS = {
    "resend": "Resend",
    "cancel": "Cancel",
    "correct": "Send as a correction",
    "escalate": "Ask a person to look",
}
_OPERATOR = ("resend", "cancel", "correct")
_SELLER = ("resend", "cancel", "escalate")


def actions_for(who: Viewer) -> dict[str, str]:
    """The actions this account may take (key -> button label)."""
    return {k: ACTIONS[k] for k in (_OPERATOR if who.is_operator else _SELLER)}


@dataclass
class ActionResult:
    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "; ".join([*self.done, *self.refused]) or "nothing to do"


def selected_lines(
    ledger: Ledger, ids: list[int], order_id: str | None, seller: str | None
) -> list[LineRow] | None:
    """The selected lines (by id, or every line of ``order_id``) this viewer may act on;
    None when one of them does not exist or is another seller's, which the page answers
    with 404 as for any record of another seller."""
    wanted = set(ids)
    if order_id:
        try:
            found = [h.line for h in order_history(ledger, order_id)]
        except UnknownRecord:
            return None
        wanted.update(ln.id for ln in found if seller is None or ln.seller == seller)
        if not wanted:
            return None
    try:
        chosen = ledger.lines(sorted(wanted)) if wanted else []
    except UnknownRecord:
        return None
    if seller is not None and any(ln.seller != seller for ln in chosen):
        return None
    return chosen


def run_action(
    ledger: Ledger,
    action: str,
    chosen: list[LineRow],
    actor: str,
    seller: str | None,
    note: str = "",
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
    elif action == "escalate":
        e = escalate(ledger, [ln.id for ln in chosen], actor=actor, seller=seller, note=note)
        out.done.append(f"handed to a person {len(e.moved)}")
        out.refused += [f"line {i}: {why}" for i, why in e.skipped.items()]
    else:
        raise ValueError(action)
    return out
