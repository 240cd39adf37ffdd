"""Builders of office files for the reader tests: every hostile or unusual file is made by code, never committed.

- ``xlsx`` / ``rewrite_zip``: an xlsxwriter workbook, and a copy of a zip with members changed;
- ``cfb``: a minimal OLE2 compound file (version 3) holding the given streams, as Office lays them out:
  streams under 4096 bytes in the mini stream, the others in regular sectors;
- ``bomb_zip``: a zip whose member inflates to ``size`` zero bytes, compressed by streaming (~1 KB per MB);
- ``ods``: an OpenDocument spreadsheet from rows of values, with repeats and merged cells, via odfpy;
- ``xlsx_as_xls`` / ``xlsx_as_ods``: the same cells and merged ranges written as .xls (xlwt) and .ods;
- ``as_cp1258``: text as Vietnamese Windows saves it (a CSV or a web page in Windows-1258).
"""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
from collections.abc import Callable

import openpyxl
import xlsxwriter
import xlwt

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END, _FREE, _FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def xlsx(build: Callable[[xlsxwriter.Workbook], object]) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    build(wb)
    wb.close()
    return buf.getvalue()


def rewrite_zip(data: bytes, change: Callable[[str, bytes], bytes | None],
                add: dict[str, bytes] | None = None) -> bytes:
    """A copy of the zip ``data`` with each member replaced by ``change(name, bytes)`` (None drops it)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            new = change(name, src.read(name))
            if new is not None:
                dst.writestr(name, new)
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def bomb_zip(size: int, member: str = "xl/worksheets/sheet1.xml", base: bytes | None = None) -> bytes:
    """``base`` (an xlsx) with ``member`` replaced by ``size`` bytes of zeros, deflated in 1 MB steps."""
    base = base or xlsx(lambda wb: wb.add_worksheet("S").write_number(0, 0, 1))
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name == member:
                continue
            dst.writestr(name, src.read(name))
        info = zipfile.ZipInfo(member)
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=size > 0xFFFFFFFF) as w:
            zeros = bytes(1 << 20)
            for _ in range(size >> 20):
                w.write(zeros)
            w.write(bytes(size & ((1 << 20) - 1)))
    return out.getvalue()


def patch_declared_size(data: bytes, member: str, declared: int) -> bytes:
    """Make the local and central headers of ``member`` lie about its unpacked size (and keep its CRC)."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo(member)
    buf = bytearray(data)
    struct.pack_into("<I", buf, info.header_offset + 22, declared)
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len] == member.encode():
            struct.pack_into("<I", buf, pos + 24, declared)
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    return bytes(buf)


# --- OLE2 compound files --------------------------------------------------------------------------------------


def _sectors(data: bytes, size: int) -> list[bytes]:
    data += b"\0" * (-len(data) % size)
    return [data[i:i + size] for i in range(0, len(data), size)]


def cfb(streams: dict[str, bytes]) -> bytes:
    """A version-3 compound file with ``streams`` in its root storage ([MS-CFB], 512-byte sectors)."""
    names = sorted(streams, key=lambda n: (len(n), n.upper()))  # the directory's sort order
    small = [n for n in names if len(streams[n]) < 4096]
    big = [n for n in names if len(streams[n]) >= 4096]
    mini, minifat, mini_start = b"", [], {}
    for n in small:
        mini_start[n] = len(mini) // 64 if streams[n] else _END
        count = len(_sectors(streams[n], 64))
        minifat += [len(minifat) + i + 1 for i in range(count - 1)] + ([_END] if count else [])
        mini += b"".join(_sectors(streams[n], 64))
    n_dir = len(_sectors(b"\0" * 128 * (len(names) + 1), 512))
    n_minifat = len(_sectors(struct.pack(f"<{len(minifat)}I", *minifat), 512)) if minifat else 0
    n_mini = len(_sectors(mini, 512)) if mini else 0
    n_big = sum(len(_sectors(streams[n], 512)) for n in big)
    n_fat = 1
    while n_fat * 128 < n_fat + n_dir + n_minifat + n_mini + n_big:
        n_fat += 1
    fat: list[int] = [_FATSECT] * n_fat
    body: list[bytes] = []

    def chain(blocks: list[bytes]) -> int:
        if not blocks:
            return _END
        start = len(fat)
        fat.extend([start + i + 1 for i in range(len(blocks) - 1)] + [_END])
        body.extend(blocks)
        return start

    def entry(name: str, kind: int, start: int, size: int, child: int = _FREE, right: int = _FREE) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1, _FREE, right, child)
                + b"\0" * 36 + struct.pack("<IQ", start, size))

    dir_start = chain([b""] * n_dir)  # filled in below, once the streams' start sectors are known
    minifat_start = chain(_sectors(struct.pack(f"<{len(minifat)}I", *minifat), 512)) if minifat else _END
    mini_stream_start = chain(_sectors(mini, 512)) if mini else _END
    starts = {n: chain(_sectors(streams[n], 512)) for n in big}
    starts.update(mini_start)
    entries = [entry("Root Entry", 5, mini_stream_start, len(mini), child=1 if names else _FREE)]
    for i, n in enumerate(names):
        entries.append(entry(n, 2, starts[n], len(streams[n]), right=i + 2 if i + 1 < len(names) else _FREE))
    directory = b"".join(e.ljust(128, b"\0") for e in entries)
    body[:n_dir] = _sectors(directory, 512)
    fat += [_FREE] * (-len(fat) % 128)
    fat_blocks = _sectors(struct.pack(f"<{len(fat)}I", *fat), 512)[:n_fat]
    difat = list(range(n_fat)) + [_FREE] * (109 - n_fat)
    header = (OLE2 + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, n_fat, dir_start, 0, 4096, minifat_start, n_minifat, _END, 0)
              + struct.pack("<109I", *difat))
    return header + b"".join(fat_blocks) + b"".join(body)


# --- xls and ods --------------------------------------------------------------------------------------------


def xls(build: Callable[[xlwt.Workbook], object]) -> bytes:
    wb = xlwt.Workbook(encoding="utf-8")
    build(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def biff_records(stream: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos + 4 <= len(stream):
        typ, length = struct.unpack_from("<HH", stream, pos)
        out.append((typ, stream[pos + 4:pos + 4 + length]))
        pos += 4 + length
    return out


def biff_join(records: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack("<HH", t, len(b)) + b for t, b in records)


def xls_stream(data: bytes) -> bytes:
    from ingest.read.cfb import CompoundFile

    f = CompoundFile(data)
    entry = f.find("Workbook")
    assert entry is not None
    return f.read(entry, len(data))


def with_filepass(data: bytes) -> bytes:
    """An .xls whose globals carry an RC4 FILEPASS record, as Excel writes for a workbook with a password."""
    records = biff_records(xls_stream(data))
    filepass = (0x002F, struct.pack("<HHH", 1, 1, 1) + bytes(48))
    delta = 4 + len(filepass[1])
    fixed = [(t, struct.pack("<I", struct.unpack_from("<I", b)[0] + delta) + b[4:]) if t == 0x0085 else (t, b)
             for t, b in records]
    return cfb({"Workbook": biff_join([fixed[0], filepass, *fixed[1:]])})


def xlsx_as_xls(data: bytes) -> bytes:
    """The cells (values, not formulas) and merged ranges of every sheet of an xlsx, written by xlwt."""
    src = openpyxl.load_workbook(io.BytesIO(data), data_only=True)

    def build(wb: xlwt.Workbook) -> None:
        for ws in src.worksheets:
            out = wb.add_sheet(ws.title)
            merged = {(r.min_row, r.min_col): r for r in ws.merged_cells.ranges}
            covered = {(row, col) for r in ws.merged_cells.ranges for row in range(r.min_row, r.max_row + 1)
                       for col in range(r.min_col, r.max_col + 1)}
            for row in ws.iter_rows():
                for cell in row:
                    key = (cell.row, cell.column)
                    if key in merged:
                        r = merged[key]
                        out.write_merge(r.min_row - 1, r.max_row - 1, r.min_col - 1, r.max_col - 1, cell.value)
                    elif key not in covered and cell.value is not None:
                        out.write(cell.row - 1, cell.column - 1, cell.value)

    return xls(build)


def ods(sheets: dict[str, list[list[object]]], merged: dict[str, list[tuple[int, int, int, int]]] | None = None,
        formulas: dict[str, dict[tuple[int, int], tuple[str, float | None]]] | None = None) -> bytes:
    """An .ods with ``sheets`` (rows of values: numbers, strings or None), ``merged`` ranges
    (first row, first col, last row, last col; zero-based), and ``formulas`` by cell: (formula, cached value).
    Runs of empty cells and rows are written with repeat counts, as LibreOffice does."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        spans = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for r0, c0, r1, c1 in (merged or {}).get(name, [])}
        covered = {(r, c) for r0, c0, r1, c1 in (merged or {}).get(name, []) for r in range(r0, r1 + 1)
                   for c in range(c0, c1 + 1)} - set(spans)
        cell_formulas = (formulas or {}).get(name, {})
        blank_rows = 0
        for r, values in enumerate(rows):
            if all(v is None for v in values) and not any((r, c) in covered or (r, c) in cell_formulas
                                                           for c in range(len(values))):
                blank_rows += 1
                continue
            if blank_rows:
                table.addElement(TableRow(numberrowsrepeated=blank_rows))
                blank_rows = 0
            tr = TableRow()
            for c, v in enumerate(values):
                attrs: dict[str, object] = {}
                if (r, c) in spans:
                    attrs["numberrowsspanned"], attrs["numbercolumnsspanned"] = spans[(r, c)]
                if (r, c) in covered:
                    tr.addElement(CoveredTableCell())
                    continue
                if (r, c) in cell_formulas:
                    formula, cached = cell_formulas[(r, c)]
                    attrs["formula"] = formula
                    if cached is not None:
                        attrs.update(valuetype="float", value=cached)
                    tc = TableCell(**attrs)
                elif isinstance(v, bool) or v is None:
                    tc = TableCell(**attrs)
                elif isinstance(v, int | float):
                    tc = TableCell(valuetype="float", value=v, **attrs)
                    tc.addElement(P(text=str(v)))
                else:
                    tc = TableCell(valuetype="string", **attrs)
                    tc.addElement(P(text=str(v)))
                tr.addElement(tc)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def xlsx_as_ods(data: bytes) -> bytes:
    """The cells (values) and merged ranges of every sheet of an xlsx, written as .ods."""
    src = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    sheets, merged = {}, {}
    for ws in src.worksheets:
        rows = [[cell.value for cell in row] for row in ws.iter_rows()]
        sheets[ws.title] = rows
        merged[ws.title] = [(r.min_row - 1, r.min_col - 1, r.max_row - 1, r.max_col - 1)
                            for r in ws.merged_cells.ranges]
    return ods(sheets, merged)


def ods_repeated(name: str, rows: list[tuple[int, list[tuple[object, int]]]]) -> bytes:
    """An .ods of one sheet given as (rows repeated, [(value or None, columns repeated), …]) runs, the way
    LibreOffice compresses empty areas; a hostile file repeats a value instead."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name=name)
    for row_repeat, cells in rows:
        tr = TableRow(numberrowsrepeated=row_repeat) if row_repeat > 1 else TableRow()
        for value, col_repeat in cells:
            attrs: dict[str, object] = {"numbercolumnsrepeated": col_repeat} if col_repeat > 1 else {}
            if value is None:
                tr.addElement(TableCell(**attrs))
                continue
            tc = TableCell(valuetype="float", value=value, **attrs)
            tc.addElement(P(text=str(value)))
            tr.addElement(tc)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # the only combining marks Windows-1258 has


def as_cp1258(text: str) -> bytes:
    """Windows-1258 has â ê ô ơ ư ă đ precomposed and the five tone marks as combining characters (no code for most
    precomposed toned letters): each letter is written as its base with the other marks, then its tone mark."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in _TONE_MARKS)
        out.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS)) + tones)
    return "".join(out).encode("cp1258")
