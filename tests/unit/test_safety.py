"""ingest.read.safety and ingest.read.limits: hostile and broken files are refused before calamine sees them,
with the exact problem code and message, in bounded time and memory. Every file is built here, by code."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from ingest.catalogue import load_catalogue
from ingest.catalogue.problems import Location, Problem
from ingest.parse.stage import parse_file
from ingest.read.limits import MB, Limits, current_limits, human_bytes
from ingest.read.reader import read_workbook
from ingest.read.safety import inspect_workbook
from ingest.read.workers import read_file
from ingest.settings import REPO_DIR
from ingest.tell.official_forms import Quirks, form_bytes
from ingest.text import cell_address
from tests.unit.office_files import (
    OLE2,
    bomb_zip,
    cfb,
    ods,
    ods_repeated,
    patch_declared_size,
    rewrite_zip,
    with_filepass,
    xls,
    xlsx,
)

CAT = load_catalogue()
LDVL = CAT.form("01/LĐVL-H")
SHEET1 = "xl/worksheets/sheet1.xml"
SHA = "ab" * 32


def small() -> bytes:
    return xlsx(lambda wb: wb.add_worksheet("S").write_number(0, 0, 1))


def too_far(kind: str, sheet: str, cell: str, *, row: int | None = None, column: int | None = None) -> Problem:
    """The problem of a cell at ``cell`` past the row limit (``row``: its number) or the column limit (``column``)."""
    detail = f"{kind} sheet has a cell at {cell}"
    if row is not None:
        return Problem.at("sheet-too-many-rows", detail=detail, sheet=sheet, cell=cell, value=str(row), expected="5000")
    return Problem.at("sheet-too-many-columns", detail=detail, sheet=sheet, cell=cell, value=str(column),
                      expected="200")


def messages(problem: Problem, file_name: str = "bc.xlsx") -> tuple[str, str]:
    """The (vi, en) messages the load records for ``problem`` of a file called ``file_name``."""
    return problem.messages(file_name)


def measured(fn: Callable[[], object]) -> tuple[object, float, float]:
    """(result, seconds, peak MB of Python allocations)."""
    tracemalloc.start()
    t = time.perf_counter()
    try:
        result = fn()
        return result, time.perf_counter() - t, tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


# --- limits ---------------------------------------------------------------------------------------------------


def test_default_limits() -> None:
    assert current_limits() == Limits(max_file_bytes=20 * MB, max_unpacked_bytes=100 * MB, max_compression_ratio=100,
                                      ratio_grace_bytes=MB, max_zip_members=1000, max_rows=5000, max_columns=200,
                                      max_sheets=50, max_seconds=60, worker_memory_bytes=2048 * MB,
                                      xml_prolog_bytes=64 * 1024)


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"MAX_FILE_MB": "0.5", "MAX_UNPACKED_MB": "10", "MAX_COMPRESSION_RATIO": "50",
                        "RATIO_GRACE_MB": "0", "MAX_ZIP_MEMBERS": "20", "MAX_ROWS": "300", "MAX_COLUMNS": "30",
                        "MAX_SHEETS": "5", "MAX_SECONDS_PER_FILE": "2.5", "WORKER_MEMORY_MB": "0",
                        "XML_PROLOG_KB": "8"}.items():
        monkeypatch.setenv(f"SECTORSTATS_{name}", value)
    assert current_limits() == Limits(MB // 2, 10 * MB, 50, 0, 20, 300, 30, 5, 2.5, 0, 8192)


@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "inf"])
def test_a_bad_limit_names_its_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SECTORSTATS_MAX_ROWS", value)
    with pytest.raises(ValueError, match=re.escape(f"SECTORSTATS_MAX_ROWS={value!r}")):
        current_limits()


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1000, "1000 B"), (1536, "1.5 KB"), (20 * MB, "20 MB"),
                                         (int(2.25 * MB), "2.2 MB"), (209_727_151, "200 MB")])
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text


# --- empty and oversize ------------------------------------------------------------------------------------------


def test_empty_file(no_calamine: None) -> None:
    got = read_workbook(b"")
    assert got == Problem.at("file-empty", detail="0 bytes")
    assert messages(got) == (
        "Tệp «bc.xlsx» rỗng (0 byte), có thể do tải lên bị lỗi. Vui lòng gửi lại tệp báo cáo.",
        "File «bc.xlsx» is empty (0 bytes), perhaps a failed upload. Please send the report file again.")


def test_oversize_file_from_the_environment_limit(monkeypatch: pytest.MonkeyPatch, no_calamine: None) -> None:
    monkeypatch.setenv("SECTORSTATS_MAX_FILE_MB", "1")
    got = read_workbook(b"PK\x03\x04" + bytes(2 * MB - 4))
    assert got == Problem.at("file-too-large", detail=f"{2 * MB} bytes", value="2 MB", expected="1 MB")
    assert messages(got)[1] == (
        "File «bc.xlsx» is 2 MB, over the limit of 1 MB. A report form needs only a few tens of KB: please delete "
        "pictures and sheets that are not needed, save and resend.")
    assert messages(got)[0].startswith("Tệp «bc.xlsx» có dung lượng 2 MB, vượt giới hạn 1 MB.")


def test_oversize_archived_file_is_never_read(tmp_path: Path) -> None:
    """A 5 GB file (sparse: no disk used) is refused from its size; reading it would need 5 GB of memory."""
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as f:
        f.truncate(5 * 1024 * MB)
    got, seconds, peak = measured(lambda: read_file(path, current_limits()))
    assert got == Problem.at("file-too-large", detail=f"{5 * 1024 * MB} bytes", value="5120 MB", expected="20 MB")
    assert seconds < 0.5 and peak < 1


# --- zip containers: bombs ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb_200mb() -> bytes:
    """An xlsx whose sheet is 200 MB of zeros: ~200 KB on disk, built in 1 MB steps."""
    return bomb_zip(200 * MB)


def test_decompression_bomb_is_refused_from_the_directory(bomb_200mb: bytes, no_calamine: None) -> None:
    assert len(bomb_200mb) < 300_000
    got, seconds, peak = measured(lambda: read_workbook(bomb_200mb))
    assert got == Problem.at("file-bomb", detail="9 members declare 209727151 bytes unpacked", value="200 MB",
                              expected="100 MB")
    assert seconds < 0.5, "nothing may be inflated"
    assert peak < 5, f"{peak:.1f} MB"
    assert messages(got)[1] == (
        "File «bc.xlsx» unpacks past the limit (200 MB, limit 100 MB) and was not opened. It may be damaged or hold "
        "unneeded data: please open it in Excel or LibreOffice, copy the form into a new file, save and resend.")


def test_compression_ratio_of_one_member() -> None:
    data = bomb_zip(4 * MB)
    got = read_workbook(data, Limits(ratio_grace_bytes=MB))
    assert isinstance(got, Problem) and got.rule == "file-bomb"
    detail = got.details["detail"]
    assert detail.startswith(f"{SHEET1}: ") and detail.endswith(f" bytes unpack to {4 * MB}")
    assert got.details["expected"] == "100:1" and int(got.value.split(":")[0]) > 900
    # under the grace size the ratio is not checked: the zeros are then a damaged sheet, read by calamine
    assert read_workbook(data, Limits(ratio_grace_bytes=8 * MB)).rule == "file-damaged"


def test_lying_header_is_caught_after_at_most_one_chunk(no_calamine: None) -> None:
    """The directory says 1000 bytes; the member inflates to 50 MB: inflating stops at the lie."""
    data = patch_declared_size(bomb_zip(50 * MB), SHEET1, 1000)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET1).file_size == 1000
    got, seconds, peak = measured(lambda: read_workbook(data))
    assert got == Problem.at("file-bomb", detail=f"{SHEET1} unpacks past its declared 1000 bytes", value="> 1000 B",
                              expected="1000 B")
    assert seconds < 0.5 and peak < 2, (seconds, peak)


def test_too_many_zip_members(no_calamine: None) -> None:
    data = rewrite_zip(small(), lambda n, b: b, add={f"customXml/item{i}.xml": b"<a/>" for i in range(30)})
    got = read_workbook(data, Limits(max_zip_members=20))
    assert got == Problem.at("file-bomb", detail="more than 20 zip members", value="> 20", expected="20 members")


def test_member_shorter_than_declared_is_damaged() -> None:
    data = patch_declared_size(small(), SHEET1, 10**6)
    got = read_workbook(data)
    assert isinstance(got, Problem) and got.rule == "file-damaged"
    assert re.fullmatch(rf"ZipError: {SHEET1} unpacks to \d+ bytes, declares 1000000", got.details["detail"])


# --- XML entities ------------------------------------------------------------------------------------------------

LAUGHS = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          + "".join(f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10))
          + ']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
          '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')


@pytest.mark.parametrize("member", [SHEET1, "xl/workbook.xml", "xl/sharedStrings.xml", "[Content_Types].xml",
                                    "xl/styles.xml", "docProps/core.xml"])
def test_billion_laughs_in_any_xml_part(member: str, no_calamine: None) -> None:
    base = xlsx(lambda wb: wb.add_worksheet("S").write_string(0, 0, "x"))
    data = rewrite_zip(base, lambda n, b: LAUGHS.encode() if n == member else b)
    got, seconds, peak = measured(lambda: read_workbook(data))
    assert isinstance(got, Problem)
    assert (got.rule, got.value) == ("file-xml-entities", member)
    assert got.details["detail"] == f"{member}: {LAUGHS[LAUGHS.index('<!DOCTYPE'):][:40]!r}"
    assert seconds < 0.2 and peak < 2
    assert messages(got)[1] == (
        f"File «bc.xlsx» declares a DOCTYPE/ENTITY in part «{member}», which Excel and LibreOffice never write, "
        "so it was not opened for safety. Please open it in Excel or LibreOffice, save it as a new file and resend.")


def test_doctype_in_utf16_is_seen() -> None:
    data = rewrite_zip(small(), lambda n, b: ("\ufeff" + LAUGHS.replace("UTF-8", "UTF-16")).encode("utf-16-le")
                       if n == SHEET1 else b)
    assert read_workbook(data).rule == "file-xml-entities"


def test_doctype_hidden_after_a_long_prolog_is_refused() -> None:
    padded = '<?xml version="1.0"?><!--' + "x" * 70_000 + "-->" + LAUGHS.split("?>", 1)[1]
    data = rewrite_zip(small(), lambda n, b: padded.encode() if n == SHEET1 else b)
    got = read_workbook(data)
    assert got == Problem.at("file-xml-entities", detail=f"{SHEET1}: no root element in the first 64 KB", value=SHEET1)


def test_short_comments_and_processing_instructions_before_the_root_are_fine() -> None:
    def change(name: str, body: bytes) -> bytes:
        if name != SHEET1:
            return body
        return body.replace(b"?>", b"?>\r\n<!-- made by hand --><?mso-application progid=\"Excel.Sheet\"?>", 1)

    (sheet,) = read_workbook(rewrite_zip(small(), change))
    assert sheet.rows == [[1.0]]


def test_entity_reference_without_declaration_is_damaged_not_expanded() -> None:
    data = rewrite_zip(small(), lambda n, b: b.replace(b"<v>1</v>", b"<v>&lol9;</v>") if n == SHEET1 else b)
    got = read_workbook(data)
    assert isinstance(got, Problem) and got.rule == "file-damaged"
    assert got.details["detail"].startswith(f"XmlError: {SHEET1}: undefined entity")


# --- giant sheets ----------------------------------------------------------------------------------------------


def giant(row: int, col: int) -> bytes:
    """A sheet "Báo cáo" with 1 at A1 and 2 at (row, col); the far cell is put in the XML directly, as
    xlsxwriter takes seconds to write a row a million rows down."""
    base = xlsx(lambda wb: wb.add_worksheet("Báo cáo").write_number(0, 0, 1))
    far = f'<row r="{row + 1}"><c r="{cell_address(row, col)}"><v>2</v></c></row></sheetData>'.encode()
    return rewrite_zip(base, lambda n, b: b.replace(b"</sheetData>", far) if n == SHEET1 else b)


@pytest.mark.parametrize(("row", "col", "cell", "limit"), [
    (999_999, 0, "A1000000", {"row": 1_000_000}), (1, 16383, "XFD2", {"column": 16_384}),
    (1_048_575, 16_383, "XFD1048576", {"row": 1_048_576}), (5000, 0, "A5001", {"row": 5001}),
    (1, 200, "GS2", {"column": 201})])
def test_cell_beyond_the_limits_is_refused(row: int, col: int, cell: str, limit: dict, no_calamine: None) -> None:
    data = giant(row, col)
    got, seconds, peak = measured(lambda: read_workbook(data))
    assert got == too_far("xlsx", "Báo cáo", cell, **limit)
    assert seconds < 0.2 and peak < 2


def test_the_limit_messages_name_the_limit_hit_and_the_place() -> None:
    assert messages(read_workbook(giant(5000, 0))) == (
        "Sheet «Báo cáo» có dữ liệu ở ô A5001 (dòng 5001), vượt giới hạn 5000 dòng của một biểu báo cáo, nên tệp "
        "không được mở. Vui lòng xóa các dòng thừa từ cuối biểu đến dòng 5001, lưu và gửi lại.",
        "Sheet «Báo cáo» has data in cell A5001 (row 5001), past the limit of 5000 rows for a report form, so the "
        "file was not opened. Please delete the extra rows from the end of the form to row 5001, save and resend.")
    assert messages(read_workbook(giant(1, 200))) == (
        "Sheet «Báo cáo» có dữ liệu ở ô GS2 (cột thứ 201), vượt giới hạn 200 cột của một biểu báo cáo, nên tệp không "
        "được mở. Vui lòng xóa các cột thừa từ sau biểu đến ô GS2, lưu và gửi lại.",
        "Sheet «Báo cáo» has data in cell GS2 (column 201), past the limit of 200 columns for a report form, so the "
        "file was not opened. Please delete the extra columns from the end of the form to cell GS2, save and resend.")


def test_last_cell_inside_the_limits_is_read() -> None:
    (sheet,) = read_workbook(giant(4999, 199))
    assert (len(sheet.rows), len(sheet.rows[0])) == (5000, 200)
    assert sheet.cell(4999, 199) == 2.0


def test_cells_without_reference_are_counted_in_order() -> None:
    """``<c>`` without ``r`` follows the previous cell, as calamine places it: the extent cannot hide."""
    def change(name: str, body: bytes) -> bytes:
        if name != SHEET1:
            return body
        row = b"<row>" + b"<c><v>1</v></c>" * 201 + b"</row>"
        return re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData>" + row + b"</sheetData>", body)

    got = read_workbook(rewrite_zip(small(), change))
    assert got == too_far("xlsx", "S", "GS1", column=201)


def test_styled_empty_cells_far_away_are_ignored_like_calamine_does() -> None:
    """A formatted but empty cell at row 1,000,000 gives calamine no cell, so it is no breach."""
    def change(name: str, body: bytes) -> bytes:
        far = b'<row r="1000000"><c r="A1000000" s="0"/><c r="XFD1000000" s="0"></c></row></sheetData>'
        return body.replace(b"</sheetData>", far) if name == SHEET1 else body

    (sheet,) = read_workbook(rewrite_zip(small(), change))
    assert sheet.rows == [[1.0]]


def test_a_declared_dimension_is_not_trusted_either_way() -> None:
    """``<dimension ref="A1:XFD1048576"/>`` costs calamine nothing: the file reads, in bounded memory."""
    def change(name: str, body: bytes) -> bytes:
        return body.replace(b'<dimension ref="A1"/>', b'<dimension ref="A1:XFD1048576"/>') if name == SHEET1 else body

    data = rewrite_zip(small(), change)
    assert b"XFD1048576" in zipfile.ZipFile(io.BytesIO(data)).read(SHEET1)
    (sheet,) = read_workbook(data)
    assert sheet.rows == [[1.0]]


def test_ods_repeated_rows_and_columns_count() -> None:
    far = ods_repeated("Tờ 1", [(1, [(1, 1), (None, 1), (2, 1)]), (999_998, [(None, 1024)]), (1, [(3, 1)])])
    assert len(far) < 5000
    assert read_workbook(far) == too_far("ods", "Tờ 1", "A1000000", row=1_000_000)
    filler = ods_repeated("S", [(1, [(1, 1), (None, 1), (2, 1)]), (1_048_000, [(None, 1024)])])  # LibreOffice's
    (sheet,) = read_workbook(filler)
    assert sheet.rows == [[1.0, "", 2.0]]


def test_ods_one_value_repeated_over_a_huge_area(no_calamine: None) -> None:
    """A 1.5 KB .ods whose one cell repeats 16,000 × 100,000 times: calamine would allocate 51 GB."""
    data = ods_repeated("S", [(100_000, [(5, 16_000)])])
    assert len(data) < 2000
    assert read_workbook(data) == too_far("ods", "S", "WQJ100000", row=100_000)


def test_xls_cell_beyond_the_limits(no_calamine: None) -> None:
    def build(wb) -> None:
        ws = wb.add_sheet("Bieu 01")
        ws.write(0, 0, 1)
        ws.write(65535, 3, 2)

    assert read_workbook(xls(build)) == too_far("xls", "Bieu 01", "D65536", row=65536)
    cols = xls(lambda wb: wb.add_sheet("S").write(0, 250, 1))
    assert read_workbook(cols).where.cell == "IQ1"


def test_giant_sheets_stay_small_in_process_memory() -> None:
    """Peak RSS (Python and native allocations) of a fresh process reading every giant case stays low."""
    script = textwrap.dedent("""
        import json, resource, sys
        from ingest.read.reader import read_workbook
        from tests.unit.test_safety import giant
        from tests.unit.office_files import ods_repeated
        cases = [giant(1_048_575, 16_383), giant(999_999, 0), giant(0, 16_383),
                 ods_repeated("S", [(1, [(1, 1)]), (999_998, [(None, 1)]), (1, [(3, 1)])]),
                 ods_repeated("S", [(100_000, [(5, 16_000)])])]
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rules = [read_workbook(d).rule for d in cases]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"rules": rules, "delta_mb": (peak - base) / 1024}))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO_DIR, capture_output=True, text=True, check=True,
                         timeout=120)
    report = json.loads(out.stdout)
    assert report["rules"] == ["sheet-too-many-rows", "sheet-too-many-rows", "sheet-too-many-columns",
                               "sheet-too-many-rows", "sheet-too-many-rows"]
    assert report["delta_mb"] < 20, report


# --- encryption ------------------------------------------------------------------------------------------------


def test_encrypted_ooxml_made_by_msoffcrypto(no_calamine: None) -> None:
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(small())).encrypt("mật khẩu", out)
    got = read_workbook(out.getvalue())
    assert got == Problem.at("file-password-protected",
                              detail="an encrypted Office package (EncryptionInfo, EncryptedPackage)")
    assert messages(got) == (
        "Tệp «bc.xlsx» được đặt mật khẩu nên không đọc được. Vui lòng bỏ mật khẩu và gửi lại.",
        "File «bc.xlsx» is password-protected and cannot be read. Please remove the password and resend.")


def test_encrypted_ooxml_built_by_hand(no_calamine: None) -> None:
    """calamine itself says only "Cannot detect file format" here: the verdict comes from the directory."""
    data = cfb({"EncryptionInfo": b"\x04\x00\x04\x00" + bytes(200), "EncryptedPackage": bytes(9000)})
    assert read_workbook(data).rule == "file-password-protected"


def test_encrypted_xls(no_calamine: None) -> None:
    data = with_filepass(xls(lambda wb: wb.add_sheet("S").write(0, 0, 1)))
    assert read_workbook(data) == Problem.at("file-password-protected",
                                              detail="the workbook stream is encrypted (FILEPASS)")


# --- not a workbook, garbage -----------------------------------------------------------------------------------


def test_word_docx_is_not_a_spreadsheet(no_calamine: None) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    got = read_workbook(out.getvalue())
    assert got == Problem.at("file-not-spreadsheet", detail="a Word package (word/document.xml)", format="word")
    assert messages(got, "bc.docx")[1] == (
        "File «bc.docx» is a Word document, not a spreadsheet. Please send the report form as an Excel (.xlsx, "
        ".xls) or LibreOffice (.ods) file.")


def test_xlsb_is_not_accepted(no_calamine: None) -> None:
    data = rewrite_zip(small(), lambda n, b: b, add={"xl/workbook.bin": b"\x83\x01\x00"})
    assert read_workbook(data) == Problem.at("file-other-spreadsheet", format="xlsb",
                                              detail="an Excel binary workbook (xl/workbook.xml)")


@pytest.mark.parametrize("signature", [b"PK\x03\x04", OLE2])
def test_garbage_after_a_signature_is_damaged(signature: bytes, no_calamine: None) -> None:
    data = signature + bytes(range(256)) * 40
    got = read_workbook(data)
    assert isinstance(got, Problem) and got.rule == "file-damaged"
    assert got.details["detail"].startswith("ZipError: BadZipFile" if signature == b"PK\x03\x04" else "OLE2: ")


def test_corrupt_deflate_stream_is_damaged() -> None:
    data = bytearray(small())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(SHEET1)
    start = info.header_offset + 30 + len(SHEET1)
    data[start:start + 8] = b"\xff" * 8
    got = read_workbook(bytes(data))
    assert isinstance(got, Problem) and got.rule == "file-damaged"
    assert got.details["detail"].startswith(f"ZipError: {SHEET1}: ")


# --- too many sheets -------------------------------------------------------------------------------------------


def test_too_many_sheets_in_each_format(no_calamine: None) -> None:
    limits = Limits(max_sheets=2)
    three = xlsx(lambda wb: [wb.add_worksheet(f"S{i}") for i in range(3)])
    assert read_workbook(three, limits) == Problem.at("file-too-many-sheets", detail="3 sheets", value="3",
                                                      expected="2")
    got = read_workbook(xls(lambda wb: [wb.add_sheet(f"S{i}").write(0, 0, i) for i in range(3)]), limits)
    assert (got.rule, got.details["expected"]) == ("file-too-many-sheets", "2")
    got = read_workbook(ods({f"S{i}": [[i]] for i in range(3)}), limits)
    assert (got.rule, got.details["expected"]) == ("file-too-many-sheets", "2")
    assert messages(Problem.at("file-too-many-sheets", detail="3 sheets", value="3", expected="2"))[1] == (
        "File «bc.xlsx» has 3 sheets, over the limit of 2. Please send a file holding only the report form.")


# --- formulas without a cached value ------------------------------------------------------------------------------


def test_inspection_reports_uncached_formulas() -> None:
    def build(wb) -> None:
        ws = wb.add_worksheet("S")
        ws.write_number(0, 0, 1)
        ws.write_formula(1, 1, "=A1*2", None, 2)  # B2
        ws.write_formula(2, 2, '=""', None, "")  # C3: a string formula whose value is "" (t="str" below)
        ws.write_formula(3, 3, "=A1*3", None, 3)  # D4

    def strip(name: str, body: bytes) -> bytes:
        if name != SHEET1:
            return body
        body = body.replace(b"<v>2</v>", b"").replace(b"<v>3</v>", b"<v/>")
        return body.replace(b'<c r="C3">', b'<c r="C3" t="str">')

    inspection = inspect_workbook(rewrite_zip(xlsx(build), strip), current_limits())
    assert inspection.kind == "xlsx"
    assert inspection.uncached == {"S": frozenset({(1, 1), (3, 3)})}


def test_openpyxl_formula_has_no_value() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Bieu"
    wb.active["A1"] = 1
    wb.active["B2"] = "=A1*2"
    buf = io.BytesIO()
    wb.save(buf)
    (sheet,) = read_workbook(buf.getvalue())
    assert sheet.uncached == frozenset({(1, 1)})
    assert sheet.cell(1, 1) is None  # calamine has no cell there at all: a blank, were it not reported


def test_sheets_are_named_through_the_workbook_relationships() -> None:
    """sheet2.xml holds the sheet named "Báo cáo": the name comes from workbook.xml + its .rels, not the file."""
    def build(wb) -> None:
        wb.add_worksheet("Ghi chú").write_formula(0, 0, "=1+1", None, 2)
        wb.add_worksheet("Báo cáo").write_formula(4, 5, "=1+2", None, 3)

    def strip(name: str, body: bytes) -> bytes:
        return body.replace(b"<v>3</v>", b"") if name == "xl/worksheets/sheet2.xml" else body

    sheets = read_workbook(rewrite_zip(xlsx(build), strip))
    assert {s.name: s.uncached for s in sheets} == {"Ghi chú": frozenset(), "Báo cáo": frozenset({(4, 5)})}


def test_uncached_formula_in_a_form_is_a_problem_on_its_cell() -> None:
    values = {(r.code, m): float(10 * (i + 1) + j) for i, r in enumerate(LDVL.rows)
              for j, m in enumerate(("plan_year", "period", "ytd", "ytd_prev_year"))}
    rendered = form_bytes(LDVL, CAT.unit("443"), dt.date(2024, 10, 1), values, options=Quirks(sum_formulas=True))
    key = sorted(rendered.formulas)[0]
    cell = rendered.cells[key]

    def strip(name: str, body: bytes) -> bytes:
        if name != SHEET1:
            return body
        return re.sub(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)<v>[^<]*</v>'.encode(), rb"\1\2", body)

    data = rewrite_zip(rendered.data, strip)
    assert data != rendered.data
    parsed = parse_file(data, CAT)
    found = [f for f in parsed.problems if f.rule == "formula-without-value"]
    assert [f.where for f in found] == [Location("Bieu 01", cell, *key)]
    assert key not in {(o.row_code, o.measure) for o in parsed.observations}
    # every other formula keeps its cached value
    others = {(o.row_code, o.measure): o.value for o in parsed.observations}
    assert all(others[k] == values[k] for k in rendered.formulas - {key})
    p = Problem.at("formula-without-value", sheet="Bieu 01", cell=cell, row_code=key[0], measure=key[1])
    assert p.messages("bc.xlsx")[1] == (
        f"Sheet «Bieu 01», cell {cell} (row {key[0]}, «this period»): the cell holds a formula but no computed value "
        "(the file was made by a program that does not calculate formulas). Please open it in Excel or LibreOffice "
        "so it recalculates, save and resend.")
    assert (p.severity, p.stage) == ("error", "parse")


def test_a_sheet_anywhere_the_relationships_point_is_scanned(no_calamine: None) -> None:
    """The giant sheet moved to xl/data/part.xml: found through workbook.xml.rels, as calamine finds it."""
    def move(name: str, body: bytes) -> bytes | None:
        if name == "xl/_rels/workbook.xml.rels":
            return body.replace(b'Target="worksheets/sheet1.xml"', b'Target="/xl/data/part.xml"')
        if name == "[Content_Types].xml":
            return body.replace(b"/xl/worksheets/sheet1.xml", b"/xl/data/part.xml")
        return None if name == SHEET1 else body

    giant_sheet = zipfile.ZipFile(io.BytesIO(giant(999_999, 0))).read(SHEET1)
    data = rewrite_zip(giant(999_999, 0), move, add={"xl/data/part.xml": giant_sheet})
    assert SHEET1 not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert read_workbook(data) == too_far("xlsx", "Báo cáo", "A1000000", row=1_000_000)


def test_an_xlsx_dressed_as_ods_is_scanned_as_both(no_calamine: None) -> None:
    """calamine tries xlsx before ods whatever the mimetype says: the xlsx sheets are scanned too."""
    data = rewrite_zip(giant(999_999, 0), lambda n, b: b,
                       add={"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})
    assert read_workbook(data).rule == "sheet-too-many-rows"
