"""The verdict an upload gets within seconds: the DAG's own parser and rules on the one file, the warehouse untouched.

1. The file is read and parsed in a worker process under the reading limits (:func:`ingest.read.workers.parse_paths`
   with the parse stage's own :func:`ingest.parse.stage._parse_with_catalogue`): its bytes are read there only,
   never in the page's process, so a file that exhausts memory or time costs a worker, never the page.
2. Its frames are built as the parse stage builds a load package's (:func:`ingest.parse.stage.file_result`,
   :func:`ingest.parse.stage.package_frames`).
3. The rules run as the validate stage runs them (:func:`ingest.check.validate.validate_batch` with the numbers
   joined to their form, and the unit's earlier accepted reports from the page's read-only source,
   :mod:`.source`), and the verdict is the stage's (:func:`ingest.check.stage.judge`).

The folder unit is the account's (for the province, the unit it picked), so a form naming another unit is the same
``unit-folder-mismatch`` error the DAG gives; the arrival time is now. A preview cannot know the other files of the
unit the DAG will load in the same batch (their history rules compare them with each other) nor what the warehouse
learnt since the snapshot: the DAG's verdict is the one recorded.

A Great Expectations validator takes seconds to create (2.5 s on the 2-core machine: the file data context, every
suite checked against the catalogue) and well under a second to run the suites on one file: :class:`Previewer`
creates it once and keeps it warm, and runs the rules under a lock (one validation at a time). Its validation
results go to ``doors/gx/`` (kept a day), not to ``gx/``, so previews never show in the DAG's Data Docs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ingest.catalogue import Catalogue, load_catalogue
from ingest.check.history import HISTORY_COLUMNS
from ingest.check.stage import judge
from ingest.check.validate import Validator, validate_batch
from ingest.doors.upload.source import WarehouseSource
from ingest.package import PROBLEM_COLUMNS
from ingest.parse.stage import _parse_with_catalogue, _with_form, file_result, package_frames
from ingest.read.limits import current_limits
from ingest.read.workers import parse_paths
from ingest.tell.feedback import a1_to_index, write_feedback_files

log = logging.getLogger(__name__)

RESULTS_KEPT = 24 * 3600  # seconds a preview's Great Expectations results are kept under doors/gx/


@dataclass
class Preview:
    """What the page shows of one upload, kept as JSON beside the uploads' log."""

    status: str  # accepted | accepted_with_warnings | rejected (ingest.catalogue.constants)
    n_errors: int
    n_warnings: int
    form_code: str | None
    period_type: str | None
    period_start: str | None  # ISO date
    sheet_unit: str | None  # the unit the sheet names
    problems: list[dict]  # rows of raw.problems (ingest.package.PROBLEM_COLUMNS) and the sheet's unit_code
    with_history: bool  # whether the unit's earlier reports were there to compare with
    timings: dict[str, float] = field(default_factory=dict)  # seconds: parse, validate, total

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Preview:
        return cls(**data)


def problem_order(row: dict) -> tuple:
    """Errors first, then by sheet and cell in reading order (row, then column), problems without a cell first."""
    cell = row.get("source_cell")
    try:
        where = a1_to_index(cell) if isinstance(cell, str) else (-1, -1)
    except ValueError:
        where = (-1, -1)
    return (row.get("severity") != "error", str(row.get("source_sheet") or ""), where, str(row.get("rule")))


def _clean(value: object) -> object:
    """A frame's value as JSON: missing values as None, dates and times as ISO text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return value


class Previewer:
    """The parse and validate stages on one uploaded file (see the module's text), with a warm validator."""

    def __init__(self, source: WarehouseSource, results_dir: Path, validator: Validator | None = None,
                 catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue or load_catalogue()
        self.source = source
        self.results_dir = results_dir
        # re-entrant: the first preview of a page started without warming creates the validator, and rehearses the
        # rules, under the lock it already holds
        self.lock = threading.RLock()
        self._validator = validator
        self.validator_seconds = 0.0
        self._pruned_at = 0.0

    def warm(self) -> float:
        """Create the validator now (seconds), rather than at the first upload."""
        if self._validator is None:
            started = time.perf_counter()
            self._validator = Validator(self.catalogue, results_dir=str(self.results_dir))
            self.validator_seconds = time.perf_counter() - started
            log.info("upload page: Great Expectations validator ready in %.2f s", self.validator_seconds)
            self.rehearse()
        self.prune()
        return self.validator_seconds

    def rehearse(self) -> None:
        """Run the rules once on a report of our own making (the first form, filled with zeros), so that the first
        upload does not pay for the suites' first run (their code loaded, a second or so). The workbook is made and
        read here: it is ours, not a received file."""
        from ingest.parse.stage import parse_file
        from ingest.tell.official_forms import form_bytes

        started = time.perf_counter()
        form = self.catalogue.forms[0]
        unit = next(u for u in self.catalogue.units if u.exists_on(self.catalogue.reporting_start))
        zeros = {(r.code, m): 0.0 for r in form.rows for m in self.catalogue.measure_keys}
        data = form_bytes(form, unit, self.catalogue.reporting_start, zeros).data
        sha = "0" * 64
        record, numbers, found = file_result(sha, "rehearsal.xlsx", unit.code, dt.datetime(2000, 1, 1),
                                             parse_file(data, self.catalogue), self.catalogue)
        frames = package_frames([record], numbers, found)
        subs = frames["submissions"]
        obs = frames["observations"].merge(subs[["submission_id", "form_code"]], on="submission_id")
        with self.lock:
            validate_batch(subs, obs, self.catalogue, self.validator, pd.DataFrame(columns=HISTORY_COLUMNS))
        log.info("upload page: the rules rehearsed in %.2f s", time.perf_counter() - started)

    @property
    def validator(self) -> Validator:
        if self._validator is None:
            self.warm()
        assert self._validator is not None
        return self._validator

    def prune(self) -> None:
        """Remove the validation results of previews older than :data:`RESULTS_KEPT`, and the folders left empty
        (one per suite and run); done at start and then at most hourly."""
        now = time.time()
        self._pruned_at = now
        for folder, _, files in os.walk(self.results_dir, topdown=False):
            for name in files:
                path = Path(folder) / name
                with contextlib.suppress(OSError):
                    if name.endswith(".json") and path.stat().st_mtime < now - RESULTS_KEPT:
                        path.unlink()
            if Path(folder) != self.results_dir:
                with contextlib.suppress(OSError):
                    Path(folder).rmdir()  # only when empty

    def preview(self, path: Path, *, sha256: str, file_name: str, folder_unit_code: str,
                received_at: dt.datetime) -> Preview:
        """The verdict of the file at ``path`` (read in a worker only), delivered by ``folder_unit_code`` now."""
        started = time.perf_counter()
        result = next(iter(parse_paths([path], _parse_with_catalogue, workers=1, limits=current_limits())))
        parsed = _with_form(result, self.catalogue)
        record, numbers, found = file_result(sha256, file_name, folder_unit_code, received_at, parsed, self.catalogue)
        frames = package_frames([record], numbers, found)
        parsed_at = time.perf_counter()
        subs, observations, parsed_problems = frames["submissions"], frames["observations"], frames["problems"]
        identified = subs[subs["submission_id"].notna()]
        failures = []
        with_history = False
        if not identified.empty:
            part_obs = observations.merge(identified[["submission_id", "form_code"]], on="submission_id")
            units = sorted(identified["unit_code"].dropna().unique().tolist())
            try:
                history = self.source.history(units, [sha256])
            except Exception as exc:  # the warehouse down, a snapshot being swapped: the rules of the file itself
                log.warning("upload page: the history of unit(s) %s cannot be read (%s); previewed without it",
                            units, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
                history = None
            with_history = history is not None
            with self.lock:
                failures = validate_batch(identified, part_obs, self.catalogue, self.validator,
                                          history if history is not None else pd.DataFrame(columns=HISTORY_COLUMNS))
        verdict, checked = judge(subs, parsed_problems, failures)
        every = pd.concat([f for f in (parsed_problems, checked) if not f.empty] or [parsed_problems],
                          ignore_index=True).drop_duplicates(subset=["problem_id"], ignore_index=True)
        sheet_unit = record["unit_code"]
        rows = [{k: _clean(r[k]) for k in PROBLEM_COLUMNS} | {"unit_code": sheet_unit}
                for r in every.to_dict("records")]
        rows.sort(key=problem_order)
        v = verdict.iloc[0]
        done = time.perf_counter()
        if time.time() - self._pruned_at > 3600:
            self.prune()
        out = Preview(status=str(v["status"]), n_errors=int(v["n_errors"]), n_warnings=int(v["n_warnings"]),
                      form_code=record["form_code"], period_type=record["period_type"],
                      period_start=_clean(record["period_start"]), sheet_unit=sheet_unit, problems=rows,
                      with_history=with_history,
                      timings={"parse": round(parsed_at - started, 3), "validate": round(done - parsed_at, 3),
                               "total": round(done - started, 3)})
        log.info("upload page: preview of %s (%s, folder %s): %s, %d error(s), %d warning(s) in %.2f s (parse %.2f, "
                 "validate %.2f)", file_name, sha256[:12], folder_unit_code, out.status, out.n_errors,
                 out.n_warnings, out.timings["total"], out.timings["parse"], out.timings["validate"])
        return out


def read_staged(sha256: str, path: str) -> bytes:
    """In a worker: the uploaded file's bytes (the feedback writer asks for them by sha256)."""
    del sha256
    return Path(path).read_bytes()


def write_feedback(preview: Preview, staged: Path, folder: Path) -> Path | None:
    """The feedback workbook of a preview with problems (the district's sheet with the problem cells marked, and
    the list), written into ``folder`` by a worker process, which alone reads the file; None when there is nothing
    to write or the worker could not."""
    if not preview.problems:
        return None
    problems = pd.DataFrame(preview.problems)
    written = write_feedback_files(problems, functools.partial(read_staged, path=str(staged)), folder, workers=1)
    return written[0].path if written else None
