"""ingest.parse.parser: finding the form, period, unit, table and every number by content, never by position."""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.catalogue import Form, FormVersion, load_catalogue
from ingest.catalogue.problems import Problem
from ingest.parse.parser import Observation, ParsedSubmission, normalise_row_code, parse_sheets
from ingest.read.numbers import format_vi
from ingest.read.reader import Sheet, read_workbook
from ingest.tell.official_forms import Quirks, write_form
from ingest.text import cell_address

CAT = load_catalogue()
LDVL = CAT.form("01/LĐVL-H")  # monthly, rows 01..14
GDNN = CAT.form("02/GDNN-H")  # quarterly, rows 01..12
BTXH = CAT.form("03/BTXH-H")  # monthly
TTR = CAT.form("04/TTr-H")  # quarterly
MEASURES = ("plan_year", "period", "ytd", "ytd_prev_year")
MEASURE_COL = {"plan_year": 4, "period": 5, "ytd": 6, "ytd_prev_year": 7}
WIDTH = 8
CODE_COL = 2
UNIT_LINE = "Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội huyện Can Lộc (mã 443)"
RECEIVER_LINE = "Đơn vị nhận báo cáo: Sở Lao động - Thương binh và Xã hội tỉnh Hà Tĩnh"
NOTE = "Ghi chú: số liệu ước thực hiện, sẽ cập nhật khi có số liệu chính thức"
SHEET = "Bieu 01"

Grid = list[list[object]]


def _line(*cells: object) -> list[object]:
    return list(cells) + [""] * (WIDTH - len(cells))


def default_period(form: Form) -> str:
    return "Tháng 10 năm 2024" if form.frequency == "monthly" else "Quý III năm 2024"


def default_values(form: Form) -> dict[tuple[str, str], object]:
    return {(r.code, m): float(10 * (i + 1) + j) for i, r in enumerate(form.rows) for j, m in enumerate(MEASURES)}


def make_grid(
    form: Form = LDVL,
    *,
    values: dict[tuple[str, str], object] | None = None,
    period: str | None = None,
    unit_line: str | None = UNIT_LINE,
    issuing: str = "UBND HUYỆN CAN LỘC",
    form_line: str | None = None,
    title: str | None = None,
    above: list[list[object]] = (),
    code_header: str = "Mã số",
    column_headers: dict[str, str] | None = None,
    between: dict[str, list[list[object]]] | None = None,
    code_cells: dict[str, object] | None = None,
    skip: tuple[str, ...] = (),
    extra: list[tuple[object, str, dict[str, object]]] = (),
) -> tuple[Grid, dict[tuple[str, str], str]]:
    """A form laid out like the province's blank (README "How a blank form looks"), as calamine returns it.

    Returns the grid and the A1 address of every (row_code, measure) cell of the table.
    """
    values = default_values(form) if values is None else values
    between = between or {}
    code_cells = code_cells or {}
    heads = {"plan_year": "Kế hoạch năm 2024", "period": "Thực hiện", "ytd": "", "ytd_prev_year": "Cùng kỳ năm trước",
             "period2": "Tháng báo cáo" if form.frequency == "monthly" else "Quý báo cáo",
             "ytd2": "Lũy kế từ đầu năm"}
    heads.update(column_headers or {})
    g: Grid = [
        _line(issuing, "", "", "", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        _line("PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI", "", "", "", "Độc lập - Tự do - Hạnh phúc"),
        _line(f"Biểu số: {form.code}" if form_line is None else form_line),
        _line(form.title_vi if title is None else title),
        _line(default_period(form) if period is None else period),
        _line(unit_line or ""),
        _line(RECEIVER_LINE),
        _line(),
    ]
    g.extend(list(r) for r in above)
    g.append(_line("STT", "Chỉ tiêu", code_header, "Đơn vị tính", heads["plan_year"], heads["period"], heads["ytd"],
                   heads["ytd_prev_year"]))
    g.append(_line("", "", "", "", "", heads["period2"], heads["ytd2"], ""))
    g.append(_line("A", "B", "C", "D", "1", "2", "3", "4"))
    cells: dict[tuple[str, str], str] = {}
    for heading, rows in form.sections():
        g.append(_line("", heading))
        for row in rows:
            if row.code in skip:
                continue
            r = len(g)
            line = _line("", row.label_vi, code_cells.get(row.code, row.code), row.unit)
            for m, c in MEASURE_COL.items():
                v = values.get((row.code, m))
                line[c] = "" if v is None else v
                cells[(row.code, m)] = cell_address(r, c)
            g.append(line)
            g.extend(list(x) for x in between.get(row.code, []))
    for code, label, vals in extra:
        line = _line("", label, code, "người")
        for m, c in MEASURE_COL.items():
            line[c] = vals.get(m, "")
        g.append(line)
    g.append(_line())
    g.append(_line("", "", "", "", "", "Can Lộc, ngày 08 tháng 11 năm 2024"))
    g.append(_line("NGƯỜI LẬP BIỂU", "", "", "", "", "TRƯỞNG PHÒNG"))
    return g, cells


def parse(grid: Grid, name: str = SHEET, before: list[Sheet] = ()) -> ParsedSubmission:
    return parse_sheets([*before, Sheet(name, grid)], CAT)


def obs_map(result: ParsedSubmission) -> dict[tuple[str, str], Observation]:
    return {(o.row_code, o.measure): o for o in result.observations}


def row_of(address: str) -> int:
    return int("".join(ch for ch in address if ch.isdigit())) - 1


# --- normalise_row_code -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "code"),
    [("01", "01"), ("1", "01"), (1, "01"), (1.0, "01"), ("1.", "01"), ("01.", "01"), (" 01 ", "01"), ("001", "01"),
     (12, "12"), ("12", "12"), (12.0, "12"), (99, "99"), (100, "100"), ("0", "00"), (0, "00")],
)
def test_normalise_row_code_accepts(cell: object, code: str) -> None:
    assert normalise_row_code(cell) == code


@pytest.mark.parametrize(
    "cell", [None, True, False, "", "A", "C", "1a", "1.5", 1.5, -1, -1.0, "-1", 1000, "1000", "I.", "01/LĐVL-H",
             "Mã số", "1,0"],
)
def test_normalise_row_code_rejects(cell: object) -> None:
    assert normalise_row_code(cell) is None


@given(st.integers(min_value=0, max_value=999), st.integers(min_value=0, max_value=3), st.booleans(),
       st.sampled_from(["int", "float", "str"]))
def test_normalise_row_code_property(n: int, zeros: int, dot: bool, kind: str) -> None:
    expected = f"{n:02d}"
    if kind == "int":
        cell: object = n
    elif kind == "float":
        cell = float(n)
    else:
        cell = "0" * zeros + str(n) + ("." if dot else "")
    assert normalise_row_code(cell) == expected


# --- the plain form -----------------------------------------------------------------------------------


def test_plain_monthly_form_reads_everything() -> None:
    grid, cells = make_grid()
    result = parse(grid)
    assert result.problems == []
    assert result.sheet == SHEET
    assert result.form is LDVL
    assert result.unit_code == "443"
    assert result.period_start == dt.date(2024, 10, 1)
    assert result.identified
    assert len(result.observations) == len(LDVL.rows) * 4
    got = obs_map(result)
    # row 01 is the first indicator row: sheet row 13 (header 9–10 + column numbers 11 + section 12)
    assert got[("01", "plan_year")] == Observation("01", "plan_year", 10.0, None, None, SHEET, "E13")
    assert got[("01", "ytd_prev_year")].source_cell == "H13"
    assert got[("14", "period")].value == 10 * 14 + 1
    for key, address in cells.items():
        assert got[key].source_cell == address


def test_blank_cells_are_observations_without_value() -> None:
    values = default_values(LDVL)
    values[("02", "plan_year")] = None
    grid, cells = make_grid(values=values)
    result = parse(grid)
    o = obs_map(result)[("02", "plan_year")]
    assert (o.value, o.value_text, o.source_cell) == (None, None, cells[("02", "plan_year")])
    assert result.problems == []


def test_form_found_by_title_when_code_line_is_missing() -> None:
    grid, _ = make_grid(BTXH, form_line="")
    result = parse(grid)
    assert result.form is BTXH
    assert result.problems == []


def test_form_code_typed_with_spaces_is_found() -> None:
    grid, _ = make_grid(form_line="Biểu số 01 / LĐVL - H", title="BÁO CÁO THÁNG")
    assert parse(grid).form is LDVL


def test_codes_typed_as_numbers() -> None:
    codes = {r.code: float(int(r.code)) for r in LDVL.rows}
    codes["05"] = 5  # an int, as some readers return
    codes["06"] = "6."
    grid, cells = make_grid(code_cells=codes)
    result = parse(grid)
    assert result.problems == []
    got = obs_map(result)
    assert {code for code, _ in got} == set(LDVL.row_codes)
    assert got[("05", "period")].source_cell == cells[("05", "period")]
    assert got[("05", "period")].value == default_values(LDVL)[("05", "period")]


@pytest.mark.parametrize("inserted", [1, 5, 20])
def test_header_found_after_inserted_rows(inserted: int) -> None:
    above = [_line("(Kèm theo Công văn của Phòng Lao động - Thương binh và Xã hội)")] + [_line()] * (inserted - 1)
    grid, cells = make_grid(above=above)
    result = parse(grid)
    assert result.problems == []
    assert obs_map(result)[("01", "plan_year")].source_cell == f"E{13 + inserted}"
    assert {k: o.source_cell for k, o in obs_map(result).items()} == cells


def test_header_beyond_scan_window_is_not_found() -> None:
    grid, _ = make_grid(above=[_line()] * 40)
    result = parse(grid)
    assert result.problems == [Problem.at("header-not-found", sheet=SHEET)]


def test_note_rows_inside_the_table_are_skipped() -> None:
    grid, cells = make_grid(between={"04": [_line("", NOTE)], "09": [_line(), _line()]})
    result = parse(grid)
    assert result.problems == []
    assert row_of(cells[("05", "period")]) == row_of(cells[("04", "period")]) + 2
    assert {k: o.source_cell for k, o in obs_map(result).items()} == cells


def test_renamed_sheet_after_unrelated_sheet() -> None:
    notes = Sheet("Ghi chu", [["Ghi chú của người lập biểu"], ["- Số liệu tháng này tổng hợp từ các xã."]])
    empty = Sheet("Sheet3", [])
    grid, _ = make_grid()
    result = parse(grid, name="Báo cáo T10", before=[notes, empty])
    assert result.sheet == "Báo cáo T10"
    assert result.problems == []
    assert {o.source_sheet for o in result.observations} == {"Báo cáo T10"}


# --- which sheet: instructions, notes and earlier reports beside the form -----------------------------------

def instructions(wording: str) -> Grid:
    """The ministry's instructions sheet as districts keep it at the front of the workbook: it names the form,
    its period, its columns and every row code, in prose or in a table of codes without numbers."""
    rows = [r for r in LDVL.rows]
    if wording == "prose":
        return [["HƯỚNG DẪN GHI BIỂU"], [f"Biểu số: {LDVL.code} — {LDVL.title_vi}"],
                ["Kỳ báo cáo: Tháng 10 năm 2024; gửi trước ngày 10 tháng sau"],
                ["Cột Kế hoạch năm, Thực hiện tháng báo cáo, Lũy kế từ đầu năm, Cùng kỳ năm trước ghi số nguyên."],
                *[[f"Mã số {r.code}: {r.label_vi}"] for r in rows]]
    if wording == "codes-table":  # a table of the codes, with a Mã số header but no numeric column
        return [["Hướng dẫn"], [f"Áp dụng cho biểu {LDVL.code}"], ["Mã số", "Chỉ tiêu", "Cách ghi"],
                *[[r.code, r.label_vi, "Ghi theo số người thực tế"] for r in rows]]
    # only the codes, one a line, as some districts copy them from the ministry's circular
    return [[LDVL.code], *[[r.code] for r in rows]]


@pytest.mark.parametrize("wording", ["prose", "codes-table", "codes-only"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_an_instructions_sheet_that_quotes_the_form_is_passed_over(wording: str, where: str) -> None:
    grid, cells = make_grid()
    guide, form = Sheet("Hướng dẫn", instructions(wording)), Sheet("Sheet1", grid)
    result = parse_sheets([guide, form] if where == "before" else [form, guide], CAT)
    assert (result.sheet, result.form, result.unit_code, result.period_start) == (
        "Sheet1", LDVL, "443", dt.date(2024, 10, 1))
    assert result.problems == []
    assert {k: o.source_cell for k, o in obs_map(result).items()} == cells


def test_two_sheets_that_both_hold_a_form_are_one_problem_not_a_guess() -> None:
    october, _ = make_grid()
    november, _ = make_grid(period="Tháng 11 năm 2024")
    guide = Sheet("Hướng dẫn", instructions("prose"))
    result = parse_sheets([guide, Sheet("T10", october), Sheet("T11", november)], CAT)
    assert result.problems == [Problem.at("form-on-several-sheets", value="«T10», «T11»")]
    assert (result.form, result.unit_code, result.period_start, result.observations) == (LDVL, "443", None, [])
    assert not result.identified  # the sheets disagree on the period: the file is no report of either
    other, _ = make_grid(BTXH)
    two_forms = parse_sheets([Sheet("A", other), Sheet("B", october)], CAT)
    assert two_forms.problems == [Problem.at("form-on-several-sheets", value="«A», «B»")]
    assert two_forms.form is None
    copy = parse_sheets([Sheet("A", october), Sheet("B", october)], CAT)  # the same report twice
    assert (copy.form, copy.unit_code, copy.period_start, copy.identified) == (LDVL, "443", dt.date(2024, 10, 1),
                                                                             True)
    assert [p.rule for p in copy.problems] == ["form-on-several-sheets"]


def test_without_a_whole_form_the_sheet_holding_most_of_one_is_reported() -> None:
    grid, _ = make_grid(code_header="Mã chỉ tiêu cấp huyện")  # no recognisable Mã số header
    result = parse_sheets([Sheet("Hướng dẫn", instructions("prose")), Sheet("BC", grid)], CAT)
    assert result.sheet == "BC"
    assert [p.rule for p in result.problems] == ["header-not-found"]
    assert (result.form, result.period_start) == (LDVL, dt.date(2024, 10, 1))  # what it says, for the calendar
    nothing = parse_sheets([Sheet("Ghi chu", [["Ghi chú"]])], CAT)
    assert nothing.problems == [Problem.at("form-not-found", forms="01/LĐVL-H, 02/GDNN-H, 03/BTXH-H, 04/TTr-H")]


@pytest.mark.parametrize("active", ["guide", "form"])
def test_a_real_workbook_with_the_guide_first_and_active(tmp_path: Path, active: str) -> None:
    """As districts send it: xlsxwriter writes the guide as the first sheet, the form on 'Bieu mau'; whichever
    sheet is active when the file is saved, the form is read."""
    import xlsxwriter

    grid, cells = make_grid()
    path = tmp_path / "bc.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    sheets = {}
    for name, rows in (("Hướng dẫn", instructions("codes-table")), ("Bieu mau", grid)):
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value not in ("", None):
                    ws.write(r, c, value)
        sheets[name] = ws
    sheets["Hướng dẫn" if active == "guide" else "Bieu mau"].activate()
    wb.close()
    result = parse_sheets(read_workbook(path.read_bytes()), CAT)
    assert (result.sheet, result.form, result.period_start, result.problems) == (
        "Bieu mau", LDVL, dt.date(2024, 10, 1), [])
    assert {k: o.source_cell for k, o in obs_map(result).items()} == cells


# --- period -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start"),
    [("Tháng 10 năm 2024", dt.date(2024, 10, 1)), ("THÁNG 12 NĂM 2024", dt.date(2024, 12, 1)),
     ("Tháng 10/2024", dt.date(2024, 10, 1)), ("tháng 1 - 2025", dt.date(2025, 1, 1)),
     ("Kỳ báo cáo: Tháng 3 năm 2025", dt.date(2025, 3, 1)), ("Tháng  7\u00a0năm 2024", dt.date(2024, 7, 1))],
)
def test_monthly_period(text: str, start: dt.date) -> None:
    grid, _ = make_grid(period=text)
    result = parse(grid)
    assert result.period_start == start
    assert result.problems == []


@pytest.mark.parametrize(
    "text", ["", "Tháng 13 năm 2024", "Tháng ... năm ....", "Kế hoạch tháng 10 năm 2024", "Tháng mười năm 2024"],
)
def test_monthly_period_not_found(text: str) -> None:
    grid, _ = make_grid(period=text)
    result = parse(grid)
    assert result.period_start is None
    assert result.problems == [Problem.at("period-not-found", sheet=SHEET)]
    assert not result.identified


def test_date_line_is_not_a_period() -> None:
    """``ngày 08 tháng 11 năm 2024`` above the table is a date, not the period."""
    grid, _ = make_grid(period="", above=[_line("Can Lộc, ngày 08 tháng 11 năm 2024")])
    result = parse(grid)
    assert result.period_start is None
    assert result.problems == [Problem.at("period-not-found", sheet=SHEET)]


def test_period_mismatch_quarterly_form_with_a_month() -> None:
    grid, _ = make_grid(GDNN, period="Tháng 10 năm 2024")
    result = parse(grid)
    assert result.period_start is None
    assert result.problems == [Problem.at("period-mismatch", sheet=SHEET, cell="A5", value="Tháng 10 năm 2024",
                                       form="02/GDNN-H", expected="quý")]


@pytest.mark.parametrize(
    ("form", "text", "start"),
    [(GDNN, "Quý III năm 2024", dt.date(2024, 7, 1)), (GDNN, "Quý 3/2024", dt.date(2024, 7, 1)),
     (TTR, "QUÝ IV NĂM 2024", dt.date(2024, 10, 1)), (TTR, "Quý I - 2025", dt.date(2025, 1, 1)),
     (TTR, "Quý II năm 2025", dt.date(2025, 4, 1)), (GDNN, unicodedata.normalize("NFD", "Quý III năm 2024"),
                                                       dt.date(2024, 7, 1))],
)
def test_quarterly_period(form: Form, text: str, start: dt.date) -> None:
    grid, _ = make_grid(form, period=text)
    result = parse(grid)
    assert result.period_start == start
    assert result.problems == []


def test_period_mismatch_monthly_form_with_a_quarter() -> None:
    grid, _ = make_grid(LDVL, period="Quý III năm 2024")
    result = parse(grid)
    assert result.period_start is None
    assert result.problems == [Problem.at("period-mismatch", sheet=SHEET, cell="A5", value="Quý III năm 2024",
                                       form="01/LĐVL-H", expected="tháng")]


def test_plain_quarterly_form_reads_everything() -> None:
    """The quarter columns (``Quý báo cáo``) are matched as well as the period line."""
    grid, cells = make_grid(GDNN)
    result = parse(grid)
    assert result.problems == []
    assert (result.form, result.unit_code, result.period_start) == (GDNN, "443", dt.date(2024, 7, 1))
    assert {k: o.source_cell for k, o in obs_map(result).items()} == cells


# --- unit ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [UNIT_LINE, "Đơn vị báo cáo: Phòng LĐ-TB&XH (mã số: 443)", "ĐƠN VỊ BÁO CÁO: PHÒNG LĐTBXH (Mã đơn vị 443)",
     "Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội huyện Can Lộc"],
)
def test_unit_from_the_report_line(line: str) -> None:
    grid, _ = make_grid(unit_line=line, issuing="UBND HUYỆN ...")
    result = parse(grid)
    assert result.unit_code == "443"
    assert result.problems == []


def test_unit_found_by_name_when_there_is_no_code() -> None:
    grid, _ = make_grid(unit_line="Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội thị xã Kỳ Anh",
                        issuing="UBND THỊ XÃ KỲ ANH")
    assert parse(grid).unit_code == "449"


def test_unit_found_from_the_issuing_body_when_the_report_line_is_missing() -> None:
    grid, _ = make_grid(unit_line=None, issuing="UBND THÀNH PHỐ HÀ TĨNH")
    result = parse(grid)
    assert result.unit_code == "436"
    assert result.problems == []


def test_unknown_unit_code() -> None:
    grid, _ = make_grid(unit_line="Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội (mã 999)")
    result = parse(grid)
    assert result.unit_code is None
    assert result.problems == [Problem.at("unit-unknown", sheet=SHEET, value="999")]
    assert not result.identified


def test_receiver_line_does_not_name_the_sender() -> None:
    """The receiver names ``tỉnh Hà Tĩnh``; without a sender line or issuing body the unit is not found."""
    grid, _ = make_grid(unit_line=None, issuing="UBND HUYỆN ...............")
    result = parse(grid)
    assert result.unit_code is None
    assert result.problems == [Problem.at("unit-not-found", sheet=SHEET)]


# --- rows ---------------------------------------------------------------------------------------------


def test_unknown_row_code_with_numbers_is_a_warning() -> None:
    grid, cells = make_grid(extra=[("99", "Chỉ tiêu bổ sung của huyện", {"period": 7.0})])
    result = parse(grid)
    address = f"C{row_of(cells[('14', 'period')]) + 2}"  # the line after row 14
    assert result.problems == [Problem.at("row-unknown", sheet=SHEET, cell=address, row_code="99", form="01/LĐVL-H")]
    assert "99" not in {o.row_code for o in result.observations}
    assert len(result.observations) == len(LDVL.rows) * 4


def test_unknown_row_code_without_numbers_is_ignored() -> None:
    grid, _ = make_grid(extra=[("99", "Chỉ tiêu bổ sung của huyện", {"period": "", "ytd": "n/a"})])
    result = parse(grid)
    assert result.problems == []


def test_duplicated_row_code() -> None:
    dup = _line("", "- Nhật Bản (bổ sung)", "05", "người", 1.0, 2.0, 3.0, 4.0)
    grid, cells = make_grid(between={"08": [dup]})
    result = parse(grid)
    second = f"C{row_of(cells[('08', 'period')]) + 2}"
    assert result.problems == [Problem.at("row-duplicated", sheet=SHEET, cell=second, row_code="05")]
    o = obs_map(result)[("05", "period")]
    # the first one is kept
    assert (o.value, o.source_cell) == (default_values(LDVL)[("05", "period")], cells[("05", "period")])
    assert len(result.observations) == len(LDVL.rows) * 4


def test_missing_row() -> None:
    grid, _ = make_grid(skip=("09",))
    result = parse(grid)
    assert result.problems == [Problem.at("row-missing", sheet=SHEET, row_code="09", form="01/LĐVL-H")]
    assert "09" not in {o.row_code for o in result.observations}


OLD_LDVL = dataclasses.replace(LDVL, version="2024", previous_versions=(
    FormVersion("2023", without_rows=("09",), note="row 09 added in 2024"),
    FormVersion("2022", without_rows=("09", "13", "14")),
))
OLD_CAT = dataclasses.replace(CAT, forms=(OLD_LDVL, *CAT.forms[1:]))


def test_current_version_recorded() -> None:
    grid, _ = make_grid()
    result = parse_sheets([Sheet(SHEET, grid)], OLD_CAT)
    assert (result.form_version, result.problems) == ("2024", [])


@pytest.mark.parametrize(("skip", "version"), [(("09",), "2023"), (("09", "13", "14"), "2022")])
def test_older_version_recognised_and_loaded_for_the_rows_it_has(skip: tuple[str, ...], version: str) -> None:
    grid, cells = make_grid(skip=skip)
    result = parse_sheets([Sheet(SHEET, grid)], OLD_CAT)
    assert (result.form_version, result.problems) == (version, [])
    assert {(o.row_code, o.measure): o.source_cell for o in result.observations} == {
        k: v for k, v in cells.items() if k[0] not in skip}


def test_rows_missing_from_no_known_version_are_reported_on_the_current_one() -> None:
    grid, _ = make_grid(skip=("09", "10"))
    result = parse_sheets([Sheet(SHEET, grid)], OLD_CAT)
    assert result.form_version == "2024"
    assert [(f.rule, f.where.row_code) for f in result.problems] == [("row-missing", "09"), ("row-missing", "10")]


def test_catalogue_without_versions_calls_the_form_current() -> None:
    grid, _ = make_grid(skip=("09",))
    assert parse(grid).form_version == "current"


def test_every_row_missing_when_the_table_is_empty() -> None:
    grid, _ = make_grid(skip=LDVL.row_codes)
    result = parse(grid)
    assert [(f.rule, f.where.row_code) for f in result.problems] == [("row-missing", c) for c in LDVL.row_codes]
    assert result.observations == []


# --- numbers in cells ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value", "qualifier"),
    [("1.234", 1234.0, None), ("12,5", 12.5, None), ("1.234,5", 1234.5, None), ("khoảng 120", 120.0, "about"),
     ("trên 300", 300.0, "over"), ("-", 0.0, None), ("–", 0.0, None)],
)
def test_text_numbers_in_cells(typed: str, value: float, qualifier: str | None) -> None:
    values = default_values(LDVL)
    values[("10", "ytd")] = typed
    grid, cells = make_grid(values=values)
    result = parse(grid)
    assert result.problems == []
    o = obs_map(result)[("10", "ytd")]
    assert o == Observation("10", "ytd", value, typed, qualifier, SHEET, cells[("10", "ytd")])


@pytest.mark.parametrize("typed", ["1.234,5.6", "12/15", "n/a", "x"])
def test_value_not_number(typed: str) -> None:
    values = default_values(LDVL)
    values[("10", "ytd")] = typed
    grid, cells = make_grid(values=values)
    result = parse(grid)
    assert cells[("10", "ytd")] == "G23"  # row 10 follows section II: sheet row 23
    assert result.problems == [Problem.at("value-not-number", sheet=SHEET, cell="G23", row_code="10", measure="ytd",
                                          value=typed)]
    assert ("10", "ytd") not in obs_map(result)
    assert ("10", "period") in obs_map(result)  # the rest of the row is read


def test_date_cell_is_not_a_number() -> None:
    values = default_values(LDVL)
    values[("03", "period")] = dt.datetime(2024, 5, 1)
    grid, cells = make_grid(values=values)
    result = parse(grid)
    assert result.problems == [Problem.at("value-not-number", sheet=SHEET, cell=cells[("03", "period")], row_code="03",
                                       measure="period", value="2024-05-01 00:00:00")]


# --- header, columns, form ----------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["Mã số", "MÃ SỐ", "Mã", "MS", "Mã chỉ tiêu", " Mã\u00a0số "])
def test_code_header_variants(label: str) -> None:
    grid, _ = make_grid(code_header=label)
    result = parse(grid)
    assert result.problems == []
    assert len(result.observations) == len(LDVL.rows) * 4


def test_header_not_found() -> None:
    grid, _ = make_grid(code_header="Code")
    result = parse(grid)
    assert result.form is LDVL
    assert result.sheet == SHEET
    assert result.problems == [Problem.at("header-not-found", sheet=SHEET)]
    assert result.observations == []


@pytest.mark.parametrize(
    ("headers", "missing"),
    [({"ytd_prev_year": "Ghi chú"}, "ytd_prev_year"), ({"plan_year": "KH"}, "plan_year"),
     ({"ytd2": "Cộng dồn"}, "ytd")],
)
def test_column_not_found(headers: dict[str, str], missing: str) -> None:
    grid, _ = make_grid(column_headers=headers)
    result = parse(grid)
    assert result.problems == [Problem.at("column-not-found", sheet=SHEET, measure=missing)]
    assert missing not in {o.measure for o in result.observations}
    assert len(result.observations) == len(LDVL.rows) * 3


def test_columns_matched_on_reworded_headers() -> None:
    grid, cells = make_grid(column_headers={"plan_year": "KẾ HOẠCH 2024", "period": "",
                                            "period2": "Thực hiện tháng này", "ytd2": "Luỹ kế",
                                            "ytd_prev_year": "So cùng kỳ"})
    result = parse(grid)
    assert result.problems == []
    assert {k: o.source_cell for k, o in obs_map(result).items()} == cells


def test_the_two_thuc_hien_columns_in_either_order() -> None:
    # the district typed "Lũy kế" over the first "Thực hiện" column and "Tháng báo cáo" over the second:
    # the headers decide, so the numbers in the first column are the year to date
    grid, cells = make_grid(column_headers={"period2": "Lũy kế từ đầu năm", "ytd2": "Tháng báo cáo"})
    result = parse(grid)
    assert result.problems == []
    got = obs_map(result)
    values = default_values(LDVL)
    for row in LDVL.rows:
        assert (got[(row.code, "ytd")].source_cell, got[(row.code, "ytd")].value) == (
            cells[(row.code, "period")], values.get((row.code, "period")))
        assert (got[(row.code, "period")].source_cell, got[(row.code, "period")].value) == (
            cells[(row.code, "ytd")], values.get((row.code, "ytd")))


def test_form_not_found() -> None:
    grid, _ = make_grid(form_line="Biểu số: 09/XYZ-H", title="BÁO CÁO TÌNH HÌNH")
    result = parse(grid)
    assert result == ParsedSubmission(problems=[NO_FORM])
    assert result.sheet is None and result.form is None and not result.identified


NO_FORM = Problem.at("form-not-found", forms=", ".join(CAT.form_codes))  # the catalogue's forms, named


def test_form_not_found_in_empty_workbook() -> None:
    assert parse_sheets([], CAT).problems == [NO_FORM]
    assert parse_sheets([Sheet("Sheet1", [])], CAT).problems == [NO_FORM]


# --- through a real file (ingest.tell.official_forms → ingest.read.reader → parser) ------------------------------


def test_official_file_with_quirks_end_to_end(tmp_path: Path) -> None:
    values: dict[tuple[str, str], object] = {}
    for i, r in enumerate(LDVL.rows):
        for j, m in enumerate(MEASURES):
            values[(r.code, m)] = 100 * (i + 1) + j
    values[("12", "period")] = 1234.5
    values[("99", "period")] = 3
    quirks = Quirks(extra_rows_before=3, note_row_after="04", numbers_as_text=("09", "12"), sheet_name="Sheet1",
                    extra_sheet_first=True, unknown_row="99")
    path = tmp_path / "bc.xlsx"
    cells = write_form(path, LDVL, CAT.unit("443"), dt.date(2024, 10, 1), values, options=quirks)
    sheets = read_workbook(path.read_bytes())
    assert [s.name for s in sheets] == ["Ghi chu", "Sheet1"]
    result = parse_sheets(sheets, CAT)
    assert (result.sheet, result.form, result.unit_code, result.period_start) == \
        ("Sheet1", LDVL, "443", dt.date(2024, 10, 1))
    assert [(f.rule, f.where.row_code) for f in result.problems] == [("row-unknown", "99")]
    got = obs_map(result)
    for key, address in cells.items():
        if key[0] == "99":
            continue
        assert (got[key].source_cell, got[key].value) == (address, float(values[key])), key
    assert got[("12", "period")].value_text == "1.234,5"


# --- property: random layouts and values ------------------------------------------------------------------

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
FILLER = [_line(), _line("", NOTE), _line("(Kèm theo Công văn số 123/LĐTBXH)"), _line("", "", "", "", "", "", "", "")]

cell_value = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=2_000_000).map(float),
    st.integers(min_value=0, max_value=200_000).map(lambda t: t / 10),
)


@st.composite
def layouts(draw: st.DrawFn) -> tuple[Form, dict, dict, list, dict, dict]:
    form = draw(st.sampled_from(CAT.forms))
    numbers = {(r.code, m): draw(cell_value) for r in form.rows for m in MEASURES}
    as_text = draw(st.sets(st.sampled_from(sorted(numbers)), max_size=8))
    written = {k: (format_vi(v, 0 if v.is_integer() else 1) if k in as_text and v is not None else v)
               for k, v in numbers.items()}
    above = draw(st.lists(st.sampled_from(FILLER), max_size=12))
    between = draw(st.dictionaries(st.sampled_from(form.row_codes), st.lists(st.sampled_from(FILLER), min_size=1,
                                                                                max_size=3)))
    styles = draw(st.dictionaries(st.sampled_from(form.row_codes), st.sampled_from(["int", "float", "dot"])))
    code_cells = {c: {"int": int(c), "float": float(int(c)), "dot": f"{int(c)}."}[s] for c, s in styles.items()}
    return form, numbers, written, above, between, code_cells


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts(), st.integers(min_value=1, max_value=12), st.integers(min_value=2024, max_value=2030), st.booleans())
def test_parse_sheets_finds_every_value_at_its_address(layout: tuple, month: int, year: int, slash: bool) -> None:
    form, numbers, written, above, between, code_cells = layout
    if form.frequency == "monthly":
        period, start = f"Tháng {month} năm {year}", dt.date(year, month, 1)
    else:
        q = (month - 1) // 3 + 1
        period = f"Quý {q}/{year}" if slash else f"Quý {ROMAN[q]} năm {year}"
        start = dt.date(year, 3 * q - 2, 1)
    grid, cells = make_grid(form, values=written, above=above, between=between, code_cells=code_cells, period=period)
    result = parse(grid)
    assert result.form is form
    assert result.unit_code == "443"
    got = {k: (o.value, o.source_cell) for k, o in obs_map(result).items()}
    assert got == {k: (numbers[k], cells[k]) for k in numbers}
    assert len(result.observations) == len(numbers)
    assert result.problems == []
    assert result.period_start == start


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(["form", "prose", "codes-table", "codes-only", "notes", "empty"]), st.data())
def test_the_form_is_found_whatever_the_other_sheets_and_their_order(order: list[str], data: st.DataObject) -> None:
    """Property: among any instructions, notes and empty sheets, in any order, the form's sheet is read, with the
    same numbers at the same cells."""
    grid, cells = make_grid()
    kept = [k for k in order if k == "form" or data.draw(st.booleans(), label=k)]
    sheets = [Sheet("Bieu mau", grid) if k == "form" else
              Sheet(k, [["Ghi chú: số liệu ước thực hiện"]] if k == "notes" else [] if k == "empty" else
                    instructions(k)) for k in kept]
    result = parse_sheets(sheets, CAT)
    assert (result.sheet, result.problems) == ("Bieu mau", [])
    assert {k: o.source_cell for k, o in obs_map(result).items()} == cells
