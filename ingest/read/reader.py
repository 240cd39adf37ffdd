"""Opening a received file as a workbook of cell grids: with python-calamine, or with a reader of text exports.

The format is decided from the bytes (:mod:`ingest.read.formats`), never from the file name (districts name
files anything). A workbook container (.xlsx, .xlsm, .xls, .ods) is checked by :mod:`ingest.read.safety`
against the limits of :mod:`ingest.read.limits` (size, decompression bombs, XML entities, giant sheets,
encryption) before calamine sees it; a text export (HTML table, SpreadsheetML, CSV, flat ODS) is read by
:mod:`ingest.read.exports` under the same limits; any other format is refused with its name. A file that cannot
be opened is a :class:`~ingest.catalogue.problems.Problem`, not an exception that stops the run.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

from ingest.catalogue.problems import Problem
from ingest.read.exports.delimited import read_delimited
from ingest.read.exports.flat_ods import read_flat_ods
from ingest.read.exports.html_table import read_html_table
from ingest.read.exports.spreadsheetml import read_spreadsheetml
from ingest.read.formats import OLE2, ZIP, sniff
from ingest.read.grid import Grid, Sheet
from ingest.read.legacy_fonts import to_unicode
from ingest.read.limits import Limits, current_limits
from ingest.read.safety import OLE2_SIGNATURE, Refused, check_size, inspect_workbook, refused_format

__all__ = ["Grid", "Sheet", "looks_like_spreadsheet", "read_workbook"]

log = logging.getLogger(__name__)

EXPORT_READERS: dict[str, Callable[[bytes, Limits], list[Sheet]]] = {
    "html": read_html_table,
    "spreadsheetml": read_spreadsheetml,
    "csv": read_delimited,
    "fods": read_flat_ods,
}


def looks_like_spreadsheet(data: bytes) -> bool:
    """The bytes are in a format the reader reads (a workbook container or a text export)."""
    kind = sniff(data)
    return kind in (ZIP, OLE2) or kind in EXPORT_READERS


def _worksheets_only(data: bytes, workbook_part: str, other_sheets: tuple[str, ...]) -> bytes:
    """The package again without the workbook's macro and dialog sheets (by relationship id), which calamine
    cannot always open: the worksheets are read, the rest is never read, run or kept. The package was inspected
    within the limits before, so it is rewritten in memory."""
    ids = b"|".join(re.escape(i.encode()) for i in other_sheets)
    entry = re.compile(rb"<(?:[\w.-]+:)?sheet\s[^>]*?\s[\w.-]+:id=\"(?:" + ids + rb")\"[^>]*/>")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            zout.writestr(info.filename, entry.sub(b"", body) if info.filename == workbook_part else body)
    return out.getvalue()


def _decoded(rows: Grid) -> Grid:
    """Text typed in a legacy Vietnamese font, decoded cell by cell (every other cell as it is)."""
    return [[to_unicode(c) if isinstance(c, str) and c else c for c in row] for row in rows]


def read_workbook(data: bytes, limits: Limits | None = None) -> list[Sheet] | Problem:
    """Every worksheet of the file, in workbook order, or why it could not be read.

    Text typed in a legacy Vietnamese font (TCVN3, VNI) is decoded to Unicode cell by cell, so labels,
    the unit and the period are found whatever font the district's office still uses."""
    limits = limits or current_limits()
    try:
        check_size(data, limits)
        kind = sniff(data)
        if kind in EXPORT_READERS:
            sheets = EXPORT_READERS[kind](data, limits)
            if not sheets:
                raise Refused("file-export-empty", f"{kind}: no table", format=kind)
            return [Sheet(s.name, _decoded(s.rows), s.uncached) for s in sheets]
        if kind not in (ZIP, OLE2):
            raise refused_format(kind, f"{kind} file signature")
        inspection = inspect_workbook(data, limits)
    except Refused as r:
        log.info("refused before reading: %s", r)
        return r.problem
    if inspection.other_sheets and inspection.workbook_part:
        data = _worksheets_only(data, inspection.workbook_part, inspection.other_sheets)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError as exc:
        return Problem.at("file-password-protected", detail=str(exc))
    except CalamineError as exc:
        # An OLE2 file that calamine cannot read is usually an encrypted (password) OOXML package
        if data.startswith(OLE2_SIGNATURE) and "password" in str(exc).lower():
            return Problem.at("file-password-protected", detail=str(exc))
        return Problem.at("file-damaged", detail=str(exc))
    except Exception as exc:  # calamine raises plain errors for broken XML/zip members
        return Problem.at("file-damaged", detail=f"{type(exc).__name__}: {exc}")
    sheets: list[Sheet] = []
    try:
        for meta in wb.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            sheet = wb.get_sheet_by_name(meta.name)
            rows = _decoded(sheet.to_python(skip_empty_area=False))
            sheets.append(Sheet(name=meta.name, rows=rows, uncached=inspection.uncached.get(meta.name, frozenset())))
    except Exception as exc:
        return Problem.at("file-damaged", detail=f"{type(exc).__name__}: {exc}")
    finally:
        wb.close()
    return sheets
