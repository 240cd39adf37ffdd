"""The ingest stages, each runnable alone and idempotent: archive → parse → validate → load.

Stages hand data to each other through a *load package* on disk (``packages/<load_id>/*.parquet``),
never through Airflow XCom, so a retried task reads the same input and a failed load can be re-run
from its package. The load replaces the rows of every file it carries (keyed by sha256), so loading
the same package twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ingest import warehouse
from ingest.archive import store as archive
from ingest.catalogue import Catalogue, load_catalogue
from ingest.catalogue.problems import Problem, ReceivedFile, problem_rows
from ingest.check.validate import Validator, validate_batch
from ingest.parse.parser import Observation, ParsedSubmission, parse_sheets
from ingest.read import workers as parallel
from ingest.read.reader import read_workbook
from ingest.settings import data_dir, inbox_location, reports_dir
from ingest.warehouse import sql_path
from ingest.warehouse.tables import table

log = logging.getLogger(__name__)

PARSER_VERSION = 1

# The package's columns: those of the raw tables (ingest/warehouse/tables.py) but what a later stage adds
PARSED_COLUMNS = table("raw.submissions").names_except("status", "n_errors", "n_warnings", "version",
                                                      "parser_version", "load_id")
OBSERVATION_COLUMNS = table("raw.observations").names_except("load_id")
PROBLEM_COLUMNS = table("raw.problems").names_except("load_id")


class StageError(RuntimeError):
    """A stage failed; names the stage and the load so the run can be resumed from the package."""

    def __init__(self, stage: str, load_id: str, message: str) -> None:
        super().__init__(f"{stage} stage of load {load_id}: {message}")
        self.stage, self.load_id = stage, load_id


@dataclass
class Package:
    """The data one load carries from parse to load, as parquet files in ``packages/<load id>/``.

    ``observations`` may be left on disk (``None``): at national scale they are millions of rows, which the
    later stages stream through DuckDB (:func:`observations_file`) rather than hold in pandas."""

    load_id: str
    submissions: pd.DataFrame
    observations: pd.DataFrame | None
    problems: pd.DataFrame

    @staticmethod
    def path(load_id: str) -> Path:
        if not load_id or any(ch in load_id for ch in "/\\") or load_id.startswith("."):
            raise ValueError(f"invalid load id {load_id!r}")
        return data_dir() / "packages" / load_id

    def write(self, folder: Path | None = None, *, observations_sql: str | None = None) -> Path:
        """Write the package (or, given ``folder``, a part of it) atomically: a temporary folder renamed.

        Without an observations frame, ``observations_sql`` (a DuckDB query, e.g. over the parts' files or the
        previous version of the package) is copied into the package's file without passing through Python."""
        folder = folder or self.path(self.load_id)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        con = warehouse.scratch()
        try:
            for name in ("submissions", "observations", "problems"):
                frame = getattr(self, name)
                if frame is None:
                    if observations_sql is None:
                        raise ValueError("a package without an observations frame needs observations_sql")
                    con.execute(f"copy ({observations_sql}) to '{sql_path(tmp / name)}.parquet' (format parquet)")
                    continue
                con.register("frame", frame)
                con.execute(f"copy (select * from frame) to '{sql_path(tmp / name)}.parquet' (format parquet)")
                con.unregister("frame")
            if self.observations is not None:
                n_obs = len(self.observations)
            else:
                obs_path = sql_path(tmp / "observations.parquet")
                n_obs = con.execute(f"select count(*) from read_parquet('{obs_path}')").fetchone()[0]
        finally:
            con.close()
        (tmp / "manifest.json").write_text(json.dumps({
            "load_id": self.load_id, "submissions": len(self.submissions),
            "observations": int(n_obs), "problems": len(self.problems),
        }), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        return folder

    @classmethod
    def read(cls, load_id: str, *, observations: bool = True) -> Package:
        folder = cls.path(load_id)
        if not (folder / "manifest.json").exists():
            raise StageError("read-package", load_id, f"no load package at {folder}")
        return cls.read_folder(load_id, folder, observations=observations)

    @classmethod
    def read_folder(cls, load_id: str, folder: Path, *, observations: bool = True) -> Package:
        con = warehouse.scratch()
        try:
            frames = {name: con.execute(f"select * from read_parquet('{sql_path(folder / name)}.parquet')").df()
                      for name in ("submissions", "observations", "problems") if observations or name != "observations"}
        finally:
            con.close()
        return cls(load_id=load_id, **{"observations": None, **frames})

    def manifest(self) -> dict[str, int | str]:
        return json.loads((self.path(self.load_id) / "manifest.json").read_text(encoding="utf-8"))


def observations_file(load_id: str) -> Path:
    """The package's observations, for DuckDB's ``read_parquet``."""
    return Package.path(load_id) / "observations.parquet"


def new_load_id(run_id: str | None = None, now: dt.datetime | None = None) -> str:
    """A load id safe as a folder name: from the Airflow run id when there is one."""
    base = run_id or f"manual__{(now or dt.datetime.now(dt.UTC)):%Y%m%dT%H%M%S%f}"
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in base).lstrip(".")


# --- archive --------------------------------------------------------------------------------------

def archive_stage(load_id: str, inbox: Path | None = None) -> dict[str, int | str]:
    """Archive what is new in the inbox (local, or ``SECTORSTATS_INBOX_URL``) and record each arrival in
    ``raw.arrivals``."""
    inbox = inbox or inbox_location()
    root = data_dir()
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        known_rows = warehouse.execute(
            con, "select folder_unit_code, file_name, size_bytes, mtime_ns, sha256 from raw.arrivals").fetchall()
        known = {(f, n, int(s), int(m)): h for f, n, s, m, h in known_rows}
        known_sha = {h for *_, h in known_rows}
        arrivals, seen = archive.archive_inbox(inbox, root, known, known_sha)
        frame = pd.DataFrame([a.__dict__ for a in arrivals],
                             columns=list(archive.Arrival.__dataclass_fields__))
        frame["load_id"] = load_id
        warehouse.insert_frame(con, "raw.arrivals", frame)
        warehouse.execute(con, "delete from raw.loads where load_id = :load_id", {"load_id": load_id})
        warehouse.execute(con, """insert into raw.loads (load_id, started_at, files_seen, files_new)
                                  values (:load_id, :started_at, :seen, :new)""",
                          {"load_id": load_id, "started_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                           "seen": seen, "new": len(arrivals)})
    log.info("archive: %d files in the inbox, %d new arrivals (%d duplicates)", seen, len(arrivals),
             sum(a.is_duplicate for a in arrivals))
    return {"load_id": load_id, "files_seen": seen, "files_new": len(arrivals),
            "duplicates": sum(a.is_duplicate for a in arrivals)}


# --- parse ----------------------------------------------------------------------------------------

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
    or those whose report is for a period starting within ``periods`` (first days of months, inclusive).

    Bumping ``PARSER_VERSION`` after a change to reading or parsing makes the next run parse every archived
    file again, from the archive; alert and problem ids are stable, so nobody is told twice."""
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
    return _count_setting("SECTORSTATS_PARSE_CHUNK", 10_000)


def _count_setting(name: str, default: int) -> int:
    value = int(os.environ.get(name, str(default)))
    if value < 1:
        raise ValueError(f"{name}={value} must be at least 1")
    return value


def _plan_path(load_id: str) -> Path:
    return Package.path(load_id).with_name(f"{load_id}.plan.parquet")


def _part_path(load_id: str, chunk: int) -> Path:
    return Package.path(load_id).with_name(f"{load_id}.parts") / f"{chunk:05d}"


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
    path = _plan_path(load_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    con = warehouse.scratch()
    try:
        con.register("plan", pending)
        con.execute(f"copy (select * from plan) to '{sql_path(tmp)}' (format parquet)")
    finally:
        con.close()
    os.replace(tmp, path)
    shutil.rmtree(_part_path(load_id, 0).parent, ignore_errors=True)  # a re-planned load starts afresh
    chunks = max(1, -(-len(pending) // size))
    log.info("parse plan of %s: %d files in %d chunk(s) of up to %d", load_id, len(pending), chunks, size)
    return list(range(chunks))


def _read_plan(load_id: str, chunk: int | None = None) -> pd.DataFrame:
    path = _plan_path(load_id)
    if not path.exists():
        raise StageError("parse", load_id, f"no parse plan at {path}")
    con = warehouse.scratch()
    try:
        where = "" if chunk is None else f"where chunk = {int(chunk)}"
        return con.execute(f"select * from read_parquet('{sql_path(path)}') {where} order by received_at, sha256").df()
    finally:
        con.close()


def parse_chunk(load_id: str, chunk: int, *, progress: bool = False, workers: int | None = None) -> dict[str, int]:
    """Parse one chunk of the plan into its part of the load package. Reads only the archive (never the
    warehouse), so chunks can run at the same time on different workers; a retried chunk rewrites its part."""
    root = data_dir()
    pending = _read_plan(load_id, chunk)
    subs, obs, problems = [], [], []
    rows = pending.itertuples(index=False)
    if progress:
        from tqdm import tqdm
        rows = tqdm(rows, total=len(pending), desc=f"parse {chunk}", unit="file")
    paths = [root / archive.archive_relpath(sha) for sha in pending["sha256"]]
    catalogue = load_catalogue()
    results = parallel.parse_paths(paths, _parse_with_catalogue, workers=workers)
    files: dict[str, ReceivedFile] = {}
    for f, parsed in zip(rows, (_with_form(r, catalogue) for r in results), strict=True):
        record = {"sha256": f.sha256, "file_name": f.file_name, "folder_unit_code": f.folder_unit_code,
                  "received_at": f.received_at, "unit_code": None, "form_code": None, "form_version": None,
                  "period_type": None, "period_start": None, "source_sheet": None, "submission_id": None}
        if isinstance(parsed, Problem):
            problems.append(parsed.of_file(f.sha256))
        else:
            sid = f.sha256[:16] if parsed.identified else None
            if parsed.form is not None:
                record.update(form_code=parsed.form.code, period_type=parsed.form.period_type,
                              form_version=parsed.form_version or parsed.form.version)
            record.update(submission_id=sid, unit_code=parsed.unit_code, period_start=parsed.period_start,
                          source_sheet=parsed.sheet)
            if sid:
                obs.extend((sid, *o) for o in parsed.observations)
            form = {"form": parsed.form.code if parsed.form else ""}  # every parse message may name the form
            problems.extend(replace(p, details={**form, **p.details}, sha256=f.sha256) for p in parsed.problems)
        files[f.sha256] = ReceivedFile(f.file_name, f.folder_unit_code, record["submission_id"])
        subs.append(record)
    part = Package(
        load_id=load_id,
        submissions=_submission_frame(subs),
        observations=pd.DataFrame(obs, columns=["submission_id", *Observation._fields])[OBSERVATION_COLUMNS]
        .astype({"value": "float64"}),
        problems=_problem_frame(problems, files),
    )
    part.write(_part_path(load_id, chunk))
    return {"chunk": chunk, "files": len(subs), "observations": len(part.observations), "problems": len(problems)}


def merge_parts(load_id: str) -> dict[str, int | str]:
    """Gather the parsed chunks of the plan into the load package the later stages read. The numbers go from
    the parts' files to the package's by DuckDB, in chunk order, never all in memory at once."""
    chunks = sorted(set(_read_plan(load_id)["chunk"])) or [0]
    parts, obs_files = [], []
    for chunk in chunks:
        folder = _part_path(load_id, chunk)
        if not (folder / "manifest.json").exists():
            raise StageError("parse", load_id, f"chunk {chunk} was not parsed (no {folder})")
        parts.append(Package.read_folder(load_id, folder, observations=False))
        obs_files.append(folder / "observations.parquet")
    columns = ", ".join(OBSERVATION_COLUMNS)
    observations_sql = " union all ".join(
        f"select {columns}, {i} as _part, file_row_number as _row "
        f"from read_parquet('{sql_path(f)}', file_row_number = true)" for i, f in enumerate(obs_files))
    package = Package(
        load_id=load_id,
        submissions=_concat([p.submissions for p in parts], _submission_frame([])),
        observations=None,
        problems=_concat([p.problems for p in parts], _problem_frame([], {})),
    )
    package.write(observations_sql=f"select {columns} from ({observations_sql}) order by _part, _row")
    n_obs = int(package.manifest()["observations"])
    identified = int(package.submissions["submission_id"].notna().sum())
    log.info("parse: %d files, %d identified, %d numbers, %d problems", len(package.submissions), identified,
             n_obs, len(package.problems))
    return {"load_id": load_id, "files": len(package.submissions), "identified": identified,
            "observations": n_obs, "problems": len(package.problems)}


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty


def parse_stage(load_id: str, *, reprocess: bool = False, progress: bool = False,
                workers: int | None = None, periods: tuple[dt.date, dt.date] | None = None,
                chunk_size: int | None = None) -> dict[str, int | str]:
    """Read every pending file from the archive and write the load package (with ``reprocess``: every archived
    file, or those of the reports for ``periods``, see :func:`pending_files`): plan, every chunk, merge — what
    the DAG does in separate (mapped) tasks.

    ``workers`` (default ``SECTORSTATS_PARSE_WORKERS``, else the CPUs): processes parsing files, each file
    under the time limit of ``ingest.read.limits``; 1 parses in this process, with no time limit.
    """
    for chunk in plan_parse(load_id, reprocess=reprocess, periods=periods, chunk_size=chunk_size):
        parse_chunk(load_id, chunk, progress=progress, workers=workers)
    return merge_parts(load_id)


def _submission_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=PARSED_COLUMNS)
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    frame["parser_version"] = PARSER_VERSION
    for col in ("submission_id", "unit_code", "form_code", "form_version", "period_type", "source_sheet"):
        frame[col] = frame[col].astype("object")
    return frame


def _problem_frame(problems: list[Problem], files: dict[str, ReceivedFile]) -> pd.DataFrame:
    return pd.DataFrame(problem_rows(problems, files), columns=PROBLEM_COLUMNS).astype("object")


# --- validate -------------------------------------------------------------------------------------

def load_history(subs: pd.DataFrame) -> pd.DataFrame:
    """The earlier accepted reports of the batch's units, read from the warehouse (empty on a first run)."""
    from ingest.check.history import HISTORY_COLUMNS, warehouse_history

    if not warehouse.exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    units = sorted(subs["unit_code"].dropna().unique().tolist())
    with warehouse.connect(read_only=True) as con:
        return warehouse_history(con, units, subs["sha256"].tolist())


def validate_chunk_size() -> int:
    """Submissions validated together (``SECTORSTATS_VALIDATE_CHUNK``, default 10,000): large enough that
    the suites' fixed cost is paid a few times a national year, small enough to bound memory."""
    return _count_setting("SECTORSTATS_VALIDATE_CHUNK", 10_000)


def unit_chunks(subs: pd.DataFrame, size: int) -> list[list[str]]:
    """The units of ``subs`` packed, in code order, into chunks of about ``size`` submissions. A unit is never
    split: the history rules compare a report with the same unit's other reports of the batch."""
    chunks: list[list[str]] = []
    filled = size
    for unit, n in subs.groupby("unit_code", sort=True).size().items():
        if filled + n > size and filled:
            chunks.append([])
            filled = 0
        chunks[-1].append(str(unit))
        filled += int(n)
    return chunks


def validate_stage(load_id: str, validator: Validator | None = None) -> dict[str, int | str]:
    """Run the Great Expectations suites over the package, in chunks of whole units (each chunk one run of
    every suite); add the failures and set each status."""
    catalogue = load_catalogue()
    package = Package.read(load_id, observations=False)
    subs = package.submissions
    problems = package.problems[package.problems["stage"] != "validate"]  # re-running replaces our own
    failures = []
    identified = subs[subs["submission_id"].notna()]
    obs_file = sql_path(observations_file(load_id))
    if not identified.empty:
        validator = validator or Validator(catalogue)
        chunks = unit_chunks(identified, validate_chunk_size())
        with warehouse.scratch() as con:
            for units in chunks:
                part = identified[identified["unit_code"].isin(units)]
                con.register("part", part[["submission_id", "form_code"]])
                part_obs = con.execute(f"""
                    select o.*, p.form_code from read_parquet('{obs_file}', file_row_number = true) o
                    join part p using (submission_id) order by o.file_row_number""").df()
                con.unregister("part")
                part_obs = part_obs.drop(columns="file_row_number")
                failures += validate_batch(part, part_obs, catalogue, validator, load_history(part))
                del part_obs
        log.info("validate: %d submissions in %d chunk(s) of whole units", len(identified), len(chunks))
    files = {sha: ReceivedFile(name, folder, sid) for sha, name, folder, sid in
             subs[["sha256", "file_name", "folder_unit_code", "submission_id"]].itertuples(index=False)}
    new = _problem_frame(failures, files)
    problems = pd.concat([problems, new], ignore_index=True) if failures else problems
    problems = problems.drop_duplicates(subset=["problem_id"])
    counts = problems.groupby(["sha256", "severity"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=["error", "warning"], fill_value=0)
    errors = subs["sha256"].map(counts["error"]).fillna(0).astype(int)
    warnings = subs["sha256"].map(counts["warning"]).fillna(0).astype(int)
    subs = subs.assign(n_errors=errors, n_warnings=warnings)
    subs["status"] = "accepted"
    subs.loc[subs["n_warnings"] > 0, "status"] = "accepted_with_warnings"
    subs.loc[(subs["n_errors"] > 0) | subs["submission_id"].isna(), "status"] = "rejected"
    # the numbers are copied as they are from the package being replaced (written aside, then renamed)
    Package(load_id, subs, None, problems.reset_index(drop=True)).write(
        observations_sql=f"select * from read_parquet('{obs_file}')")
    by_rule = Counter(f.rule for f in failures)
    log.info("validate: %d submissions, %d rule failures %s", len(subs), len(failures), dict(by_rule))
    return {"load_id": load_id, "submissions": len(subs), "failures": len(failures),
            **{f"status_{k}": int(v) for k, v in subs["status"].value_counts().items()}}


# --- load -----------------------------------------------------------------------------------------

def catalogue_frames(catalogue: Catalogue) -> dict[str, pd.DataFrame]:
    forms = pd.DataFrame([{
        "form_code": f.code, "domain": f.domain, "title_vi": f.title_vi, "title_en": f.title_en,
        "frequency": f.frequency, "period_type": f.period_type, "due_day": f.due_day,
        "catalogue_version": catalogue.version} for f in catalogue.forms])
    indicators = pd.DataFrame([{
        "form_code": f.code, "row_code": r.code, "indicator_name": r.name, "kind": r.kind, "unit": r.unit,
        "label_vi": r.label_vi, "label_en": r.label_en, "section_vi": r.section, "of_row_code": r.of,
        "sum_of": ",".join(r.sum_of) or None, "sort_order": i}
        for f in catalogue.forms for i, r in enumerate(f.rows, start=1)])
    settings = pd.DataFrame([{
        "catalogue_version": catalogue.version, "reporting_start": catalogue.reporting_start,
        "reminder_days_before": catalogue.reminder_days_before,
        "escalate_days_after": catalogue.escalate_days_after}])
    return {"raw.catalogue_forms": forms, "raw.catalogue_indicators": indicators, "raw.catalogue_settings": settings}


def load_stage(load_id: str) -> dict[str, int | str]:
    """Write the package into the raw tables in one transaction (replacing the files it carries)."""
    catalogue = load_catalogue()
    package = Package.read(load_id, observations=False)
    subs = package.submissions.assign(load_id=load_id)
    problems = package.problems.assign(load_id=load_id)
    with warehouse.connect() as con:  # one transaction: every table of the load, or none
        warehouse.ensure_schema(con)
        files = {"files": subs["sha256"].tolist()}
        in_package = "sha256 in (select unnest(cast(:files as varchar[])))"
        warehouse.execute(con, f"""delete from raw.observations where submission_id in (
                                       select submission_id from raw.submissions where {in_package})""", files)
        warehouse.execute(con, f"delete from raw.problems where {in_package}", files)
        warehouse.execute(con, f"delete from raw.submissions where {in_package}", files)
        warehouse.insert_frame(con, "raw.submissions", subs)
        n_obs = warehouse.insert_parquet(con, "raw.observations", observations_file(load_id), OBSERVATION_COLUMNS,
                                         {"load_id": load_id})
        warehouse.insert_frame(con, "raw.problems", problems)
        warehouse.execute(con, """
            update raw.submissions set version = v.version
            from (select sha256, row_number() over (
                      partition by unit_code, form_code, period_start order by received_at, sha256) as version
                  from raw.submissions where submission_id is not null) as v
            where raw.submissions.sha256 = v.sha256""")
        for table, frame in catalogue_frames(catalogue).items():
            warehouse.replace_frame(con, table, frame)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        warehouse.execute(con, """insert into raw.loads (load_id, started_at) select :load_id, :now
                                  where not exists (select 1 from raw.loads where load_id = :load_id)""",
                          {"load_id": load_id, "now": now})
        warehouse.execute(con, """update raw.loads set finished_at = :now, submissions = :submissions,
                                      problems = :problems, catalogue_version = :version
                                  where load_id = :load_id""",
                          {"now": now, "submissions": len(subs), "problems": len(problems),
                           "version": catalogue.version, "load_id": load_id})
    log.info("load: %d submissions, %d numbers, %d problems", len(subs), n_obs, len(problems))
    return {"load_id": load_id, "submissions": len(subs), "observations": int(n_obs), "problems": len(problems)}


def feedback_stage(load_id: str) -> dict[str, int | str]:
    """Write a feedback workbook for every file of the load that has problems (``reports/feedback/<unit>/``)."""
    from ingest.tell.feedback import write_feedback_files

    package = Package.read(load_id, observations=False)
    if package.problems.empty:
        return {"load_id": load_id, "feedback_files": 0}
    units = package.submissions.set_index("sha256")["unit_code"]
    problems = package.problems.assign(unit_code=package.problems["sha256"].map(units))
    root = data_dir()
    written = write_feedback_files(problems, functools.partial(archive.read_archived, data_dir=root),
                                   reports_dir() / "feedback", workers=parallel.default_workers())
    return {"load_id": load_id, "feedback_files": len(written)}


def run_ingest(load_id: str | None = None, *, inbox: Path | None = None, reprocess: bool = False,
               progress: bool = False, periods: tuple[dt.date, dt.date] | None = None) -> dict[str, dict]:
    """All four stages in one process (the CLI and tests; the DAG runs them as separate tasks)."""
    load_id = load_id or new_load_id()
    return {
        "archive": archive_stage(load_id, inbox),
        "parse": parse_stage(load_id, reprocess=reprocess, progress=progress, periods=periods),
        "validate": validate_stage(load_id),
        "load": load_stage(load_id),
        "feedback": feedback_stage(load_id),
    }
