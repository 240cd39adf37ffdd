"""The official form laid out on a worksheet, as the province sends it and districts fill it in.

``write_form`` writes one ``.xlsx`` with the layout described in ``/work/shared/forms/README.md``
("How a blank form looks"): the administrative header (rows 1-7), a two-row merged table header
(rows 9-10), the column-number row (``A | B | C | D | 1 | 2 | 3 | 4``), the sections and indicator
rows from the catalogue, then the place/date line and the signatures.

``Quirks`` varies the layout the way districts do (rows inserted, totals as formulas, numbers typed
as text, the sheet renamed, an extra sheet, an unknown row), so the demo data exercise the parser.

Everything that comes from data is written as a string or a number, never through xlsxwriter's
``write()``, which would turn a string starting with ``=`` into a formula. The only formulas are the
``sum_of`` totals that ``Quirks.sum_formulas`` asks for, always with their cached value.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import xlsxwriter

from ingest.catalogue import Form, Row, load_catalogue
from ingest.text import cell_address

log = logging.getLogger(__name__)

MEASURES: tuple[str, ...] = load_catalogue().measure_keys
"""The numeric columns, left to right (sheet columns E-H): the catalogue's measures, in order."""

Values = dict[tuple[str, str], "float | int | str | None"]


class Issuer(Protocol):
    """Who fills in the form, as its header and date line name it: a district's or commune's :class:`Unit`, or the
    department for the province's own report (``ingest/tell/province_report.py``)."""

    @property
    def code(self) -> str: ...
    @property
    def short_name(self) -> str: ...
    @property
    def issuing_body(self) -> str: ...
    @property
    def office_line(self) -> str: ...
    @property
    def office_name(self) -> str: ...
    @property
    def head_title(self) -> str: ...


#: Called after the form's sheet is written, to add sheets to the same workbook: (workbook, form sheet, the A1
#: address of each number written by ``(row_code, measure)``).
ExtraSheets = Callable[[Any, Any, dict[tuple[str, str], str]], None]

# 0-based sheet columns
COL_STT, COL_LABEL, COL_CODE, COL_UNIT = 0, 1, 2, 3
COL_FIRST_NUMBER = 4
MEASURE_COL: dict[str, int] = {m: COL_FIRST_NUMBER + i for i, m in enumerate(MEASURES)}
LAST_COL = COL_FIRST_NUMBER + len(MEASURES) - 1

HEADER_FIRST_ROW = 8  # 0-based: sheet row 9, when no rows are inserted above the table
NATIONAL_MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
OFFICE_LINE = "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"
DEFAULT_SIGNERS = ("Nguyễn Thị Hương", "Trần Văn Minh")
UNKNOWN_ROW_LABEL = "Số lao động được hỗ trợ chuyển đổi nghề (chỉ tiêu bổ sung của huyện)"
NOTE_ROW_TEXT = "Ghi chú: số liệu ước thực hiện, sẽ cập nhật khi có số liệu chính thức"
EXTRA_ROW_TEXT = "(Kèm theo Công văn của Phòng Lao động - Thương binh và Xã hội)"
EXTRA_SHEET_NAME = "Ghi chu"
EXTRA_SHEET_LINES = (
    "Ghi chú của người lập biểu",
    "- Số liệu tháng này tổng hợp từ báo cáo của các xã, phường, thị trấn.",
    "- Một số xã chưa gửi báo cáo, số liệu ước tính.",
)


@dataclass(frozen=True)
class Quirks:
    """Layout variations seen in district files; each one independent of the others.

    extra_rows_before: blank or note rows inserted above the table header (after row 7).
    note_row_after: a row code after which a note row with no code is inserted inside the table.
    sum_formulas: write ``sum_of`` totals as ``=E13+E14`` formulas with their cached value.
    numbers_as_text: row codes whose numbers are typed as Vietnamese text (``1.234``, ``12,5``).
    sheet_name: the sheet renamed (default ``Bieu 01`` for form ``01/…``).
    extra_sheet_first: an unrelated ``Ghi chu`` sheet placed before the form.
    unknown_row: the code of an extra indicator row that is not in the catalogue (e.g. ``"99"``),
        added at the end of the table; its numbers come from ``values`` under that code.
    """

    extra_rows_before: int = 0
    note_row_after: str | None = None
    sum_formulas: bool = False
    numbers_as_text: tuple[str, ...] = ()
    sheet_name: str | None = None
    extra_sheet_first: bool = False
    unknown_row: str | None = None

    def active(self) -> list[str]:
        """Names of the quirks that change the layout (empty for the plain form)."""
        return [f.name for f in fields(self) if getattr(self, f.name) not in (0, None, False, ())]


def default_sheet_name(form: Form) -> str:
    """``01/LĐVL-H`` → ``Bieu 01``."""
    return f"Bieu {form.code.split('/', 1)[0]}"


def format_vn_number(value: float) -> str:
    """A number as a Vietnamese user types it: ``1234`` → ``1.234``, ``12.5`` → ``12,5``, ``1234.5`` → ``1.234,5``."""
    negative = value < 0
    value = abs(value)
    if isinstance(value, float) and not value.is_integer():
        whole, frac = f"{value:.1f}".split(".")
    else:
        whole, frac = str(round(value)), ""
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = ".".join(groups) + (f",{frac}" if frac else "")
    return f"-{text}" if negative else text


def _stt_labels(form: Form) -> dict[str, str]:
    """The "STT" column: 1, 2… per section; ``1.1`` for a named part; blank for ``- …``/``Trong đó`` lines."""
    out: dict[str, str] = {}
    for _, rows in form.sections():
        n = 0
        sub: dict[str, int] = {}
        for r in rows:
            label = r.label_vi.strip()
            if label.startswith("-") or label.lower().startswith("trong đó"):
                out[r.code] = ""
            elif r.of and r.of in out and out[r.of] and "." not in out[r.of]:
                sub[r.of] = sub.get(r.of, 0) + 1
                out[r.code] = f"{out[r.of]}.{sub[r.of]}"
            else:
                n += 1
                out[r.code] = str(n)
    return out


@dataclass(frozen=True)
class RenderedForm:
    """A form rendered in memory: the file's bytes and where each number went.

    cells: the A1 address of each number written, by ``(row_code, measure)``.
    texts: the numbers written as text, as typed (``1.234``), by ``(row_code, measure)``.
    formulas: the cells written as ``sum_of`` formulas (with the number as cached value).
    """

    data: bytes
    cells: dict[tuple[str, str], str]
    texts: dict[tuple[str, str], str]
    formulas: set[tuple[str, str]]


@dataclass(frozen=True)
class _Line:
    """One table line below the column-number row."""

    kind: str  # section | row | note | unknown
    text: str = ""
    row: Row | None = None
    code: str = ""


def _table_lines(form: Form, quirks: Quirks) -> list[_Line]:
    lines: list[_Line] = []
    for heading, rows in form.sections():
        lines.append(_Line("section", text=heading))
        for r in rows:
            lines.append(_Line("row", row=r, code=r.code))
            if quirks.note_row_after == r.code:
                lines.append(_Line("note", text=NOTE_ROW_TEXT))
    if quirks.unknown_row:
        lines.append(_Line("unknown", text=UNKNOWN_ROW_LABEL, code=quirks.unknown_row))
    return lines


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        base = {"font_name": "Times New Roman", "font_size": 12}
        cell = {**base, "border": 1, "valign": "vcenter"}
        self.plain = wb.add_format(base)
        self.bold_center = wb.add_format({**base, "bold": True, "align": "center"})
        self.italic_center = wb.add_format({**base, "italic": True, "align": "center"})
        self.title = wb.add_format({**base, "bold": True, "align": "center", "font_size": 13, "text_wrap": True})
        self.header = wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True})
        self.colnum = wb.add_format({**cell, "italic": True, "align": "center"})
        self.section = wb.add_format({**cell, "bold": True})
        self.text = wb.add_format({**cell, "text_wrap": True})
        self.center = wb.add_format({**cell, "align": "center"})
        self.note = wb.add_format({**cell, "italic": True})
        self.count = wb.add_format({**cell, "num_format": "#,##0"})
        self.money = wb.add_format({**cell, "num_format": "#,##0.0"})
        self.number_text = wb.add_format({**cell, "align": "right"})


def _period_label(form: Form, period_start: dt.date | None) -> str:
    if period_start is None:
        return "Tháng ... năm ...." if form.frequency == "monthly" else "Quý ... năm ...."
    return form.period_label_vi(period_start)


def _date_line(unit: Issuer | None, signed_on: dt.date | None) -> str:
    place = unit.short_name if unit is not None else "........."
    if signed_on is None:
        return f"{place}, ngày ... tháng ... năm ...."
    return f"{place}, ngày {signed_on.day:02d} tháng {signed_on.month:02d} năm {signed_on.year}"


def _write_header(ws: Any, fmt: _Formats, form: Form, unit: Issuer | None, period_start: dt.date | None) -> None:
    issuing = unit.issuing_body if unit is not None else "UBND HUYỆN (THỊ XÃ, THÀNH PHỐ) ..............."
    ws.merge_range(0, 0, 0, 3, issuing, fmt.bold_center)
    ws.merge_range(1, 0, 1, 3, unit.office_line if unit is not None else OFFICE_LINE, fmt.bold_center)
    ws.merge_range(0, 4, 0, LAST_COL, NATIONAL_MOTTO[0], fmt.bold_center)
    ws.merge_range(1, 4, 1, LAST_COL, NATIONAL_MOTTO[1], fmt.bold_center)
    ws.write_string(2, 0, f"Biểu số: {form.code}", fmt.plain)
    ws.merge_range(3, 0, 3, LAST_COL, form.title_vi, fmt.title)
    ws.set_row(3, 36)
    ws.merge_range(4, 0, 4, LAST_COL, _period_label(form, period_start), fmt.italic_center)
    if unit is not None:
        office = f"Đơn vị báo cáo: {unit.office_name} (mã {unit.code})"
    else:
        office = "Đơn vị báo cáo: Phòng Lao động - Thương binh và Xã hội ............... (mã ......)"
    ws.write_string(5, 0, office, fmt.plain)
    ws.write_string(6, 0, f"Đơn vị nhận báo cáo: {load_catalogue().receiver}", fmt.plain)


def _write_table_header(ws: Any, fmt: _Formats, form: Form, top: int, period_start: dt.date | None) -> None:
    year = str(period_start.year) if period_start is not None else "...."
    for col, label in ((COL_STT, "STT"), (COL_LABEL, "Chỉ tiêu"), (COL_CODE, "Mã số"), (COL_UNIT, "Đơn vị tính")):
        ws.merge_range(top, col, top + 1, col, label, fmt.header)
    ws.merge_range(top, MEASURE_COL["plan_year"], top + 1, MEASURE_COL["plan_year"], f"Kế hoạch năm {year}",
                   fmt.header)
    ws.merge_range(top, MEASURE_COL["period"], top, MEASURE_COL["ytd"], "Thực hiện", fmt.header)
    period_header = "Tháng báo cáo" if form.frequency == "monthly" else "Quý báo cáo"
    ws.write_string(top + 1, MEASURE_COL["period"], period_header, fmt.header)
    ws.write_string(top + 1, MEASURE_COL["ytd"], "Lũy kế từ đầu năm", fmt.header)
    col = MEASURE_COL["ytd_prev_year"]
    ws.merge_range(top, col, top + 1, col, "Cùng kỳ năm trước", fmt.header)
    for col, label in enumerate(("A", "B", "C", "D", "1", "2", "3", "4")):
        ws.write_string(top + 2, col, label, fmt.colnum)


def _row_values(line: _Line, values: Values) -> dict[str, float | int | str | None]:
    """The numbers of one line; a stock row has no plan and its year-to-date repeats the period."""
    out = {m: values.get((line.code, m)) for m in MEASURES}
    if line.row is not None and line.row.kind == "stock":
        out["plan_year"] = None
        if out["ytd"] is None:
            out["ytd"] = out["period"]
    return out


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _render(
    form: Form,
    unit: Issuer | None,
    period_start: dt.date | None,
    values: Values,
    quirks: Quirks,
    signed_on: dt.date | None,
    signers: tuple[str, str] | None,
    extra_sheets: ExtraSheets | None = None,
) -> RenderedForm:
    buf = io.BytesIO()
    # strings stay strings even through write(): a district's text starting with "=" never becomes a formula
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    # fixed document dates keep the bytes reproducible (xlsxwriter would otherwise stamp "now")
    stamp = signed_on or period_start or dt.date(2000, 1, 1)
    wb.set_properties({"created": dt.datetime(stamp.year, stamp.month, stamp.day, 8, 0, 0),
                       "author": unit.office_name if unit is not None else "Sở LĐ-TB&XH"})
    fmt = _Formats(wb)
    if quirks.extra_sheet_first:
        notes = wb.add_worksheet(EXTRA_SHEET_NAME)
        for i, line in enumerate(EXTRA_SHEET_LINES):
            notes.write_string(i, 0, line)
    ws = wb.add_worksheet(quirks.sheet_name or default_sheet_name(form))
    ws.set_column(COL_STT, COL_STT, 6)
    ws.set_column(COL_LABEL, COL_LABEL, 58)
    ws.set_column(COL_CODE, COL_CODE, 8)
    ws.set_column(COL_UNIT, COL_UNIT, 12)
    ws.set_column(COL_FIRST_NUMBER, LAST_COL, 14)

    _write_header(ws, fmt, form, unit, period_start)
    if quirks.extra_rows_before:  # the first inserted row carries a note, the others stay empty
        ws.write_string(7, 0, EXTRA_ROW_TEXT, fmt.plain)
    top = HEADER_FIRST_ROW + quirks.extra_rows_before
    _write_table_header(ws, fmt, form, top, period_start)

    lines = _table_lines(form, quirks)
    first = top + 3
    row_of: dict[str, int] = {ln.code: first + i for i, ln in enumerate(lines) if ln.code}
    line_values = {ln.code: _row_values(ln, values) for ln in lines if ln.code}
    text_rows = set(quirks.numbers_as_text)
    stt = _stt_labels(form)
    addresses: dict[tuple[str, str], str] = {}
    texts: dict[tuple[str, str], str] = {}
    formulas: set[tuple[str, str]] = set()

    for i, ln in enumerate(lines):
        r = first + i
        if ln.kind == "section":
            ws.write_string(r, COL_STT, "", fmt.section)
            ws.write_string(r, COL_LABEL, ln.text, fmt.section)
            for col in range(COL_CODE, LAST_COL + 1):
                ws.write_blank(r, col, None, fmt.section)
            continue
        if ln.kind == "note":
            ws.write_blank(r, COL_STT, None, fmt.note)
            ws.write_string(r, COL_LABEL, ln.text, fmt.note)
            for col in range(COL_CODE, LAST_COL + 1):
                ws.write_blank(r, col, None, fmt.note)
            continue
        row = ln.row
        ws.write_string(r, COL_STT, stt.get(ln.code, "") if row else "", fmt.center)
        ws.write_string(r, COL_LABEL, row.label_vi if row else ln.text, fmt.text)
        ws.write_string(r, COL_CODE, ln.code, fmt.center)
        ws.write_string(r, COL_UNIT, row.unit if row else "người", fmt.center)
        money = row is not None and row.kind == "amount"
        for m in MEASURES:
            col = MEASURE_COL[m]
            v = line_values[ln.code][m]
            if v is None:
                ws.write_blank(r, col, None, fmt.count)
                continue
            addresses[(ln.code, m)] = cell_address(r, col)
            if isinstance(v, str):
                ws.write_string(r, col, v, fmt.number_text)
                texts[(ln.code, m)] = v
            elif quirks.sum_formulas and row is not None and row.sum_of and _formula_ok(row, m, line_values, text_rows):
                refs = "+".join(cell_address(row_of[p], col) for p in row.sum_of)
                ws.write_formula(r, col, f"={refs}", fmt.money if money else fmt.count, v)
                formulas.add((ln.code, m))
            elif ln.code in text_rows:
                texts[(ln.code, m)] = format_vn_number(v)
                ws.write_string(r, col, texts[(ln.code, m)], fmt.number_text)
            else:
                ws.write_number(r, col, v, fmt.money if money else fmt.count)

    _write_footer(ws, fmt, first + len(lines), unit, signed_on, signers if unit is not None else None)
    if extra_sheets is not None:
        extra_sheets(wb, ws, addresses)
    wb.close()
    return RenderedForm(buf.getvalue(), addresses, texts, formulas)


def _formula_ok(row: Row, measure: str, line_values: dict[str, dict], text_rows: set[str]) -> bool:
    """A total is a formula only when every part is a real number on the sheet (Excel's ``+`` fails on text)."""
    return all(p in line_values and _is_number(line_values[p][measure]) and p not in text_rows for p in row.sum_of)


def _write_footer(
    ws: Any, fmt: _Formats, after: int, unit: Issuer | None, signed_on: dt.date | None,
    signers: tuple[str, str] | None,
) -> None:
    r = after + 1
    ws.merge_range(r, MEASURE_COL["period"], r, LAST_COL, _date_line(unit, signed_on), fmt.italic_center)
    ws.merge_range(r + 1, COL_STT, r + 1, COL_LABEL, "NGƯỜI LẬP BIỂU", fmt.bold_center)
    head = unit.head_title if unit is not None else "TRƯỞNG PHÒNG"
    ws.merge_range(r + 1, MEASURE_COL["period"], r + 1, LAST_COL, head, fmt.bold_center)
    ws.merge_range(r + 2, COL_STT, r + 2, COL_LABEL, "(Ký, ghi rõ họ tên)", fmt.italic_center)
    ws.merge_range(r + 2, MEASURE_COL["period"], r + 2, LAST_COL, "(Ký tên, đóng dấu)", fmt.italic_center)
    if signers is not None:
        ws.merge_range(r + 6, COL_STT, r + 6, COL_LABEL, signers[0], fmt.bold_center)
        ws.merge_range(r + 6, MEASURE_COL["period"], r + 6, LAST_COL, signers[1], fmt.bold_center)


def form_bytes(
    form: Form,
    unit: Issuer | None = None,
    period_start: dt.date | None = None,
    values: Values | None = None,
    *,
    options: Quirks | None = None,
    signed_on: dt.date | None = None,
    signers: tuple[str, str] | None = None,
    extra_sheets: ExtraSheets | None = None,
) -> RenderedForm:
    """Like ``write_form`` but renders in memory (the same input always gives the same bytes). ``extra_sheets``
    adds sheets after the form's (the province report's annex, coverage and lineage)."""
    return _render(form, unit, period_start, values or {}, options or Quirks(), signed_on,
                   signers or DEFAULT_SIGNERS, extra_sheets)


def write_form(
    path: Path | str,
    form: Form,
    unit: Issuer | None = None,
    period_start: dt.date | None = None,
    values: Values | None = None,
    *,
    options: Quirks | None = None,
    signed_on: dt.date | None = None,
    signers: tuple[str, str] | None = None,
) -> dict[tuple[str, str], str]:
    """Write ``form`` as one ``.xlsx`` at ``path``; return the A1 address of each number written.

    ``unit`` and ``period_start`` left out give the blank template (``Tháng ... năm ....``).
    ``values`` maps ``(row_code, measure)`` to a number, a text as typed, or None (empty cell);
    ``measure`` is one of ``MEASURES``. Stock rows never get a plan, and their year-to-date repeats
    the period value when ``values`` has none. ``signed_on`` is the date on the place/date line,
    ``signers`` the names under ``NGƯỜI LẬP BIỂU`` and ``TRƯỞNG PHÒNG``.
    """
    rendered = form_bytes(form, unit, period_start, values, options=options, signed_on=signed_on, signers=signers)
    Path(path).write_bytes(rendered.data)
    return rendered.cells


def template_file_name(form: Form) -> str:
    """``01/LĐVL-H`` → ``01_LĐVL-H.xlsx``."""
    return f"{form.code.replace('/', '_')}.xlsx"


def write_templates(out_dir: Path | str) -> list[Path]:
    """One blank template per form of the catalogue, for the province to send to the districts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for form in load_catalogue().forms:
        path = out / template_file_name(form)
        write_form(path, form)
        paths.append(path)
    log.info("wrote %d blank templates to %s", len(paths), out)
    return paths
