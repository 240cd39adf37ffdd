"""ingest.read.exports.flat_ods: flat OpenDocument spreadsheets (.fods) read to the grid calamine gives for the
same .ods, repeats costing nothing where empty and checked before anything is built where not, and hostile or
broken files refused with the exact problem. Every file is written here, by hand or by the tiny writer of the
property test."""

from __future__ import annotations

import base64
import datetime as dt
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.catalogue.problems import Location, Problem
from ingest.read import grid
from ingest.read.exports.flat_ods import MIMETYPE, read_flat_ods
from ingest.read.limits import Limits
from ingest.read.safety import Refused

LIMITS = Limits()
PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'
NAMESPACES = " ".join(f'xmlns:{p}="{u}"' for p, u in {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "chart": "urn:oasis:names:tc:opendocument:xmlns:chart:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "config": "urn:oasis:names:tc:opendocument:xmlns:config:1.0",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xlink": "http://www.w3.org/1999/xlink",
    "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
    "of": "urn:oasis:names:tc:opendocument:xmlns:of:1.2",
}.items())


def document(*tables: str, head: str = "", mimetype: str = MIMETYPE, prolog: str = PROLOG) -> bytes:
    return (f'{prolog}<office:document {NAMESPACES} office:version="1.3" office:mimetype="{mimetype}">{head}'
            f'<office:body><office:spreadsheet>{"".join(tables)}</office:spreadsheet></office:body>'
            "</office:document>").encode()


def table(*rows: str, name: str = "Bieu 01") -> str:
    return f'<table:table table:name="{name}">{"".join(rows)}</table:table>'


def tr(*cells: str, repeat: int | str | None = None) -> str:
    attrs = "" if repeat is None else f' table:number-rows-repeated="{repeat}"'
    return f"<table:table-row{attrs}>{''.join(cells)}</table:table-row>"


def td(content: str = "", attrs: str = "") -> str:
    """A cell with these attributes (as written) and this content (paragraphs …)."""
    return f"<table:table-cell {attrs}>{content}</table:table-cell>"


def text(value: str, attrs: str = "") -> str:
    return td(f"<text:p>{value}</text:p>", f'office:value-type="string" calcext:value-type="string" {attrs}')


def number(value: float | str, attrs: str = "") -> str:
    return td(f"<text:p>{value}</text:p>", f'office:value-type="float" office:value="{value}" {attrs}')


def empty(columns: int = 1) -> str:
    return f'<table:table-cell table:number-columns-repeated="{columns}"/>'


def rows_of(cells: dict[tuple[int, int], object]) -> list[list[object]]:
    """The grid a sheet of these cells is read to: zero-based positions, None where nothing is."""
    height = max((r for r, _ in cells), default=-1) + 1
    width = max((c for _, c in cells), default=-1) + 1
    return [[cells.get((r, c)) for c in range(width)] for r in range(height)]


def read_one(*rows: str) -> grid.Sheet:
    (only,) = read_flat_ods(document(table(*rows)), LIMITS)
    return only


def refused(data: bytes, limits: Limits = LIMITS) -> Problem:
    with pytest.raises(Refused) as caught:
        read_flat_ods(data, limits)
    return caught.value.problem


# --- what LibreOffice writes ------------------------------------------------------------------------------------

PICTURE = base64.b64encode(bytes(range(256)) * 2000).decode()  # ~680 KB of base64, ignored
HEAD = f"""
 <office:meta><meta:generator>LibreOffice/7.4</meta:generator><dc:title>Báo cáo</dc:title></office:meta>
 <office:settings><config:config-item-set config:name="ooo:view-settings"><config:config-item
   config:name="VisibleAreaTop" config:type="int">0</config:config-item></config:config-item-set></office:settings>
 <office:font-face-decls><style:font-face style:name="Times New Roman" svg:font-family="'Times New Roman'"/>
 </office:font-face-decls>
 <office:styles><style:style style:name="Default" style:family="table-cell"><style:table-cell-properties>
   <style:background-image><office:binary-data>{PICTURE}</office:binary-data></style:background-image>
   </style:table-cell-properties></style:style></office:styles>
 <office:automatic-styles><style:style style:name="ce1" style:family="table-cell"/></office:automatic-styles>
"""
CHART = """<draw:frame draw:name="Chart 1" svg:width="4in" svg:height="3in"><draw:object>
 <office:document office:mimetype="application/vnd.oasis.opendocument.chart"><office:body><office:chart>
  <chart:chart><table:table table:name="local-table"><table:table-rows><table:table-row>
   <table:table-cell office:value-type="float" office:value="99"><text:p>99</text:p></table:table-cell>
  </table:table-row></table:table-rows></table:table></chart:chart>
 </office:chart></office:body></office:document></draw:object></draw:frame>"""
LIBREOFFICE_FORM = f"""
   <table:calculation-settings table:automatic-find-labels="false"><table:iteration/></table:calculation-settings>
   <table:table table:name="Bieu 01" table:style-name="ta1">
    <office:forms form:automatic-focus="false" xmlns:form="urn:oasis:names:tc:opendocument:xmlns:form:1.0"/>
    <table:table-column table:style-name="co1" table:default-cell-style-name="Default"/>
    <table:table-column table:style-name="co6" table:number-columns-repeated="16383"/>
    <table:table-row table:style-name="ro1">
     <table:table-cell table:style-name="ce1" office:value-type="string" calcext:value-type="string"
       table:number-columns-spanned="4" table:number-rows-spanned="1">
      <text:p>UBND HUYỆN CAN LỘC</text:p>
     </table:table-cell>
     <table:covered-table-cell table:number-columns-repeated="3" table:style-name="ce9"/>
     <table:table-cell office:value-type="string" calcext:value-type="string">
      <text:p>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</text:p>
     </table:table-cell>
     <table:table-cell table:number-columns-repeated="16379"/>
    </table:table-row>
    <table:table-row table:style-name="ro1" table:number-rows-repeated="2">
     <table:table-cell table:number-columns-repeated="16384"/>
    </table:table-row>
    <table:table-row table:style-name="ro1">
     <table:table-cell office:value-type="string" calcext:value-type="string" table:number-columns-spanned="1"
       table:number-rows-spanned="2"><text:p>STT</text:p></table:table-cell>
     <table:table-cell office:value-type="string" calcext:value-type="string" table:number-columns-spanned="2"
       table:number-rows-spanned="1"><text:p>Thực hiện</text:p></table:table-cell>
     <table:covered-table-cell/>
     <table:table-cell table:number-columns-repeated="16380"/>
    </table:table-row>
    <table:table-row table:style-name="ro1">
     <table:covered-table-cell/>
     <table:table-cell office:value-type="string" calcext:value-type="string"><text:p>Tháng báo cáo</text:p>
     </table:table-cell>
     <table:table-cell office:value-type="string" calcext:value-type="string"><text:p>Lũy kế từ đầu năm</text:p>
     </table:table-cell>
     <table:table-cell table:number-columns-repeated="16381"/>
    </table:table-row>
    <table:table-row table:style-name="ro1">
     <table:table-cell office:value-type="string" calcext:value-type="string">
      <office:annotation draw:style-name="gr1"><dc:date>2024-10-05T00:00:00</dc:date>
       <text:p>Lan: kiểm tra lại</text:p></office:annotation>
      <text:p>01</text:p>
     </table:table-cell>
     <table:table-cell office:value-type="float" office:value="1000" calcext:value-type="float">
      <text:p>1.000</text:p>
     </table:table-cell>
     <table:table-cell table:formula="of:=[.B5]*2+0.5" office:value-type="float" office:value="2000.5"
       calcext:value-type="float"><text:p>2.000,5</text:p>
     </table:table-cell>
     <table:table-cell>{CHART}</table:table-cell>
     <table:table-cell table:number-columns-repeated="16380"/>
    </table:table-row>
    <table:table-row table:style-name="ro1">
     <table:table-cell office:value-type="percentage" office:value="0.25" calcext:value-type="percentage">
      <text:p>25%</text:p></table:table-cell>
     <table:table-cell table:formula="of:=SUM([.B1:.B2])"><text:p/></table:table-cell>
     <table:table-cell table:formula="of:=1/0" office:value-type="string" office:string-value=""
       calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>
     <table:table-cell office:value-type="currency" office:currency="VND" office:value="1500000"
       calcext:value-type="currency"><text:p>1.500.000 ₫</text:p></table:table-cell>
     <table:table-cell table:number-columns-repeated="16380"/>
    </table:table-row>
    <table:table-row table:style-name="ro1" table:number-rows-repeated="1048569">
     <table:table-cell table:number-columns-repeated="16384"/>
    </table:table-row>
    <table:table-row table:style-name="ro1"><table:table-cell table:number-columns-repeated="16384"/>
    </table:table-row>
   </table:table>
   <table:named-expressions/>
"""


def test_a_form_as_libreoffice_writes_it(put_calls: list[tuple[int, int]]) -> None:
    data = (f'{PROLOG}<office:document {NAMESPACES} office:version="1.3" office:mimetype="{MIMETYPE}">{HEAD}'
            f"<office:body><office:spreadsheet>{LIBREOFFICE_FORM}</office:spreadsheet></office:body>"
            "</office:document>").encode()
    (bieu,) = read_flat_ods(data, LIMITS)
    assert bieu.name == "Bieu 01"
    assert bieu.rows == rows_of({
        (0, 0): "UBND HUYỆN CAN LỘC", (0, 4): "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        (3, 0): "STT", (3, 1): "Thực hiện",
        (4, 1): "Tháng báo cáo", (4, 2): "Lũy kế từ đầu năm",
        (5, 0): "01", (5, 1): 1000.0, (5, 2): 2000.5,  # the chart anchored in D6 is no value, its table no sheet
        (6, 0): 0.25, (6, 3): 1500000.0,  # C7: an error result LibreOffice writes as empty text, as calamine reads
    })
    assert bieu.uncached == {(6, 1)}
    assert len(put_calls) == 12  # 11 values and B7: the million empty rows and 16,384 empty columns cost nothing


@pytest.mark.parametrize("cell, value", [
    (number(1000), 1000.0),
    (number("-1.5E3"), -1500.0),
    (td("<text:p>12,5</text:p>", 'office:value-type="float" office:value=" 12.5 "'), 12.5),
    (td("<text:p>25%</text:p>", 'office:value-type="percentage" office:value="0.25"'), 0.25),
    (td("<text:p>1 ₫</text:p>", 'office:value-type="currency" office:currency="VND" office:value="1"'), 1.0),
    (td("<text:p>ĐÚNG</text:p>", 'office:value-type="boolean" office:boolean-value="true"'), True),
    (td("<text:p>SAI</text:p>", 'office:value-type="boolean" office:boolean-value="false"'), False),
    (td("<text:p>01/10/2024</text:p>", 'office:value-type="date" office:date-value="2024-10-01"'),
     dt.datetime(2024, 10, 1)),
    (td("<text:p>x</text:p>", 'office:value-type="date" office:date-value="2024-10-01T13:05:30.5"'),
     dt.datetime(2024, 10, 1, 13, 5, 30, 500000)),
    (td("<text:p>13:05</text:p>", 'office:value-type="time" office:time-value="PT13H05M00S"'), "13:05"),
    (td("", 'office:value-type="time" office:time-value="PT13H05M00S"'), "PT13H05M00S"),
    (td("<text:p>shown</text:p>", 'office:value-type="string" office:string-value="held"'), "held"),
    (text("=SUM(A1:A2)"), "=SUM(A1:A2)"),  # text that looks like a formula stays text
    (td("<text:p>no type</text:p>"), "no type"),
    # a value its type's attribute does not give: what the cell shows
    (td("<text:p>n/a</text:p>", 'office:value-type="float" office:value="abc"'), "n/a"),
    (td("<text:p>1e999</text:p>", 'office:value-type="float" office:value="1e999"'), "1e999"),
    (td("<text:p>?</text:p>", 'office:value-type="boolean" office:boolean-value="maybe"'), "?"),
    (td("<text:p>sometime</text:p>", 'office:value-type="date" office:date-value="soon"'), "sometime"),
    (td("<text:p>v</text:p>", 'office:value-type="void"'), "v"),
    (td("", 'office:value-type="float"'), None),
])
def test_values(cell: str, value: object) -> None:
    assert read_one(tr(text("x"), cell)).cell(0, 1) == value


@pytest.mark.parametrize("content, value", [
    ("<text:p>a<text:s/>b<text:s text:c=\"3\"/>c</text:p>", "a b   c"),
    ("<text:p>a<text:tab/>b<text:line-break/>c</text:p>", "a\tb\nc"),
    ("<text:p>Đơn vị</text:p><text:p/><text:p>báo cáo</text:p>", "Đơn vị\n\nbáo cáo"),
    ('<text:p><text:span text:style-name="T1">Số lao</text:span> <text:a xlink:href="http://x">động</text:a></text:p>',
     "Số lao động"),
    ("<text:h>Tiêu đề</text:h>", "Tiêu đề"),
    ("<text:list><text:list-item><text:p>một</text:p></text:list-item><text:list-item><text:p>hai</text:p>"
     "</text:list-item></text:list>", "một\nhai"),
    ("<office:annotation><dc:creator>An</dc:creator><text:p>a note</text:p></office:annotation><text:p>value</text:p>",
     "value"),
    ("<text:p>value<office:annotation><text:p>a note</text:p></office:annotation></text:p>", "value"),
    ("<text:p>x<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>foot</text:p>"
     "</text:note-body></text:note></text:p>", "x"),
    ('<draw:frame><draw:text-box><text:p>a text box</text:p></draw:text-box></draw:frame><text:p>value</text:p>',
     "value"),
    ("<text:p>  lề  </text:p>", "  lề  "),
    ("<text:p>a &amp; b &lt;c&gt;</text:p>", "a & b <c>"),
])
def test_the_text_of_a_string_cell(content: str, value: str) -> None:
    cell = td(content, 'office:value-type="string"')
    assert read_one(tr(cell)).rows == [[value]]


def test_rows_anywhere_in_the_table_and_drawings_beside_it() -> None:
    bieu = read_one(
        "<table:table-columns><table:table-column/></table:table-columns>",
        f"<table:table-header-rows>{tr(text('header'))}</table:table-header-rows>",
        f"<table:table-row-group><table:table-row-group>{tr(text('grouped'))}</table:table-row-group>"
        f"{tr(text('group'))}</table:table-row-group>",
        f"<table:table-rows>{tr(text('rows'))}</table:table-rows>",
        f"<table:shapes>{CHART}</table:shapes>",
        tr(text("last")),
    )
    assert bieu.rows == [["header"], ["grouped"], ["group"], ["rows"], ["last"]]


def test_tables_are_sheets_in_order() -> None:
    data = document(table(tr(text("a"))), '<table:table><table:table-row/></table:table>',
                    table(tr(text("c")), name="Ghi chú"))
    assert [(s.name, s.rows) for s in read_flat_ods(data, LIMITS)] == [
        ("Bieu 01", [["a"]]), ("Sheet2", []), ("Ghi chú", [["c"]])]
    assert read_flat_ods(document(), LIMITS) == []


def test_a_repeated_cell_is_a_cell_at_each_repeat() -> None:
    bieu = read_one(tr(empty(), number(7, 'table:number-columns-repeated="3"'), repeat=2), tr(text("x")))
    assert bieu.rows == rows_of({(r, c): 7.0 for r in (0, 1) for c in (1, 2, 3)} | {(2, 0): "x"})


def test_a_repeated_formula_without_value_is_uncached_at_each_repeat() -> None:
    cell = td("", 'table:formula="of:=A1" table:number-columns-repeated="2"')
    bieu = read_one(tr(text("x"), cell, repeat=2))
    assert bieu.uncached == {(0, 1), (0, 2), (1, 1), (1, 2)}
    assert bieu.rows == [["x", None, None], ["x", None, None]]


def test_covered_cells_are_empty_whatever_they_hold() -> None:
    covered = ('<table:covered-table-cell table:number-columns-repeated="2" office:value-type="string">'
               "<text:p>hidden</text:p></table:covered-table-cell>")
    bieu = read_one(tr(text("merged", 'table:number-columns-spanned="3"'), covered, number(4)))
    assert bieu.rows == [["merged", None, None, 4.0]]


def test_empty_repeats_of_the_whole_grid_cost_nothing(put_calls: list[tuple[int, int]]) -> None:
    """LibreOffice's empty rows and columns to the end of the grid: only the position moves on."""
    bieu = read_one(tr(text("a"), empty(16383)), *[tr(empty(16384), repeat=1048575)] * 20)
    assert bieu.rows == [["a"]]
    assert put_calls == [(0, 0)]


def test_a_cell_repeated_across_the_grid_is_refused_before_any_cell(put_calls: list[tuple[int, int]]) -> None:
    problem = refused(document(table(tr(number(1, 'table:number-columns-repeated="16384"')))))
    assert problem == Problem("sheet-too-many-columns", Location("Bieu 01", "XFD1"), "16384",
                              {"detail": "fods sheet has a cell at XFD1", "expected": "200"})
    assert put_calls == []


def test_a_row_repeated_down_the_grid_is_refused_before_any_cell(put_calls: list[tuple[int, int]]) -> None:
    problem = refused(document(table(tr(text("x"), repeat=1048576))))
    assert problem == Problem("sheet-too-many-rows", Location("Bieu 01", "A1048576"), "1048576",
                              {"detail": "fods sheet has a cell at A1048576", "expected": "5000"})
    assert put_calls == []


def test_a_cell_below_the_row_limit() -> None:
    problem = refused(document(table(tr(text("x")), tr(empty(3), repeat=5998), tr(number(1)))))
    assert problem == Problem("sheet-too-many-rows", Location("Bieu 01", "A6000"), "6000",
                              {"detail": "fods sheet has a cell at A6000", "expected": "5000"})


def test_a_cell_right_of_the_column_limit() -> None:
    problem = refused(document(table(tr(text("x")), tr(empty(299), text("y")))))
    assert problem == Problem("sheet-too-many-columns", Location("Bieu 01", "KN2"), "300",
                              {"detail": "fods sheet has a cell at KN2", "expected": "200"})


def test_a_cell_longer_than_excel_allows() -> None:
    problem = refused(document(table(tr(), tr(empty(), text("x" * 40_000)))))
    assert problem == Problem("cell-too-long", Location("Bieu 01", "B2"), "40000",
                              {"detail": "fods cell B2: 40000 characters of text", "expected": "32767"})


def test_a_billion_spaces_are_refused_without_being_built() -> None:
    """``text:s`` expands no further than one character past Excel's limit: the cell is refused there."""
    problem = refused(document(table(tr(td('<text:p><text:s text:c="999999999"/></text:p>',
                                          'office:value-type="string"')))))
    assert (problem.rule, problem.where, problem.value) == ("cell-too-long", Location("Bieu 01", "A1"), "32768")


def test_a_string_value_longer_than_excel_allows() -> None:
    problem = refused(document(table(tr(td("", f'office:value-type="string" office:string-value="{"y" * 33_000}"')))))
    assert (problem.rule, problem.where.cell, problem.value) == ("cell-too-long", "A1", "33000")


def test_repeated_text_counts_at_each_repeat() -> None:
    problem = refused(document(table(tr(text("0123456789", 'table:number-columns-repeated="3"')))),
                      Limits(max_text_chars=25))
    assert (problem.rule, problem.value, problem.details["expected"]) == ("file-too-much-text", "30", "25")


def test_too_many_tables() -> None:
    problem = refused(document(*[table(tr(text("a")))] * 3), Limits(max_sheets=2))
    assert (problem.rule, problem.value, problem.details["expected"]) == ("file-too-many-sheets", "> 2", "2")


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1" * 20, ""])
def test_a_row_repeat_that_is_no_count_is_damage(raw: str) -> None:
    problem = refused(document(table(tr(text("a")), tr(text("b"), repeat=raw))))
    assert problem == Problem("file-damaged", Location("Bieu 01"), raw,
                              {"detail": f"fods: number-rows-repeated={raw!r} at row 2 is not a count"})


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1" * 20])
def test_a_column_repeat_that_is_no_count_is_damage(raw: str) -> None:
    bad = f'<table:table-cell table:number-columns-repeated="{raw}"/>'
    problem = refused(document(table(tr(text("a"), empty(2), bad))))
    assert problem == Problem("file-damaged", Location("Bieu 01"), raw,
                              {"detail": f"fods: number-columns-repeated={raw!r} at cell D1 is not a count"})


def test_a_table_in_a_cell_is_damage() -> None:
    nested = td(f"<text:p>x</text:p>{table(tr(text('inner')), name='Inner')}", 'office:value-type="string"')
    problem = refused(document(table(tr(text("a")), tr(empty(), nested))))
    assert problem == Problem("file-damaged", Location("Bieu 01", "B2"), None,
                              {"detail": "fods: a table nested in cell B2 of table 'Bieu 01'"})


def test_a_table_in_a_table_is_damage() -> None:
    problem = refused(document(table(tr(text("a")), table(tr(text("inner")), name="Inner"))))
    assert problem == Problem("file-damaged", Location("Bieu 01"), None,
                              {"detail": "fods: a table nested in table 'Bieu 01'"})


ENTITIES = Problem.at("file-xml-entities", value="fods", detail="fods: DOCTYPE or ENTITY declaration")
LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("doctype, value", [
    pytest.param(f'<!DOCTYPE office:document [<!ENTITY lol0 "lol">{LAUGHS}]>', "&lol9;", id="billion-laughs"),
    pytest.param('<!DOCTYPE office:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;", id="file"),
    pytest.param('<!DOCTYPE office:document [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>', "&xxe;", id="http"),
    pytest.param('<!DOCTYPE office:document SYSTEM "http://127.0.0.1:9/evil.dtd">', "x", id="external-dtd"),
])
def test_dtds_and_entities_are_refused_never_expanded_or_fetched(doctype: str, value: str) -> None:
    data = document(table(tr(text(value))), prolog=f'<?xml version="1.0"?>\n{doctype}\n')
    assert refused(data) == ENTITIES


@pytest.mark.parametrize("data, detail", [
    pytest.param(document(table(tr(text("a"))))[:-len("</office:document>")], "XmlError: fods: no element found",
                 id="cut-short"),
    pytest.param(document(table("<table:table-row><table:table-cell></table:table-row>")),
                 "XmlError: fods: mismatched tag", id="mismatched"),
    pytest.param(document(table(tr(text("&nbsp;")))), "XmlError: fods: undefined entity", id="html-entity"),
    pytest.param(document(table(tr(text("a"))), mimetype="application/vnd.oasis.opendocument.text"),
                 "fods: office:mimetype 'application/vnd.oasis.opendocument.text' is not a spreadsheet's",
                 id="a-text-document"),
    pytest.param(document(table(tr(text("a")))).replace(f' office:mimetype="{MIMETYPE}"'.encode(), b""),
                 "fods: office:mimetype None is not a spreadsheet's", id="no-mimetype"),
    pytest.param(document(table(tr(text("a")))).replace(b"office:document", b"office:document-content"),
                 "fods: the root element is 'document-content' of 'urn:oasis:names:tc:opendocument:xmlns:office:1.0',"
                 " not the office:document of", id="content-xml"),
    pytest.param(b"<html/>", "fods: the root element is 'html' of 'no namespace'", id="not-odf"),
])
def test_what_is_not_a_flat_spreadsheet_is_damage(data: bytes, detail: str) -> None:
    problem = refused(data)
    assert problem.rule == "file-damaged"
    assert problem.details["detail"].startswith(detail)


def test_utf16() -> None:
    data = document(table(tr(text("Hà Tĩnh"))), prolog='<?xml version="1.0" encoding="UTF-16"?>')
    assert read_flat_ods(data.decode().encode("utf-16"), LIMITS)[0].rows == [["Hà Tĩnh"]]


# --- property: what a tiny writer writes is read back -----------------------------------------------------------

TEXT = st.text(st.one_of(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), st.sampled_from("\t\n")),
               min_size=1, max_size=12)
VALUE = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
GRID = st.lists(st.lists(VALUE, max_size=7), max_size=7)


def paragraph(line: str) -> str:
    """A line as LibreOffice writes it: a run of spaces as one space and ``text:s``, tabs as ``text:tab``."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "\t":
            out.append("<text:tab/>")
            i += 1
        elif line[i] == " " and line[i + 1:i + 2] == " ":
            run = len(line[i:]) - len(line[i:].lstrip(" "))
            out.append(f' <text:s text:c="{run - 1}"/>' if run > 2 else " <text:s/>")
            i += run
        else:
            out.append(escape(line[i]))
            i += 1
    return f"<text:p>{''.join(out)}</text:p>"


def write_cell(value: object, draw: st.DrawFn, columns: int) -> str:
    repeat = f' table:number-columns-repeated="{columns}"' if columns > 1 else ""
    if value is None:
        return f"<table:table-cell{repeat}/>"
    if isinstance(value, float):
        return f'<table:table-cell office:value-type="float" office:value="{value!r}"{repeat}><text:p>{value}' \
               "</text:p></table:table-cell>"
    assert isinstance(value, str)
    if draw(st.booleans()):  # the text as office:string-value (line breaks and tabs as character references)
        held = escape(value, {'"': "&quot;", "\n": "&#10;", "\t": "&#9;"})
        return f'<table:table-cell office:value-type="string" office:string-value="{held}"{repeat}/>'
    paragraphs = "".join(paragraph(line) for line in value.split("\n"))
    return f'<table:table-cell office:value-type="string"{repeat}>{paragraphs}</table:table-cell>'


def write_table(rows: list[list[object]], draw: st.DrawFn, name: str) -> str:
    """A table as LibreOffice might write it: equal neighbours as repeats (cells and rows), the empty cells after
    a value sometimes covered by a merge, and empty repeats to the end of the grid."""
    out, r = [], 0
    while r < len(rows):
        same = 1
        while r + same < len(rows) and rows[r + same] == rows[r] and draw(st.booleans()):
            same += 1
        values, cells, c = rows[r], [], 0
        while c < len(values):
            run = 1
            while c + run < len(values) and values[c + run] == values[c] and draw(st.booleans()):
                run += 1
            cells.append(write_cell(values[c], draw, run))
            c += run
            if run == 1 and values[c - 1] is not None and c < len(values) and values[c] is None and draw(st.booleans()):
                covered = 1
                while c + covered < len(values) and values[c + covered] is None:
                    covered += 1
                cells.append(f'<table:covered-table-cell table:number-columns-repeated="{covered}"/>')
                c += covered
        cells.append(f'<table:table-cell table:number-columns-repeated="{16384 - len(values)}"/>')
        rows_repeated = f' table:number-rows-repeated="{same}"' if same > 1 else ""
        out.append(f"<table:table-row{rows_repeated}>{''.join(cells)}</table:table-row>")
        r += same
    out.append(f'<table:table-row table:number-rows-repeated="{1048576 - len(rows)}">'
               '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>')
    return f'<table:table table:name="{escape(name)}">{"".join(out)}</table:table>'


@settings(max_examples=150, deadline=None)
@given(grids=st.lists(GRID, min_size=1, max_size=3), data=st.data())
def test_what_is_written_is_read_back(grids: list[list[list[object]]], data: st.DataObject) -> None:
    names = [f"Biểu {i}" for i in range(len(grids))]
    sheets = read_flat_ods(document(*(write_table(g, data.draw, n) for g, n in zip(grids, names, strict=True))),
                           LIMITS)
    expected = [rows_of({(r, c): v for r, row in enumerate(g) for c, v in enumerate(row) if v is not None})
                for g in grids]
    assert [s.name for s in sheets] == names
    assert [s.rows for s in sheets] == expected
    assert all(not s.uncached for s in sheets)
