"""ingest.parse.file_name: the form and period a file's name speaks of, as district officers name files."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.catalogue import load_catalogue
from ingest.parse.file_name import report_named

CAT = load_catalogue()
JAN_5 = dt.datetime(2025, 1, 5, 2, 0)  # UTC: 09:00 in Vietnam
JUL_20 = dt.datetime(2024, 7, 20, 2, 0)


@pytest.mark.parametrize(("name", "received", "form", "period"), [
    ("bieu01_T6.xlsx", JUL_20, "01/LĐVL-H", "2024-06-01"),
    ("Biểu 03 tháng 6.2024.xlsx", JUL_20, "03/BTXH-H", "2024-06-01"),
    ("01_LĐVL_T06_2024.xlsx", JUL_20, "01/LĐVL-H", "2024-06-01"),
    ("Can Lộc - BC LĐVL T12.xlsx", JAN_5, "01/LĐVL-H", "2024-12-01"),  # December, sent in January
    ("bao cao btxh thang 12.xlsx", JAN_5, "03/BTXH-H", "2024-12-01"),
    ("CanLoc_BCLDVL_thang06.xlsx", JUL_20, "01/LĐVL-H", "2024-06-01"),
    ("Bieu 02 quy 2 nam 2024.xlsx", JUL_20, "02/GDNN-H", "2024-04-01"),
    ("Can Lộc - BC GDNN quý IV năm 2024.xlsx", JAN_5, "02/GDNN-H", "2024-10-01"),
    ("BC TTr Q4.xlsx", JAN_5, "04/TTr-H", "2024-10-01"),
    ("bieu04_Q3_2024 final.xlsx", JAN_5, "04/TTr-H", "2024-07-01"),
])
def test_what_a_name_says(name: str, received: dt.datetime, form: str, period: str) -> None:
    got_form, got_period = report_named(name, received, CAT)
    assert (got_form.code if got_form else None, got_period) == (form, dt.date.fromisoformat(period))


@pytest.mark.parametrize(("name", "form"), [
    ("BC thang 6 - Can Loc.xlsx", None),  # no form
    ("Báo cáo tháng 6 năm 2024.xlsx", None),
    ("bieu01 và bieu03 T6.xlsx", None),  # two forms: no guess
    ("bieu01 tong hop.xlsx", "01/LĐVL-H"),  # a form, no period
    ("bieu01 quy 2.xlsx", "01/LĐVL-H"),  # a monthly form named with a quarter: no period
    ("Bieu 02 thang 6.xlsx", "02/GDNN-H"),  # a quarterly form named with a month: no period
    ("bieu01_T13.xlsx", "01/LĐVL-H"),  # no 13th month
    ("Thong tu 01-2024 huong dan.xlsx", None),  # a number that is no form: not after Biểu, not leading
])
def test_what_a_name_does_not_say(name: str, form: str | None) -> None:
    got_form, got_period = report_named(name, JUL_20, CAT)
    assert (got_form.code if got_form else None, got_period) == (form, None)
