"""ingest.parse.parser: which reporting unit a sheet is from — district-level units until 2025-06-30, communes after.

From 2025-07-01 the 69 communes report directly, and several share a place name with a district
(``Xã Kỳ Anh`` / ``Thị xã Kỳ Anh``, ``Xã Thạch Hà`` / ``Huyện Thạch Hà``, ``Xã Hương Sơn`` /
``Huyện Hương Sơn``): names are matched as whole words, a name inside a longer one does not count, and
when a line names two units the one existing in the sheet's period wins.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.catalogue import load_catalogue
from ingest.parse.parser import find_unit
from ingest.parse.stage import parse_file
from ingest.read.reader import Sheet
from ingest.tell.official_forms import form_bytes
from tests.unit.test_parser import GDNN, LDVL, SHEET, make_grid, parse

CAT = load_catalogue()
AUG_2025, MAR_2025 = "Tháng 8 năm 2025", "Tháng 3 năm 2025"


@pytest.mark.parametrize(
    ("issuing", "unit_line", "period", "code"),
    [
        # the commune and the district of the same place name, each from its own header
        ("UBND XÃ KỲ ANH", "Đơn vị báo cáo: Phòng Văn hóa - Xã hội xã Kỳ Anh", AUG_2025, "18775"),
        ("UBND THỊ XÃ KỲ ANH", "Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội thị xã Kỳ Anh", MAR_2025,
         "449"),
        ("UBND XÃ THẠCH HÀ", None, AUG_2025, "18562"),
        ("UBND HUYỆN THẠCH HÀ", None, MAR_2025, "445"),
        ("UBND XÃ HƯƠNG SƠN", "Đơn vị báo cáo: Phòng Văn hóa - Xã hội xã Hương Sơn", AUG_2025, "18133"),
        ("UBND HUYỆN HƯƠNG SƠN", "Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội huyện Hương Sơn", MAR_2025,
         "439"),
        # the sheet names the district: it stays the district even in a period it no longer exists in
        # (validation then reports unit-not-in-period), never the commune inside its name
        ("UBND THỊ XÃ KỲ ANH", "Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội thị xã Kỳ Anh", AUG_2025,
         "449"),
        ("UBND HUYỆN THẠCH HÀ", None, AUG_2025, "445"),
        # a code wins over every name, five digits for a commune
        ("UBND XÃ ...", "Đơn vị báo cáo: Phòng Văn hóa - Xã hội (mã 18073)", AUG_2025, "18073"),
        ("UBND XÃ CẨM BÌNH", "Đơn vị báo cáo: Phòng Văn hóa - Xã hội xã Cẩm Bình (mã 18685)", AUG_2025, "18685"),
        # the report line without code or name: the issuing body names the commune
        ("UBND PHƯỜNG THÀNH SEN", "Đơn vị báo cáo: Phòng Văn hóa - Xã hội", AUG_2025, "18073"),
        # a number after the name is part of it
        ("UBND XÃ SƠN KIM 2", None, AUG_2025, "18199"),
    ],
)
def test_unit_of_a_sheet(issuing: str, unit_line: str | None, period: str, code: str) -> None:
    grid, _ = make_grid(issuing=issuing, unit_line=unit_line, period=period)
    result = parse(grid)
    assert result.unit_code == code
    assert result.problems == []


@pytest.mark.parametrize(
    ("period", "start", "code"),
    [(AUG_2025, dt.date(2025, 8, 1), "18562"), (MAR_2025, dt.date(2025, 3, 1), "445")],
)
def test_a_line_naming_two_units_prefers_the_one_existing_in_the_period(period: str, start: dt.date,
                                                                        code: str) -> None:
    grid, _ = make_grid(issuing="UBND ...", period=period,
                        unit_line="Đơn vị báo cáo: UBND xã Thạch Hà (huyện Thạch Hà cũ)")
    result = parse(grid)
    assert (result.unit_code, result.period_start) == (code, start)


def test_a_line_naming_two_units_without_a_period_takes_the_longest_name() -> None:
    sheet = Sheet(SHEET, [["Đơn vị báo cáo: UBND xã Thạch Hà (huyện Thạch Hà cũ)"]])
    assert find_unit(sheet, CAT, 1) == "445"
    assert find_unit(sheet, CAT, 1, dt.date(2025, 7, 1)) == "18562"
    assert find_unit(sheet, CAT, 1, dt.date(2025, 6, 30)) == "445"


@pytest.mark.parametrize(
    "line",
    ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "UBND XÃ SƠN KIM 12", "UBND XÃ KỲ ANHH", "Tỉnh Hà Tĩnh",
     "Phòng Văn hóa - Xã hội"],
)
def test_no_unit_in_a_line_that_only_resembles_a_name(line: str) -> None:
    assert find_unit(Sheet(SHEET, [[line]]), CAT, 1, dt.date(2025, 8, 1)) is None


@pytest.mark.parametrize(
    ("form", "code", "start"),
    [(LDVL, "18685", dt.date(2025, 8, 1)), (GDNN, "18073", dt.date(2025, 7, 1)), (LDVL, "18775", dt.date(2025, 12, 1)),
     (LDVL, "449", dt.date(2025, 6, 1))],
)
def test_a_commune_form_written_and_read_back(form, code: str, start: dt.date) -> None:
    unit = CAT.unit(code)
    values = {(r.code, "period"): 10 for r in form.rows if not r.sum_of}
    parsed = parse_file(form_bytes(form, unit, start, values).data, CAT)
    assert (parsed.form, parsed.unit_code, parsed.period_start) == (form, code, start)
    assert [f.rule for f in parsed.problems if f.rule.startswith("unit")] == []
