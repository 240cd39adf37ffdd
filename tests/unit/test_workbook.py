"""The official form as written by ``ingest.tell.official_forms``, read back with python-calamine."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from ingest.catalogue import load_catalogue
from ingest.tell.official_forms import MEASURES, Quirks, format_vn_number, write_form, write_templates

CAT = load_catalogue()
LDVL = CAT.form("01/LĐVL-H")
BTXH = CAT.form("03/BTXH-H")
GDNN = CAT.form("02/GDNN-H")
CAN_LOC = CAT.unit("443")
OCT_2024 = dt.date(2024, 10, 1)


def _rc(address: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", address)
    assert m, address
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return int(m[2]) - 1, col - 1


def _sheet(path: Path, name: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(path).get_sheet_by_name(name).to_python()


def _at(rows: list[list[object]], address: str) -> object:
    r, c = _rc(address)
    return rows[r][c]


def _values(form=LDVL) -> dict[tuple[str, str], float | int]:
    """Numbers that obey the form's sums: every leaf 10·(i+1), totals summed from their parts."""
    vals: dict[tuple[str, str], float | int] = {}
    for i, row in enumerate(form.rows):
        for j, m in enumerate(MEASURES):
            vals[(row.code, m)] = 10 * (i + 1) + j
    for row in reversed(form.rows):  # parts of a total sit below it
        for m in MEASURES:
            if row.sum_of:
                vals[(row.code, m)] = sum(vals[(p, m)] for p in row.sum_of)
    vals[("12", "period")] = 1234.5
    return vals


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict, dict]:
    path = tmp_path / "bc.xlsx"
    vals = _values()
    cells = write_form(path, LDVL, CAN_LOC, OCT_2024, vals, signed_on=dt.date(2024, 11, 8),
                       signers=("Lê Thị Lan", "Phan Văn Hùng"))
    return path, vals, cells


def test_numbers_read_back_at_returned_addresses(written):
    path, vals, cells = written
    rows = _sheet(path, "Bieu 01")
    assert set(cells) == {(r.code, m) for r in LDVL.rows for m in MEASURES}
    for key, address in cells.items():
        assert _at(rows, address) == vals[key], (key, address)
    assert cells[("01", "plan_year")] == "E13"  # first indicator row, under the section heading on row 12
    assert cells[("01", "ytd_prev_year")] == "H13"


def test_header_rows_follow_the_official_layout(written):
    path, _, _ = written
    rows = _sheet(path, "Bieu 01")
    assert rows[0][0] == "UBND HUYỆN CAN LỘC"
    assert rows[1][0] == "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"
    assert rows[0][4] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert rows[1][4] == "Độc lập - Tự do - Hạnh phúc"
    assert rows[2][0] == "Biểu số: 01/LĐVL-H"
    assert rows[3][0] == LDVL.title_vi
    assert rows[4][0] == "Tháng 10 năm 2024"
    assert rows[5][0] == "Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội huyện Can Lộc (mã 443)"
    assert rows[6][0] == "Đơn vị nhận báo cáo: Sở Lao động - Thương binh và Xã hội tỉnh Hà Tĩnh"
    assert rows[8] == ["STT", "Chỉ tiêu", "Mã số", "Đơn vị tính", "Kế hoạch năm 2024", "Thực hiện", "",
                       "Cùng kỳ năm trước"]
    assert rows[9][5:7] == ["Tháng báo cáo", "Lũy kế từ đầu năm"]
    assert rows[10] == ["A", "B", "C", "D", "1", "2", "3", "4"]
    assert rows[11][1] == "I. GIẢI QUYẾT VIỆC LÀM" and rows[11][2] == ""
    assert rows[12][:4] == ["1", "Số lao động được giải quyết việc làm", "01", "người"]



def test_a_commune_form_names_the_commune_and_its_office(tmp_path: Path) -> None:
    """From 2025-07-01 a commune reports: its People's Committee and its culture-society office."""
    path = tmp_path / "xa.xlsx"
    write_form(path, LDVL, CAT.unit("18685"), dt.date(2025, 8, 1), _values(), signed_on=dt.date(2025, 9, 5))
    rows = _sheet(path, "Bieu 01")
    assert rows[0][0] == "UBND XÃ CẨM BÌNH"
    assert rows[1][0] == "PHÒNG VĂN HÓA - XÃ HỘI"
    assert rows[4][0] == "Tháng 8 năm 2025"
    assert rows[5][0] == "Đơn vị báo cáo: Phòng Văn hóa - Xã hội xã Cẩm Bình (mã 18685)"
    assert "Cẩm Bình, ngày 05 tháng 09 năm 2025" in [c for r in rows for c in r]

def test_title_and_header_cells_are_merged(written):
    path, _, _ = written
    merged = CalamineWorkbook.from_path(path).get_sheet_by_name("Bieu 01").merged_cell_ranges
    assert ((3, 0), (3, 7)) in merged  # title A4:H4
    assert ((8, 5), (8, 6)) in merged  # "Thực hiện" over F9:G9
    assert ((8, 0), (9, 0)) in merged  # "STT" over two rows
    assert ((8, 7), (9, 7)) in merged  # "Cùng kỳ năm trước"


def test_codes_are_text_and_sections_have_none(written):
    path, _, _ = written
    rows = _sheet(path, "Bieu 01")
    codes = [r[2] for r in rows[11:] if r[2] not in ("", None)]
    assert codes[: len(LDVL.rows)] == list(LDVL.row_codes)
    headings = [r[1] for r in rows if r[1] in {h for h, _ in LDVL.sections()}]
    assert headings == [h for h, _ in LDVL.sections()]


def test_footer_has_place_date_and_signatures(written):
    path, _, _ = written
    flat = [c for r in _sheet(path, "Bieu 01") for c in r]
    for text in ("Can Lộc, ngày 08 tháng 11 năm 2024", "NGƯỜI LẬP BIỂU", "TRƯỞNG PHÒNG", "Lê Thị Lan", "Phan Văn Hùng"):
        assert text in flat


def test_stock_rows_have_no_plan_and_ytd_repeats_period(tmp_path):
    path = tmp_path / "btxh.xlsx"
    vals = {(r.code, m): 100 + i for i, r in enumerate(BTXH.rows) for m in ("plan_year", "period")}
    cells = write_form(path, BTXH, CAN_LOC, OCT_2024, vals)
    rows = _sheet(path, "Bieu 03")
    for row in BTXH.rows:
        if row.kind == "stock":
            assert (row.code, "plan_year") not in cells
            assert _at(rows, cells[(row.code, "ytd")]) == vals[(row.code, "period")]
        else:
            assert _at(rows, cells[(row.code, "plan_year")]) == vals[(row.code, "plan_year")]
            assert (row.code, "ytd") not in cells


def test_quarterly_form_labels(tmp_path):
    path = tmp_path / "gdnn.xlsx"
    write_form(path, GDNN, CAN_LOC, dt.date(2024, 7, 1), {("01", "period"): 5})
    rows = _sheet(path, "Bieu 02")
    assert rows[4][0] == "Quý III năm 2024"
    assert rows[9][5] == "Quý báo cáo"


def test_quirks_shift_rename_and_add(tmp_path):
    path = tmp_path / "q.xlsx"
    vals = _values()
    vals[("99", "period")] = 7
    quirks = Quirks(extra_rows_before=2, note_row_after="04", sheet_name="Sheet1", extra_sheet_first=True,
                    unknown_row="99")
    cells = write_form(path, LDVL, CAN_LOC, OCT_2024, vals, options=quirks)
    wb = CalamineWorkbook.from_path(path)
    assert wb.sheet_names == ["Ghi chu", "Sheet1"]
    rows = wb.get_sheet_by_name("Sheet1").to_python()
    assert rows[10][0] == "STT"  # header two rows lower
    assert cells[("01", "period")] == "F15"
    note = next(i for i, r in enumerate(rows) if str(r[1]).startswith("Ghi chú"))
    assert rows[note][2] == "" and rows[note - 1][2] == "04"
    assert rows[note + 1][2] == "05"
    assert _at(rows, cells[("99", "period")]) == 7
    r, _ = _rc(cells[("99", "period")])
    assert rows[r][2] == "99"
    for key, address in cells.items():
        assert _at(rows, address) == vals[key]
    assert sorted(quirks.active()) == sorted(
        ["extra_rows_before", "note_row_after", "sheet_name", "extra_sheet_first", "unknown_row"])


def test_sum_formulas_keep_cached_values(tmp_path):
    path = tmp_path / "f.xlsx"
    vals = _values()
    cells = write_form(path, LDVL, CAN_LOC, OCT_2024, vals, options=Quirks(sum_formulas=True))
    rows = _sheet(path, "Bieu 01")
    for code in ("01", "04"):
        for m in MEASURES:
            assert _at(rows, cells[(code, m)]) == vals[(code, m)]
    import openpyxl

    ws = openpyxl.load_workbook(path)["Bieu 01"]
    parts = "+".join(cells[(p, "period")] for p in LDVL.row("01").sum_of)
    assert ws[cells[("01", "period")]].value == f"={parts}"
    assert ws[cells[("05", "period")]].data_type == "n"


def test_numbers_as_text_are_vietnamese_strings(tmp_path):
    path = tmp_path / "t.xlsx"
    vals = _values()
    vals[("09", "period")] = 1234
    cells = write_form(path, LDVL, CAN_LOC, OCT_2024, vals, options=Quirks(numbers_as_text=("09", "12")))
    rows = _sheet(path, "Bieu 01")
    assert _at(rows, cells[("09", "period")]) == "1.234"
    assert _at(rows, cells[("12", "period")]) == "1.234,5"
    assert _at(rows, cells[("01", "period")]) == vals[("01", "period")]  # other rows stay numbers


def test_text_from_data_is_never_a_formula(tmp_path):
    path = tmp_path / "s.xlsx"
    cells = write_form(path, LDVL, CAN_LOC, OCT_2024, {("01", "period"): "=1+1", ("02", "period"): "khoảng 120"})
    rows = _sheet(path, "Bieu 01")
    assert _at(rows, cells[("01", "period")]) == "=1+1"
    assert _at(rows, cells[("02", "period")]) == "khoảng 120"
    import openpyxl

    ws = openpyxl.load_workbook(path)["Bieu 01"]
    assert ws[cells[("01", "period")]].data_type == "s"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234, "1.234"), (12.5, "12,5"), (1234567, "1.234.567"), (1234.5, "1.234,5"), (7, "7"), (100.0, "100"),
     (-2500, "-2.500")],
)
def test_format_vn_number(value, text):
    assert format_vn_number(value) == text


def test_templates_one_blank_form_each(tmp_path):
    paths = write_templates(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{f.code.replace('/', '_')}.xlsx" for f in CAT.forms)
    assert len(paths) == 4
    for form, path in zip(CAT.forms, paths, strict=True):
        wb = CalamineWorkbook.from_path(path)
        rows = wb.get_sheet_by_name(wb.sheet_names[0]).to_python()
        assert rows[2][0] == f"Biểu số: {form.code}"
        assert rows[4][0] == ("Tháng ... năm ...." if form.frequency == "monthly" else "Quý ... năm ....")
        assert rows[8][4] == "Kế hoạch năm ...."
        numbers = [c for r in rows for c in r if isinstance(c, (int, float)) and not isinstance(c, bool)]
        assert numbers == []
        assert [r[2] for r in rows[11:] if r[2] not in ("", None)] == list(form.row_codes)


def test_same_input_same_bytes(tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    for p in (a, b):
        write_form(p, LDVL, CAN_LOC, OCT_2024, _values(), signed_on=dt.date(2024, 11, 8))
    assert a.read_bytes() == b.read_bytes()
