"""Files from other software, each made here by code: every one ends with the problem that names what it is (and
what to send instead), or with the numbers of the form it holds. The messages a district reads carry no internals.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from ingest.catalogue import load_catalogue
from ingest.catalogue.problems import Problem
from ingest.parse.parser import ParsedSubmission
from ingest.parse.stage import parse_file
from ingest.read.formats import sniff
from ingest.read.limits import Limits
from ingest.read.reader import looks_like_spreadsheet, read_workbook
from ingest.tell.official_forms import form_bytes
from tests.unit.office_files import cfb, rewrite_zip, xlsx

CAT = load_catalogue()
FORM = CAT.form("01/LĐVL-H")
MACRO_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xm:macrosheet xmlns="http://schemas.'
               b'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
               b'2006/relationships" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData>'
               b'<row r="1"><c r="A1" t="str"><f>EXEC("calc.exe")</f><v>x</v></c></row><row r="2"><c r="A2">'
               b"<f>HALT()</f></c></row></sheetData></xm:macrosheet>")
DIALOG_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<dialogsheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetPr/><sheetViews><sheetView workbookViewId="0"/>'
                b'</sheetViews><sheetFormatPr defaultRowHeight="15"/></dialogsheet>')
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@pytest.fixture(scope="module")
def form() -> bytes:
    import datetime as dt
    values = {(r.code, "period"): 10 * (i + 1) for i, r in enumerate(FORM.rows)}
    return form_bytes(FORM, CAT.unit("443"), dt.date(2024, 10, 1), values).data


def numbers(data: bytes) -> dict[tuple[str, str], float | None]:
    parsed = parse_file(data, CAT)
    assert isinstance(parsed, ParsedSubmission), parsed
    return {(o.row_code, o.measure): o.value for o in parsed.observations}


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return out.getvalue()


def messages(problem: Problem) -> tuple[str, str]:
    return problem.messages("x.xls")


# --- formats of other software: named, with what to send instead ------------------------------------------

OTHER_SPREADSHEETS = {
    "xlsb": zip_of({"[Content_Types].xml": b"<Types/>", "_rels/.rels": (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="r1" '
        b'Type="' + REL.encode() + b'/officeDocument" Target="xl/workbook.bin"/></Relationships>'),
        "xl/workbook.bin": b"\x83\x01\x00", "xl/worksheets/sheet1.bin": b"\x81\x01\x00"}),
    "numbers": zip_of({"Index/Document.iwa": b"\x00\x01", "Metadata/Properties.plist": b"bplist00"}),
    "sylk": b"ID;PWXL;N;E\r\nC;Y1;X1;K\"Chi tieu\"\r\nE\r\n",
    "dif": b'TABLE\r\n0,1\r\n"EXCEL"\r\nVECTORS\r\n0,3\r\n""\r\n',
    "lotus": b"\x00\x00\x02\x00\x06\x04\x06\x00\x08\x00" + b"\x00" * 40,  # WK1: BOF, version 0x0406
    "quattro": b"\x00\x00\x02\x00\x20\x51\x08\x00" + b"\x00" * 40,  # WQ1: BOF, version 0x5120
    "excel-old": b"\x09\x04\x06\x00\x00\x00\x10\x00" + b"\x00" * 40,  # BIFF4 BOF, no OLE2 container
}
NOT_SPREADSHEETS = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "image": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    "word": zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
    "powerpoint": zip_of({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p:presentation/>"}),
    "open-document-other": zip_of({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}),
    "archive": zip_of({"bao cao.docx": b"x", "anh.jpg": b"y"}),
    "rtf": b"{\\rtf1\\ansi Bao cao}",
    "xml-other": b'<?xml version="1.0"?><rss><channel/></rss>',
    "unknown": b"\x00\x01\x02\x03garbage",
}


@pytest.mark.parametrize("kind", sorted(OTHER_SPREADSHEETS))
def test_another_programs_spreadsheet_is_named_with_what_to_send(kind: str) -> None:
    problem = read_workbook(OTHER_SPREADSHEETS[kind])
    assert isinstance(problem, Problem)
    assert (problem.rule, problem.details["format"]) == ("file-other-spreadsheet", kind)


def test_the_messages_name_the_format_in_the_districts_words() -> None:
    vi, en = messages(read_workbook(OTHER_SPREADSHEETS["xlsb"]))
    assert vi == ("Tệp «x.xls» là bảng tính Excel dạng nhị phân (.xlsb), định dạng hệ thống không đọc. Vui lòng mở "
                  "tệp bằng chương trình đã tạo ra nó, chọn Lưu thành (Save As) Excel Workbook (.xlsx) và gửi lại.")
    assert en == ("File «x.xls» is an Excel binary workbook (.xlsb), a format the system does not read. Please open "
                  "it in the program that made it, Save As an Excel Workbook (.xlsx) and resend.")
    vi, en = messages(read_workbook(NOT_SPREADSHEETS["pdf"]))
    assert vi == ("Tệp «x.xls» là tài liệu PDF, không phải bảng tính. Vui lòng gửi biểu báo cáo bằng tệp Excel "
                  "(.xlsx, .xls) hoặc LibreOffice (.ods).")
    assert en.startswith("File «x.xls» is a PDF document, not a spreadsheet.")


@pytest.mark.parametrize("kind", sorted(NOT_SPREADSHEETS))
def test_a_document_that_is_no_spreadsheet_is_named(kind: str) -> None:
    problem = read_workbook(NOT_SPREADSHEETS[kind])
    assert isinstance(problem, Problem)
    assert (problem.rule, problem.details["format"]) == ("file-not-spreadsheet", kind)


@pytest.mark.parametrize("stream, kind", [("WordDocument", "word"), ("PowerPoint Document", "powerpoint"),
                                          ("NativeContent_MAIN", "quattro")])
def test_ole2_files_of_other_programs_are_named(stream: str, kind: str) -> None:
    problem = read_workbook(cfb({stream: b"\x00" * 600, "\x05SummaryInformation": b"\x00" * 100}))
    assert isinstance(problem, Problem)
    assert problem.details["format"] == kind
    assert problem.rule == ("file-other-spreadsheet" if kind == "quattro" else "file-not-spreadsheet")


# --- packages that are spreadsheets after all --------------------------------------------------------------


def test_a_password_protected_ods_is_password_protected_not_damaged() -> None:
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                b'opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" '
                b'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
                b'manifest:full-path="content.xml" manifest:media-type="text/xml" manifest:size="5210">'
                b'<manifest:encryption-data manifest:checksum-type="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0'
                b'#sha256-1k" manifest:checksum="AAAA"><manifest:algorithm manifest:algorithm-name="http://www.w3.org/'
                b'2001/04/xmlenc#aes256-cbc" manifest:initialisation-vector="AAAA"/><manifest:key-derivation '
                b'manifest:key-derivation-name="PBKDF2" manifest:key-size="32" manifest:iteration-count="100000" '
                b'manifest:salt="AAAA"/></manifest:encryption-data></manifest:file-entry></manifest:manifest>')
    data = zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                   "content.xml": bytes(range(256)) * 20, "META-INF/manifest.xml": manifest})
    problem = read_workbook(data)
    assert isinstance(problem, Problem)
    assert problem.rule == "file-password-protected"


def with_macro_and_dialog_sheets(data: bytes) -> bytes:
    def change(name: str, body: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return body.replace(b"</sheets>", b'<sheet name="Macro1" sheetId="8" r:id="rId90"/>'
                                b'<sheet name="Dialog1" sheetId="9" r:id="rId91"/></sheets>')
        if name == "xl/_rels/workbook.xml.rels":
            return body.replace(b"</Relationships>", b'<Relationship Id="rId90" Type="http://schemas.microsoft.com/'
                                b'office/2006/relationships/xlMacrosheet" Target="macrosheets/sheet1.xml"/>'
                                b'<Relationship Id="rId91" Type="' + REL.encode() + b'/dialogsheet" '
                                b'Target="dialogsheets/sheet1.xml"/></Relationships>')
        return body

    return rewrite_zip(data, change, add={"xl/macrosheets/sheet1.xml": MACRO_SHEET,
                                          "xl/dialogsheets/sheet1.xml": DIALOG_SHEET})


def test_an_xlsm_with_an_excel4_macro_sheet_and_a_dialog_sheet_reads_its_worksheets(form: bytes) -> None:
    data = with_macro_and_dialog_sheets(form)
    sheets = read_workbook(data)
    assert not isinstance(sheets, Problem), sheets
    assert [s.name for s in sheets] == ["Bieu 01"]
    assert numbers(data) == numbers(form)


def at_zip_root(data: bytes) -> bytes:
    """The package with its parts at the zip's root, found through _rels/.rels (calamine reads this)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    members = {}
    for name in src.namelist():
        body = src.read(name)
        if name == "_rels/.rels":
            body = body.replace(b'Target="xl/workbook.xml"', b'Target="workbook.xml"')
        if name == "[Content_Types].xml":
            body = body.replace(b'"/xl/', b'"/')
        members[name.removeprefix("xl/")] = body
    return zip_of(members)


def test_a_package_whose_parts_sit_at_the_zip_root_is_read_through_its_relationships(form: bytes) -> None:
    data = at_zip_root(form)
    assert "workbook.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert numbers(data) == numbers(form)


def test_a_sheet_at_the_root_is_still_held_to_the_limits(form: bytes) -> None:
    data = at_zip_root(form)
    problem = read_workbook(data, Limits(max_rows=20))
    assert isinstance(problem, Problem)
    assert (problem.rule, problem.where.sheet, problem.value, problem.details["expected"]) == (
        "sheet-too-many-rows", "Bieu 01", "21", "20")


# --- limits name the limit hit and the place ----------------------------------------------------------------


def test_rows_and_columns_are_told_apart() -> None:
    rows = read_workbook(xlsx(lambda wb: wb.add_worksheet("S").write_number(5999, 2, 1)))
    cols = read_workbook(xlsx(lambda wb: wb.add_worksheet("S").write_number(3, 299, 1)))
    assert (rows.rule, rows.where.cell, rows.value, rows.details["expected"]) == (
        "sheet-too-many-rows", "C6000", "6000", "5000")
    assert (cols.rule, cols.where.cell, cols.value, cols.details["expected"]) == (
        "sheet-too-many-columns", "KN4", "300", "200")
    assert messages(rows)[0] == ("Sheet «S» có dữ liệu ở ô C6000 (dòng 6000), vượt giới hạn 5000 dòng của một biểu "
                                 "báo cáo, nên tệp không được mở. Vui lòng xóa các dòng thừa từ cuối biểu đến dòng "
                                 "6000, lưu và gửi lại.")
    assert messages(cols)[1] == ("Sheet «S» has data in cell KN4 (column 300), past the limit of 200 columns for a "
                                 "report form, so the file was not opened. Please delete the extra columns from the "
                                 "end of the form to cell KN4, save and resend.")


def test_a_huge_shared_strings_table_is_refused_naming_the_table() -> None:
    base = xlsx(lambda wb: wb.add_worksheet("S").write_string(0, 0, "a"))
    table = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.'
             b'org/spreadsheetml/2006/main" count="1" uniqueCount="300000">' + b"<si><t>ab</t></si>" * 300_000
             + b"</sst>")
    data = rewrite_zip(base, lambda name, body: table if name == "xl/sharedStrings.xml" else body)
    problem = read_workbook(data, Limits(max_text_chars=500_000, max_compression_ratio=1000))
    assert isinstance(problem, Problem)
    assert (problem.rule, problem.details["part"], problem.value, problem.details["expected"]) == (
        "shared-strings-too-large", "xl/sharedStrings.xml", "900000", "500000")  # 300,000 × ("ab" + 1)
    assert messages(problem)[1] == (
        "The shared text table (xl/sharedStrings.xml) of file «x.xls» holds 900000 characters and strings, over the "
        "limit of 500000, so the file was not opened. Please copy the form (paste values only) into a new file, save "
        "and resend.")


def test_a_cell_at_row_zero_is_damaged_not_a_limit() -> None:
    base = xlsx(lambda wb: wb.add_worksheet("S").write_number(0, 0, 1))
    data = rewrite_zip(base, lambda name, body: body.replace(b'r="A1"', b'r="A0"').replace(b'<row r="1"', b'<row r="0"')
                       if name == "xl/worksheets/sheet1.xml" else body)
    problem = read_workbook(data)
    assert (problem.rule, problem.where.sheet) == ("file-damaged", "S")


def test_damaged_messages_say_what_to_do_and_keep_the_internals_in_the_detail() -> None:
    problem = read_workbook(OLE2_TRUNCATED)
    assert problem.rule == "file-damaged"
    assert "sector" in problem.details["detail"] or "OLE2" in problem.details["detail"]
    vi, en = messages(problem)
    assert vi == ("Tệp «x.xls» bị hỏng, không mở được. Vui lòng mở tệp bằng Excel hoặc LibreOffice: nếu mở được, "
                  "chọn Lưu thành (Save As) một tệp mới và gửi lại; nếu không, gửi lại tệp gốc từ máy đã lập báo cáo.")
    assert "OLE2" not in en and "sector" not in en


OLE2_TRUNCATED = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500


@pytest.mark.parametrize("kind", ["html", "csv", "spreadsheetml", "fods"])
def test_exports_are_told_from_the_bytes(kind: str) -> None:
    data = {"html": b"<!DOCTYPE html>\n<html><body><table><tr><td>1</td></tr></table></body></html>",
            "csv": "STT;Chỉ tiêu;Mã số\n1;Lao động;01\n".encode(),
            "spreadsheetml": b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook '
                             b'xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
            "fods": b'<?xml version="1.0"?><office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
                    b'office:1.0" office:mimetype="application/vnd.oasis.opendocument.spreadsheet"/>'}[kind]
    assert sniff(data) == kind
    assert looks_like_spreadsheet(data)


def test_an_html_page_without_a_table_is_an_export_with_no_table() -> None:
    problem = read_workbook(b"<!DOCTYPE html><html><body><p>Kinh gui So</p></body></html>")
    assert (problem.rule, problem.details.get("format")) == ("file-export-empty", "html")
    assert messages(problem)[0].startswith("Tệp «x.xls» là trang web (HTML) nhưng không chứa bảng số liệu")
