"""ingest.tell.feedback: the district's sheet back, problem cells marked and commented, nothing executable."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.catalogue import load_catalogue
from ingest.read.reader import Sheet, read_workbook
from ingest.tell.feedback import (
    LIST_SHEET,
    a1_to_index,
    feedback_path,
    safe_file_stem,
    sheet_titles,
    write_feedback,
    write_feedback_files,
)
from ingest.tell.official_forms import form_bytes

CAT = load_catalogue()


def problem(cell: str | None, severity: str = "error", rule: str = "sum-mismatch", sheet: str | None = "Bieu 01",
            message: str = "tổng sai", **extra) -> dict:
    return {"problem_id": f"p{cell}{rule}", "sha256": "ab" * 32, "submission_id": "ab" * 8, "file_name": "bc.xlsx",
            "folder_unit_code": "443", "stage": "validate", "severity": severity, "rule": rule, "row_code": "01",
            "measure": "period", "source_sheet": sheet, "source_cell": cell, "value_text": "999",
            "message_vi": message, "message_en": "wrong total", "unit_code": "443", **extra}


@pytest.fixture
def report() -> tuple[bytes, dict]:
    form = CAT.form("01/LĐVL-H")
    values = {(r.code, m): 10.0 for r in form.rows for m in ("period", "ytd")}
    rendered = form_bytes(form, CAT.unit("443"), dt.date(2024, 10, 1), values)
    return rendered.data, rendered.cells


def test_a1_to_index() -> None:
    assert [a1_to_index(a) for a in ("A1", "G14", "Z2", "AA10", "XFD1048576")] == [
        (0, 0), (13, 6), (1, 25), (9, 26), (1048575, 16383)]
    with pytest.raises(ValueError, match="not an A1 address"):
        a1_to_index("14G")


def test_problem_cells_are_marked_and_commented_everything_else_copied(report, tmp_path: Path) -> None:
    data, cells = report
    sheets = read_workbook(data)
    problems = pd.DataFrame([problem(cells[("01", "period")], message="Ô F13: tổng 999 khác 138"),
                             problem(cells[("09", "ytd")], severity="warning", rule="row-unknown",
                                     message="cảnh báo")])
    out = tmp_path / "fb.xlsx"
    write_feedback(out, sheets, problems)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Bieu 01", LIST_SHEET]
    ws = wb["Bieu 01"]
    err, warn = ws[cells[("01", "period")]], ws[cells[("09", "ytd")]]
    assert err.fill.fgColor.rgb.endswith("F8B4B4") and warn.fill.fgColor.rgb.endswith("FFE699")
    assert err.comment.text == "[sum-mismatch] Ô F13: tổng 999 khác 138"
    assert warn.comment.text == "[row-unknown] cảnh báo"
    # every other cell is the district's, at the same address
    back = read_workbook(out.read_bytes())[0]
    original = sheets[0]
    for r, row in enumerate(original.rows):
        for c, value in enumerate(row):
            assert back.cell(r, c) == value, (r, c)
    listing = [[c.value for c in row] for row in wb[LIST_SHEET].iter_rows(min_row=2)]
    assert [(r[0], r[1], r[3]) for r in listing] == [("error", "sum-mismatch", "F13"), ("warning", "row-unknown",
                                                                                        cells[("09", "ytd")])]


@pytest.mark.parametrize("typed", ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
                                   "=1+1"])
def test_nothing_a_district_typed_becomes_a_formula(typed: str, tmp_path: Path) -> None:
    sheet = Sheet("Bieu 01", [["Mã số", typed], ["01", typed]])
    out = tmp_path / "fb.xlsx"
    write_feedback(out, [sheet], pd.DataFrame([problem("B2", sheet="Bieu 01", message=typed, value_text=typed)]))
    wb = openpyxl.load_workbook(out)
    for cell in (wb["Bieu 01"]["B1"], wb["Bieu 01"]["B2"]):
        assert (cell.data_type, cell.value) == ("s", typed)
    for row in wb[LIST_SHEET].iter_rows(min_row=2):
        assert all(c.data_type == "s" for c in row if c.value is not None)
    assert typed in [c.value for c in next(wb[LIST_SHEET].iter_rows(min_row=2))]


def test_unreadable_file_gets_the_list_only(tmp_path: Path) -> None:
    out = tmp_path / "fb.xlsx"
    write_feedback(out, None, pd.DataFrame([problem(None, rule="file-damaged", sheet=None)]))
    assert openpyxl.load_workbook(out).sheetnames == [LIST_SHEET]


@pytest.mark.parametrize(("name", "stem"), [("../../etc/passwd", "passwd"), ("..\\..\\x.xlsx", "x"),
                                            ("Báo cáo Đức Thọ T10.xlsx", "Bao_cao_Duc_Tho_T10"),
                                            ("\x07\n.xlsx", "file"),
                                            ("a" * 300 + ".xlsx", "a" * 80)])
def test_names_we_create_are_safe(name: str, stem: str, tmp_path: Path) -> None:
    assert safe_file_stem(name, "file") == stem
    path = feedback_path(tmp_path, "443", name, "cd" * 32)
    assert path.parent == tmp_path / "443" and path.name == f"{stem}_cdcdcdcd.xlsx"
    assert feedback_path(tmp_path, "../x", name, "cd" * 32).parent == tmp_path / "unknown"


@pytest.mark.parametrize("workers", [1, 2])
def test_one_workbook_per_file_with_problems(report, tmp_path: Path, workers: int) -> None:
    data, cells = report
    problems = pd.DataFrame([problem(cells[("01", "period")]),
                             problem(None, rule="file-not-spreadsheet", sheet=None) | {"sha256": "ef" * 32,
                                                                                       "file_name": "note.txt",
                                                                                       "unit_code": None}])
    store = {"ab" * 32: data, "ef" * 32: b"just text"}
    written = write_feedback_files(problems, store.__getitem__, tmp_path, workers=workers)
    assert sorted((f.path.relative_to(tmp_path).as_posix(), f.problems) for f in written) == [
        ("443/bc_abababab.xlsx", 1), ("443/note_efefefef.xlsx", 1)]
    assert all(f.path.stat().st_size > 5000 for f in written)  # whole workbooks, by the workers when there are 2


# --- sheet names (issue 15) -------------------------------------------------------------------------------------


def test_sheet_titles_follow_excels_rules() -> None:
    long = "Báo cáo tháng 10 năm 2024 của xã Đức Thọ"
    names = ["Bieu 01", "a[b]:c*d?e/f\\g", long, long + " (bản sửa)", LIST_SHEET, "danh sách lỗi", "'trích'", "",
             "HISTORY", "tab\tand\nnewline", "𝐁𝐢𝐞𝐮" * 5, "bieu 01"]
    assert sheet_titles(names) == {
        "Bieu 01": "Bieu 01",
        "a[b]:c*d?e/f\\g": "a_b__c_d_e_f_g",
        long: "Báo cáo tháng 10 năm 2024 của x",
        long + " (bản sửa)": "Báo cáo tháng 10 năm 2024 c (2)",
        LIST_SHEET: "Danh sách lỗi (2)",
        "danh sách lỗi": "danh sách lỗi (3)",
        "'trích'": "trích",
        "": "Sheet",
        "HISTORY": "HISTORY (2)",
        "tab\tand\nnewline": "tab_and_newline",
        "𝐁𝐢𝐞𝐮" * 5: "𝐁𝐢𝐞𝐮" * 3 + "𝐁𝐢𝐞",  # 31 UTF-16 units: 15 of these letters, two units each
        "bieu 01": "bieu 01 (2)",
    }


sheet_names = st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=6, unique=True)


@settings(max_examples=60, deadline=None)
@given(names=sheet_names)
def test_any_sheet_names_give_a_workbook(names: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    """Whatever the district named its sheets, the feedback workbook is written, every marked sheet in it under a
    name Excel accepts, and the list names each problem's sheet as the district wrote it."""
    out = tmp_path_factory.mktemp("fb") / "fb.xlsx"
    sheets = [Sheet(name, [[f"x{i}"]]) for i, name in enumerate(names)]
    write_feedback(out, sheets, pd.DataFrame([problem("A1", sheet=name) for name in names]))
    wb = openpyxl.load_workbook(out)
    titles = sheet_titles(names)
    assert wb.sheetnames == [titles[n] for n in names] + [LIST_SHEET]
    assert len({t.casefold() for t in wb.sheetnames}) == len(wb.sheetnames)
    for i, name in enumerate(names):
        assert wb[titles[name]]["A1"].value == f"x{i}"
    listed = [row[2].value or "" for row in wb[LIST_SHEET].iter_rows(min_row=2)]
    # as Excel stores control characters in text: _x001F_ (openpyxl leaves them so)
    assert sorted(listed) == sorted(re.sub(r"[\x00-\x08\x0b-\x1f]", lambda m: f"_x{ord(m[0]):04X}_", n)
                                    for n in names)


def test_an_unreadable_file_is_not_opened_again(tmp_path: Path) -> None:
    """A file refused when it was read (here: 12 GB once expanded) gets the list only, without being read again
    in the process writing feedback."""
    def read_archived(sha: str) -> bytes:
        raise AssertionError(f"file {sha[:8]} read again")

    problems = pd.DataFrame([problem("A1", rule="cell-too-long", stage="read", sheet="Báo cáo"),
                             problem(None, rule="internal-error", stage="read", sheet=None) | {"sha256": "ef" * 32}])
    written = write_feedback_files(problems, read_archived, tmp_path, workers=0)
    assert sorted(f.problems for f in written) == [1, 1]
    for f in written:
        assert openpyxl.load_workbook(f.path).sheetnames == [LIST_SHEET]
