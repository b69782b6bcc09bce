"""Processing report parsing: outcomes per message, distrust of reports that disagree, safety."""

from __future__ import annotations

from pathlib import Path

import pytest
from amazon_spec import envelope_schema
from lxml import etree

from feeds.report import (
    Outcome,
    ReportMalformed,
    ResultLine,
    parse_processing_report,
)

TRACKING_WARNING = (
    "The tracking ID 1Z999 for UPS does not match the expected format for the carrier."
)


def build_report(
    counts: tuple[int, int, int, int],
    results: list[dict[str, str]] = (),  # type: ignore[assignment]
    *,
    transaction: str = "50012345678",
    status: str = "Complete",
) -> bytes:
    """A processing report as Amazon writes it (see result-codes.md), built element by element."""
    envelope = etree.Element("AmazonEnvelope")
    envelope.set(
        "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation", "amzn-envelope.xsd"
    )
    header = etree.SubElement(envelope, "Header")
    etree.SubElement(header, "DocumentVersion").text = "1.02"
    etree.SubElement(header, "MerchantIdentifier").text = "A1EXAMPLEMERCHANT"
    etree.SubElement(envelope, "MessageType").text = "ProcessingReport"
    message = etree.SubElement(envelope, "Message")
    etree.SubElement(message, "MessageID").text = "1"
    report = etree.SubElement(message, "ProcessingReport")
    etree.SubElement(report, "DocumentTransactionID").text = transaction
    etree.SubElement(report, "StatusCode").text = status
    summary = etree.SubElement(report, "ProcessingSummary")
    names = ("MessagesProcessed", "MessagesSuccessful", "MessagesWithError", "MessagesWithWarning")
    for name, value in zip(names, counts, strict=True):
        etree.SubElement(summary, name).text = str(value)
    for spec in results:
        result = etree.SubElement(report, "Result")
        for name in ("MessageID", "ResultCode", "ResultMessageCode", "ResultDescription"):
            etree.SubElement(result, name).text = spec[name]
        if "AmazonOrderID" in spec or "AmazonOrderItemCode" in spec:
            info = etree.SubElement(result, "AdditionalInfo")
            for name in ("AmazonOrderID", "AmazonOrderItemCode"):
                if name in spec:
                    etree.SubElement(info, name).text = spec[name]
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def result(message_id: int, code: str, number: str, text: str, **info: str) -> dict[str, str]:
    return {
        "MessageID": str(message_id),
        "ResultCode": code,
        "ResultMessageCode": number,
        "ResultDescription": text,
        **info,
    }


SUCCESS = build_report((3, 3, 0, 0))
PARTIAL = build_report(
    (3, 2, 1, 0),
    [
        result(
            2,
            "Error",
            "18028",
            "The data you submitted is incomplete or invalid.",
            AmazonOrderID="123-1234567-1234568",
        )
    ],
)
WARNING = build_report(
    (2, 2, 0, 1),
    [result(1, "Warning", "18507", TRACKING_WARNING, AmazonOrderID="111-0000000-0000001")],
)
ITEM_ERROR = build_report(
    (1, 0, 1, 0),
    [
        result(
            1,
            "Error",
            "18021",
            "quantities were larger than the quantities that could be fulfilled",
            AmazonOrderID="111-0000000-0000001",
            AmazonOrderItemCode="12345678901234",
        )
    ],
)


def document_failure(message_id: int) -> bytes:
    return build_report(
        (0, 0, 1, 0),
        [
            result(
                message_id,
                "Error",
                "50001",
                "The XML you submitted is ill-formed at the "
                "Amazon Envelope XML level at (or near) line 5, column 12.",
            )
        ],
    )


# Typed out by hand, not built by build_report: indented, with the xsi declaration and the
# order of elements as a person would write them, so the parser is not only ever fed its
# twin's output. Message 1 is accepted, message 2 names an order Amazon does not know.
HAND_WRITTEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
    <Header>
        <DocumentVersion>1.02</DocumentVersion>
        <MerchantIdentifier>M_SHIPFEED_TEST</MerchantIdentifier>
    </Header>
    <MessageType>ProcessingReport</MessageType>
    <Message>
        <MessageID>1</MessageID>
        <ProcessingReport>
            <DocumentTransactionID>60123456789</DocumentTransactionID>
            <StatusCode>Complete</StatusCode>
            <ProcessingSummary>
                <MessagesProcessed>2</MessagesProcessed>
                <MessagesSuccessful>1</MessagesSuccessful>
                <MessagesWithError>1</MessagesWithError>
                <MessagesWithWarning>0</MessagesWithWarning>
            </ProcessingSummary>
            <Result>
                <MessageID>2</MessageID>
                <ResultCode>Error</ResultCode>
                <ResultMessageCode>18028</ResultMessageCode>
                <ResultDescription>No order 205-7654321-7654321 for this seller.</ResultDescription>
                <AdditionalInfo>
                    <AmazonOrderID>205-7654321-7654321</AmazonOrderID>
                </AdditionalInfo>
            </Result>
        </ProcessingReport>
    </Message>
</AmazonEnvelope>
"""

FIXTURES = {
    "hand-written": HAND_WRITTEN,
    "success": SUCCESS,
    "partial": PARTIAL,
    "warning": WARNING,
    "item-error": ITEM_ERROR,
    "document-0": document_failure(0),
    "document-max": document_failure(9223372036854775807),
}


@pytest.fixture
def schema() -> etree.XMLSchema:
    return envelope_schema()


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_is_a_valid_amazon_envelope(name: str, schema: etree.XMLSchema) -> None:
    document = etree.fromstring(FIXTURES[name])
    assert schema.validate(document), schema.error_log


def test_success_report_accepts_every_message() -> None:
    report = parse_processing_report(SUCCESS, expected_message_ids=[1, 2, 3])
    assert (report.processed, report.successful, report.with_error) == (3, 3, 0)
    assert report.document_transaction_id == "50012345678"
    assert report.problems == []
    assert [report.outcome(i).status for i in (1, 2, 3)] == [Outcome.ACCEPTED] * 3


def test_partial_errors_reject_only_the_failed_message() -> None:
    report = parse_processing_report(PARTIAL, expected_message_ids=[1, 2, 3])
    assert report.problems == []
    failed = report.outcome(2)
    assert failed.status is Outcome.ERROR and not failed.accepted
    assert failed.results == (
        ResultLine(
            2,
            "Error",
            "18028",
            "The data you submitted is incomplete or invalid.",
            "123-1234567-1234568",
            None,
        ),
    )
    assert report.outcome(1).status is Outcome.ACCEPTED
    assert report.outcome(3).status is Outcome.ACCEPTED


def test_tracking_warning_still_counts_as_confirmed() -> None:
    report = parse_processing_report(WARNING, expected_message_ids=[1, 2])
    warned = report.outcome(1)
    assert warned.status is Outcome.ACCEPTED_WITH_WARNING
    assert warned.accepted
    assert warned.results[0].description == TRACKING_WARNING
    assert report.outcome(2).status is Outcome.ACCEPTED


def test_order_item_code_is_read_from_additional_info() -> None:
    report = parse_processing_report(ITEM_ERROR, expected_message_ids=[1])
    (line,) = report.outcome(1).results
    assert (line.order_id, line.order_item_id) == ("111-0000000-0000001", "12345678901234")


@pytest.mark.parametrize("message_id", [0, 9223372036854775807])
def test_document_level_error_fails_every_message(message_id: int) -> None:
    report = parse_processing_report(document_failure(message_id), expected_message_ids=[1, 2, 3])
    assert report.document_failed
    for i in (1, 2, 3):
        outcome = report.outcome(i)
        assert outcome.status is Outcome.ERROR
        assert outcome.results[0].message_code == "50001"


def test_counts_that_do_not_add_up_are_flagged_and_not_trusted() -> None:
    data = build_report((3, 3, 1, 0), [result(2, "Error", "18028", "invalid")])
    report = parse_processing_report(data, expected_message_ids=[1, 2, 3])
    assert any("MessagesProcessed 3 is not" in p for p in report.problems)
    assert report.outcome(1).status is Outcome.UNKNOWN
    assert report.outcome(2).status is Outcome.ERROR  # an explicit error is still believed


def test_error_count_without_matching_results_is_flagged() -> None:
    report = parse_processing_report(build_report((2, 1, 1, 0)), expected_message_ids=[1, 2])
    assert any("MessagesWithError is 1 but 0" in p for p in report.problems)
    assert report.outcome(1).status is Outcome.UNKNOWN


def test_fewer_messages_processed_than_sent_is_flagged() -> None:
    report = parse_processing_report(build_report((2, 2, 0, 0)), expected_message_ids=[1, 2, 3])
    assert any("the feed sent 3 messages" in p for p in report.problems)
    assert report.outcome(3).status is Outcome.UNKNOWN


def test_result_for_a_message_the_feed_did_not_send_is_flagged() -> None:
    data = build_report((2, 1, 1, 0), [result(7, "Error", "18028", "invalid")])
    report = parse_processing_report(data, expected_message_ids=[1, 2])
    assert any("did not send: [7]" in p for p in report.problems)
    assert report.outcome(1).status is Outcome.UNKNOWN


def test_report_still_processing_is_not_trusted() -> None:
    report = parse_processing_report(
        build_report((1, 1, 0, 0), status="Processing"), expected_message_ids=[1]
    )
    assert any("StatusCode is Processing" in p for p in report.problems)
    assert report.outcome(1).status is Outcome.UNKNOWN


@pytest.mark.parametrize(
    "data",
    [b"", b"message-id\tresult\n1\tok\n", b"<AmazonEnvelope><Message>", b"\x1f\x8b\x08\x00"],
    ids=["empty", "tsv", "truncated", "still-gzipped"],
)
def test_not_xml_is_malformed(data: bytes) -> None:
    with pytest.raises(ReportMalformed):
        parse_processing_report(data)


def test_wrong_root_is_malformed() -> None:
    with pytest.raises(ReportMalformed, match="not an Amazon processing report"):
        parse_processing_report(b"<html><body>Access Denied</body></html>")


def test_envelope_without_processing_report_is_malformed() -> None:
    data = b"<AmazonEnvelope><MessageType>ProcessingReport</MessageType></AmazonEnvelope>"
    with pytest.raises(ReportMalformed, match="no Message/ProcessingReport"):
        parse_processing_report(data)


def test_external_entity_does_not_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:TOPSECRET-MARKER:/root:/bin/bash\n")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<AmazonEnvelope><MessageType>ProcessingReport</MessageType><Message><MessageID>1"
        "</MessageID><ProcessingReport><DocumentTransactionID>1</DocumentTransactionID>"
        "<StatusCode>Complete</StatusCode><Result><MessageID>1</MessageID><ResultCode>Error"
        "</ResultCode><ResultMessageCode>1</ResultMessageCode><ResultDescription>&xxe;"
        "</ResultDescription></Result></ProcessingReport></Message></AmazonEnvelope>"
    ).encode()
    for path in ("/etc/passwd", str(secret)):
        attempt = data.replace(str(secret).encode(), path.encode())
        try:
            seen = repr(parse_processing_report(attempt))
        except ReportMalformed as exc:
            seen = str(exc)
        assert "TOPSECRET-MARKER" not in seen
        assert "root:x:0:0" not in seen


def test_billion_laughs_is_refused_without_expanding() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    data = (
        f'<?xml version="1.0"?><!DOCTYPE AmazonEnvelope [{entities}]><AmazonEnvelope>'
        "&lol9;</AmazonEnvelope>"
    )
    with pytest.raises(ReportMalformed):
        parse_processing_report(data.encode())


def test_a_hand_written_indented_report_parses() -> None:
    report = parse_processing_report(HAND_WRITTEN, expected_message_ids=[1, 2])
    assert report.problems == []
    assert report.outcome(2).status is Outcome.ERROR
    assert report.outcome(2).results[0].order_id == "205-7654321-7654321"
    assert report.outcome(1).status is Outcome.ACCEPTED
