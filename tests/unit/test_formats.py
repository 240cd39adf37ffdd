"""The same form saved as .xlsx, .xlsm, .xls (Excel 97-2003) and .ods (LibreOffice) reads to the same numbers
at the same cell addresses. Every file is written here by code (xlsxwriter, xlwt, odfpy)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from ingest.catalogue import load_catalogue
from ingest.parse.parser import ParsedSubmission
from ingest.parse.stage import parse_file
from ingest.read.limits import current_limits
from ingest.read.reader import read_workbook
from ingest.read.safety import inspect_workbook
from ingest.tell.official_forms import Quirks, default_sheet_name, form_bytes
from tests.unit.office_files import cfb, ods, rewrite_zip, xls, xlsx, xlsx_as_ods, xlsx_as_xls

CAT = load_catalogue()
MEASURES = ("plan_year", "period", "ytd", "ytd_prev_year")
MACRO_CONTENT_TYPE = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def values_for(form) -> dict[tuple[str, str], object]:
    out: dict[tuple[str, str], object] = {}
    for i, r in enumerate(form.rows):
        for j, m in enumerate(MEASURES):
            out[(r.code, m)] = 1000 * (i + 1) + 10 * j + 0.5 * (i % 2)
    out[(form.rows[1].code, "plan_year")] = "1.234"  # typed as Vietnamese text
    out[(form.rows[2].code, "ytd")] = None  # left empty
    return out


def as_xlsm(data: bytes) -> bytes:
    """The xlsx repackaged as a macro-enabled workbook: its content type, and a VBA project part."""
    vba = cfb({"dir": b"\x01" * 64, "PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\n' * 2})

    def change(name: str, body: bytes) -> bytes:
        if name == "[Content_Types].xml":
            body = body.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                MACRO_CONTENT_TYPE)
            return body.replace(b"</Types>", b'<Default Extension="bin" '
                                b'ContentType="application/vnd.ms-office.vbaProject"/></Types>')
        if name == "xl/_rels/workbook.xml.rels":
            return body.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
                                b'office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
        return body

    return rewrite_zip(data, change, add={"xl/vbaProject.bin": vba})


def read_back(parsed: ParsedSubmission) -> dict[tuple[str, str], tuple[float | None, str | None, str]]:
    return {(o.row_code, o.measure): (o.value, o.value_text, o.source_cell) for o in parsed.observations}


@pytest.fixture(scope="module", params=["01/LĐVL-H", "02/GDNN-H"])
def rendered(request: pytest.FixtureRequest):
    form = CAT.form(request.param)
    period = dt.date(2024, 10, 1) if form.frequency == "monthly" else dt.date(2024, 7, 1)
    quirks = Quirks(extra_rows_before=2, note_row_after=form.rows[3].code, extra_sheet_first=True)
    return form, period, form_bytes(form, CAT.unit("443"), period, values_for(form), options=quirks)


@pytest.mark.parametrize("fmt", ["xlsm", "xls", "ods"])
def test_every_format_reads_to_the_same_numbers_and_cells(rendered, fmt: str) -> None:
    form, period, r = rendered
    data = {"xlsm": as_xlsm, "xls": xlsx_as_xls, "ods": xlsx_as_ods}[fmt](r.data)
    reference = parse_file(r.data, CAT)
    parsed = parse_file(data, CAT)
    assert isinstance(parsed, ParsedSubmission), parsed
    sheet = default_sheet_name(form)
    expected = (form, "443", period, sheet)
    assert (reference.form, reference.unit_code, reference.period_start, reference.sheet) == expected
    assert (parsed.form, parsed.unit_code, parsed.period_start, parsed.sheet) == expected
    assert [f.rule for f in parsed.problems] == [f.rule for f in reference.problems]
    assert read_back(parsed) == read_back(reference)
    # and the reference is what was written, where it was written
    written = {k: v for k, v in values_for(form).items() if k in r.cells}
    got = read_back(reference)
    for key, cell in r.cells.items():
        value, _, at = got[key]
        assert at == cell
        assert value == (1234.0 if written[key] == "1.234" else written[key])


def test_xlsm_is_detected_as_a_workbook_from_its_bytes(rendered) -> None:
    data = as_xlsm(rendered[2].data)
    z = zipfile.ZipFile(io.BytesIO(data))
    assert MACRO_CONTENT_TYPE in z.read("[Content_Types].xml")
    assert z.read("xl/vbaProject.bin").startswith(b"\xd0\xcf\x11\xe0")
    assert inspect_workbook(data, current_limits()).kind == "xlsx"


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_positions_are_absolute_in_every_format(fmt: str) -> None:
    """Nothing above row 10 or left of column G: the grid still starts at A1 (skip_empty_area=False)."""
    if fmt == "xlsx":
        data = xlsx(lambda wb: wb.add_worksheet("S").write_number(9, 6, 42))
    elif fmt == "xls":
        data = xls(lambda wb: wb.add_sheet("S").write(9, 6, 42))
    else:
        data = ods({"S": [[None] * 7] * 9 + [[None] * 6 + [42]]})
    (sheet,) = read_workbook(data)
    assert len(sheet.rows) == 10
    assert sheet.cell(9, 6) == 42
    assert all(v in ("", None) for r, row in enumerate(sheet.rows) for c, v in enumerate(row) if (r, c) != (9, 6))


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_merged_cells_hold_their_value_at_the_top_left(fmt: str) -> None:
    if fmt == "xlsx":
        def build(wb) -> None:
            ws = wb.add_worksheet("S")
            ws.merge_range(1, 1, 2, 3, "Thực hiện")  # B2:D3
            ws.write_number(3, 1, 7)

        data = xlsx(build)
    elif fmt == "xls":
        def build(wb) -> None:
            ws = wb.add_sheet("S")
            ws.write_merge(1, 2, 1, 3, "Thực hiện")
            ws.write(3, 1, 7)

        data = xls(build)
    else:
        data = ods({"S": [[None] * 4, [None, "Thực hiện", None, None], [None] * 4, [None, 7, None, None]]},
                   merged={"S": [(1, 1, 2, 3)]})
    (sheet,) = read_workbook(data)
    assert sheet.cell(1, 1) == "Thực hiện"
    assert sheet.cell(3, 1) == 7
    assert all(sheet.cell(r, c) in ("", None) for r in (1, 2) for c in (1, 2, 3) if (r, c) != (1, 1))


def test_ods_formula_with_and_without_cached_value() -> None:
    data = ods({"S": [[1, None, None], [None, None, None]]},
               formulas={"S": {(0, 1): ("of:=[.A1]*2", 2.0), (1, 2): ("of:=[.A1]*3", None)}})
    (sheet,) = read_workbook(data)
    assert sheet.cell(0, 1) == 2.0
    assert sheet.uncached == frozenset({(1, 2)})


def test_xlsx_as_xls_and_ods_round_trip_the_cells() -> None:
    """The converters used above keep every value where it was (checked with openpyxl on the source)."""
    data = xlsx(lambda wb: (ws := wb.add_worksheet("S"), ws.write_string(0, 0, "Mã số"), ws.write_number(2, 3, 4.5)))
    src = openpyxl.load_workbook(io.BytesIO(data))
    assert src["S"]["D3"].value == 4.5
    for converted in (xlsx_as_xls(data), xlsx_as_ods(data)):
        (sheet,) = read_workbook(converted)
        assert (sheet.cell(0, 0), sheet.cell(2, 3)) == ("Mã số", 4.5)
