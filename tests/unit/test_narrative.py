"""The Vietnamese paragraph of the province report: number formats and the filling of the sentences."""

from __future__ import annotations

import pytest

from ingest.tell.narrative import (
    ProvinceNumbers,
    Rate,
    format_change,
    format_number,
    format_percent,
    paragraph,
)


@pytest.mark.parametrize(("value", "text"), [
    (23000, "23.000"), (23000.0, "23.000"), (0, "0"), (999, "999"), (1234567, "1.234.567"),
    (1234.56, "1.234,6"), (12.5, "12,5"), (12.04, "12"), (-4500, "-4.500"), (111127.2, "111.127,2"),
])
def test_numbers_are_written_the_vietnamese_way(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize(("share", "text"), [
    (1.105, "110,5%"), (0.25, "25%"), (1.0, "100%"), (0.0862, "8,6%"), (12.5, "1.250%"),
])
def test_percentages(share: float, text: str) -> None:
    assert format_percent(share) == text


@pytest.mark.parametrize(("change", "text"), [
    (0.052, "tăng 5,2%"), (-0.031, "giảm 3,1%"), (0.0, "không đổi"), (0.0004, "không đổi"), (1.5, "tăng 150%"),
])
def test_changes_vs_last_year(change: float, text: str) -> None:
    assert format_change(change) == text


def test_the_issue_s_sentence() -> None:
    rows = {"01": ProvinceNumbers(plan_year=20000, value=1800, value_ytd=22100, value_prev_year_ytd=21000,
                                  pct_of_plan=1.105, change_vs_prev_year=22100 / 21000 - 1)}
    sentence = ("{period_label}, toàn tỉnh giải quyết việc làm cho {row_01.ytd} lao động, đạt {row_01.pct_of_plan} "
                "kế hoạch năm, {row_01.change} so với cùng kỳ")
    assert paragraph([sentence], "Tháng 12 năm 2024", rows) == (
        "Tháng 12 năm 2024, toàn tỉnh giải quyết việc làm cho 22.100 lao động, đạt 110,5% kế hoạch năm, "
        "tăng 5,2% so với cùng kỳ")


def test_a_rate_is_recomputed_from_the_province_s_numerator_and_denominator() -> None:
    rows = {"10": ProvinceNumbers(value=4000), "11": ProvinceNumbers(value=250)}
    rates = {"poverty_rate": Rate(numerator="11", denominator="10", measure="period")}
    assert paragraph(["Tỷ lệ hộ nghèo {rate_poverty_rate}."], "Tháng 10 năm 2024", rows, rates) == \
        "Tỷ lệ hộ nghèo 6,3%."


def test_a_sentence_without_its_numbers_is_left_out() -> None:
    rows = {"01": ProvinceNumbers(value=5, value_ytd=50)}  # no plan: no % of plan
    sentences = ["Có {row_01.period} người.", "Đạt {row_01.pct_of_plan} kế hoạch.", "Thiếu {row_99.period}."]
    assert paragraph(sentences, "Quý IV năm 2024", rows) == "Có 5 người."


def test_an_unknown_field_is_a_mistake_in_the_yaml() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        paragraph(["{row_01.average}"], "Tháng 1 năm 2024", {})


def test_fields_given_as_text() -> None:
    assert paragraph(["Tổng hợp từ {units_counted}/{units_owed} đơn vị."], "Tháng 12 năm 2024", {},
                     texts={"units_counted": "11", "units_owed": "13"}) == "Tổng hợp từ 11/13 đơn vị."
