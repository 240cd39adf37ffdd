"""The parse stage: every archived file the load takes, read in worker processes and parsed into the package.

The ingest DAG runs it as three tasks — **plan** (which files, in chunks), **parse** (mapped over the chunks: never a
task per file) and **merge** (the chunks into the package's ``parsed/``); :func:`parse_stage` does the three in one
call for the command line and the tests.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from dataclasses import replace

import pandas as pd

from ingest import warehouse
from ingest.archive import store
from ingest.catalogue import Catalogue, load_catalogue
from ingest.catalogue.problems import Problem, ReceivedFile, problem_rows
from ingest.package import (
    OBSERVATION_COLUMNS,
    PARSED_COLUMNS,
    PROBLEM_COLUMNS,
    LoadPackage,
    StageError,
    read_frames,
    write_folder,
)
from ingest.parse.file_name import report_named
from ingest.parse.parser import Observation, ParsedSubmission, parse_sheets
from ingest.read.reader import read_workbook
from ingest.read.workers import parse_paths
from ingest.settings import count_setting, data_dir
from ingest.warehouse import sql_path

log = logging.getLogger(__name__)

PARSER_VERSION = 1
"""The version of reading and parsing. Bump it after a change to either: the next run parses every archived file
again, from the archive (alert and problem ids are stable, so nobody is told twice)."""


def period_range(first: str | None, last: str | None) -> tuple[dt.date, dt.date] | None:
    """``("2024-01", "2024-06")`` → the first days of those months; None when neither is given. Either end may
    be left open."""
    if not first and not last:
        return None

    def month(text: str) -> dt.date:
        try:
            return dt.datetime.strptime(text.strip(), "%Y-%m").date()
        except ValueError as exc:
            raise ValueError(f"period {text!r} is not a month (YYYY-MM)") from exc

    start, end = month(first) if first else dt.date(1900, 1, 1), month(last) if last else dt.date(9999, 12, 1)
    if start > end:
        raise ValueError(f"period range {first} … {last} is empty")
    return start, end


def pending_files(con: warehouse.Connection, reprocess: bool = False,
                  periods: tuple[dt.date, dt.date] | None = None) -> pd.DataFrame:
    """The first arrival of every file content not yet parsed by this parser version; to reprocess, all of them,
    or those whose report is for a period starting within ``periods`` (first days of months, inclusive)."""
    params: dict[str, object] = {}
    if not reprocess:
        condition = f"and sha256 not in (select sha256 from raw.submissions where parser_version >= {PARSER_VERSION:d})"
    elif periods is None:
        condition = ""
    else:
        condition = "and sha256 in (select sha256 from raw.submissions where period_start between :first and :last)"
        params = {"first": periods[0], "last": periods[1]}
    return warehouse.frame(con, f"""
        select sha256, file_name, folder_unit_code, received_at
        from (select *, row_number() over (partition by sha256 order by received_at, arrival_id) as n
              from raw.arrivals) first_arrival
        where n = 1 {condition}
        order by received_at, sha256
    """, params)


def parse_file(data: bytes, catalogue: Catalogue) -> ParsedSubmission | Problem:
    """Read and parse one file. A bug of ours on a strange file is recorded on that file (``internal-error``)
    and logged with its traceback; it never stops the run, and the file is parsed again by ``--reprocess``."""
    try:
        sheets = read_workbook(data)
        if isinstance(sheets, Problem):
            return sheets
        return parse_sheets(sheets, catalogue)
    except MemoryError:
        raise  # the file is too complex to read within the worker's memory cap: the worker says so
    except Exception as exc:
        log.exception("parser failed on a file of %d bytes", len(data))
        return Problem.at("internal-error", detail=f"{type(exc).__name__}: {exc}")


def _parse_with_catalogue(data: bytes) -> tuple[str | None, ParsedSubmission] | Problem:
    """``parse_file`` with the catalogue, by name, so worker processes can be handed it. The form goes back as
    its code (the parent holds the same catalogue): pickled, it was most of every result's bytes."""
    parsed = parse_file(data, load_catalogue())
    if isinstance(parsed, Problem):
        return parsed
    code = parsed.form.code if parsed.form is not None else None
    parsed.form = None
    return code, parsed


def _with_form(result: tuple[str | None, ParsedSubmission] | Problem,
               catalogue: Catalogue) -> ParsedSubmission | Problem:
    if isinstance(result, Problem):  # the file's own failure, or the worker's (timeout, crash)
        return result
    code, parsed = result
    parsed.form = catalogue.form(code) if code is not None else None
    return parsed


def parse_chunk_size() -> int:
    """Files per parse chunk (``SECTORSTATS_PARSE_CHUNK``, default 10,000): the unit the ingest DAG maps its
    parse task over, so that several workers can share a large backlog; each chunk starts its own parse worker
    processes (~1.5 s of CPU each), so a chunk is large."""
    return count_setting("SECTORSTATS_PARSE_CHUNK", 10_000)


def plan_parse(load_id: str, *, reprocess: bool = False, periods: tuple[dt.date, dt.date] | None = None,
               chunk_size: int | None = None) -> list[int]:
    """Choose the files this load parses (see :func:`pending_files`) and split them into chunks; returns the
    chunk numbers (at least one, possibly empty, so the stages after it always run)."""
    load_catalogue()  # a broken catalogue fails here, before any file
    size = chunk_size or parse_chunk_size()
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        pending = pending_files(con, reprocess, periods)
    pending = pending.assign(chunk=[i // size for i in range(len(pending))])
    package = LoadPackage(load_id)
    shutil.rmtree(package.folder, ignore_errors=True)  # a re-planned load starts afresh
    package.folder.mkdir(parents=True)
    tmp = package.plan_file.with_name(package.plan_file.name + ".tmp")
    with warehouse.scratch() as con:
        con.register("plan", pending)
        con.execute(f"copy (select * from plan) to '{sql_path(tmp)}' (format parquet)")
    os.replace(tmp, package.plan_file)
    chunks = max(1, -(-len(pending) // size))
    log.info("parse plan of %s: %d files in %d chunk(s) of up to %d", load_id, len(pending), chunks, size)
    return list(range(chunks))


def _read_plan(package: LoadPackage, chunk: int | None = None) -> pd.DataFrame:
    if not package.plan_file.exists():
        raise StageError("parse", package.load_id, f"no parse plan at {package.plan_file}")
    where = "" if chunk is None else f"where chunk = {int(chunk)}"
    with warehouse.scratch() as con:
        return con.execute(f"select * from read_parquet('{sql_path(package.plan_file)}') {where} "
                           "order by received_at, sha256").df()


def parse_chunk(load_id: str, chunk: int, *, progress: bool = False, workers: int | None = None) -> dict[str, int]:
    """Parse one chunk of the plan into its part of the load package. Reads only the archive (never the
    warehouse), so chunks can run at the same time on different workers; a retried chunk rewrites its part.

    ``workers`` (default ``SECTORSTATS_PARSE_WORKERS``, else the CPUs): processes parsing files, each file
    under the time limit of :mod:`ingest.read.limits`; 1 parses in this process, with no time limit."""
    package = LoadPackage(load_id)
    pending = _read_plan(package, chunk)
    subs, obs, problems = [], [], []
    rows = pending.itertuples(index=False)
    if progress:
        from tqdm import tqdm
        rows = tqdm(rows, total=len(pending), desc=f"parse {chunk}", unit="file")
    paths = [data_dir() / store.archive_relpath(sha) for sha in pending["sha256"]]
    catalogue = load_catalogue()
    results = parse_paths(paths, _parse_with_catalogue, workers=workers)
    for f, parsed in zip(rows, (_with_form(r, catalogue) for r in results), strict=True):
        record, numbers, found = file_result(f.sha256, f.file_name, f.folder_unit_code, f.received_at, parsed,
                                             catalogue)
        subs.append(record)
        obs.extend(numbers)
        problems.extend(found)
    counts = write_folder(package.part(chunk), package_frames(subs, obs, problems))
    return {"chunk": chunk, "files": counts["submissions"], "observations": counts["observations"],
            "problems": counts["problems"]}


def file_result(sha256: str, file_name: str, folder_unit_code: str, received_at: dt.datetime,
                parsed: ParsedSubmission | Problem, catalogue: Catalogue) -> tuple[dict, list[tuple], list[Problem]]:
    """What one read file adds to the load package: its ``submissions`` record, its numbers (rows of
    ``observations``: the submission id, then an :class:`Observation`) and its problems. The parse stage and the
    upload page's preview (:mod:`ingest.doors.upload.preview`) both build a file's frames with it."""
    record = {"sha256": sha256, "file_name": file_name, "folder_unit_code": folder_unit_code,
              "received_at": received_at, "unit_code": None, "form_code": None, "form_version": None,
              "period_type": None, "period_start": None, "source_sheet": None, "submission_id": None}
    obs: list[tuple] = []
    problems: list[Problem] = []
    if isinstance(parsed, Problem):
        problems.append(parsed.of_file(sha256))
    else:
        sid = sha256[:16] if parsed.identified else None
        if parsed.form is not None:
            record.update(form_code=parsed.form.code, period_type=parsed.form.period_type,
                          form_version=parsed.form_version or parsed.form.version)
        record.update(submission_id=sid, unit_code=parsed.unit_code, period_start=parsed.period_start,
                      source_sheet=parsed.sheet)
        if sid:
            obs.extend((sid, *o) for o in parsed.observations)
        form = {"form": parsed.form.code if parsed.form else ""}  # every parse message may name the form
        problems.extend(replace(p, details={**form, **p.details}, sha256=sha256) for p in parsed.problems)
    if record["submission_id"] is None:
        record.update(claims(file_name, folder_unit_code, received_at,
                             None if isinstance(parsed, Problem) else parsed, catalogue))
    return record, obs, problems


def package_frames(records: list[dict], observations: list[tuple], problems: list[Problem]) -> dict[str, pd.DataFrame]:
    """The ``submissions``, ``observations`` and ``problems`` frames of a part of the load package, from what
    :func:`file_result` gave for each file (one record per file content)."""
    files = {r["sha256"]: ReceivedFile(r["file_name"], r["folder_unit_code"], r["submission_id"]) for r in records}
    frame = pd.DataFrame(observations, columns=["submission_id", *Observation._fields])[OBSERVATION_COLUMNS]
    return {"submissions": _submission_frame(records), "observations": frame.astype({"value": "float64"}),
            "problems": problem_frame(problems, files)}


def claims(file_name: str, folder_unit_code: str, received_at: dt.datetime, parsed: ParsedSubmission | None,
           catalogue: Catalogue) -> dict[str, object]:
    """For a file that could not be identified: the report it appears to be for, so the calendar can tell its
    unit sent something (received, could not be read) instead of nothing. The unit is the one its sheet names,
    else the folder's; the form and period are those a sheet says, else those of its name; never the numbers."""
    unit = parsed.unit_code if parsed and parsed.unit_code else folder_unit_code
    form = parsed.form if parsed else None
    period = parsed.period_start if parsed else None
    if form is None or period is None:
        named_form, named_period = report_named(file_name, pd.Timestamp(received_at).to_pydatetime(), catalogue)
        if form is None:
            form, period = named_form, period or (named_period if named_form else None)
        elif named_form == form:
            period = period or named_period
    known = catalogue.unit(unit) is not None and form is not None and period is not None
    return {"claimed_unit_code": unit if known else None, "claimed_form_code": form.code if known else None,
            "claimed_period_start": period if known else None}


def merge_parts(load_id: str) -> dict[str, int | str]:
    """Gather the parsed chunks of the plan into the package's ``parsed/``, which the later stages read. The
    numbers go from the parts' files to the package's by DuckDB, in chunk order, never all in memory at once."""
    package = LoadPackage(load_id)
    chunks = sorted(set(_read_plan(package)["chunk"])) or [0]
    submissions, problems, obs_files = [], [], []
    for chunk in chunks:
        folder = package.part(chunk)
        if not (folder / "submissions.parquet").exists():
            raise StageError("parse", load_id, f"chunk {chunk} was not parsed (no {folder})")
        frames = read_frames(folder, "submissions", "problems")
        submissions.append(frames["submissions"])
        problems.append(frames["problems"])
        obs_files.append(folder / "observations.parquet")
    columns = ", ".join(OBSERVATION_COLUMNS)
    numbered = " union all ".join(
        f"select {columns}, {i} as _part, file_row_number as _row "
        f"from read_parquet('{sql_path(f)}', file_row_number = true)" for i, f in enumerate(obs_files))
    subs = _concat(submissions, _submission_frame([]))
    counts = package.write_parsed(subs, f"select {columns} from ({numbered}) order by _part, _row",
                                  _concat(problems, problem_frame([], {})))
    identified = int(subs["submission_id"].notna().sum())
    log.info("parse: %d files, %d identified, %d numbers, %d problems", counts["submissions"], identified,
             counts["observations"], counts["problems"])
    return {"load_id": load_id, "files": counts["submissions"], "identified": identified,
            "observations": counts["observations"], "problems": counts["problems"]}


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty


def parse_stage(load_id: str, *, reprocess: bool = False, progress: bool = False,
                workers: int | None = None, periods: tuple[dt.date, dt.date] | None = None,
                chunk_size: int | None = None) -> dict[str, int | str]:
    """Read every pending file from the archive into the package (with ``reprocess``: every archived file, or
    those of the reports for ``periods``, see :func:`pending_files`): plan, every chunk, merge — what the DAG does
    in separate (mapped) tasks."""
    for chunk in plan_parse(load_id, reprocess=reprocess, periods=periods, chunk_size=chunk_size):
        parse_chunk(load_id, chunk, progress=progress, workers=workers)
    return merge_parts(load_id)


def _submission_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=[c for c in PARSED_COLUMNS if c != "parser_version"])
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame["claimed_period_start"] = pd.to_datetime(frame["claimed_period_start"])
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    frame["parser_version"] = PARSER_VERSION
    for col in ("submission_id", "unit_code", "form_code", "form_version", "period_type", "source_sheet",
                "claimed_unit_code", "claimed_form_code"):
        frame[col] = frame[col].astype("object")
    return frame


def problem_frame(problems: list[Problem], files: dict[str, ReceivedFile]) -> pd.DataFrame:
    """The package's problems file: the rows of ``raw.problems`` (without the load id)."""
    return pd.DataFrame(problem_rows(problems, files), columns=PROBLEM_COLUMNS).astype("object")
