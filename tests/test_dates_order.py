"""A file's date order is decided from its own dates, chunk by chunk, and always said."""

from __future__ import annotations

import pytest

from feeds.dateorder import DateOrderChanged, FileDates, date_kind
from feeds.errors import FileRejected


def see_all(dates: FileDates, chunks: list[list[str]], first_line: int = 2) -> list[str]:
    """Feed ``chunks`` of ship date cells in file order; the order each chunk is read with."""
    orders: list[str] = []
    line = first_line
    for texts in chunks:
        lines = list(range(line, line + len(texts)))
        orders.append(dates.see(lines, texts))
        line += len(texts)
    return orders


@pytest.mark.parametrize(
    "text,kind",
    [
        ("25/11/2025", "EU"),
        ("25.11.2025 14:30", "EU"),
        ("11/25/2025", "US"),
        ("11/25/25 2:30 PM", "US"),
        ("03/11/2025", "both"),
        (" 3-11-2025 ", "both"),
        ("05/05/2025", None),  # reads the same both ways
        ("2025-11-03", None),
        ("2025-11-03T10:00:00Z", None),
        ("45967", None),  # an Excel serial
        ("45967.5", None),
        ("31/02/2025", None),  # no date either way: validation rejects it
        ("next tuesday", None),
    ],
)
def test_each_date_text_says_which_orders_it_can_be_read_in(text: str, kind: str | None) -> None:
    assert date_kind(text) == kind


def test_a_date_that_can_only_be_day_first_makes_the_whole_file_day_first() -> None:
    dates = FileDates("f.csv", "US")
    assert see_all(dates, [["03/11/2025", "25/11/2025", "04/11/2025"]]) == ["EU"]
    reading = dates.reading()
    assert reading is not None and reading.order == "EU" and not reading.is_warning
    assert reading.message == "dates read as day/month/year because line 3 has 25/11/2025"


def test_a_date_that_can_only_be_month_first_overrides_a_day_first_setting() -> None:
    dates = FileDates("f.csv", "EU")
    assert see_all(dates, [["03/11/2025", "11/25/2025"]]) == ["US"]
    reading = dates.reading()
    assert reading is not None and reading.order == "US"
    assert "month/day/year because line 3 has 11/25/2025" in reading.message


def test_a_file_of_ambiguous_dates_is_read_by_the_setting_with_one_example() -> None:
    dates = FileDates("f.csv", "US")
    assert see_all(dates, [["03/11/2025", "04/11/2025"], ["05/11/2025"]]) == ["US", "US"]
    reading = dates.reading()
    assert reading is not None and reading.is_warning and reading.order == "US"
    assert reading.message.startswith(
        "03/11/2025 (line 2) was read as 11 March 2025 (date_order US)"
    )
    assert "set date_order for this seller if that is wrong" in reading.message


def test_the_ambiguity_warning_shows_the_eu_reading_under_an_eu_setting() -> None:
    dates = FileDates("f.csv", "EU")
    see_all(dates, [["03/11/2025"]])
    reading = dates.reading()
    assert reading is not None
    assert "was read as 3 November 2025 (date_order EU)" in reading.message


@pytest.mark.parametrize("texts", [["2025-11-03", "45967"], ["05/05/2025", "2025-11-25"], []])
def test_dates_that_cannot_be_misread_need_no_note(texts: list[str]) -> None:
    dates = FileDates("f.csv", "US")
    see_all(dates, [texts])
    assert dates.reading() is None


def test_dates_that_contradict_each_other_reject_the_file_naming_both_lines() -> None:
    dates = FileDates("f.csv", "US")
    with pytest.raises(FileRejected) as caught:
        see_all(dates, [["2025-11-01", "25/11/2025"], ["03/11/2025"] * 5, ["11/25/2025"]])
    reason = caught.value.reason
    assert 'line 3 has "25/11/2025"' in reason
    assert 'line 9 has "11/25/2025"' in reason
    assert caught.value.file == "f.csv"


def test_a_deciding_date_after_ambiguous_chunks_asks_for_the_file_again() -> None:
    dates = FileDates("f.csv", "US")
    with pytest.raises(DateOrderChanged) as caught:
        see_all(dates, [["03/11/2025"], ["25/11/2025"]])
    assert caught.value.order == "EU"


def test_the_second_reading_starts_in_the_order_asked_for_and_keeps_the_note() -> None:
    dates = FileDates("f.csv", "US", start="EU")
    assert see_all(dates, [["03/11/2025"], ["25/11/2025"]]) == ["EU", "EU"]
    reading = dates.reading()
    assert reading is not None and reading.message.endswith("line 3 has 25/11/2025")


def test_a_deciding_date_after_only_iso_chunks_needs_no_second_reading() -> None:
    dates = FileDates("f.csv", "US")
    assert see_all(dates, [["2025-11-03"], ["25/11/2025", "03/11/2025"]]) == ["US", "EU"]
