"""The province report without a warehouse: its catalogue file, its periods, its values and its read-back."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from ingest.catalogue import load_catalogue
from ingest.catalogue.constants import SUBMISSION_STATUSES
from ingest.cli import main
from ingest.parse.parser import parse_sheets
from ingest.read.reader import read_workbook
from ingest.tell.official_forms import form_bytes
from ingest.tell.province_report import (
    ProvinceReportError,
    form_period,
    form_values,
    load_config,
    period_start,
)

CATALOGUE = load_catalogue()


def test_every_narrative_quotes_rows_its_form_has() -> None:
    config = load_config()
    domains = {f.domain: f for f in CATALOGUE.forms}
    assert set(config.narratives) == set(domains)
    for domain, narrative in config.narratives.items():
        codes = set(domains[domain].row_codes)
        for sentence in narrative.sentences:
            assert set(re.findall(r"\{row_(\w+)\.", sentence)) <= codes, sentence
            assert set(re.findall(r"\{rate_(\w+)\}", sentence)) <= set(narrative.rates), sentence
        for rate in narrative.rates.values():
            assert {rate.numerator, rate.denominator} <= codes and rate.measure in ("period", "ytd")


def test_sheet_titles_fit_excel_and_never_name_a_form() -> None:
    config = load_config()
    for title in config.sheets.values():
        assert len(title) <= 31 and CATALOGUE.find_form(title) is None


@pytest.mark.parametrize(("form_code", "period", "start"), [
    ("01/LĐVL-H", "2024-12", dt.date(2024, 12, 1)), ("02/GDNN-H", "2024-Q4", dt.date(2024, 10, 1)),
    ("04/TTr-H", "2025-Q1", dt.date(2025, 1, 1)),
])
def test_periods_of_the_form_s_frequency(form_code: str, period: str, start: dt.date) -> None:
    form = CATALOGUE.form(form_code)
    assert period_start(form, period) == start
    assert form_period(form, start) == period


@pytest.mark.parametrize(("form_code", "period"), [
    ("01/LĐVL-H", "2024-Q4"), ("02/GDNN-H", "2024-12"), ("01/LĐVL-H", "2024-13"), ("01/LĐVL-H", "12/2024"),
])
def test_a_period_of_another_frequency_or_malformed_is_refused(form_code: str, period: str) -> None:
    with pytest.raises(ProvinceReportError):
        period_start(CATALOGUE.form(form_code), period)


def test_form_period_of_december_for_a_quarterly_form_is_its_fourth_quarter() -> None:
    assert form_period(CATALOGUE.form("02/GDNN-H"), dt.date(2024, 12, 1)) == "2024-Q4"


def test_form_values_are_the_mart_s_measures() -> None:
    indicators = pd.DataFrame([
        {"row_code": "01", "plan_year": 2000.0, "value": 180.0, "value_ytd": 2000.0, "value_prev_year_ytd": None},
        {"row_code": "11", "plan_year": None, "value": 50.0, "value_ytd": 50.0, "value_prev_year_ytd": 40.0},
    ])
    assert form_values(indicators) == {
        ("01", "plan_year"): 2000.0, ("01", "period"): 180.0, ("01", "ytd"): 2000.0,
        ("11", "period"): 50.0, ("11", "ytd"): 50.0, ("11", "ytd_prev_year"): 40.0,
    }


def test_the_parser_reads_a_province_form_only_when_asked() -> None:
    config = load_config()
    form = CATALOGUE.form("01/LĐVL-H")
    values = {("01", "period"): 1234.0, ("01", "ytd"): 22100.0, ("12", "period"): 55.5}
    sheets = read_workbook(form_bytes(form, config.office, dt.date(2024, 12, 1), values, signed_on=dt.date(2025, 1, 31),
                                      signers=config.signers).data)
    texts = {cell for row in sheets[0].rows for cell in row if isinstance(cell, str)}
    assert {"UBND TỈNH HÀ TĨNH", "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI", "GIÁM ĐỐC",
            "Hà Tĩnh, ngày 31 tháng 01 năm 2025",
            "Đơn vị báo cáo: Sở Lao động - Thương binh và Xã hội tỉnh Hà Tĩnh (mã 42)"} <= texts
    province = parse_sheets(sheets, CATALOGUE, province=True)
    assert (province.form, province.unit_code, province.period_start) == (form, "42", dt.date(2024, 12, 1))
    assert not province.problems
    got = {(o.row_code, o.measure): o.value for o in province.observations if o.value is not None}
    assert got == values
    district_door = parse_sheets(sheets, CATALOGUE)  # a received file never reports for the province
    assert district_door.unit_code is None and [p.rule for p in district_door.problems] == ["unit-not-found"]


def test_every_coverage_and_status_has_its_vietnamese_label() -> None:
    config = load_config()
    assert set(config.coverage_labels) == {"counted", "missing", "rejected"}
    assert set(config.status_labels) == {*SUBMISSION_STATUSES, "missing"}


@pytest.mark.parametrize(("args", "message"), [
    (["--form", "99/XX-H", "--period", "2024-12"], "no form '99/XX-H' in the catalogue"),
    (["--form", "02/GDNN-H", "--period", "2024-12"], "02/GDNN-H is a quarterly form: its periods are written YYYY-Qn"),
    (["--period", "2024-13", "--month-of-period"], "period '2024-13' is not a month (YYYY-MM)"),
])
def test_the_command_says_what_is_wrong_before_opening_the_warehouse(args: list[str], message: str, tmp_path,
                                                                    monkeypatch, capsys) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))  # no warehouse there
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    assert main(["province-report", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
