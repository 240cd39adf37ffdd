"""Opening a received file as a workbook of cell grids, with python-calamine.

The format is decided from the bytes, never from the file name (districts name files anything).
A file that cannot be opened is a :class:`~ingest.catalogue.problems.Problem`, not an exception that stops
the run. Before calamine sees the bytes, :mod:`ingest.read.safety` checks them against the limits
of :mod:`ingest.read.limits` (size, decompression bombs, XML entities, giant sheets, encryption).
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

from ingest.catalogue.problems import Problem
from ingest.read.legacy_fonts import to_unicode
from ingest.read.limits import Limits, current_limits
from ingest.read.safety import Refused, inspect_workbook

log = logging.getLogger(__name__)

# Signatures of the containers calamine reads: OOXML/ODS are zip files, .xls is an OLE2 compound file.
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

Grid = list[list[object]]


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: Grid  # absolute positions: rows[r][c] is the cell at zero-based (r, c)
    # zero-based (r, c) of formula cells with no cached value (calamine reads them as empty): xlsx/xlsm/ods
    uncached: frozenset[tuple[int, int]] = frozenset()

    def cell(self, r: int, c: int) -> object:
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return None


def looks_like_spreadsheet(data: bytes) -> bool:
    return data.startswith(_ZIP) or data.startswith(_OLE2)


def _zip_is_workbook(data: bytes) -> bool | None:
    """True for an OOXML or ODS package, False for another zip (a .docx, an archive), None if unreadable."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                return zf.read("mimetype").startswith(b"application/vnd.oasis.opendocument.spreadsheet")
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return any(n.startswith("xl/") for n in names)


def read_workbook(data: bytes, limits: Limits | None = None) -> list[Sheet] | Problem:
    """Every worksheet of the file, in workbook order, or why it could not be read.

    Text typed in a legacy Vietnamese font (TCVN3, VNI) is decoded to Unicode cell by cell, so labels,
    the unit and the period are found whatever font the district's office still uses."""
    try:
        inspection = inspect_workbook(data, limits or current_limits())
    except Refused as r:
        log.info("refused before reading: %s", r)
        return r.problem
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError as exc:
        return Problem.at("file-password-protected", detail=str(exc))
    except CalamineError as exc:
        # An OLE2 file that calamine cannot read is usually an encrypted (password) OOXML package
        if data.startswith(_OLE2) and "password" in str(exc).lower():
            return Problem.at("file-password-protected", detail=str(exc))
        if data.startswith(_ZIP) and _zip_is_workbook(data) is False:
            return Problem.at("file-not-spreadsheet", detail="a zip package that holds no workbook")
        if data.startswith(_OLE2) and "detect file format" in str(exc):  # a Word .doc, an Outlook .msg
            return Problem.at("file-not-spreadsheet", detail=str(exc))
        return Problem.at("file-damaged", detail=str(exc))
    except Exception as exc:  # calamine raises plain errors for broken XML/zip members
        return Problem.at("file-damaged", detail=f"{type(exc).__name__}: {exc}")
    sheets: list[Sheet] = []
    try:
        for meta in wb.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            sheet = wb.get_sheet_by_name(meta.name)
            rows = [[to_unicode(c) if isinstance(c, str) and c else c for c in row]
                    for row in sheet.to_python(skip_empty_area=False)]
            sheets.append(Sheet(name=meta.name, rows=rows, uncached=inspection.uncached.get(meta.name, frozenset())))
    except Exception as exc:
        return Problem.at("file-damaged", detail=f"{type(exc).__name__}: {exc}")
    finally:
        wb.close()
    return sheets
