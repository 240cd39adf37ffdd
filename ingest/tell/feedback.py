"""Feedback workbooks: the district's own sheet with every problem cell highlighted and commented.

For each received file with problems, ``reports/feedback/<unit>/<file>.xlsx`` holds:

- the district's sheet, cell for cell at the same addresses, each cell with a problem filled in red
  (errors) or amber (warnings) and carrying a comment with the message in Vietnamese;
- a sheet ``Danh sách lỗi`` listing every problem: severity, rule, sheet, cell, row code, column, value,
  expected, message (vi and en).

A district's sheet keeps its name where Excel allows it; a name Excel does not (``[]:*?/\\``, a control
character, over 31 characters, an apostrophe at either end, the same as another sheet's or as the list's, case
ignored) is changed to the nearest one it does (``sheet_titles``): the list and the messages keep the name as the
district wrote it. A file that could not be read (a ``read`` problem) is not opened again: its workbook is the
list only.

Everything copied from a district's file is written as a string or a number, never as a formula: a
cell that starts with ``=``, ``+``, ``-`` or ``@`` is written with ``write_string`` (which xlsxwriter never
interprets), so opening the workbook cannot execute anything the district typed.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xlsxwriter

from ingest import warehouse
from ingest.catalogue.problems import Problem
from ingest.read import workers as parallel
from ingest.read.reader import Sheet, read_workbook

log = logging.getLogger(__name__)

_A1 = re.compile(r"^([A-Z]+)(\d+)$")
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z._-]+")
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f-\x9f\ufffe\uffff]")
MAX_SHEET_NAME = 31  # UTF-16 units, as Excel counts
MAX_COMMENT = 1000
LIST_SHEET = "Danh sách lỗi"
LIST_COLUMNS = [("severity", "Mức độ", 10), ("rule", "Mã lỗi", 22), ("source_sheet", "Sheet", 14),
                ("source_cell", "Ô", 7), ("row_code", "Mã số", 8), ("measure", "Cột", 14),
                ("value_text", "Giá trị", 14), ("message_vi", "Nội dung (tiếng Việt)", 90),
                ("message_en", "Message (English)", 90)]


def a1_to_index(address: str) -> tuple[int, int]:
    """``G14`` → (13, 6)."""
    m = _A1.match(address)
    if not m:
        raise ValueError(f"not an A1 address: {address!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + (ord(ch) - 64)
    return int(m.group(2)) - 1, col - 1


def safe_file_stem(name: str, fallback: str) -> str:
    """A file name we create from a district's file name: ASCII letters, digits, ``._-`` only
    (``Báo cáo T10.xlsx`` → ``Bao_cao_T10``); never a path."""
    base = Path(name.replace("\\", "/")).stem.replace("đ", "d").replace("Đ", "D")
    ascii_ = "".join(ch for ch in unicodedata.normalize("NFKD", base) if not unicodedata.combining(ch))
    stem = _UNSAFE_NAME.sub("_", ascii_).strip("._")[:80]
    return stem or fallback


def _utf16_prefix(text: str, units: int) -> str:
    """The longest prefix of ``text`` of at most ``units`` UTF-16 code units (Excel's measure of a name)."""
    out, used = [], 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > units:
            break
        out.append(ch)
    return "".join(out)


def sheet_titles(names: Iterable[str], reserved: Iterable[str] = (LIST_SHEET,)) -> dict[str, str]:
    """A valid, unique sheet name for each of ``names`` (Excel's rules; unique case-insensitively among
    themselves and ``reserved``): unchanged where Excel allows it, else the nearest allowed name, numbered
    `` (2)``, `` (3)``… when two would be the same."""
    taken = {r.casefold() for r in reserved}
    titles: dict[str, str] = {}
    for name in dict.fromkeys(names):
        base = _NOT_IN_SHEET_NAME.sub("_", name)
        base = _utf16_prefix(base, MAX_SHEET_NAME).strip("'").strip() or "Sheet"
        title, n = base, 1
        while title.casefold() in taken or title.casefold() == "history":  # Excel reserves History
            n += 1
            suffix = f" ({n})"
            title = _utf16_prefix(base, MAX_SHEET_NAME - len(suffix)).rstrip("'") + suffix
        taken.add(title.casefold())
        titles[name] = title
    return titles


def write_cell(ws: xlsxwriter.worksheet.Worksheet, r: int, c: int, value: object, fmt=None) -> None:
    """A district's value as data: numbers as numbers, everything else as a string (never a formula)."""
    if value is None or value == "":
        if fmt is not None:
            ws.write_blank(r, c, None, fmt)
        return
    if isinstance(value, bool):
        ws.write_boolean(r, c, value, fmt)
    elif isinstance(value, (int, float)) and pd.notna(value):
        ws.write_number(r, c, float(value), fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


@dataclass(frozen=True)
class FeedbackFile:
    path: Path
    sha256: str
    problems: int


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _none_first(value: object) -> tuple[int, str]:
    return (0, "") if _missing(value) else (1, str(value))


def write_feedback(path: Path, sheets: list[Sheet] | None, problems: pd.DataFrame | list[dict]) -> None:
    """One feedback workbook: the district's sheet(s) with problems marked, then the list of problems.

    ``problems``: the file's rows of ``raw.problems`` (a frame, or its records)."""
    records = problems.to_dict("records") if isinstance(problems, pd.DataFrame) else problems
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # in memory: xlsxwriter otherwise writes a temporary file per part of the package, 14 a workbook
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False, "in_memory": True})
    error_fmt = wb.add_format({"bg_color": "#F8B4B4", "border": 2, "border_color": "#C00000"})
    warning_fmt = wb.add_format({"bg_color": "#FFE699", "border": 2, "border_color": "#BF8F00"})
    head_fmt = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "text_wrap": True, "valign": "top"})
    wrap_fmt = wb.add_format({"text_wrap": True, "valign": "top"})
    by_sheet: dict[str, list[dict]] = {}
    for p in records:
        if not _missing(p["source_cell"]) and not _missing(p["source_sheet"]):
            by_sheet.setdefault(p["source_sheet"], []).append(p)
    shown = [sheet for sheet in sheets or [] if sheet.name in by_sheet]
    titles = sheet_titles(sheet.name for sheet in shown)
    for sheet in shown:
        title = titles.pop(sheet.name, None)
        if title is None:  # a second sheet of the same name (a damaged file): the problems are marked on the first
            continue
        ws = wb.add_worksheet(title)
        cells: dict[tuple[int, int], list[dict]] = {}
        for p in by_sheet[sheet.name]:
            cells.setdefault(a1_to_index(p["source_cell"]), []).append(p)
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if (r, c) not in cells:
                    write_cell(ws, r, c, value)
        for (r, c), found in cells.items():
            worst = error_fmt if any(p["severity"] == "error" for p in found) else warning_fmt
            write_cell(ws, r, c, sheet.cell(r, c), worst)
            text = "\n".join(f"[{p['rule']}] {p['message_vi']}" for p in found)[:MAX_COMMENT]
            ws.write_comment(r, c, text, {"x_scale": 3, "y_scale": 2, "author": "sectorstats"})
        ws.set_column(1, 1, 50)
        ws.activate()
    ws = wb.add_worksheet(LIST_SHEET)
    for c, (_, label, width) in enumerate(LIST_COLUMNS):
        ws.write_string(0, c, label, head_fmt)
        ws.set_column(c, c, width)
    ordered = sorted(records, key=lambda p: (_none_first(p["severity"]), _none_first(p["source_sheet"]),
                                             _none_first(p["source_cell"])))
    for r, p in enumerate(ordered, start=1):
        for c, (key, _, _) in enumerate(LIST_COLUMNS):
            value = p[key]
            ws.write_string(r, c, "" if _missing(value) else str(value), wrap_fmt)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(ordered), 1), len(LIST_COLUMNS) - 1)
    if not by_sheet:
        ws.activate()
    wb.close()
    tmp.replace(path)


def feedback_path(root: Path, unit_code: str | None, file_name: str, sha256: str) -> Path:
    folder = unit_code if unit_code and unit_code.isdigit() else "unknown"
    return root / folder / f"{safe_file_stem(file_name, 'file')}_{sha256[:8]}.xlsx"


def write_feedback_files(problems: pd.DataFrame, read_archived: Callable[[str], bytes], root: Path,
                         only_sha256: Iterable[str] | None = None, *, workers: int = 1) -> list[FeedbackFile]:
    """A feedback workbook for every file with problems (or only the given files).

    ``problems`` has the columns of ``raw.problems`` plus ``unit_code``; ``read_archived(sha256)`` returns the
    file's bytes from the archive. Files are written to ``root/<unit>/`` (the sheet's unit, else the folder).
    With ``workers`` > 1 the workbooks are written by worker processes (``read_archived`` must then pickle);
    a workbook a worker could not write in time is logged and left out, the others are written.
    """
    wanted = set(only_sha256) if only_sha256 is not None else None
    by_file: dict[str, list[dict]] = {}
    for p in problems.to_dict("records"):  # once: pandas row access per problem cost more than the writing
        if wanted is None or p["sha256"] in wanted:
            by_file.setdefault(p["sha256"], []).append(p)
    jobs = [(sha, by_file[sha]) for sha in sorted(by_file)]
    run = functools.partial(_write_one, read_archived=read_archived, root=root)
    written = []
    for (sha, _), result in zip(jobs, parallel.map_in_workers(jobs, run, workers=workers), strict=True):
        if isinstance(result, Problem):  # the worker overran its time limit or died
            log.error("feedback workbook for file %s not written: %s %s", sha[:12], result.rule,
                      result.details.get("detail"))
            continue
        written.append(result)
    log.info("feedback: %d workbooks written under %s", len(written), root)
    return written


def _write_one(job: tuple[str, list[dict]], read_archived: Callable[[str], bytes], root: Path) -> FeedbackFile:
    sha, group = job
    first = group[0]
    unit = first.get("unit_code") if isinstance(first.get("unit_code"), str) else first["folder_unit_code"]
    # a file refused when it was read (or that crashed its reader) is not opened again: the list says why
    unreadable = any(p.get("stage") == "read" or p.get("rule") == "internal-error" for p in group)
    sheets = None
    if not unreadable:
        try:
            sheets = read_workbook(read_archived(sha))
        except OSError as exc:  # the archived copy is gone: the list of problems still goes back
            log.error("feedback for file %s: its archived copy cannot be read (%s); the list only", sha[:12], exc)
    path = feedback_path(root, unit, first["file_name"], sha)
    write_feedback(path, None if isinstance(sheets, Problem) else sheets, group)
    return FeedbackFile(path, sha, len(group))


OWED_FOLDER = "feedback_owed"  # in a load package: the problems of earlier files whose workbook is missing


def missing_feedback(con: warehouse.Connection, root: Path, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """The ``raw.problems`` rows (with the file's ``unit_code``) of every loaded file whose feedback workbook is
    not under ``root``, but those in ``exclude``: a feedback step killed before it wrote them, files lost since.
    The load stage records them in its package (it holds the warehouse; the feedback step does not), and the
    feedback step writes them with the load's own."""
    files = warehouse.frame(con, """
        select distinct p.sha256, p.file_name, p.folder_unit_code, s.unit_code
        from raw.problems p left join raw.submissions s on s.sha256 = p.sha256""")
    skip = set(exclude)
    missing = [sha for sha, name, folder, unit in files.itertuples(index=False)
               if sha not in skip and not feedback_path(root, unit if isinstance(unit, str) else folder, name,
                                                        sha).exists()]
    if not missing:
        return pd.DataFrame()
    log.warning("feedback: %d earlier file(s) have no feedback workbook; written with this load's", len(missing))
    return warehouse.frame(con, """
        select p.*, s.unit_code from raw.problems p left join raw.submissions s on s.sha256 = p.sha256
        where p.sha256 in (select unnest(cast(:files as varchar[])))""", {"files": missing})


def feedback_stage(load_id: str) -> dict[str, int | str]:
    """Write a feedback workbook for every file of the load that has problems (``reports/feedback/<unit>/``), and
    for the earlier files whose workbook the load stage found missing (``OWED_FOLDER`` in the package)."""
    from ingest.archive.store import read_archived
    from ingest.package import LoadPackage, read_frames
    from ingest.settings import data_dir, reports_dir

    package = LoadPackage(load_id)
    problems = package.problems()
    owed_folder = package.folder / OWED_FOLDER
    owed = (read_frames(owed_folder, "problems")["problems"] if (owed_folder / "problems.parquet").exists()
            else pd.DataFrame())
    if problems.empty and owed.empty:
        return {"load_id": load_id, "feedback_files": 0}
    if not problems.empty:
        submissions, _ = package.parsed_frames()
        units = submissions.set_index("sha256")["unit_code"]
        problems = problems.assign(unit_code=problems["sha256"].map(units))
    problems = pd.concat([f for f in (problems, owed) if not f.empty], ignore_index=True)
    written = write_feedback_files(problems, functools.partial(read_archived, data_dir=data_dir()),
                                   reports_dir() / "feedback", workers=parallel.default_workers())
    return {"load_id": load_id, "feedback_files": len(written)}
