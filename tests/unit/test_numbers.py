"""ingest.read.numbers: reading a number out of a cell the way a Vietnamese office types it."""

from __future__ import annotations

import datetime as dt
import math
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.read.numbers import BLANK, CellNumber, NotANumber, format_vi, parse_number

# --- numeric cells ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "value"), [(0, 0.0), (5, 5.0), (5.0, 5.0), (1234.5, 1234.5), (-3, -3.0)])
def test_numeric_cell_is_taken_as_it_is(cell: object, value: float) -> None:
    got = parse_number(cell)
    assert got == CellNumber(value)
    assert isinstance(got.value, float)
    assert got.text is None and got.qualifier is None and got.is_dash is False


@pytest.mark.parametrize("cell", [None, "", "   ", "\u00a0", "\u200b"])
def test_empty_cell_is_blank(cell: object) -> None:
    assert parse_number(cell) == BLANK == CellNumber(None)


@pytest.mark.parametrize(
    "cell", [True, False, math.nan, math.inf, -math.inf, dt.date(2024, 10, 1), dt.datetime(2024, 10, 1, 8, 0),
             dt.time(12, 15), dt.timedelta(days=1)],
)
def test_non_numbers_in_numeric_types_are_refused(cell: object) -> None:
    with pytest.raises(NotANumber):
        parse_number(cell)


# --- text with Vietnamese separators ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0.0),
        ("120", 120.0),
        ("1.234", 1234.0),  # dot groups thousands
        ("12.345.678", 12345678.0),
        ("12,5", 12.5),  # comma is the decimal mark
        ("1.234,5", 1234.5),
        ("0,25", 0.25),
        ("3.5", 3.5),  # a dot not followed by exactly three digits is a decimal point
        ("1.2345", 1.2345),
        ("1,234,567", 1234567.0),  # English grouping, unambiguous with two groups or more
        ("1 234", 1234.0),  # spaces inside are ignored
        ("1\u00a0234", 1234.0),
        (" 120 ", 120.0),
        ("-5", -5.0),
        ("- 5", -5.0),
        ("−1.234", -1234.0),  # U+2212 minus sign
    ],
)
def test_text_numbers(text: str, value: float) -> None:
    got = parse_number(text)
    assert got.value == value
    assert got.text == text  # the cell as typed is kept
    assert got.qualifier is None
    assert got.is_dash is False


@pytest.mark.parametrize(
    ("text", "value", "qualifier"),
    [
        ("khoảng 120", 120.0, "about"),
        ("Khoảng 1.200", 1200.0, "about"),
        ("khoang 120", 120.0, "about"),
        ("trên 300", 300.0, "over"),
        ("hơn 300", 300.0, "over"),
        ("gần 50", 50.0, "nearly"),
        ("ước 12,5", 12.5, "estimate"),
        ("ước tính 40", 40.0, "estimate"),
        ("ước đạt 40", 40.0, "estimate"),
        ("khoảng120", 120.0, "about"),
    ],
)
def test_words_in_front_become_a_qualifier(text: str, value: float, qualifier: str) -> None:
    got = parse_number(text)
    assert (got.value, got.qualifier, got.text, got.is_dash) == (value, qualifier, text, False)


def test_qualifier_typed_in_nfd_is_recognised() -> None:
    text = unicodedata.normalize("NFD", "khoảng 120")
    got = parse_number(text)
    assert (got.value, got.qualifier) == (120.0, "about")


@pytest.mark.parametrize("dash", ["-", "–", "—", "−", "--", "---", " - "])
def test_dash_means_none_read_as_zero(dash: str) -> None:
    got = parse_number(dash)
    assert got == CellNumber(0.0, text=dash, is_dash=True)


@pytest.mark.parametrize(
    "text",
    ["1.234,5.6", "12/15", "n/a", "N/A", "x", "khoảng", "khoảng -", "1,2,3", "1.23.456", "12,5%", "1e5", "--5",
     "1.234.56", "abc 120", "120 người", "1..2", ",5", "5,"],
)
def test_unreadable_text_is_not_guessed(text: str) -> None:
    with pytest.raises(NotANumber) as exc:
        parse_number(text)
    assert str(exc.value) == text  # the problem carries the cell as typed


def test_not_a_number_is_a_value_error() -> None:
    assert issubclass(NotANumber, ValueError)


# --- format_vi ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(0, 0, "0"), (1234, 0, "1.234"), (1234567, 0, "1.234.567"), (1234.5, 1, "1.234,5"), (12.5, 1, "12,5"),
     (-1234.5, 1, "-1.234,5"), (999, 0, "999"), (1000, 0, "1.000"), (0.25, 2, "0,25")],
)
def test_format_vi_examples(value: float, decimals: int, text: str) -> None:
    assert format_vi(value, decimals) == text


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_vi_parse_number_round_trip_integers(n: int) -> None:
    text = format_vi(n)
    got = parse_number(text)
    assert got.value == float(n)
    assert got.qualifier is None and not got.is_dash


@given(st.integers(min_value=-(10**11), max_value=10**11))
def test_format_vi_parse_number_round_trip_one_decimal(tenths: int) -> None:
    value = tenths / 10
    text = format_vi(value, 1)
    assert "," in text  # always a decimal comma with one decimal
    assert parse_number(text).value == value


@given(st.integers(min_value=0, max_value=10**12))
def test_format_vi_groups_by_three_with_dots(n: int) -> None:
    text = format_vi(n)
    groups = text.split(".")
    assert 1 <= len(groups[0]) <= 3
    assert all(len(g) == 3 for g in groups[1:])
    assert "".join(groups) == str(n)


@pytest.mark.parametrize(("typed", "value"), [("1 234", 1234.0), ("1 234 567", 1234567.0), ("1 234,5", 1234.5),
                                              ("1234,5", 1234.5), ("khoảng 1 200", 1200.0)])
def test_spaces_group_thousands(typed: str, value: float) -> None:
    assert parse_number(typed).value == value


@pytest.mark.parametrize("typed", ["12 34", "1 23", "1,234", "12,345", "999,999"])
def test_ambiguous_grouping_is_not_guessed(typed: str) -> None:
    with pytest.raises(NotANumber):
        parse_number(typed)
