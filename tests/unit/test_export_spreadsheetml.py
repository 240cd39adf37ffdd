"""ingest.read.exports.spreadsheetml: Excel 2003 XML read to the grid calamine gives for the same workbook, and
hostile or broken files refused with the exact problem. Every file is written here, by hand or by the tiny writer
of the property test."""

from __future__ import annotations

import datetime as dt
import unicodedata
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.catalogue.problems import Location, Problem
from ingest.read import grid
from ingest.read.exports.spreadsheetml import SS_NS, read_spreadsheetml
from ingest.read.limits import Limits
from ingest.read.safety import Refused

LIMITS = Limits()
PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n<?mso-application progid="Excel.Sheet"?>\n'
ROOT = (f'<Workbook xmlns="{SS_NS}" xmlns:ss="{SS_NS}" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns:html="http://www.w3.org/TR/REC-html40">')


def book(*sheets: str, prolog: str = PROLOG) -> bytes:
    return f"{prolog}{ROOT}{''.join(sheets)}</Workbook>".encode()


def sheet(rows: str, name: str = "Bieu 01") -> str:
    return f'<Worksheet ss:Name="{name}"><Table>{rows}</Table></Worksheet>'


def cell(value: str, kind: str = "String", **attrs: object) -> str:
    """``cell("a", MergeAcross=2)`` → ``<Cell ss:MergeAcross="2"><Data ss:Type="String">a</Data></Cell>``."""
    written = "".join(f' ss:{k}="{v}"' for k, v in attrs.items())
    return f'<Cell{written}><Data ss:Type="{kind}">{value}</Data></Cell>'


def row(*cells: str, **attrs: object) -> str:
    written = "".join(f' ss:{k}="{v}"' for k, v in attrs.items())
    return f"<Row{written}>{''.join(cells)}</Row>"


def rows_of(cells: dict[tuple[int, int], object]) -> list[list[object]]:
    """The grid a sheet of these cells is read to: zero-based positions, None where nothing is."""
    height = max((r for r, _ in cells), default=-1) + 1
    width = max((c for _, c in cells), default=-1) + 1
    return [[cells.get((r, c)) for c in range(width)] for r in range(height)]


def read_one(rows: str) -> grid.Sheet:
    (only,) = read_spreadsheetml(book(sheet(rows)), LIMITS)
    return only


def refused(data: bytes, limits: Limits = LIMITS) -> Problem:
    with pytest.raises(Refused) as caught:
        read_spreadsheetml(data, limits)
    return caught.value.problem


# --- what Excel writes ------------------------------------------------------------------------------------------

EXCEL_FORM = f"""<?xml version="1.0"?>
<?mso-application progid="Excel.Sheet"?>
{ROOT}
 <DocumentProperties xmlns="urn:schemas-microsoft-com:office:office"><Author>Phòng LĐTBXH</Author></DocumentProperties>
 <Styles><Style ss:ID="Default" ss:Name="Normal"><Font ss:FontName="Times New Roman"/></Style></Styles>
 <Names><NamedRange ss:Name="Print_Area" ss:RefersTo="='Bieu 01'!R1C1:R6C6"/></Names>
 <Worksheet ss:Name="Bieu 01">
  <Table ss:ExpandedColumnCount="6" ss:ExpandedRowCount="6" x:FullColumns="1" x:FullRows="1">
   <Column ss:Width="47"/>
   <Row>
    <Cell ss:MergeAcross="3"><Data ss:Type="String">UBND HUYỆN CAN LỘC</Data></Cell>
    <Cell ss:MergeAcross="1"><Data ss:Type="String">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</Data></Cell>
   </Row>
   <Row ss:Index="3">
    <Cell ss:MergeDown="1"><Data ss:Type="String">STT</Data></Cell>
    <Cell ss:MergeDown="1"><Data ss:Type="String">Chỉ tiêu</Data></Cell>
    <Cell ss:MergeAcross="1"><Data ss:Type="String">Thực hiện</Data></Cell>
   </Row>
   <Row>
    <Cell ss:Index="3"><Data ss:Type="String">Tháng báo cáo</Data></Cell>
    <Cell><Data ss:Type="String">Lũy kế từ đầu năm</Data></Cell>
   </Row>
   <Row>
    <Cell><Data ss:Type="String">01</Data></Cell>
    <Cell><ss:Data ss:Type="String" xmlns="http://www.w3.org/TR/REC-html40"><B>Số lao động</B><Font
      html:Color="#FF0000"> được giải quyết</Font></ss:Data><Comment ss:Author="Lan"><ss:Data
      xmlns="http://www.w3.org/TR/REC-html40"><B>Lan:</B> kiểm tra lại</ss:Data></Comment></Cell>
    <Cell><Data ss:Type="Number">1000</Data></Cell>
    <Cell ss:Formula="=RC[-1]*2+0.5"><Data ss:Type="Number">2000.5</Data></Cell>
   </Row>
   <Row>
    <Cell ss:Index="2"><Data ss:Type="String">Tổng</Data></Cell>
    <Cell ss:Formula="=SUM(R[-1]C:R[-1]C)"/>
    <Cell ss:Formula="=1/0"><Data ss:Type="Error">#DIV/0!</Data></Cell>
    <Cell><Data ss:Type="Boolean">1</Data></Cell>
    <Cell><Data ss:Type="DateTime">2024-10-01T00:00:00.000</Data></Cell>
   </Row>
  </Table>
  <WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel"><Selected/></WorksheetOptions>
 </Worksheet>
</Workbook>
"""


def test_a_form_as_excel_writes_it() -> None:
    (bieu,) = read_spreadsheetml(EXCEL_FORM.encode(), LIMITS)
    assert bieu.name == "Bieu 01"
    assert bieu.rows == rows_of({
        (0, 0): "UBND HUYỆN CAN LỘC", (0, 4): "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        (2, 0): "STT", (2, 1): "Chỉ tiêu", (2, 2): "Thực hiện",
        (3, 2): "Tháng báo cáo", (3, 3): "Lũy kế từ đầu năm",
        (4, 0): "01", (4, 1): "Số lao động được giải quyết", (4, 2): 1000.0, (4, 3): 2000.5,
        (5, 1): "Tổng", (5, 3): "#DIV/0!", (5, 4): True, (5, 5): dt.datetime(2024, 10, 1),
    })
    assert bieu.uncached == {(5, 2)}  # the SUM with no cached value: empty, and reported


def test_libreoffice_flavour_with_a_row_per_empty_row(put_calls: list[tuple[int, int]]) -> None:
    """LibreOffice prefixes Worksheet, writes Table and Row unprefixed, ends each row with an empty cell at the
    sheet's last used column + 1 and writes a Row for every empty row down to 1,048,576: none of it is a cell."""
    empty_rows = '<Row ss:Height="14.9976"><Cell ss:Index="10"/></Row>' * 1000
    first = row(cell("Biểu số: 01/LĐVL-H", StyleID="ce27"), '<Cell ss:Index="10"/>')
    data = book('<ss:Worksheet ss:Name="Bieu 01"><Table ss:StyleID="ta1"><Column ss:Span="3" ss:Width="103"/>'
                f'{first}{empty_rows}<Row ss:Index="1048576"><Cell ss:Index="16384"/></Row></Table>'
                '<x:WorksheetOptions/></ss:Worksheet>')
    (bieu,) = read_spreadsheetml(data, LIMITS)
    assert bieu.rows == [["Biểu số: 01/LĐVL-H"]]
    assert put_calls == [(0, 0)]


def test_cells_under_a_vertical_merge_skip_the_merged_area() -> None:
    """No cell can sit inside a merged area: a cell without ss:Index in the rows a ss:MergeDown covers goes to the next
    column not covered (LibreOffice's export leaves the ss:Index out there; Excel writes it, which decides alone)."""
    rows = (row(cell("STT", MergeDown=1), cell("Chỉ tiêu", MergeDown=1), cell("Thực hiện", MergeAcross=1))
            + row(cell("Tháng"), cell("Lũy kế")))
    assert read_one(rows).rows == [["STT", "Chỉ tiêu", "Thực hiện", None], [None, None, "Tháng", "Lũy kế"]]
    explicit = (row(cell("STT", MergeDown=1), cell("Chỉ tiêu", MergeDown=1))
                + row(cell("Tháng", Index=3), cell("Lũy kế")) + row(cell("A"), cell("B")))
    assert read_one(explicit).rows == [["STT", "Chỉ tiêu", None, None], [None, None, "Tháng", "Lũy kế"],
                                       ["A", "B", None, None]]


@pytest.mark.parametrize("rows, cells", [
    pytest.param(row(cell("1", "Number"), cell("4", "Number", Index=4), cell("5", "Number")),
                 {(0, 0): 1.0, (0, 3): 4.0, (0, 4): 5.0}, id="cell-index-then-next"),
    pytest.param(row(cell("a"), Index=2) + row(cell("b")), {(1, 0): "a", (2, 0): "b"}, id="row-index-then-next"),
    pytest.param(row(Span=2) + row(cell("x")), {(3, 0): "x"}, id="row-span"),
    pytest.param(row(cell("a"), Index=2, Span=1) + row(cell("b")), {(1, 0): "a", (3, 0): "b"},
                 id="row-index-and-span"),
    pytest.param(row(cell("a", MergeAcross=2), cell("b")), {(0, 0): "a", (0, 3): "b"}, id="merge-across"),
    pytest.param(row(cell("a", Index=2, MergeAcross=2), cell("b")), {(0, 1): "a", (0, 4): "b"},
                 id="index-and-merge-across"),
    pytest.param(row(cell("a", Index=3), cell("b", Index=1)), {(0, 0): "b", (0, 2): "a"}, id="index-going-back"),
    pytest.param('<Row><Cell/><Cell ss:StyleID="s1"/><Cell Index="4"><Data Type="Number">7</Data></Cell></Row>',
                 {(0, 3): 7.0}, id="empty-cells-and-unprefixed-attributes"),
    pytest.param(row(cell("a", Index="007"), Index=" 2 "), {(1, 6): "a"}, id="whitespace-and-leading-zeros"),
])
def test_positions(rows: str, cells: dict[tuple[int, int], object]) -> None:
    assert read_one(rows).rows == rows_of(cells)


@pytest.mark.parametrize("kind, text, value", [
    ("Number", "1000", 1000.0),
    ("Number", "2000.5", 2000.5),
    ("Number", "-1.5E3", -1500.0),
    ("Number", " 12 ", 12.0),
    ("Number", "1,5", "1,5"),  # not a number: the text, for the parser's Vietnamese rules
    ("Number", "abc", "abc"),
    ("Number", "1e999", "1e999"),
    ("Number", "nan", "nan"),
    ("Number", "1_000", "1_000"),
    ("Boolean", "1", True),
    ("Boolean", "0", False),
    ("Boolean", "yes", "yes"),
    ("DateTime", "2024-10-01T00:00:00.000", dt.datetime(2024, 10, 1)),
    ("DateTime", "2024-10-01T13:05:30.250", dt.datetime(2024, 10, 1, 13, 5, 30, 250000)),
    ("DateTime", "tháng 10", "tháng 10"),
    ("Error", "#N/A", "#N/A"),
    ("String", "=SUM(A1:A2)", "=SUM(A1:A2)"),  # text that looks like a formula stays text
    ("String", "  01  ", "  01  "),
    ("String", "a &amp; b &lt;c&gt; &#10;d", "a & b <c> \nd"),
    ("String", "<![CDATA[<b>x</b>]]>", "<b>x</b>"),
    ("Whatever", "12", "12"),
])
def test_values(kind: str, text: str, value: object) -> None:
    assert read_one(row(cell(text, kind))).rows == [[value]]


@pytest.mark.parametrize("xml, value, uncached", [
    pytest.param('<Cell ss:Formula="=A1"/>', None, True, id="no-data"),
    pytest.param('<Cell ss:Formula="=A1"><Data ss:Type="Number"></Data></Cell>', None, True, id="empty-number"),
    pytest.param('<Cell ss:Formula="=A1"><Data ss:Type="Number">3</Data></Cell>', 3.0, False, id="cached"),
    pytest.param('<Cell ss:Formula="=&quot;&quot;"><Data ss:Type="String"></Data></Cell>', None, False,
                 id="cached-empty-text"),
    pytest.param('<Cell ss:Formula="=A1"><Comment><Data>note</Data></Comment></Cell>', None, True,
                 id="only-a-comment"),
    pytest.param('<Cell ss:Formula=""><Data ss:Type="Number">3</Data></Cell>', 3.0, False, id="empty-formula"),
])
def test_formulas_are_read_never_evaluated(xml: str, value: object, uncached: bool) -> None:
    bieu = read_one(row(cell("x"), xml))
    assert bieu.cell(0, 1) == value
    assert bieu.uncached == ({(0, 1)} if uncached else frozenset())


def test_rich_text_is_the_cells_text_and_a_comment_is_not() -> None:
    rich = ('<Cell><ss:Data ss:Type="String" xmlns="http://www.w3.org/TR/REC-html40"><Font html:Size="12">Đơn vị'
            '</Font><B><I> báo cáo:</I></B><U> huyện</U></ss:Data>'
            '<Comment ss:Author="An"><ss:Data xmlns="http://www.w3.org/TR/REC-html40"><B>An:</B> sai mã</ss:Data>'
            '</Comment></Cell><Cell><Comment><Data>only a note</Data></Comment></Cell>')
    assert read_one(row(rich)).rows == [["Đơn vị báo cáo: huyện"]]


def test_sheets_names_and_an_empty_workbook() -> None:
    data = book(sheet(row(cell("a")), "Bieu 01"), "<Worksheet><Table/></Worksheet>", sheet(row(cell("c")), "Ghi chú"))
    assert [(s.name, s.rows) for s in read_spreadsheetml(data, LIMITS)] == [
        ("Bieu 01", [["a"]]), ("Sheet2", []), ("Ghi chú", [["c"]])]
    assert read_spreadsheetml(book(), LIMITS) == []


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_read_from_its_bom_or_declaration(codec: str) -> None:
    body = sheet(row(cell("Hà Tĩnh")), "Biểu")
    text = f'<?xml version="1.0" encoding="UTF-16"?>{ROOT}{body}</Workbook>'
    (bieu,) = read_spreadsheetml(text.encode(codec), LIMITS)
    assert (bieu.name, bieu.rows) == ("Biểu", [["Hà Tĩnh"]])


def test_windows_1258_declared_is_read() -> None:
    """Excel on a Vietnamese Windows writes tone marks as combining characters, which Windows-1258 holds."""
    decomposed = unicodedata.normalize("NFD", "Hà Tĩnh")
    text = f'<?xml version="1.0" encoding="windows-1258"?>{ROOT}{sheet(row(cell(decomposed)))}</Workbook>'
    assert read_spreadsheetml(text.encode("cp1258"), LIMITS)[0].rows == [[decomposed]]


# --- refused ----------------------------------------------------------------------------------------------------

ENTITIES = Problem.at("file-xml-entities", value="spreadsheetml", detail="spreadsheetml: DOCTYPE or ENTITY declaration")
LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("doctype, text", [
    pytest.param(f'<!DOCTYPE Workbook [<!ENTITY lol0 "lol">{LAUGHS}]>', "&lol9;", id="billion-laughs"),
    pytest.param('<!DOCTYPE Workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;", id="file"),
    pytest.param('<!DOCTYPE Workbook [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>', "&xxe;", id="http"),
    pytest.param('<!DOCTYPE Workbook SYSTEM "http://127.0.0.1:9/evil.dtd">', "x", id="external-dtd"),
    pytest.param('<!DOCTYPE Workbook [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>', "x",
                 id="parameter-entity"),
])
def test_dtds_and_entities_are_refused_never_expanded_or_fetched(doctype: str, text: str) -> None:
    data = book(sheet(row(cell(text))), prolog=f'<?xml version="1.0"?>\n{doctype}\n')
    assert refused(data) == ENTITIES


def test_an_entity_nobody_declared_is_damage() -> None:
    problem = refused(book(sheet(row(cell("&xxe;")))))
    assert problem.rule == "file-damaged"
    assert problem.details["detail"].startswith("XmlError: spreadsheetml: undefined entity")


def test_a_cell_below_the_row_limit() -> None:
    problem = refused(book(sheet(row(cell("x")) + row(cell("1", "Number"), Index=6000))))
    assert problem == Problem(
        "sheet-too-many-rows", Location("Bieu 01", "A6000"), "6000",
        {"detail": "spreadsheetml sheet has a cell at A6000", "expected": "5000"})


def test_a_cell_right_of_the_column_limit() -> None:
    problem = refused(book(sheet(row(cell("x", Index=300), Index=2))))
    assert problem == Problem(
        "sheet-too-many-columns", Location("Bieu 01", "KN2"), "300",
        {"detail": "spreadsheetml sheet has a cell at KN2", "expected": "200"})


def test_a_merge_running_past_the_limits_holds_its_value_at_its_top_left_only() -> None:
    assert read_one(row(cell("a", MergeAcross=16383, MergeDown=1048575))).rows == [["a"]]


def test_an_uncached_formula_past_the_limits_is_refused() -> None:
    problem = refused(book(sheet('<Row ss:Index="5001"><Cell ss:Formula="=1"/></Row>')))
    assert (problem.rule, problem.where.cell) == ("sheet-too-many-rows", "A5001")


def test_a_cell_longer_than_excel_allows() -> None:
    problem = refused(book(sheet(row("<Cell/>", cell("x" * 40_000), Index=2))))
    assert problem == Problem(
        "cell-too-long", Location("Bieu 01", "B2"), "40000",
        {"detail": "spreadsheetml cell B2: 40000 characters of text", "expected": "32767"})


def test_a_number_longer_than_excel_allows_is_refused_as_text() -> None:
    problem = refused(book(sheet(row(cell("9" * 40_000, "Number")))))
    assert (problem.rule, problem.where.cell, problem.value) == ("cell-too-long", "A1", "40000")


def test_too_much_text_and_too_many_sheets() -> None:
    ten = sheet(row(cell("x" * 10), cell("y" * 10)))
    problem = refused(book(ten), Limits(max_text_chars=15))
    assert (problem.rule, problem.value, problem.details["expected"]) == ("file-too-much-text", "20", "15")
    problem = refused(book(ten, ten, ten), Limits(max_sheets=2))
    assert (problem.rule, problem.value, problem.details["expected"]) == ("file-too-many-sheets", "> 2", "2")


@pytest.mark.parametrize("raw", ["0", "-3", "abc", "1" * 20, "", "1.5", "+2", "٣"])
def test_a_row_index_that_is_no_row_number_is_damage(raw: str) -> None:
    problem = refused(book(sheet(row(cell("a")) + row(cell("b"), Index=raw))))
    assert problem == Problem("file-damaged", Location("Bieu 01"), raw,
                              {"detail": f"spreadsheetml: Row ss:Index={raw!r} is not a row number"})


@pytest.mark.parametrize("raw", ["0", "-3", "abc", "1" * 20])
def test_a_cell_index_that_is_no_column_number_is_damage(raw: str) -> None:
    problem = refused(book(sheet(f'<Row ss:Index="4"><Cell ss:Index="{raw}"/></Row>')))
    assert problem == Problem("file-damaged", Location("Bieu 01"), raw,
                              {"detail": f"spreadsheetml: Cell ss:Index={raw!r} in row 4 is not a column number"})


@pytest.mark.parametrize("raw", ["-1", "9999999999", "x"])
def test_a_merge_that_is_no_count_is_damage(raw: str) -> None:
    problem = refused(book(sheet(row(cell("a", MergeAcross=raw)))))
    assert problem == Problem("file-damaged", Location("Bieu 01"), raw, {
        "detail": f"spreadsheetml: Cell ss:MergeAcross={raw!r} in row 1 is not a count of columns"})


def test_a_row_span_that_is_no_count_is_damage() -> None:
    problem = refused(book(sheet('<Row ss:Span="x"/>')))
    assert problem.details["detail"] == "spreadsheetml: Row ss:Span='x' in row 1 is not a count of rows"


@pytest.mark.parametrize("data, detail", [
    pytest.param(book(sheet(row(cell("a"))))[:-len("</Workbook>")], "XmlError: spreadsheetml: no element found",
                 id="cut-short"),
    pytest.param(book(sheet("<Row><Cell></Row>")), "XmlError: spreadsheetml: mismatched tag", id="mismatched"),
    pytest.param(b"\x00\x01garbage", "XmlError: spreadsheetml: ", id="binary"),
    pytest.param(b'<?xml version="1.0" encoding="x-bogus"?><Workbook/>',
                 "XmlError: spreadsheetml: LookupError: unknown encoding: x-bogus", id="unknown-encoding"),
    pytest.param(b'<html><body><table><tr><td>1</td></tr></table></body></html>',
                 "spreadsheetml: the root element is 'html' of 'no namespace', not the Workbook of "
                 f"{SS_NS}", id="not-a-workbook"),
    pytest.param(b'<Workbook xmlns="urn:other"><Worksheet/></Workbook>',
                 f"spreadsheetml: the root element is 'Workbook' of 'urn:other', not the Workbook of {SS_NS}",
                 id="wrong-namespace"),
])
def test_what_is_not_a_spreadsheetml_workbook_is_damage(data: bytes, detail: str) -> None:
    problem = refused(data)
    assert problem.rule == "file-damaged"
    assert problem.details["detail"].startswith(detail)


# --- property: what a tiny writer writes is read back -----------------------------------------------------------

TEXT = st.text(st.one_of(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), st.sampled_from("\t\n")),
               min_size=1, max_size=12)
VALUE = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
GRID = st.lists(st.lists(VALUE, max_size=7), max_size=7)


def write_sheet(rows: list[list[object]], draw: st.DrawFn, name: str) -> str:
    """A worksheet as some writer might put it: empty rows and cells left out (the next one then has an
    ss:Index) or written empty, spans over empty rows, merges across the empty cells after a value."""
    out, row_written = [], -1
    r = 0
    while r < len(rows):
        values = rows[r]
        if not any(v is not None for v in values) and draw(st.booleans()):
            r += 1  # left out: the next row written carries its ss:Index
            continue
        attrs = f' ss:Index="{r + 1}"' if r != row_written + 1 or draw(st.booleans()) else ""
        if not any(v is not None for v in values):
            empty_after = 0
            while r + empty_after + 1 < len(rows) and all(v is None for v in rows[r + empty_after + 1]):
                empty_after += 1
            span = draw(st.integers(0, min(empty_after, 2)))
            spanned = f' ss:Span="{span}"' if span else ""
            out.append(f"<Row{attrs}{spanned}/>")
            row_written = r + span
            r += span + 1
            continue
        cells, c, col_written = [], 0, -1
        while c < len(values):
            value = values[c]
            if value is None and draw(st.booleans()):
                c += 1
                continue
            index = f' ss:Index="{c + 1}"' if c != col_written + 1 or draw(st.booleans()) else ""
            across = 0
            while value is not None and c + across + 1 < len(values) and values[c + across + 1] is None \
                    and draw(st.booleans()):
                across += 1
            merge = f' ss:MergeAcross="{across}"' if across else ""
            if value is None:
                cells.append(f"<Cell{index}/>")
            elif isinstance(value, float):
                cells.append(f'<Cell{index}{merge}><Data ss:Type="Number">{value!r}</Data></Cell>')
            else:
                cells.append(f'<Cell{index}{merge}><Data ss:Type="String">{escape(value)}</Data></Cell>')
            col_written = c + across
            c += across + 1
        out.append(f"<Row{attrs}>{''.join(cells)}</Row>")
        row_written = r
        r += 1
    return f'<Worksheet ss:Name="{escape(name)}"><Table>{"".join(out)}</Table></Worksheet>'


@settings(max_examples=150, deadline=None)
@given(grids=st.lists(GRID, min_size=1, max_size=3), data=st.data())
def test_what_is_written_is_read_back(grids: list[list[list[object]]], data: st.DataObject) -> None:
    names = [f"Biểu {i}" for i in range(len(grids))]
    xml = book(*(write_sheet(g, data.draw, n) for g, n in zip(grids, names, strict=True)))
    sheets = read_spreadsheetml(xml, LIMITS)
    expected = [rows_of({(r, c): v for r, row in enumerate(g) for c, v in enumerate(row) if v is not None})
                for g in grids]
    assert [s.name for s in sheets] == names
    assert [s.rows for s in sheets] == expected
    assert all(not s.uncached for s in sheets)
