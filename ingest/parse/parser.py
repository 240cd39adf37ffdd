"""Finding the form on a sheet by its content, and reading every number with its cell address.

Nothing here depends on fixed cell positions. For each sheet, in workbook order:

1. the form: a cell naming a catalogue form code (``Biểu số: 01/LĐVL-H``), or its title;
2. the table header: the cell reading ``Mã số``; its row is the first header row;
3. the numeric columns: right of ``Mã số``, each header (all header rows of that column folded
   together) matched against the catalogue's ``match`` words;
4. the period and the unit: in the rows above the header (``Tháng 10 năm 2024`` / ``Quý III năm
   2024``; ``Đơn vị báo cáo: ... (mã 443)`` or the unit's name: a district-level unit, or from
   2025-07-01 a commune, ``(mã 18685)`` / ``Xã Cẩm Bình``);
5. the indicator rows: below the header, every row whose ``Mã số`` cell holds a code (``01``, or the
   number ``1``); section headings, notes and the column-number row (``A B C D 1 2 …``) have none.

Every sheet is weighed: the one that holds a form's table is the submission (an instructions sheet that quotes
the form's code and rows is not), two such sheets are a problem; problems are collected, never raised.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from ingest.catalogue import Catalogue, Form, Unit
from ingest.catalogue.problems import Problem
from ingest.read.numbers import NotANumber, parse_number
from ingest.read.reader import Sheet
from ingest.text import cell_address, fold

HEADER_SCAN_ROWS = 40  # the table starts within this many rows of the top
_CODE_HEADERS = {"mã số", "mã", "ms", "mã chỉ tiêu", "mã số chỉ tiêu"}
_MONTH = re.compile(r"tháng\s*(\d{1,2})\s*(?:năm|/|-)\s*(\d{4})")
_QUARTER = re.compile(r"quý\s*(iv|iii|ii|i|[1-4])\s*(?:năm|/|-)\s*(\d{4})")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_UNIT_CODE = re.compile(r"\(?\s*mã(?:\s*(?:số|đơn vị))?\s*[:.]?\s*(\d{3,5})\s*\)?")
_ROW_CODE = re.compile(r"^0*(\d{1,3})\.?$")
_PROVINCE_CODE = re.compile(r"\(\s*mã\s*(\d{1,3})\s*\)")


class Observation(NamedTuple):
    """One number read from a cell. A named tuple, not a dataclass: parse workers send hundreds of thousands
    back to the parent, and a tuple unpickles several times faster."""

    row_code: str
    measure: str
    value: float | None
    value_text: str | None
    qualifier: str | None
    source_sheet: str
    source_cell: str


@dataclass
class ParsedSubmission:
    """What one file says: its form, unit and period, its numbers and what is wrong with it."""

    sheet: str | None = None
    form: Form | None = None
    form_version: str | None = None
    unit_code: str | None = None
    period_start: dt.date | None = None
    observations: list[Observation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def identified(self) -> bool:
        return self.form is not None and self.unit_code is not None and self.period_start is not None


def normalise_row_code(cell: object) -> str | None:
    """``"01"``, ``1``, ``1.0``, ``"1."`` → ``"01"``; anything else → None."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, float):
        if not cell.is_integer() or cell < 0:
            return None
        cell = int(cell)
    m = _ROW_CODE.match(fold(cell))
    if not m:
        return None
    return m.group(1).zfill(2)


def find_form(sheet: Sheet, catalogue: Catalogue) -> tuple[Form, int] | None:
    """The catalogue form named in the top of the sheet, and the row where it is named."""
    titles = [(fold(f.title_vi), f) for f in catalogue.forms]
    for r, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        for cell in row:
            if not isinstance(cell, str) or not cell.strip():
                continue
            form = catalogue.find_form(cell)
            if form is not None:
                return form, r
    for r, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        for cell in row:
            text = fold(cell)
            for title, form in titles:
                if text and title in text:
                    return form, r
    return None


def find_header(sheet: Sheet) -> tuple[int, int] | None:
    """(row, column) of the ``Mã số`` header cell."""
    for r, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        for c, cell in enumerate(row):
            if isinstance(cell, str) and fold(cell) in _CODE_HEADERS:
                return r, c
    return None


def _first_data_row(sheet: Sheet, header_row: int, code_col: int, form: Form) -> int:
    codes = set(form.row_codes)
    for r in range(header_row + 1, len(sheet.rows)):
        if normalise_row_code(sheet.cell(r, code_col)) in codes:
            return r
    return len(sheet.rows)


def find_columns(sheet: Sheet, header_row: int, code_col: int, data_row: int, form: Form) -> dict[str, int]:
    """measure key → column index, matched on the header text of each column right of ``Mã số``."""
    width = max((len(r) for r in sheet.rows[header_row:data_row]), default=0)
    found: dict[str, int] = {}
    for c in range(code_col + 1, width):
        text = " ".join(fold(sheet.cell(r, c)) for r in range(header_row, data_row))
        for column in form.columns:
            if column.key in found:
                continue
            if any(m in text for m in column.match):
                found[column.key] = c
                break
    return found


def find_period(sheet: Sheet, form: Form, above_row: int) -> tuple[dt.date | None, Problem | None]:
    for r in range(min(above_row, len(sheet.rows))):
        for c, cell in enumerate(sheet.rows[r]):
            text = fold(cell)
            if not text or "kế hoạch" in text or "ngày" in text:
                continue
            m = _MONTH.search(text)
            q = _QUARTER.search(text)
            if m and 1 <= int(m.group(1)) <= 12:
                start = dt.date(int(m.group(2)), int(m.group(1)), 1)
                if form.frequency != "monthly":
                    return None, Problem.at("period-mismatch", sheet=sheet.name, cell=cell_address(r, c),
                                            value=str(cell), form=form.code, expected="quý")
                return start, None
            if q:
                quarter = _ROMAN.get(q.group(1)) or int(q.group(1))
                start = dt.date(int(q.group(2)), 3 * (quarter - 1) + 1, 1)
                if form.frequency != "quarterly":
                    return None, Problem.at("period-mismatch", sheet=sheet.name, cell=cell_address(r, c),
                                            value=str(cell), form=form.code, expected="tháng")
                return start, None
    return None, Problem.at("period-not-found", sheet=sheet.name)


def find_unit(sheet: Sheet, catalogue: Catalogue, above_row: int, period_start: dt.date | None = None,
              *, province: bool = False) -> str | None:
    """The reporting unit's code: from ``(mã 443)`` on the ``Đơn vị báo cáo`` line, else from its name.

    ``province``: the sheet may be the province's own report (``(mã 42)``, the catalogue's province code), which
    no district or commune may send; only the province report's read-back asks for it.

    A name is matched as whole words, and a name inside a longer one at the same place is not a hit
    (``Xã Kỳ Anh`` in ``Thị xã Kỳ Anh``). When a line names several units, the one that exists on
    ``period_start`` (when known) is preferred, then the longest name.
    """
    top = [(r, fold(cell)) for r in range(min(above_row, len(sheet.rows))) for cell in sheet.rows[r] if fold(cell)]
    for _, text in top:
        if province and "đơn vị báo cáo" in text:
            m = _PROVINCE_CODE.search(text)
            if m and m.group(1) == catalogue.province_code:
                return m.group(1)
    for _, text in top:
        if "đơn vị báo cáo" in text:
            m = _UNIT_CODE.search(text)
            if m:
                return m.group(1)
            unit = _unit_by_name(text, catalogue.units, period_start)
            if unit:
                return unit.code
    for _, text in top:
        if "nhận báo cáo" in text:
            continue  # the receiver line names the province, not the sender
        unit = _unit_by_name(text, catalogue.units, period_start)
        if unit:
            return unit.code
    return None


def _unit_by_name(text: str, units: tuple[Unit, ...], on: dt.date | None = None) -> Unit | None:
    """The unit named in ``text`` (folded), if any; see :func:`find_unit`."""
    hits: list[tuple[int, int, Unit]] = []
    for u in units:
        name = fold(u.name)
        if name not in text:  # cheap test first: most lines name no unit
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        hits.extend((m.start(), m.end(), u) for m in pattern.finditer(text))
    # "xã kỳ anh" inside "thị xã kỳ anh" is part of the longer name, not a second unit
    hits = [h for h in hits
            if not any(o[0] <= h[0] and h[1] <= o[1] and o[1] - o[0] > h[1] - h[0] for o in hits)]
    if not hits:
        return None
    if on is not None and any(u.exists_on(on) for _, _, u in hits):
        hits = [h for h in hits if h[2].exists_on(on)]
    return max(hits, key=lambda h: (len(h[2].name), -h[0]))[2]


def read_rows(sheet: Sheet, form: Form, header_row: int, code_col: int, columns: dict[str, int],
              result: ParsedSubmission) -> None:
    codes = set(form.row_codes)
    seen: dict[str, str] = {}
    for r in range(header_row + 1, len(sheet.rows)):
        code_cell = sheet.cell(r, code_col)
        code = normalise_row_code(code_cell)
        if code is None:
            continue
        address = cell_address(r, code_col)
        if code not in codes:
            # the column-number row ("A B C D 1 2 3 4") has letters here, so it never reaches this point
            if any(parse_or_none(sheet.cell(r, c)) is not None for c in columns.values()):
                result.problems.append(Problem.at("row-unknown", sheet=sheet.name, cell=address, row_code=code,
                                                  form=form.code))
            continue
        if code in seen:
            result.problems.append(Problem.at("row-duplicated", sheet=sheet.name, cell=address, row_code=code))
            continue
        seen[code] = address
        for measure, c in columns.items():
            raw = sheet.cell(r, c)
            addr = cell_address(r, c)
            if (r, c) in sheet.uncached:  # calamine reads it as empty: a problem, never a blank or a zero
                result.problems.append(Problem.at("formula-without-value", sheet=sheet.name, cell=addr,
                                                  row_code=code, measure=measure))
                continue
            try:
                number = parse_number(raw)
            except NotANumber:
                result.problems.append(Problem.at("value-not-number", sheet=sheet.name, cell=addr, row_code=code,
                                                  measure=measure, value=str(raw)))
                continue
            result.observations.append(Observation(code, measure, number.value, number.text, number.qualifier,
                                                   sheet.name, addr))
    # an older issue of the form lacks some rows: recognise it, and do not call its absent rows missing
    result.form_version = form.match_version(set(seen))
    for code in sorted(form.version_rows(result.form_version)):
        if code not in seen:
            result.problems.append(Problem.at("row-missing", sheet=sheet.name, row_code=code, form=form.code))


def parse_or_none(cell: object) -> float | None:
    try:
        return parse_number(cell).value
    except NotANumber:
        return None


def read_sheet(sheet: Sheet, catalogue: Catalogue, *, province: bool = False) -> ParsedSubmission | None:
    """What one sheet says, when it names a catalogue form (else ``None``): its unit, period and numbers, and what
    is wrong with it. ``province``: the province's own report is accepted as the reporting unit (see
    :func:`find_unit`); never for a received file."""
    hit = find_form(sheet, catalogue)
    if hit is None:
        return None
    form, _ = hit
    result = ParsedSubmission(sheet=sheet.name, form=form)
    header = find_header(sheet)
    if header is None:
        result.problems.append(Problem.at("header-not-found", sheet=sheet.name))
        result.period_start, _ = find_period(sheet, form, HEADER_SCAN_ROWS)  # said, though no table follows
        return result
    header_row, code_col = header
    result.period_start, period_problem = find_period(sheet, form, header_row)
    if period_problem:
        result.problems.append(period_problem)
    unit_code = find_unit(sheet, catalogue, header_row, result.period_start, province=province)
    if province and unit_code == catalogue.province_code:
        result.unit_code = unit_code
    elif unit_code is not None and catalogue.unit(unit_code) is None:
        result.problems.append(Problem.at("unit-unknown", sheet=sheet.name, value=unit_code))
    elif unit_code is None:
        result.problems.append(Problem.at("unit-not-found", sheet=sheet.name))
    else:
        result.unit_code = unit_code
    data_row = _first_data_row(sheet, header_row, code_col, form)
    columns = find_columns(sheet, header_row, code_col, data_row, form)
    for column in form.columns:
        if column.key not in columns:
            result.problems.append(Problem.at("column-not-found", sheet=sheet.name, measure=column.key))
    read_rows(sheet, form, header_row, code_col, columns, result)
    return result


def reads_as_the_form(result: ParsedSubmission) -> bool:
    """The sheet holds the form's table: a ``Mã số`` header, at least one of its numeric columns, and at least one
    of its rows under them. An instructions sheet that quotes the form's code, its rows and its columns in prose
    does not; nor does a list of the codes without the numeric columns."""
    return bool(result.observations) and not any(p.rule == "header-not-found" for p in result.problems)


def _evidence(result: ParsedSubmission) -> tuple[int, ...]:
    """How much of a form a sheet that names one holds, to choose the sheet to report on when none holds all."""
    return (int(reads_as_the_form(result)), len(result.observations), int(result.period_start is not None),
            int(result.unit_code is not None), -len(result.problems))


def parse_sheets(sheets: list[Sheet], catalogue: Catalogue, *, province: bool = False) -> ParsedSubmission:
    """Weigh every sheet of the workbook and read the one that holds the form, whatever the order of the sheets,
    which one is active, or what the others say: instructions that quote the form's code and rows, notes, an
    earlier report. Two sheets that both hold a form are one problem, never a guess; when no sheet holds a whole
    form, the problems are those of the sheet that holds the most of one. ``province``: see :func:`read_sheet`."""
    readings = [r for r in (read_sheet(sheet, catalogue, province=province) for sheet in sheets) if r is not None]
    if not readings:
        return ParsedSubmission(problems=[Problem.at("form-not-found", forms=", ".join(catalogue.form_codes))])
    forms = [r for r in readings if reads_as_the_form(r)]
    if len(forms) > 1:
        # what the sheets agree on is kept (the calendar may tell the unit's report was received), never the numbers

        def agreed(values: list) -> object:
            return values[0] if len(set(values)) == 1 else None

        return ParsedSubmission(form=agreed([r.form for r in forms]), unit_code=agreed([r.unit_code for r in forms]),
                                period_start=agreed([r.period_start for r in forms]),
                                problems=[Problem.at("form-on-several-sheets",
                                                     value=", ".join(f"«{r.sheet}»" for r in forms))])
    if forms:
        return forms[0]
    return max(readings, key=_evidence)
