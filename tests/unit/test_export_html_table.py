"""The reader of HTML tables (``ingest/read/exports/html_table.py``): what Excel, LibreOffice and web systems
write when they "export to Excel", and what a hostile page may try. Pages are written by hand here; the
comparison with real LibreOffice exports is the end-to-end test's."""

from __future__ import annotations

import html
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.read.exports.html_table import read_html_table
from ingest.read.limits import Limits
from ingest.read.safety import Refused
from tests.unit.office_files import as_cp1258

LIMITS = Limits()
VI = "Số lao động được giải quyết việc làm"  # NFC, as typed


def read(page: str | bytes, limits: Limits = LIMITS) -> list[list[list[object]]]:
    data = page.encode("utf-8") if isinstance(page, str) else page
    return [s.rows for s in read_html_table(data, limits)]


def rows(page: str | bytes, limits: Limits = LIMITS) -> list[list[object]]:
    """The rows of the page's one sheet."""
    (sheet,) = read(page, limits)
    return sheet


def refused(page: str | bytes, limits: Limits = LIMITS) -> tuple[str, str | None, str | None, str | None]:
    data = page.encode("utf-8") if isinstance(page, str) else page
    with pytest.raises(Refused) as e:
        read_html_table(data, limits)
    p = e.value.problem
    return p.rule, p.where.sheet, p.where.cell, p.value


# --- what the exporters write ------------------------------------------------------------------------------------


def test_libreoffice_sheets_are_named_by_their_heading_and_numbers_come_from_sdval() -> None:
    page = """<!DOCTYPE html><html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"/>
    <title>Báo cáo</title><style>td { font-size: x-small }</style></head><body>
    <hr><p><center><h1>Overview</h1><A HREF="#table0">Biểu 01</A><br></center></p><hr>
    <A NAME="table0"><h1>Sheet 1: <em>Biểu 01</em></h1></A>
    <table cellspacing="0" border="0"><colgroup span="3" width="80"></colgroup>
      <tr><td colspan=2 rowspan=2 height="40" align="center"><b><font color="#000000">Chỉ tiêu</font></b></td>
          <td align="right" sdval="5000" sdnum="1033;0;#,##0"><font>5,000</font></td></tr>
      <tr><td align="right" sdval="2000.5" sdnum="1033;0;#,##0"><font>2,001</font></td></tr>
      <tr><td><a class="comment-indicator"></a><comment>ghi chú của người lập</comment><font>Tên</font></td>
          <td sdval="0.125" sdnum="1033;0;0.00%">12.50%</td>
          <td sdval="-1234.5" sdnum="1033;0;#,##0.00;[RED]-#,##0.00">-1,234.50</td></tr>
      <tr><td>a<br>b</td><td><font color="#000000"><br></font></td><td sdval="1E+020" sdnum="1033;">1E+020</td></tr>
    </table>
    <hr><A NAME="table1"><h1>Sheet 2: <em>Bieu 02</em></h1></A>
    <table><tr><td>x</td></tr></table></body></html>"""
    sheets = read_html_table(page.encode(), LIMITS)
    assert [s.name for s in sheets] == ["Biểu 01", "Bieu 02"]
    assert sheets[0].rows == [
        ["Chỉ tiêu", None, 5000.0],
        [None, None, 2000.5],
        ["Tên", 0.125, -1234.5],
        ["a\nb", None, 1e20],
    ]
    assert sheets[1].rows == [["x"]]


def test_sdval_of_a_date_time_boolean_or_error_keeps_the_display_text() -> None:
    page = """<table><tr>
      <td sdval="1" sdnum="1033;0;BOOLEAN">TRUE</td>
      <td sdval="0.520833333333333" sdnum="1033;0;H:MM:SS">12:30:00</td>
      <td sdval="45566" sdnum="1033;1033;DD/MM/YYYY">01/10/2024</td>
      <td sdval="45566" sdnum="1031;1031;TT.MM.JJJJ">01.10.2024</td>
      <td sdval="0" sdnum="1033;">#DIV/0!</td>
      <td sdval="0" sdnum="1033;">Err:502</td>
      <td sdval="5" sdnum="1033;0;&quot;Tổng: &quot;0">Tổng: 5</td>
      <td sdval="7" sdnum="1066;1066;[$₫-42A] #.##0">₫ 7</td>
      <td sdval="abc">abc</td>
    </tr></table>"""
    assert rows(page) == [["TRUE", "12:30:00", "01/10/2024", "01.10.2024", "#DIV/0!", "Err:502", 5.0, 7.0, "abc"]]


def test_excel_x_num_gives_the_machine_value() -> None:
    page = """<html xmlns:x="urn:schemas-microsoft-com:office:excel"><body><table x:str>
      <tr><td x:num="5000">5.000</td><td class=xl65 x:num>1234.5</td><td x:num>1,234.5</td><td x:num>12,5</td></tr>
      <tr><td x:num="0.125">12.5%</td><td x:num="12" x:fmla="=SUM(A1:B1)">12</td><td x:err="#REF!">#REF!</td>
          <td x:str="'=1+2">=1+2</td></tr>
      <tr><td x:num="-3">(3)</td><td x:num>-7</td><td x:num>1e5</td><td x:num="">x</td></tr>
    </table></body></html>"""
    assert rows(page) == [
        [5000.0, 1234.5, "1,234.5", "12,5"],
        [0.125, 12.0, "#REF!", "=1+2"],
        [-3.0, -7.0, "1e5", "x"],
    ]


def test_text_is_never_guessed_to_be_a_number_nor_evaluated() -> None:
    page = """<table><tr><td>1.234</td><td>12,5</td><td>=HYPERLINK("http://x","y")</td><td>+1</td>
      <td>-2</td><td>@SUM(A1)</td><td>=1+2</td></tr></table>"""
    assert rows(page) == [["1.234", "12,5", '=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "=1+2"]]


def test_cell_text_whitespace_line_breaks_and_blocks() -> None:
    page = """<table><tr>
      <td>  Số   lao\n\t động  </td>
      <td>dòng 1<br>dòng 2<br/>  dòng 3  </td>
      <td><p>đoạn 1</p><p>đoạn 2</p></td>
      <td>a<br><br>b</td>
      <td><div>x</div>y<br><p>z</p></td>
      <td>1&nbsp;234&nbsp;567</td>
      <td>&lt;b&gt;&amp;amp;&lt;/b&gt; &#273;&#x1EBF;</td>
      <td>  <br>  </td>
      <td><b>Tổ</b><i>ng</i> <font color="red">số</font></td>
    </tr></table>"""
    assert rows(page) == [["Số lao động", "dòng 1\ndòng 2\ndòng 3", "đoạn 1\nđoạn 2", "a\n\nb", "x\ny\nz",
                           "1 234 567", "<b>&amp;</b> đế", None, "Tổng số"]]


def test_text_of_a_table_nested_in_a_cell_is_that_cells_text() -> None:
    page = """<table><tr><td>trước<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>sau</td>
      <td>2</td></tr><tr><td>3</td></tr></table>"""
    assert rows(page) == [["trước a b c sau", "2"], ["3", None]]


def test_every_top_level_table_is_a_sheet_named_in_order() -> None:
    page = """<h1>Báo cáo</h1><table><tr><td>1</td></tr></table>
      <h1>Trang <em>Biểu 02</em></h1><p>text</p><table><tr><td>2</td></tr></table>
      <table><tr><td>3</td></tr></table>
      <h1><em>Biểu 02</em></h1><table><tr><td>4</td></tr></table>
      <table></table>"""
    sheets = read_html_table(page.encode(), LIMITS)
    assert [(s.name, s.rows) for s in sheets] == [
        ("Sheet1", [["1"]]), ("Biểu 02", [["2"]]), ("Sheet3", [["3"]]), ("Biểu 02 (2)", [["4"]]), ("Sheet5", []),
    ]


def test_a_table_directly_inside_a_table_closes_it_as_browsers_do() -> None:
    page = "<table><tr><td>1</td></tr><table><tr><td>2</td></tr></table>"
    assert read(page) == [[["1"]], [["2"]]]


def test_sloppy_markup_unclosed_cells_rows_and_implicit_rows() -> None:
    page = "<TABLE><TD>a<TD>b<TR><TD>c<TH>d</TR><TBODY><TD>e</TABLE><td>outside</td>"
    assert read(page) == [[["a", "b"], ["c", "d"], ["e", None]]]


# --- the HTML table model -------------------------------------------------------------------------------------


def test_spans_are_skipped_by_later_cells() -> None:
    page = """<table>
      <tr><td rowspan=3>A</td><td colspan=2>B</td><td>C</td></tr>
      <tr><td>D</td><td rowspan=2 colspan=2>E</td></tr>
      <tr><td>F</td><td>G</td></tr>
      <tr><td>H</td><td colspan="2px">I</td><td colspan=0>J</td><td rowspan=-1>K</td></tr>
    </table>"""
    assert read(page) == [[
        ["A", "B", None, "C", None],
        [None, "D", "E", None, None],
        [None, "F", None, None, "G"],
        ["H", "I", None, "J", "K"],
    ]]


def test_a_rowspan_ends_with_its_row_group_and_rowspan_0_runs_to_its_end() -> None:
    page = """<table><thead><tr><td rowspan=5>h</td><td>1</td></tr></thead>
      <tbody><tr><td>2</td><td rowspan=0>z</td></tr><tr><td>3</td></tr><tr><td>4</td></tr></tbody>
      <tbody><tr><td>5</td><td>6</td></tr></tbody></table>"""
    assert read(page) == [[["h", "1"], ["2", "z"], ["3", None], ["4", None], ["5", "6"]]]


def test_huge_spans_cost_nothing_and_hold_nothing_beyond_the_limits() -> None:
    page = """<table><tr><td colspan="100000" rowspan="100000">x</td><td>y</td></tr>
      <tr><td>z</td></tr></table>"""
    start = time.monotonic()
    # y sits after the span's 1000 columns (HTML's own clamp), beyond the 200-column limit
    assert refused(page) == ("sheet-too-many-columns", "Sheet1", "ALM1", "1001")
    one = """<table><tr><td colspan="100000" rowspan="100000">x</td></tr><tr></tr><tr></tr></table>"""
    assert read(one) == [[["x"]]]
    assert time.monotonic() - start < 5


# --- limits -------------------------------------------------------------------------------------------------------


def test_a_cell_past_the_row_limit_is_refused_naming_it() -> None:
    page = "<table>" + "<tr></tr>" * 5999 + "<tr><td>x</td></tr></table>"
    assert refused(page) == ("sheet-too-many-rows", "Sheet1", "A6000", "6000")


def test_empty_rows_and_cells_past_the_limits_are_nothing() -> None:
    page = "<table>" + "<tr><td></td><td> </td></tr>" * 6000 + "<tr>" + "<td></td>" * 300 + "</tr></table>"
    assert read(page) == [[]]


def test_a_cell_past_the_column_limit_is_refused() -> None:
    page = "<table><tr>" + "<td></td>" * 200 + "<td>x</td></tr></table>"
    assert refused(page) == ("sheet-too-many-columns", "Sheet1", "GS1", "201")


def test_a_cell_longer_than_excel_allows_is_refused() -> None:
    page = "<h1><em>Biểu 01</em></h1><table><tr><td>a</td><td>" + "x" * 40_000 + "</td></tr></table>"
    assert refused(page) == ("cell-too-long", "Biểu 01", "B1", "40000")


def test_too_many_tables_and_too_much_text_are_refused() -> None:
    assert refused("<table></table>" * 51)[0] == "file-too-many-sheets"
    page = "<table>" + ("<tr><td>" + "x" * 30_000 + "</td></tr>") * 4 + "</table>"
    assert refused(page, Limits(max_text_chars=100_000)) == ("file-too-much-text", None, None, "120000")


def test_a_page_without_a_table_has_no_sheet() -> None:
    """The reader then records file-export-empty naming the format (tests/unit/test_file_formats.py)."""
    assert read_html_table("<html><body><p>Không có bảng</p></body></html>".encode(), LIMITS) == []
    assert read_html_table(b"\x00\xff garbage <<< &&& >", LIMITS) == []


# --- hostile pages ----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_network")
def test_scripts_images_frames_and_urls_are_never_text_nor_fetched() -> None:
    page = """<html><head><title><table><tr><td>TITLE</td></tr></table></title>
      <link rel="stylesheet" href="http://evil.example/x.css"><script src="http://evil.example/x.js"></script>
      <style>@import url(http://evil.example/y.css); td::after { content: "STYLE" }</style></head><body>
      <script>document.write("<table><tr><td>SCRIPT</td></tr></table>"); var s = '</td><td>SCRIPT2';</script>
      <table><tr><td><img src="http://evil.example/beacon.png">a<script>x = "<td>SCRIPT3</td>"</script></td>
        <td><iframe src="http://evil.example/"><table><tr><td>IFRAME</td></tr></table></iframe>b</td>
        <td><a href="http://evil.example/">link</a></td><td><script/>SCRIPT4</script>c</td></tr></table>
      <noembed><table><tr><td>NOEMBED</td></tr></table></noembed></body></html>"""
    assert read(page) == [[["a", "b", "link", "c"]]]


def test_a_doctype_entity_is_never_expanded_it_stays_literal_text() -> None:
    page = """<?xml version="1.0"?><!DOCTYPE html [<!ENTITY e "EXPANDED"><!ENTITY lol "&e;&e;&e;&e;">]>
      <html><body><table><tr><td>&e;</td><td>&lol;</td><td>x&amp;y &e</td></tr></table></body></html>"""
    assert read(page) == [[["&e;", "&lol;", "x&y &e"]]]


def test_pages_of_lone_markup_characters_are_read_in_linear_time() -> None:
    start = time.monotonic()
    assert refused("<table><tr><td>" + "<" * 1_000_000) == ("cell-too-long", "Sheet1", "A1", "1000000")
    assert refused("<table><tr><td>" + "&amp;" * 200_000) == ("cell-too-long", "Sheet1", "A1", "200000")
    assert read("<table><tr><td>a" + "<br>" * 10_000 + "b") == [[["a" + "\n" * 10_000 + "b"]]]
    assert time.monotonic() - start < 30


# --- encodings ----------------------------------------------------------------------------------------------------


def _page(charset: str | None = None, http_equiv: bool = False) -> str:
    meta = ""
    if charset and http_equiv:
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    elif charset:
        meta = f'<meta charset="{charset}">'
    return f"<html><head>{meta}</head><body><table><tr><td>{VI}</td></tr></table></body></html>"


@pytest.mark.parametrize("data", [
    pytest.param(_page("utf-8").encode("utf-8"), id="utf-8 meta"),
    pytest.param(_page().encode("utf-8"), id="utf-8 no meta"),
    pytest.param(b"\xef\xbb\xbf" + _page().encode("utf-8"), id="utf-8 BOM"),
    pytest.param(_page("utf-8").encode("utf-16"), id="utf-16 BOM"),
    pytest.param(as_cp1258(_page("windows-1258")), id="windows-1258 meta"),
    pytest.param(as_cp1258(_page("windows-1258", http_equiv=True)), id="windows-1258 http-equiv"),
    pytest.param(as_cp1258(_page()), id="cp1258 without meta (not UTF-8)"),
    pytest.param(as_cp1258(_page("x-no-such-charset")), id="unknown charset"),
    pytest.param(_page("x-no-such-charset").encode("utf-8"), id="unknown charset utf-8"),
    pytest.param(_page("base64").encode("utf-8"), id="bytes codec is no charset"),
    pytest.param(_page("utf-16").encode("utf-8"), id="utf-16 meta in ASCII markup"),
    pytest.param(unicodedata.normalize("NFD", _page("utf-8")).encode("utf-8"), id="utf-8 NFD"),
])
def test_encodings_all_give_the_same_nfc_text(data: bytes) -> None:
    assert read(data) == [[[VI]]]


def test_a_latin1_label_is_read_as_windows_1252() -> None:
    page = '<meta charset="iso-8859-1"><table><tr><td>\x93Caf\xe9\x94</td></tr></table>'.encode("latin-1")
    assert read(page) == [[["“Café”"]]]


# --- property: what a tiny writer writes is read back --------------------------------------------------------------

WORDS = st.text(alphabet="aAzĐđăâêôơưáàảãạếềểễệỳ0123456789=+-@<>&\"'#.,;%/", min_size=1, max_size=6)
TEXTS = st.lists(st.lists(WORDS, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=3).map("\n".join)
NUMBERS = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def grids(draw: st.DrawFn) -> tuple[int, int, list[tuple[int, int, int, int, object]]]:
    """A grid covered by cells (row, col, rowspan, colspan, value), greedily: every position is some cell's."""
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    taken = [[False] * cols for _ in range(rows)]
    cells = []
    for r in range(rows):
        for c in range(cols):
            if taken[r][c]:
                continue
            width = 1
            while c + width < cols and not taken[r][c + width]:
                width += 1
            rowspan, colspan = draw(st.integers(1, rows - r)), draw(st.integers(1, width))
            for rr in range(r, r + rowspan):
                for cc in range(c, c + colspan):
                    taken[rr][cc] = True
            value = draw(st.one_of(st.none(), TEXTS, NUMBERS))
            cells.append((r, c, rowspan, colspan, value))
    return rows, cols, cells


def write_html(cells: list[tuple[int, int, int, int, object]], rows: int) -> str:
    out = ["<html><head><meta charset='utf-8'><title>t</title></head><body><table>"]
    for r in range(rows):
        out.append("<tr>")
        for row, _col, rowspan, colspan, value in cells:
            if row != r:
                continue
            spans = (f" rowspan={rowspan}" if rowspan > 1 else "") + (f' colspan="{colspan}"' if colspan > 1 else "")
            if isinstance(value, float):
                out.append(f'<td{spans} sdval="{value!r}" sdnum="1033;0;#,##0.00"><font>{value:,.2f}</font></td>')
            elif value is None:
                out.append(f"<td{spans}><br></td>")
            else:
                text = "<br>".join(html.escape(line) for line in value.split("\n"))
                out.append(f"<td{spans}><b><font face='Times New Roman'>{text}</font></b></td>")
        out.append("</tr>\n")
    return "".join(out) + "</table></body></html>"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids())
def test_property_a_written_grid_with_spans_reads_back_equal(grid: tuple[int, int, list]) -> None:
    rows, _cols, cells = grid
    values = {(r, c): v for r, c, _, _, v in cells if v is not None}
    height = max((r for r, _ in values), default=-1) + 1
    width = max((c for _, c in values), default=-1) + 1
    expected = [[values.get((r, c)) for c in range(width)] for r in range(height)]
    assert read(write_html(cells, rows)) == [expected]
