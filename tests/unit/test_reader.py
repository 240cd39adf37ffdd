"""ingest.read.reader: bytes → worksheets with absolute cell positions, or the reason they cannot be read."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
import xlsxwriter

from ingest.catalogue.problems import Problem
from ingest.read.reader import Sheet, looks_like_spreadsheet, read_workbook
from tests.unit.office_files import cfb

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _xlsx(build) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    build(wb)
    wb.close()
    return buf.getvalue()


@pytest.fixture(scope="module")
def sample() -> bytes:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("Ghi chu")
        ws.write_string(0, 0, "Ghi chú")
        form = wb.add_worksheet("Báo cáo T10")
        form.write_number(4, 2, 5)  # C5
        form.write_string(5, 1, "Mã số")  # B6
        form.write_number(6, 3, 2.5)  # D7
        form.write_formula(1, 0, "=C5*2", None, 10)  # A2, cached value 10
        form.write_string(2, 0, "=not a formula")  # A3, a string that looks like one
        form.write_datetime(0, 0, dt.datetime(2024, 5, 1), wb.add_format({"num_format": "dd/mm/yyyy"}))
        cs = wb.add_chartsheet("Biểu đồ")
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": "='Báo cáo T10'!$C$5:$C$5"})
        cs.set_chart(chart)
        wb.add_worksheet("Trống")

    return _xlsx(build)


# --- not a spreadsheet ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, kind",
    [(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "pdf"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image"),
     (b"\x00\x01binary", "unknown"), (b"PK\x05\x06" + b"\0" * 18, "archive")],  # an empty zip: only its end record
)
def test_non_spreadsheet_bytes(data: bytes, kind: str) -> None:
    problem = read_workbook(data)
    assert (problem.rule, problem.details["format"]) == ("file-not-spreadsheet", kind)


@pytest.mark.parametrize("data", [b"hello", "STT;Chỉ tiêu;Mã số\n1;Lao động;01\n".encode(),
                                  b"<html><body><table><tr><td>1</td></tr></table></body></html>"])
def test_text_and_html_are_read_as_exports(data: bytes) -> None:
    assert looks_like_spreadsheet(data)
    sheets = read_workbook(data)
    assert isinstance(sheets, list) and len(sheets) == 1


def test_empty_file_is_empty_not_unknown() -> None:
    assert read_workbook(b"") == Problem.at("file-empty", detail="0 bytes")


def test_ole2_file_that_is_not_a_workbook_is_not_a_spreadsheet() -> None:
    """An OLE2 container with no workbook stream (a Word .doc, say) is not a spreadsheet, not a damaged one."""
    got = read_workbook(cfb({"WordDocument": b"\xec\xa5" + b"\0" * 5000, "1Table": b"\0" * 100}))
    assert got == Problem.at("file-not-spreadsheet",
                             detail="an OLE2 file with no workbook stream (1Table, WordDocument)", format="word")


def test_ole2_signature_followed_by_garbage_is_damaged() -> None:
    got = read_workbook(OLE2 + b"\0" * 1024)
    assert isinstance(got, Problem)
    assert got.rule == "file-damaged"
    assert got.details["detail"].startswith("OLE2: ")


def test_signatures() -> None:
    assert looks_like_spreadsheet(b"PK\x03\x04rest")
    assert looks_like_spreadsheet(OLE2 + b"rest")
    assert not looks_like_spreadsheet(b"PK\x00\x01")
    assert not looks_like_spreadsheet(OLE2[:-1])


# --- damaged ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [4, 10, 100, 1000, 0.5, -10, -1])
def test_truncated_xlsx_is_damaged(sample: bytes, keep: float) -> None:
    cut = int(len(sample) * keep) if isinstance(keep, float) else keep
    got = read_workbook(sample[:cut])
    assert isinstance(got, Problem)
    assert got.rule == "file-damaged"
    assert got.details["detail"]


def test_xlsx_with_broken_sheet_xml_is_damaged(sample: bytes) -> None:
    src = zipfile.ZipFile(io.BytesIO(sample))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"<worksheet><sheetData><row" if name == "xl/worksheets/sheet2.xml" else src.read(name))
    got = read_workbook(out.getvalue())
    assert isinstance(got, Problem)
    assert got.rule == "file-damaged"
    assert "XmlError" in got.details["detail"]


def test_word_document_is_not_a_spreadsheet() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    got = read_workbook(out.getvalue())
    assert isinstance(got, Problem)
    assert got.rule == "file-not-spreadsheet"


# --- a valid workbook ---------------------------------------------------------------------------------------


def test_valid_xlsx_sheets_in_workbook_order_without_chartsheets(sample: bytes) -> None:
    sheets = read_workbook(sample)
    assert isinstance(sheets, list)
    assert [s.name for s in sheets] == ["Ghi chu", "Báo cáo T10", "Trống"]
    assert all(isinstance(s, Sheet) for s in sheets)


def test_absolute_positions(sample: bytes) -> None:
    sheet = read_workbook(sample)[1]
    assert sheet.rows[4][2] == 5.0  # written at C5
    assert sheet.cell(4, 2) == 5.0
    assert sheet.cell(5, 1) == "Mã số"  # B6
    assert sheet.cell(6, 3) == 2.5  # D7
    assert sheet.cell(1, 0) == 10.0  # a formula gives its cached value
    assert sheet.cell(2, 0) == "=not a formula"
    assert sheet.cell(0, 0) == dt.date(2024, 5, 1)
    assert len(sheet.rows) == 7
    assert sheet.cell(0, 1) == ""  # empty cells inside the used area read as ""


def test_absolute_positions_when_top_left_is_empty() -> None:
    """Nothing in rows 1–9 or columns A–F: the grid still starts at A1."""
    data = _xlsx(lambda wb: wb.add_worksheet("S").write_number(9, 6, 42))  # G10
    (sheet,) = read_workbook(data)
    assert sheet.rows[9][6] == 42.0
    assert len(sheet.rows) == 10
    assert all(v == "" for r, row in enumerate(sheet.rows) for c, v in enumerate(row) if (r, c) != (9, 6))


def test_empty_sheet_has_no_rows(sample: bytes) -> None:
    assert read_workbook(sample)[2].rows == []


def test_cell_outside_the_grid_is_none() -> None:
    sheet = Sheet("S", [["a", "b"], ["c"]])
    assert sheet.cell(0, 1) == "b"
    assert sheet.cell(1, 1) is None
    assert sheet.cell(2, 0) is None
    assert sheet.cell(0, 99) is None
