"""Read Amazon's processing report for an order-fulfillment feed, and judge it.

The report decides which orders become CONFIRMED, so it is read defensively: the parser
never fetches anything, expands no entities and loads no DTD (the report comes from a
download URL, and a hostile or broken document must not read local files or eat memory),
and a report that disagrees with the feed it answers (unknown MessageIDs, counts that do
not add up, fewer messages processed than sent) is flagged in ``problems`` and then only
its explicit errors are believed: the other messages are "unknown", never "accepted",
so a shipped order is not marked confirmed on the word of a report that cannot be right.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from lxml import etree

from feeds.errors import RemoteTerminalError

#: Result MessageIDs that speak for the whole document (envelope or parse errors such as
#: 5000, 5001, 50001): every message of the feed failed with them.
DOCUMENT_MESSAGE_IDS = frozenset({0, 9223372036854775807})


class ReportMalformed(RemoteTerminalError):
    """The downloaded document is not a processing report shipfeed can read."""


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNING = "accepted-with-warning"
    ERROR = "error"
    #: The report cannot be trusted about this message: neither confirm nor reject it.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ResultLine:
    message_id: int
    result_code: str  # "Error" or "Warning"
    message_code: str
    description: str
    order_id: str | None
    order_item_id: str | None

    @property
    def document_level(self) -> bool:
        return self.message_id in DOCUMENT_MESSAGE_IDS

    @property
    def is_error(self) -> bool:
        return self.result_code == "Error"


@dataclass(frozen=True)
class MessageOutcome:
    message_id: int
    status: Outcome
    results: tuple[ResultLine, ...]

    @property
    def accepted(self) -> bool:
        """Amazon took the shipment (a warning, e.g. a tracking format mismatch, still does)."""
        return self.status in (Outcome.ACCEPTED, Outcome.ACCEPTED_WITH_WARNING)


@dataclass(frozen=True)
class ProcessingReport:
    document_transaction_id: str
    status_code: str
    processed: int
    successful: int
    with_error: int
    with_warning: int
    results: list[ResultLine]
    problems: list[str]
    expected_message_ids: frozenset[int] | None = field(default=None, repr=False)

    @property
    def trusted(self) -> bool:
        return not self.problems

    @property
    def document_results(self) -> list[ResultLine]:
        return [r for r in self.results if r.document_level]

    @property
    def document_failed(self) -> bool:
        """An envelope or parse error: no message of the feed was applied."""
        return any(r.is_error for r in self.document_results)

    def outcome(self, message_id: int) -> MessageOutcome:
        """What happened to one message of the feed, with the result lines that say so."""
        own = tuple(r for r in self.results if r.message_id == message_id)
        document = tuple(self.document_results)
        if self.document_failed:
            return MessageOutcome(message_id, Outcome.ERROR, own + document)
        if any(r.is_error for r in own):
            return MessageOutcome(message_id, Outcome.ERROR, own)
        unexpected = (
            self.expected_message_ids is not None and message_id not in self.expected_message_ids
        )
        if not self.trusted or unexpected:
            return MessageOutcome(message_id, Outcome.UNKNOWN, own + document)
        if own or document:
            return MessageOutcome(message_id, Outcome.ACCEPTED_WITH_WARNING, own + document)
        return MessageOutcome(message_id, Outcome.ACCEPTED, ())


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _text(parent: etree._Element, path: str) -> str | None:
    found = parent.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _strip_namespaces(root: etree._Element) -> None:
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = etree.QName(element).localname


def _load(data: bytes) -> etree._Element:
    if not data or not data.strip():
        raise ReportMalformed(
            "the processing report is empty",
            hint="shipfeed downloads it again; if it stays empty the feed's orders need a look",
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise ReportMalformed(
            f"the processing report is not readable XML ({exc.msg})",
            hint="shipfeed downloads it again; if it stays broken the feed's orders need a look",
        ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        raise ReportMalformed(
            "the processing report declares a DTD, which Amazon's reports never do",
            hint="refused for safety; the feed's orders need a look",
        )
    _strip_namespaces(root)
    if root.tag != "AmazonEnvelope":
        raise ReportMalformed(
            f"the downloaded document is a <{root.tag}>, not an Amazon processing report",
        )
    return root


def parse_processing_report(
    data: bytes, *, expected_message_ids: Collection[int] | None = None
) -> ProcessingReport:
    """Read a processing report; raises ReportMalformed when it is not one.

    ``expected_message_ids``: the MessageIDs of the feed this report answers; with it, the
    report is checked against the feed (every result names a sent message, and as many
    messages were processed as were sent).
    """
    root = _load(data)
    report = root.find("Message/ProcessingReport")
    if report is None:
        raise ReportMalformed(
            "the document has no Message/ProcessingReport",
            hint="Amazon may have sent another kind of report; the feed's orders need a look",
        )
    problems: list[str] = []
    message_type = _text(root, "MessageType")
    if message_type not in (None, "ProcessingReport"):
        problems.append(f"MessageType is {message_type!r}, not ProcessingReport")
    transaction = _text(report, "DocumentTransactionID") or ""
    status = _text(report, "StatusCode") or ""
    if status != "Complete":
        problems.append(f"StatusCode is {status or 'missing'}, not Complete")

    counts: dict[str, int] = {}
    summary = report.find("ProcessingSummary")
    if summary is None:
        problems.append("the report has no ProcessingSummary")
    for name in (
        "MessagesProcessed",
        "MessagesSuccessful",
        "MessagesWithError",
        "MessagesWithWarning",
    ):
        raw = _text(summary, name) if summary is not None else None
        try:
            counts[name] = int(raw) if raw is not None else 0
            if counts[name] < 0:
                raise ValueError(raw)
        except ValueError:
            counts[name] = 0
            problems.append(f"{name} is not a count: {raw!r}")
        if summary is not None and raw is None:
            problems.append(f"ProcessingSummary has no {name}")

    results = _results(report, problems)
    expected = None if expected_message_ids is None else frozenset(expected_message_ids)
    parsed = ProcessingReport(
        document_transaction_id=transaction,
        status_code=status,
        processed=counts["MessagesProcessed"],
        successful=counts["MessagesSuccessful"],
        with_error=counts["MessagesWithError"],
        with_warning=counts["MessagesWithWarning"],
        results=results,
        problems=problems,
        expected_message_ids=expected,
    )
    _check(parsed, expected, problems)
    return parsed


def _results(report: etree._Element, problems: list[str]) -> list[ResultLine]:
    results: list[ResultLine] = []
    for number, element in enumerate(report.findall("Result"), start=1):
        raw_id = _text(element, "MessageID")
        try:
            message_id = int(raw_id or "")
        except ValueError:
            problems.append(f"Result {number} has no usable MessageID ({raw_id!r})")
            continue
        code = _text(element, "ResultCode") or ""
        if code not in ("Error", "Warning"):
            problems.append(f"Result for message {message_id} has ResultCode {code!r}")
            code = "Error"  # unknown severity: believe the worst
        results.append(
            ResultLine(
                message_id=message_id,
                result_code=code,
                message_code=_text(element, "ResultMessageCode") or "",
                description=_text(element, "ResultDescription") or "",
                order_id=_text(element, "AdditionalInfo/AmazonOrderID"),
                order_item_id=_text(element, "AdditionalInfo/AmazonOrderItemCode"),
            )
        )
    return results


def _check(report: ProcessingReport, expected: frozenset[int] | None, problems: list[str]) -> None:
    """Add to ``problems`` every way the report disagrees with itself or with its feed."""
    message_results = [r for r in report.results if not r.document_level]
    if expected is not None:
        unknown = sorted({r.message_id for r in message_results} - expected)
        if unknown:
            problems.append(f"results for MessageIDs the feed did not send: {unknown[:10]}")
    if report.document_failed:
        return  # nothing was applied; the counts describe the envelope, not the messages
    if report.processed != report.successful + report.with_error:
        problems.append(
            f"MessagesProcessed {report.processed} is not MessagesSuccessful "
            f"{report.successful} + MessagesWithError {report.with_error}"
        )
    errors = {r.message_id for r in message_results if r.is_error}
    if len(errors) != report.with_error:
        problems.append(
            f"MessagesWithError is {report.with_error} but {len(errors)} messages have errors"
        )
    warned = {r.message_id for r in message_results if not r.is_error} - errors
    if len(warned) > report.with_warning:
        problems.append(
            f"MessagesWithWarning is {report.with_warning} but {len(warned)} messages have "
            "only warnings"
        )
    if expected is not None and report.processed != len(expected):
        problems.append(
            f"MessagesProcessed is {report.processed} but the feed sent {len(expected)} messages"
        )
