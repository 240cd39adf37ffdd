"""The load package: what one load carries from stage to stage, on disk in ``packages/<load id>/``.

Stages never hand data to each other through Airflow's XCom: each writes its own files into the package and the
later stages read them, so a retried task reads the same input and a failed load is resumed from its package::

    plan.parquet        the files the load parses and the chunk each is in            (parse: plan)
    parts/<chunk>/      what one chunk read: submissions, observations, problems      (parse: each chunk)
    parsed/             the chunks merged: submissions.parquet (what each file is),   (parse: merge)
                        observations.parquet (every number with its cell),
                        problems.parquet (what reading and parsing found), manifest.json
    checked/            verdicts.parquet (status, errors, warnings of each file),     (validate)
                        problems.parquet (what the rules found)

Every folder is written whole under a temporary name and renamed into place, and no stage rewrites another's
files: validating again replaces ``checked/`` and nothing else. The numbers stay in parquet from the parse to the
warehouse: at national scale they are millions of rows, which DuckDB streams (:attr:`LoadPackage.observations_file`)
rather than pandas holding them.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ingest.settings import data_dir
from ingest.warehouse import scratch, sql_path
from ingest.warehouse.tables import table

# The columns each file of the package holds: those of the raw tables (ingest/warehouse/tables.py), less what a
# later stage adds.
PARSED_COLUMNS = table("raw.submissions").names_except("status", "n_errors", "n_warnings", "version",
                                                      "is_latest_accepted", "load_id")  # all the parse stage writes
VERDICT_COLUMNS = ["sha256", "status", "n_errors", "n_warnings"]
OBSERVATION_COLUMNS = table("raw.observations").names_except("load_id")
PROBLEM_COLUMNS = table("raw.problems").names_except("load_id")

Frames = Mapping[str, "pd.DataFrame | str"]  # a frame, or a DuckDB query whose result is copied without pandas


class StageError(RuntimeError):
    """A stage cannot go on; names the stage and the load, so the run can be resumed from the package."""

    def __init__(self, stage: str, load_id: str, message: str) -> None:
        super().__init__(f"{stage} stage of load {load_id}: {message}")
        self.stage, self.load_id = stage, load_id


def new_load_id(run_id: str | None = None, now: dt.datetime | None = None) -> str:
    """A load id safe as a folder name: from the Airflow run id when there is one."""
    base = run_id or f"manual__{(now or dt.datetime.now(dt.UTC)):%Y%m%dT%H%M%S%f}"
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in base).lstrip(".")


def write_folder(folder: Path, frames: Frames, manifest: Mapping[str, object] | None = None) -> dict[str, int]:
    """Write ``frames`` as ``<name>.parquet`` files (and ``manifest.json``) into ``folder``, all or nothing: into a
    temporary folder renamed over the old one. Returns the rows of each file."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    counts: dict[str, int] = {}
    with scratch() as con:
        for name, frame in frames.items():
            target = sql_path(tmp / f"{name}.parquet")
            if not isinstance(frame, str):
                con.register("frame", frame)
            query = frame if isinstance(frame, str) else "select * from frame"
            counts[name] = int(con.execute(f"copy ({query}) to '{target}' (format parquet)").fetchone()[0])
            if not isinstance(frame, str):
                con.unregister("frame")
    if manifest is not None:
        (tmp / "manifest.json").write_text(json.dumps({**manifest, **counts}), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return counts


def read_frames(folder: Path, *names: str) -> dict[str, pd.DataFrame]:
    with scratch() as con:
        return {n: con.execute(f"select * from read_parquet('{sql_path(folder / n)}.parquet')").df() for n in names}


class LoadPackage:
    """The package of one load (see the module docstring for its files)."""

    def __init__(self, load_id: str) -> None:
        if not load_id or any(ch in load_id for ch in "/\\") or load_id.startswith("."):
            raise ValueError(f"invalid load id {load_id!r}")
        self.load_id = load_id
        self.folder = data_dir() / "packages" / load_id

    @property
    def plan_file(self) -> Path:
        return self.folder / "plan.parquet"

    def part(self, chunk: int) -> Path:
        return self.folder / "parts" / f"{chunk:05d}"

    @property
    def parsed(self) -> Path:
        return self.folder / "parsed"

    @property
    def checked(self) -> Path:
        return self.folder / "checked"

    @property
    def observations_file(self) -> Path:
        """The load's numbers, for DuckDB's ``read_parquet``."""
        return self.parsed / "observations.parquet"

    # -- parse -------------------------------------------------------------------------------------------------

    def write_parsed(self, submissions: pd.DataFrame, observations: pd.DataFrame | str,
                     problems: pd.DataFrame) -> dict[str, int]:
        """The parse stage's result (merged from its parts); a parse again starts the package afresh."""
        shutil.rmtree(self.checked, ignore_errors=True)
        counts = write_folder(self.parsed, {"submissions": submissions[PARSED_COLUMNS],
                                            "observations": observations, "problems": problems[PROBLEM_COLUMNS]},
                              manifest={"load_id": self.load_id})
        return counts

    def manifest(self) -> dict[str, int | str]:
        path = self.parsed / "manifest.json"
        if not path.exists():
            raise StageError("read-package", self.load_id, f"no parsed load package at {self.folder}")
        return json.loads(path.read_text(encoding="utf-8"))

    def parsed_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The parsed submissions and the problems reading and parsing found."""
        self.manifest()
        frames = read_frames(self.parsed, "submissions", "problems")
        return frames["submissions"], frames["problems"]

    # -- validate ----------------------------------------------------------------------------------------------

    def write_checked(self, verdicts: pd.DataFrame, problems: pd.DataFrame) -> dict[str, int]:
        """The validate stage's result: each file's verdict and the problems the rules found."""
        return write_folder(self.checked, {"verdicts": verdicts[VERDICT_COLUMNS],
                                           "problems": problems[PROBLEM_COLUMNS]})

    def is_checked(self) -> bool:
        return (self.checked / "verdicts.parquet").exists()

    # -- what the load writes ----------------------------------------------------------------------------------

    def submissions(self) -> pd.DataFrame:
        """Every file of the load with its verdict (the validate stage must have run)."""
        parsed, _ = self.parsed_frames()
        if not self.is_checked():
            raise StageError("load", self.load_id, f"the package at {self.folder} was not validated")
        verdicts = read_frames(self.checked, "verdicts")["verdicts"]
        return parsed.merge(verdicts, on="sha256", how="left", validate="one_to_one")

    def problems(self) -> pd.DataFrame:
        """Every problem of the load's files: reading and parsing, then the rules (once validated)."""
        _, problems = self.parsed_frames()
        if self.is_checked():
            checked = read_frames(self.checked, "problems")["problems"]
            problems = pd.concat([problems, checked], ignore_index=True) if not checked.empty else problems
        return problems.drop_duplicates(subset=["problem_id"], ignore_index=True)
