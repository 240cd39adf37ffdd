"""The validate stage: the rules run over the whole load, in chunks of whole units, and each file's verdict.

What the rules find is added to the package as its own file (``checked/``), beside what reading and parsing
found; the verdict of a file counts both: ``rejected`` with an error (or when it could not be identified),
``accepted_with_warnings`` with a warning, else ``accepted``.
"""

from __future__ import annotations

import logging
from collections import Counter

import pandas as pd

from ingest import warehouse
from ingest.catalogue import load_catalogue
from ingest.catalogue.constants import ACCEPTED, ACCEPTED_WITH_WARNINGS, REJECTED
from ingest.catalogue.problems import Problem, ReceivedFile
from ingest.check.history import HISTORY_COLUMNS, warehouse_history
from ingest.check.validate import Validator, validate_batch
from ingest.package import LoadPackage
from ingest.parse.stage import problem_frame
from ingest.settings import count_setting
from ingest.warehouse import sql_path

log = logging.getLogger(__name__)


def load_history(subs: pd.DataFrame) -> pd.DataFrame:
    """The earlier accepted reports of the batch's units, read from the warehouse (empty on a first run)."""
    if not warehouse.exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    units = sorted(subs["unit_code"].dropna().unique().tolist())
    with warehouse.connect(read_only=True) as con:
        return warehouse_history(con, units, subs["sha256"].tolist())


def validate_chunk_size() -> int:
    """Submissions validated together (``SECTORSTATS_VALIDATE_CHUNK``, default 10,000): large enough that
    the suites' fixed cost is paid a few times a national year, small enough to bound memory."""
    return count_setting("SECTORSTATS_VALIDATE_CHUNK", 10_000)


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


def verdicts(subs: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    """Each file's status and counts of errors and warnings, from every problem it has."""
    counts = problems.groupby(["sha256", "severity"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=["error", "warning"], fill_value=0)
    out = pd.DataFrame({"sha256": subs["sha256"],
                        "n_errors": subs["sha256"].map(counts["error"]).fillna(0).astype(int),
                        "n_warnings": subs["sha256"].map(counts["warning"]).fillna(0).astype(int)})
    out["status"] = ACCEPTED
    out.loc[out["n_warnings"] > 0, "status"] = ACCEPTED_WITH_WARNINGS
    out.loc[(out["n_errors"] > 0) | subs["submission_id"].isna().to_numpy(), "status"] = REJECTED
    return out


def judge(subs: pd.DataFrame, parsed_problems: pd.DataFrame,
          failures: list[Problem]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each file's verdict, and the problems the rules found as rows of the package (``checked/``), from the
    parsed files, what reading and parsing found and the rule failures: the validate stage and the upload page's
    preview (:mod:`ingest.doors.upload.preview`) both judge with it."""
    files = {sha: ReceivedFile(name, folder, sid) for sha, name, folder, sid in
             subs[["sha256", "file_name", "folder_unit_code", "submission_id"]].itertuples(index=False)}
    checked = problem_frame(failures, files).drop_duplicates(subset=["problem_id"], ignore_index=True)
    every = pd.concat([parsed_problems, checked], ignore_index=True).drop_duplicates(subset=["problem_id"])
    return verdicts(subs, every), checked


def validate_stage(load_id: str, validator: Validator | None = None) -> dict[str, int | str]:
    """Run the Great Expectations suites over the package, in chunks of whole units (each chunk one run of
    every suite), and write the problems they find and each file's verdict into the package."""
    catalogue = load_catalogue()
    package = LoadPackage(load_id)
    subs, parsed_problems = package.parsed_frames()
    failures = []
    identified = subs[subs["submission_id"].notna()]
    obs_file = sql_path(package.observations_file)
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
    verdict, checked = judge(subs, parsed_problems, failures)
    package.write_checked(verdict, checked)
    by_rule = Counter(f.rule for f in failures)
    log.info("validate: %d submissions, %d rule failures %s", len(subs), len(failures), dict(by_rule))
    return {"load_id": load_id, "submissions": len(subs), "failures": len(failures),
            **{f"status_{k}": int(v) for k, v in verdict["status"].value_counts().items()}}
