"""The reader of CSV / tab-separated text (``ingest/read/exports/delimited.py``): Excel's "CSV" and "Unicode
Text", LibreOffice's and web systems' exports, and what a hostile file may try. Files are written here; the
comparison with real LibreOffice exports is the end-to-end test's."""

from __future__ import annotations

import csv
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.read.exports.delimited import read_delimited, sniff_delimiter
from ingest.read.limits import Limits
from ingest.read.safety import Refused
from tests.unit.office_files import as_cp1258

LIMITS = Limits()
VI = "Số lao động được giải quyết việc làm"
FORM = f"STT,Chỉ tiêu,Mã số,Đơn vị tính\r\n1,{VI},01,người\r\n"
FORM_ROWS = [["STT", "Chỉ tiêu", "Mã số", "Đơn vị tính"], ["1", VI, "01", "người"]]


def rows(data: str | bytes, limits: Limits = LIMITS) -> list[list[object]]:
    sheets = read_delimited(data.encode("utf-8") if isinstance(data, str) else data, limits)
    assert [s.name for s in sheets] == ["Sheet1"]
    return sheets[0].rows


def refused(data: str | bytes, limits: Limits = LIMITS) -> tuple[str, str | None, str | None, str | None]:
    with pytest.raises(Refused) as e:
        read_delimited(data.encode("utf-8") if isinstance(data, str) else data, limits)
    p = e.value.problem
    return p.rule, p.where.sheet, p.where.cell, p.value


# --- encodings ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    pytest.param(FORM.encode("utf-8"), id="utf-8"),
    pytest.param(b"\xef\xbb\xbf" + FORM.encode("utf-8"), id="utf-8 BOM (Excel 'CSV UTF-8')"),
    pytest.param(as_cp1258(FORM), id="windows-1258 (Excel 'CSV' on Vietnamese Windows)"),
    pytest.param(unicodedata.normalize("NFD", FORM).encode("utf-8"), id="utf-8 NFD"),
    pytest.param(FORM.encode("utf-16"), id="utf-16 BOM"),
    pytest.param(b"\xfe\xff" + FORM.encode("utf-16-be"), id="utf-16 BE BOM"),
])
def test_encodings_all_give_the_same_nfc_text(data: bytes) -> None:
    assert rows(data) == FORM_ROWS


def test_cp1258_bytes_really_are_combining_marks_and_not_utf8() -> None:
    data = as_cp1258(VI)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("cp1258") != VI
    assert rows(data) == [[VI]]


def test_excel_unicode_text_is_utf16_le_with_bom_and_tabs() -> None:
    text = f"STT\tChỉ tiêu\tSố lượng\r\n1\t\"{VI}, nữ\"\t1.234,5\r\n2\t\t-\r\n"
    assert rows(b"\xff\xfe" + text.encode("utf-16-le")) == [
        ["STT", "Chỉ tiêu", "Số lượng"], ["1", f"{VI}, nữ", "1.234,5"], ["2", None, "-"]]


# --- delimiters ---------------------------------------------------------------------------------------------------


def test_the_sep_directive_sets_the_delimiter_and_is_not_data() -> None:
    assert rows("sep=;\r\na;b,c;d\r\n1;2,5;3\r\n") == [["a", "b,c", "d"], ["1", "2,5", "3"]]
    assert rows("SEP=|\na|b\n") == [["a", "b"]]
    assert rows("sep=\t\na\tb,c\n") == [["a", "b,c"]]
    assert rows("\ufeffsep=,\na;b,c\n") == [["a;b", "c"]]
    assert rows("x,y\nsep=;\n") == [["x", "y"], ["sep=;", None]]  # only a first line is a directive


def test_semicolons_are_sniffed_over_vietnamese_decimal_commas() -> None:
    text = "STT;Chỉ tiêu;Kế hoạch;Thực hiện\n1;Tỷ lệ (%);12,5;13,25\n2;\"Tư vấn; giới thiệu\";1.000;1.010\n"
    assert rows(text) == [["STT", "Chỉ tiêu", "Kế hoạch", "Thực hiện"], ["1", "Tỷ lệ (%)", "12,5", "13,25"],
                          ["2", "Tư vấn; giới thiệu", "1.000", "1.010"]]


def test_tabs_are_sniffed_over_commas_in_labels() -> None:
    text = f"Mã\tChỉ tiêu\tSố\n09\tSố lượt người được tư vấn, giới thiệu việc làm\t9000\n10\t{VI}\t1\n"
    assert rows(text)[1] == ["09", "Số lượt người được tư vấn, giới thiệu việc làm", "9000"]


@pytest.mark.parametrize(("sample", "expected"), [
    ("a,b,c\n1,2,3\n", ","),
    ("a;b;c\n1;2,5;3\n", ";"),
    ("a\tb\tc\n1\t2\t3\n", "\t"),
    ("a|b|c\n1|2|3\n", "|"),
    ("một cột\nkhông dấu phân cách\n", ","),
    ('"a;b;c;d",x\n"e;f;g;h",y\n', ","),  # delimiters inside quotes do not count
    ('a;"b,\nc,d,e";f\ng;h;i\n', ";"),  # nor inside a quoted field spanning lines
    ("\n\n  \na;b\n\n1;2\n", ";"),  # blank lines are left out
    ('5" screen;b;c\nx;y;z\n', ";"),  # a quote inside a field is a character
    ("a,b;c\n", ","),  # a tie: the preferred one
    ('\t","\n', "\t"),  # a line of only delimiters once its quoted field is left out
])
def test_sniffing(sample: str, expected: str) -> None:
    assert sniff_delimiter(sample) == expected


# --- fields -------------------------------------------------------------------------------------------------------


def test_quotes_delimiters_and_line_breaks_inside_quoted_fields() -> None:
    text = 'a,"b,c","he said ""hi""",\r\n"dòng 1\r\ndòng 2",x"y,"",z\r\n'
    assert rows(text) == [["a", "b,c", 'he said "hi"', None], ["dòng 1\r\ndòng 2", 'x"y', None, "z"]]


def test_formula_looking_text_is_kept_exactly_never_evaluated() -> None:
    text = '=HYPERLINK("http://x","y"),=1+2,@SUM(A1),+1,-2,"=HYPERLINK(""http://x"",""y"")"\n'
    # unquoted, the formula's comma splits it and its second half is a quoted field then ")" (as Excel reads it)
    assert rows(text) == [['=HYPERLINK("http://x"', "y)", "=1+2", "@SUM(A1)", "+1", "-2",
                           '=HYPERLINK("http://x","y")']]


def test_fields_are_text_blank_fields_and_lines_are_empty() -> None:
    text = "1.234;  12,5  ; \t ;\n\n   \n;;x\n\n\n"
    assert rows(text) == [["1.234", "  12,5  ", None], [None, None, None], [None, None, None], [None, None, "x"]]


def test_line_endings_lf_crlf_and_cr() -> None:
    assert rows("a,b\rc,d\r\ne,f\n") == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_an_unclosed_quote_at_the_end_takes_the_rest_as_one_field() -> None:
    assert rows('a,"b\nc,d') == [["a", "b\nc,d"]]


def test_an_empty_text_is_an_empty_sheet() -> None:
    assert rows("\n\n") == []
    assert rows(b"\xef\xbb\xbf") == []


# --- limits and hostile files ---------------------------------------------------------------------------------------


def test_ten_million_rows_are_refused_fast_at_the_first_row_past_the_limit() -> None:
    start = time.monotonic()
    assert refused(b"1\n" * 10_000_000) == ("sheet-too-many-rows", "Sheet1", "A5001", "5001")
    assert time.monotonic() - start < 10


def test_ten_million_empty_lines_build_nothing() -> None:
    assert rows(b"\n" * 10_000_000) == []


def test_a_value_after_many_empty_lines_is_refused_at_its_row() -> None:
    assert refused(b"\r\n" * 7000 + b",x\r\n") == ("sheet-too-many-rows", "Sheet1", "B7001", "7001")


def test_a_cell_past_the_column_limit_is_refused() -> None:
    assert refused("," * 200 + "x\n") == ("sheet-too-many-columns", "Sheet1", "GS1", "201")
    assert rows("," * 100_000 + "\n") == []  # empty fields are nothing


def test_a_field_longer_than_excel_allows_is_refused_naming_its_cell() -> None:
    before = csv.field_size_limit()
    assert refused('a,b\nc,"' + "x" * 40_000 + '",d\n') == ("cell-too-long", "Sheet1", "B2", "40000")
    assert refused("a\n\n" + "y" * 40_000) == ("cell-too-long", "Sheet1", "A3", "40000")
    assert refused('a;b\n"q\n\n";c;"' + "z" * 40_000) == ("cell-too-long", "Sheet1", "C2", "40000")
    assert rows("x" * 32_767) == [["x" * 32_767]]
    assert csv.field_size_limit() == before  # the module's limit is put back


def test_a_long_field_past_the_row_limit_is_refused_for_its_row() -> None:
    assert refused("a\nb\n" + "x" * 40_000, Limits(max_rows=2)) == ("sheet-too-many-rows", "Sheet1", "A3", "3")


def test_too_much_text_is_refused() -> None:
    text = ("x" * 30_000 + "\n") * 4
    assert refused(text, Limits(max_text_chars=100_000)) == ("file-too-much-text", None, None, "120000")


def test_nul_characters_mean_a_damaged_file() -> None:
    assert refused("a,b\nc,d\x00e\n") == ("file-damaged", None, None, "line 2")
    assert refused("a,b".encode("utf-16-le")) == ("file-damaged", None, None, "line 1")  # UTF-16 without a BOM


# --- property: what a tiny writer writes is read back --------------------------------------------------------------

FIELDS = st.text(alphabet="aZđĐăếỳ09 .,;|\t\"'\r\n=+-@#", max_size=8)


def write_csv(grid: list[list[str]], delimiter: str, newline: str, directive: bool) -> str:
    """Quote a field holding a quote, a line break or any delimiter a sniffer could take (Excel quotes fewer)."""
    def field(value: str) -> str:
        if any(ch in value for ch in '",;\t|\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(field(v) for v in row) for row in grid]
    return (f"sep={delimiter}{newline}" if directive else "") + "".join(line + newline for line in lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    grid=st.integers(1, 5).flatmap(lambda n: st.lists(st.lists(FIELDS, min_size=n, max_size=n), min_size=1,
                                                      max_size=6)),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    directive=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_property_a_written_grid_reads_back_equal(grid: list[list[str]], delimiter: str, newline: str,
                                                  directive: bool, encoding: str) -> None:
    text = write_csv(grid, delimiter, newline, directive)
    values = {(r, c): v for r, row in enumerate(grid) for c, v in enumerate(row) if v and not v.isspace()}
    height = max((r for r, _ in values), default=-1) + 1
    width = max((c for _, c in values), default=-1) + 1
    expected = [[values.get((r, c)) for c in range(width)] for r in range(height)]
    assert rows(text.encode(encoding)) == expected
