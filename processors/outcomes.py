"""Amazon's processing-report result codes in words a seller can act on.

Amazon's own descriptions are terse and sometimes misleading ("The data you submitted is
incomplete or invalid" for an order id that belongs to another account), so the codes we
know get plain words and what to do; unknown codes keep Amazon's description.
Sources: spec/amazon/result-codes.md (copied in meaning, not read at run time).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Explanation:
    words: str
    todo: str

    def text(self) -> str:
        return f"{self.words}: {self.todo}"


#: Result codes that speak for the whole document: every message failed, none applied.
DOCUMENT_CODES = frozenset({"5000", "5001", "5002", "50001"})

KNOWN: dict[str, Explanation] = {
    "18028": Explanation(
        "order not found on Amazon for this seller: Amazon does not know this order id for "
        "your account",
        "check the order number",
    ),
    "18021": Explanation(
        "Amazon could not ship this quantity: the items are already shipped, cancelled, "
        "or fewer than the quantity given",
        "check the order in Seller Central; if it shows shipped there is nothing to do",
    ),
    "18029": Explanation(
        "Amazon does not know this order item id in this order",
        "check the order item id (or leave it empty to confirm the whole order)",
    ),
    "18338": Explanation(
        "Amazon requires a carrier for this shipment",
        "add the carrier code or carrier name and upload the line again",
    ),
    "18339": Explanation(
        "the tracking number does not match the carrier's format",
        "check the tracking number and the carrier",
    ),
    "5000": Explanation(
        "Amazon could not read the feed file",
        "shipfeed sends the lines again automatically",
    ),
    "5001": Explanation(
        "Amazon could not parse the feed file",
        "shipfeed sends the lines again automatically",
    ),
    "5002": Explanation(
        "Amazon could not parse the feed file",
        "shipfeed sends the lines again automatically",
    ),
    "50001": Explanation(
        "Amazon rejected the feed's envelope",
        "shipfeed sends the lines again automatically",
    ),
}

#: Amazon's verdicts on a line's own content: the same line sent again unchanged can only
#: be refused again (a tracking number in the wrong format stays wrong, an order id Amazon
#: does not know stays unknown, units already shipped stay shipped). Resending one takes
#: a corrected line in a new file, or an operator's --force.
CONTENT_REJECTIONS = frozenset({"18021", "18028", "18029", "18338", "18339"})


def content_rejection(code: str | None) -> str | None:
    """Why resending this line unchanged cannot help, or None when it can."""
    if code not in CONTENT_REJECTIONS:
        return None
    return f"Amazon rejected its content ({code}: {KNOWN[code].words})"


#: Warnings that do not stop the confirmation (tracking format mismatch and the like).
TRACKING_WARNING = Explanation(
    "confirmed, but Amazon warns that the tracking number does not match the carrier's format",
    "check the tracking number; buyers may not be able to follow the parcel",
)


def explain(code: str | None, amazon_description: str | None) -> str:
    """Plain words for one result; Amazon's own description for a code we do not know."""
    known = KNOWN.get(code or "")
    if known is not None:
        return known.text()
    desc = (amazon_description or "").strip()
    if code and desc:
        return f"Amazon result {code}: {desc}"
    return desc or f"Amazon result {code or '(no code)'}"


def explain_warning(code: str | None, amazon_description: str | None) -> str:
    """The note kept on a line Amazon confirmed with a warning."""
    desc = (amazon_description or "").lower()
    if code == "18339" or ("tracking" in desc and "format" in desc):
        return TRACKING_WARNING.text()
    return "confirmed with a warning from Amazon: " + explain(code, amazon_description)
