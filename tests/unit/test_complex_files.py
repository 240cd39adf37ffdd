"""Small files that expand to gigabytes when read (issue 15): each is refused by the safety inspection with a precise
problem before calamine sees it, a file that gets past it anyway costs its reader's memory cap and no more
(``file-too-complex``), and the rest of the load lands.

The constructions: Apache POI's ``poc-shared-strings.xlsx`` (one 1 MB shared string used by 12,000 cells), many
cells sharing a long string, a long inline string, a huge formula, a million cell formats, rich text of many runs,
an .ods cell repeated with its text, and the .xls shared string table used the same way."""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import pytest
import xlwt
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from ingest.catalogue.problems import Problem
from ingest.read.limits import MB, Limits
from ingest.read.reader import read_workbook
from ingest.read.safety import _sst_lengths
from ingest.read.workers import map_in_workers, parse_paths
from tests.unit.office_files import biff_join, biff_records, cfb, rewrite_zip, xls, xls_stream, xlsx

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
SHEET1, STRINGS, STYLES = "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/styles.xml"


def with_parts(sheet: str, shared: list[str] | None = None, styles: bytes | None = None) -> bytes:
    """An xlsx whose first sheet's ``<sheetData>`` holds ``sheet``, with these shared strings (``<si>`` bodies)
    and styles part."""
    base = xlsx(lambda wb: wb.add_worksheet("Báo cáo").write_string(0, 0, "x"))
    xml = f'<worksheet {NS}><sheetData>{sheet}</sheetData></worksheet>'.encode()
    sst = (f'<sst {NS} count="{len(shared or [])}" uniqueCount="{len(shared or [])}">'
           + "".join(f"<si>{si}</si>" for si in shared or []) + "</sst>").encode()

    def change(name: str, body: bytes) -> bytes:
        return {SHEET1: xml, STRINGS: sst if shared is not None else body,
                STYLES: styles if styles is not None else body}.get(name, body)

    return rewrite_zip(base, change)


def shared_cells(rows: int, cols: str = "ABC", index: int = 0) -> str:
    return "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}" t="s"><v>{index}</v></c>' for c in cols) + "</row>"
                   for r in range(1, rows + 1))


def poc_shared_strings() -> bytes:
    """Apache POI's poc-shared-strings.xlsx with valid cell references: one shared string of 1,000,000
    characters, used by the 12,000 cells of A1:C4000; 1 MB of text, 12 GB once calamine has read it."""
    return with_parts(shared_cells(4000), ["<t>" + "A" * 1_000_000 + "</t>"])


# --- refused before reading, precisely ---------------------------------------------------------------------------


def test_poi_poc_shared_strings_is_refused_at_its_first_cell(no_calamine: None) -> None:
    data = poc_shared_strings()
    assert len(data) < 200_000
    assert read_workbook(data) == Problem.at(
        "cell-too-long", sheet="Báo cáo", cell="A1", value="1000000", expected="32767",
        detail="xlsx cell A1: 1000000 characters of text")


def test_many_cells_sharing_a_long_string_is_too_much_text(no_calamine: None) -> None:
    """Each cell is within Excel's limit; the 12,000 of them expand to 360 million characters."""
    data = with_parts(shared_cells(4000), ["<t>" + "B" * 30_000 + "</t>"])
    got = read_workbook(data)
    assert got == Problem.at("file-too-much-text", value="360000000", expected="10000000",
                             detail="xlsx cells expand to 360000000 characters")
    assert got.messages("poc.xlsx") == (
        "Các ô trong tệp «poc.xlsx» chứa tổng cộng 360000000 ký tự (tính cả nội dung được dùng lại ở nhiều ô), vượt "
        "giới hạn 10000000 ký tự, nên tệp không được mở. Vui lòng xóa các ô có nội dung thừa hoặc sao chép biểu (chỉ "
        "dán giá trị) sang tệp mới, lưu và gửi lại.",
        "The cells of file «poc.xlsx» hold 360000000 characters in all (counting text reused in many cells), over the "
        "limit of 10000000, so the file was not opened. Please delete the cells holding unneeded text, or copy the "
        "form (paste values only) into a new file, save and resend.")


def test_the_text_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    data = with_parts(shared_cells(10), ["<t>" + "B" * 100 + "</t>"])  # 3,000 characters
    (sheet,) = read_workbook(data)
    assert sheet.cell(9, 2) == "B" * 100
    monkeypatch.setenv("SECTORSTATS_MAX_TEXT_CHARS", "2999")
    assert read_workbook(data) == Problem.at("file-too-much-text", value="3000", expected="2999",
                                             detail="xlsx cells expand to 3000 characters")


def test_a_long_inline_string(no_calamine: None) -> None:
    data = with_parts('<row r="2"><c r="B2" t="inlineStr"><is><t>' + "C" * 40_000 + "</t></is></c></row>")
    got = read_workbook(data)
    assert got == Problem.at("cell-too-long", sheet="Báo cáo", cell="B2", value="40000", expected="32767",
                             detail="xlsx cell B2: 40000 characters of text")
    assert got.messages("a.xlsx")[0] == ("Ô B2 của sheet «Báo cáo» chứa 40000 ký tự, vượt giới hạn 32767 ký tự của một "
                                         "ô Excel, nên tệp không được mở. Vui lòng rút ngắn nội dung ô này, lưu và gửi "
                                         "lại.")


def test_a_huge_formula(no_calamine: None) -> None:
    formula = "+".join(["1"] * 5000)  # 9,999 characters: Excel keeps at most 8,192
    data = with_parts(f'<row r="3"><c r="C3"><f>{formula}</f><v>5000</v></c></row>')
    assert read_workbook(data) == Problem.at("cell-too-long", sheet="Báo cáo", cell="C3", value="9999",
                                             expected="8192", detail="xlsx cell C3: 9999 characters of formula")


def test_a_million_cell_formats(no_calamine: None) -> None:
    """Varied attributes keep the part's compression ratio honest, as a hostile file would."""
    rng = random.Random(15)
    xfs = "".join(f'<xf numFmtId="{rng.randrange(1000)}" fontId="{rng.randrange(100)}"/>' for _ in range(1_000_000))
    styles = f'<styleSheet {NS}><cellXfs count="1000000">{xfs}</cellXfs></styleSheet>'.encode()
    data = with_parts('<row r="1"><c r="A1"><v>1</v></c></row>', styles=styles)
    assert len(data) < 20 * MB
    assert read_workbook(data) == Problem.at("file-too-many-styles", value="1000000", expected="64000",
                                             detail="xl/styles.xml: 1000000 cell formats")


def test_rich_text_of_many_runs(no_calamine: None) -> None:
    runs = "".join(f'<r><rPr><b/><sz val="{9 + i % 5}"/></rPr><t>ab</t></r>' for i in range(20_000))
    data = with_parts('<row r="4"><c r="D4" t="s"><v>1</v></c></row>', ["<t>x</t>", runs])
    assert read_workbook(data) == Problem.at("cell-too-long", sheet="Báo cáo", cell="D4", value="40000",
                                             expected="32767", detail="xlsx cell D4: 40000 characters of text")


def test_a_long_string_nobody_uses_costs_nothing() -> None:
    """Shared strings are counted where cells use them: an unused long one (Excel keeps them) is no breach."""
    data = with_parts('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', ["<t>ok</t>", "<t>" + "D" * 40_000 + "</t>"])
    (sheet,) = read_workbook(data)
    assert sheet.rows == [["ok"]]


def ods_text(text: str, cols: int, rows: int, formula: str | None = None) -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Tờ 1")
    head = TableRow()
    head.addElement(TableCell(valuetype="float", value=1))
    table.addElement(head)
    tr = TableRow(numberrowsrepeated=rows) if rows > 1 else TableRow()
    attrs: dict[str, object] = {"numbercolumnsrepeated": cols} if cols > 1 else {}
    if formula:
        attrs.update(formula=formula, valuetype="float", value=1)
    cell = TableCell(valuetype="string", **attrs) if not formula else TableCell(**attrs)
    cell.addElement(P(text=text))
    tr.addElement(TableCell())
    tr.addElement(cell)
    table.addElement(tr)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def test_ods_text_repeated_over_cells_and_rows(no_calamine: None) -> None:
    data = ods_text("E" * 20_000, cols=100, rows=10)
    assert read_workbook(data) == Problem.at("file-too-much-text", value="20000000", expected="10000000",
                                             detail="ods cells expand to 20000000 characters")


def test_ods_long_cell_and_long_formula(no_calamine: None) -> None:
    assert read_workbook(ods_text("F" * 40_000, cols=1, rows=1)) == Problem.at(
        "cell-too-long", sheet="Tờ 1", cell="B2", value="40000", expected="32767",
        detail="ods cell B2: 40000 characters of text")
    formula = "of:=" + "+".join(["1"] * 5000)
    assert read_workbook(ods_text("1", cols=1, rows=1, formula=formula)) == Problem.at(
        "cell-too-long", sheet="Tờ 1", cell="B2", value=str(len(formula)), expected="8192",
        detail=f"ods cell B2: {len(formula)} characters of formula")


def test_xls_shared_string_used_by_many_cells(no_calamine: None) -> None:
    def build(wb: xlwt.Workbook) -> None:
        ws = wb.add_sheet("Bieu 01")
        for r in range(400):
            ws.write(r, 0, "G" * 30_000)

    assert read_workbook(xls(build)) == Problem.at("file-too-much-text", value="12000000", expected="10000000",
                                                   detail="xls cells expand to 12000000 characters")


def test_xls_cell_too_long(no_calamine: None) -> None:
    """xlwt writes at most 32,767 characters: the cell's LABELSST record becomes a LABEL of 40,000 (a record may
    hold 65,535 bytes), in the sheet, after the offsets the workbook globals give."""
    records = biff_records(xls_stream(xls(lambda wb: wb.add_sheet("Bieu 01").write(2, 1, "H"))))
    label = (0x0204, struct.pack("<HHHHB", 2, 1, 15, 40_000, 0) + b"H" * 40_000)
    data = cfb({"Workbook": biff_join([label if t == 0x00FD else (t, b) for t, b in records])})
    assert read_workbook(data) == Problem.at("cell-too-long", sheet="Bieu 01", cell="B3", value="40000",
                                             expected="32767", detail="xls cell B3: 40000 characters of text")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=9000).filter(lambda s: "\x00" not in s), min_size=1, max_size=12,
                unique=True))
def test_sst_lengths_across_continue_records(texts: list[str]) -> None:
    """xlwt splits the SST into CONTINUE records (8,224 bytes each), mid-string, switching between 8- and 16-bit
    characters: every string's length is still found."""
    def build(wb: xlwt.Workbook) -> None:
        ws = wb.add_sheet("S")
        for r, text in enumerate(texts):
            ws.write(r, 0, text)

    stream = xls_stream(xls(build))
    pos = 0
    for typ, body in biff_records(stream):
        if typ == 0x00FC:
            break
        pos += 4 + len(body)
    assert _sst_lengths(stream, pos) == [len(t.encode("utf-16-le")) // 2 for t in texts]  # BIFF counts UTF-16 units
    assert struct.unpack_from("<H", stream, pos)[0] == 0x00FC


# --- past the inspection: the memory cap decides, in a worker ----------------------------------------------------


def calamine_values(data: bytes) -> int:
    """Read every sheet with calamine directly, skipping the inspection: what a gap in it would cost."""
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return sum(len(wb.get_sheet_by_name(name).to_python()) for name in wb.sheet_names)


def test_a_file_past_the_inspection_costs_its_reader_memory_cap_only() -> None:
    small = xlsx(lambda wb: wb.add_worksheet("S").write_number(0, 0, 1))
    got = list(map_in_workers([small, poc_shared_strings(), small], calamine_values, workers=1,
                              limits=Limits(worker_memory_bytes=1024 * MB)))
    assert got == [1, Problem.at("file-too-complex", detail="reading it needed more than 1024 MB",
                                 expected="1024 MB"), 1]


def test_the_rest_of_the_load_lands(tmp_path: Path) -> None:
    """A load of real forms with each hostile file among them: every form is parsed, each hostile file has its
    one problem."""
    from ingest.catalogue import load_catalogue
    from ingest.parse.stage import _parse_with_catalogue
    from ingest.tell.official_forms import form_bytes

    catalogue = load_catalogue()
    forms = [form_bytes(form).data for form in catalogue.forms]
    hostile = [poc_shared_strings(), with_parts(shared_cells(4000), ["<t>" + "B" * 30_000 + "</t>"]),
               ods_text("E" * 20_000, cols=100, rows=10)]
    paths = []
    for i, data in enumerate([forms[0], hostile[0], forms[1], hostile[1], forms[2], hostile[2], forms[3]]):
        paths.append(tmp_path / f"{i}.bin")
        paths[-1].write_bytes(data)
    results = list(parse_paths(paths, _parse_with_catalogue, workers=2, chunk=2))
    assert [r.rule if isinstance(r, Problem) else "parsed" for r in results] == [
        "parsed", "cell-too-long", "parsed", "file-too-much-text", "parsed", "file-too-much-text", "parsed"]
    assert [r[0] for r in results[::2]] == [form.code for form in catalogue.forms]  # each read as its form
    assert all(len(r[1].observations) >= 48 for r in results[::2])
