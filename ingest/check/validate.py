"""Checking a batch of submissions with Great Expectations, and mapping every failure to a cell.

All new submissions of a run are validated together: one Great Expectations run per suite, not per
file, so the cost does not grow with the number of files. The suites live in the project's file data
context (``great_expectations/``), written there from the form catalogue by small named callables
(``configure_*_suite``, written there by ``make generate``), never by hand per row; a run refuses suites
that no longer match the catalogue. Results and Data Docs go to ``$SECTORSTATS_DATA_DIR/gx/``.

- ``submissions``: the sheet's unit is the uploading folder's; the unit existed in the period; the
  period had begun when the file arrived;
- ``cells``: no negative numbers; year-to-date ≥ this period;
- ``arithmetic_<form>``: every ``sum_of`` identity and every ``of`` (part ≤ whole) in every column.

Each expectation carries its problem code in ``meta``; the result format returns the ``key`` column
of every unexpected row, which leads back to the submission, the row code and the cell.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ingest.catalogue import PERIOD_MONTHS, Catalogue, Form
from ingest.catalogue.problems import Problem, problem_catalogue
from ingest.check.history import HISTORY_COLUMNS, time_frame
from ingest.read.numbers import format_vi
from ingest.settings import REPO_DIR, data_dir

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations import Expectation

log = logging.getLogger(__name__)

GX_ROOT = REPO_DIR / "great_expectations"
DATASOURCE, ASSET, BATCH = "sectorstats", "submission_batch", "whole batch"
FAR_FUTURE = pd.Timestamp("2999-12-31")
DECIMALS = 6  # values are compared after rounding, so 0.1 + 0.2 equals 0.3


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    v = float(value)
    return format_vi(v, 0 if v.is_integer() else 2)


# --- frames ---------------------------------------------------------------------------------------

def submission_frame(submissions: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """One row per identified submission, with what the submission-level rules compare."""
    subs = submissions[submissions["submission_id"].notna()].copy()
    units = {u.code: u for u in catalogue.units}
    subs["key"] = subs["sha256"]
    # a file the province delivered (an e-mail forwarded from its address) may be any unit's: its sheet decides
    by_province = subs["folder_unit_code"] == catalogue.province_code
    subs.loc[by_province, "folder_unit_code"] = subs.loc[by_province, "unit_code"]
    subs["period_start"] = pd.to_datetime(subs["period_start"])
    subs["period_end"] = [(ps + pd.offsets.MonthEnd(PERIOD_MONTHS[pt]))
                          for ps, pt in zip(subs["period_start"], subs["period_type"], strict=True)]
    subs["unit_valid_from"] = pd.to_datetime([units[u].valid_from for u in subs["unit_code"]])
    subs["unit_valid_to"] = pd.to_datetime([units[u].valid_to or FAR_FUTURE.date() for u in subs["unit_code"]])
    local = pd.Timedelta(hours=catalogue.utc_offset_hours)  # the catalogue's calendar day, as dbt's local_date
    subs["received_date"] = (pd.to_datetime(subs["received_at"]) + local).dt.normalize()
    return subs[["key", "sha256", "submission_id", "source_sheet", "unit_code", "folder_unit_code", "period_start",
                 "period_end", "unit_valid_from", "unit_valid_to", "received_date"]].reset_index(drop=True)


def cell_frame(observations: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """One row per (submission, row code), a column per measure."""
    wide = observations.pivot_table(index=["submission_id", "row_code"], columns="measure", values="value",
                                    aggfunc="first", dropna=False).round(DECIMALS)
    wide = wide.reindex(columns=list(catalogue.measure_keys)).reset_index()
    wide.columns.name = None
    wide.insert(0, "key", wide["submission_id"] + "|" + wide["row_code"])
    return wide


def form_frame(observations: pd.DataFrame, form: Form) -> pd.DataFrame:
    """One row per (submission, measure) of one form, a column ``rNN`` per row code, plus the sums."""
    obs = observations[observations["form_code"] == form.code]
    wide = obs.pivot_table(index=["submission_id", "measure"], columns="row_code", values="value",
                           aggfunc="first", dropna=False).round(DECIMALS)
    wide = wide.reindex(columns=list(form.row_codes))
    wide.columns = [f"r{c}" for c in wide.columns]
    wide = wide.reset_index()
    for row in form.rows:
        if row.sum_of:
            parts = wide[[f"r{c}" for c in row.sum_of]]
            wide[f"sum_r{row.code}"] = parts.sum(axis=1, min_count=len(row.sum_of)).round(DECIMALS)
    wide.insert(0, "key", wide["submission_id"] + "|" + wide["measure"])
    return wide


# --- suites ---------------------------------------------------------------------------------------

def configure_submission_suite(gxe: Any) -> list[Expectation]:
    return [
        gxe.ExpectColumnPairValuesToBeEqual(column_A="unit_code", column_B="folder_unit_code",
                                            meta={"rule": "unit-folder-mismatch"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="period_start", column_B="unit_valid_from",
                                                    or_equal=True, meta={"rule": "unit-not-in-period"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="unit_valid_to", column_B="period_end",
                                                    or_equal=True, meta={"rule": "unit-not-in-period"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="received_date", column_B="period_start",
                                                    or_equal=True, meta={"rule": "period-in-future"}),
    ]


def configure_cell_suite(gxe: Any, catalogue: Catalogue) -> list[Expectation]:
    out = [
        gxe.ExpectColumnValuesToBeBetween(column=m, min_value=0, meta={"rule": "negative-value", "measure": m})
        for m in catalogue.measure_keys
    ]
    out.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="ytd", column_B="period", or_equal=True, ignore_row_if="either_value_is_missing",
        meta={"rule": "ytd-below-period", "measure": "ytd"}))
    return out


def configure_history_suite(gxe: Any) -> list[Expectation]:
    """Rules against the unit's own history (see ``ingest/check/history.py``); thresholds from problems.yaml."""
    params = {code: problem_catalogue().get(code).params for code in ("stock-jump", "outlier-zscore")}
    pair = gxe.ExpectColumnPairValuesToBeEqual
    greater = gxe.ExpectColumnPairValuesAToBeGreaterThanB
    missing = "either_value_is_missing"
    z = float(params["outlier-zscore"]["threshold"])
    return [
        pair(column_A="ytd", column_B="expected_ytd", ignore_row_if=missing,
             meta={"rule": "ytd-continuity", "measure": "ytd"}),
        greater(column_A="ytd", column_B="prev_ytd_flow", or_equal=True, ignore_row_if=missing,
                meta={"rule": "ytd-decreased", "measure": "ytd"}),
        pair(column_A="ytd_prev_year", column_B="last_year_ytd", ignore_row_if=missing,
             meta={"rule": "prev-year-mismatch", "measure": "ytd_prev_year"}),
        pair(column_A="plan_year", column_B="prev_plan", ignore_row_if=missing,
             meta={"rule": "plan-changed", "measure": "plan_year"}),
        pair(column_A="ytd", column_B="stock_period", ignore_row_if=missing,
             meta={"rule": "stock-ytd-not-period", "measure": "ytd"}),
        gxe.ExpectColumnValuesToBeBetween(column="stock_change", max_value=float(params["stock-jump"]["max_change"]),
                                          meta={"rule": "stock-jump", "measure": "period"}),
        gxe.ExpectColumnValuesToBeBetween(column="mod_z", min_value=-z, max_value=z,
                                          meta={"rule": "outlier-zscore", "measure": "period"}),
        greater(column_A="period", column_B="band_low", or_equal=True, ignore_row_if=missing,
                meta={"rule": "outlier-minmax", "measure": "period"}),
        greater(column_A="band_high", column_B="period", or_equal=True, ignore_row_if=missing,
                meta={"rule": "outlier-minmax", "measure": "period"}),
    ]


def configure_form_suite(gxe: Any, form: Form) -> list[Expectation]:
    out = []
    for row in form.rows:
        if row.sum_of:
            out.append(gxe.ExpectColumnPairValuesToBeEqual(
                column_A=f"r{row.code}", column_B=f"sum_r{row.code}", ignore_row_if="either_value_is_missing",
                meta={"rule": "sum-mismatch", "row_code": row.code, "parts": ", ".join(row.sum_of)}))
        if row.of:
            out.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=f"r{row.of}", column_B=f"r{row.code}", or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta={"rule": "part-exceeds-whole", "row_code": row.code, "whole_row": row.of}))
    return out


# --- running --------------------------------------------------------------------------------------

SUITES_HINT = "run `make generate` and commit great_expectations/"


class SuitesOutOfDate(RuntimeError):
    """The suites stored in great_expectations/ are not the ones the catalogue generates."""


def generated_suites(catalogue: Catalogue) -> dict[str, list[Expectation]]:
    """Every suite, by name, as the catalogue defines it."""
    import great_expectations.expectations as gxe

    suites: dict[str, list[Expectation]] = {
        "submissions": configure_submission_suite(gxe),
        "cells": configure_cell_suite(gxe, catalogue),
        "history": configure_history_suite(gxe),
    }
    for form in catalogue.forms:
        suites[suite_name(form)] = configure_form_suite(gxe, form)
    return suites


def suite_name(form: Form) -> str:
    """``arithmetic_01_LDVL-H``: a form's suite, named in ASCII so its file name is portable."""
    code = unicodedata.normalize("NFKD", form.code.replace("Đ", "D").replace("đ", "d"))
    return "arithmetic_" + "".join(ch for ch in code if not unicodedata.combining(ch)).replace("/", "_")


def suite_signature(expectations: list[Any]) -> list[dict]:
    """What an expectation says, without the ids the store gives it."""
    out = []
    for e in expectations:
        conf = e.configuration.to_json_dict()
        out.append({k: v for k, v in conf.items() if k != "id"})
    return sorted(out, key=lambda d: repr(d))


def gx_results_dir() -> str:
    """Validation results and Data Docs go to the data directory, not the repository."""
    return str(data_dir() / "gx")


def open_context(root: Path | None = None, results_dir: str | None = None) -> AbstractDataContext:
    """The project's file data context (``great_expectations/``), storing its results in ``results_dir`` (default
    :func:`gx_results_dir`; the context fixes it when it opens)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ["SECTORSTATS_GX_DIR"] = results_dir or gx_results_dir()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", context_root_dir=str(root or GX_ROOT))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


class Validator:
    """The suites of the project's file data context, checked against the catalogue before use."""

    def __init__(self, catalogue: Catalogue, root: Path | None = None, results_dir: str | None = None) -> None:
        self.catalogue = catalogue
        self.results_dir = results_dir or gx_results_dir()  # the upload page keeps its previews' apart
        self.context = open_context(root, self.results_dir)
        self.definitions = {}
        for name, expectations in generated_suites(catalogue).items():
            try:
                definition = self.context.validation_definitions.get(name)
            except Exception as exc:
                raise SuitesOutOfDate(f"great_expectations/ has no validation definition {name!r}: {SUITES_HINT}") \
                    from exc
            if suite_signature(definition.suite.expectations) != suite_signature(expectations):
                raise SuitesOutOfDate(f"suite {name!r} in great_expectations/ differs from the catalogue: "
                                      f"{SUITES_HINT}")
            self.definitions[name] = definition

    def run(self, name: str, frame: pd.DataFrame) -> list[tuple[dict, dict]]:
        """Validate ``frame`` with suite ``name``: (expectation meta, unexpected index row) per failure."""
        if frame.empty:
            return []
        # GX substitutes ${SECTORSTATS_GX_DIR} when it stores a result, not when the context opens
        os.environ["SECTORSTATS_GX_DIR"] = self.results_dir
        result = self.definitions[name].run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["key"]},
        )
        failures = []
        for r in result.results:
            if r.success:
                continue
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise RuntimeError(f"suite {name}: {r.expectation_config.type} raised "
                                   f"{r.exception_info.get('exception_message')}")
            for index_row in r.result.get("unexpected_index_list") or []:
                failures.append((dict(r.expectation_config.meta or {}), index_row))
        log.info("suite %s: %d rows, %d failures", name, len(frame), len(failures))
        return failures

    def build_data_docs(self) -> Path:
        os.environ["SECTORSTATS_GX_DIR"] = self.results_dir
        self.context.build_data_docs()
        return Path(self.results_dir) / "data_docs" / "index.html"


def validate_batch(submissions: pd.DataFrame, observations: pd.DataFrame, catalogue: Catalogue,
                   validator: Validator | None = None, history: pd.DataFrame | None = None) -> list[Problem]:
    """Every rule failure in the batch: a problem of the submission's file (``sha256``), at its cell where there
    is one.

    ``observations`` must carry ``form_code`` beside the columns of ``raw.observations``. ``history`` holds
    the unit's earlier accepted reports (``history.warehouse_history``); without it the history rules
    still compare the reports of the batch with each other.
    """
    validator = validator or Validator(catalogue)
    subs = submissions[submissions["submission_id"].notna()]
    if subs.empty:
        return []
    sid_to_sha = dict(zip(subs["submission_id"], subs["sha256"], strict=True))
    sheet_of = dict(zip(subs["submission_id"], subs["source_sheet"], strict=True))
    obs = observations[observations["submission_id"].isin(sid_to_sha)]
    failures: list[Problem] = []
    at_cells: list[tuple[int, str, str | None, str | None]] = []  # (failure, submission, row, measure)

    def cell_failure(rule: str, sid: str, row_code: str | None, measure: str | None, details: dict[str, str]) -> None:
        at_cells.append((len(failures), sid, row_code, measure))  # its cell and value: looked up once, below
        failures.append(Problem.at(rule, sheet=sheet_of[sid], row_code=row_code, measure=measure,
                                   sha256=sid_to_sha[sid], **details))

    sframe = submission_frame(subs, catalogue)
    by_key = sframe.set_index("key")
    seen: set[tuple[str, str]] = set()
    for meta, row in validator.run("submissions", sframe):
        rec = by_key.loc[row["key"]]
        if (row["key"], meta["rule"]) in seen:
            continue
        seen.add((row["key"], meta["rule"]))
        period = f"{rec['period_start']:%m/%Y}"
        failures.append(Problem.at(meta["rule"], sheet=rec["source_sheet"], sha256=rec["sha256"],
                                   sheet_unit=str(rec["unit_code"]), folder_unit=str(rec["folder_unit_code"]),
                                   period=period))

    if not obs.empty:
        cframe = cell_frame(obs, catalogue)
        by_cell = cframe.set_index("key")
        for meta, row in validator.run("cells", cframe):
            sid, row_code = row["key"].split("|")
            details = {}
            if meta["rule"] == "ytd-below-period":
                details["expected"] = _fmt(by_cell.loc[row["key"], "period"])
            cell_failure(meta["rule"], sid, row_code, meta.get("measure"), details)

        for form in catalogue.forms:
            fframe = form_frame(obs, form)
            if fframe.empty:
                continue
            by_measure = fframe.set_index("key")
            for meta, row in validator.run(suite_name(form), fframe):
                sid, measure = row["key"].split("|")
                rec = by_measure.loc[row["key"]]
                if meta["rule"] == "sum-mismatch":
                    details = {"parts": meta["parts"], "expected": _fmt(rec[f"sum_r{meta['row_code']}"])}
                else:
                    details = {"whole_row": meta["whole_row"], "expected": _fmt(rec[f"r{meta['whole_row']}"])}
                cell_failure(meta["rule"], sid, meta["row_code"], measure, details)

        tframe = time_frame(subs, obs, history if history is not None else pd.DataFrame(columns=HISTORY_COLUMNS),
                            catalogue)
        if not tframe.empty:
            by_row = tframe.set_index("key")
            seen_history: set[tuple[str, str]] = set()
            for meta, row in validator.run("history", tframe):
                if (row["key"], meta["rule"]) in seen_history:  # the two bounds of the min-max band
                    continue
                seen_history.add((row["key"], meta["rule"]))
                sid, row_code = row["key"].split("|")
                cell_failure(meta["rule"], sid, row_code, meta.get("measure"), _history_details(meta["rule"],
                                                                                             by_row.loc[row["key"]]))
    return _with_cells(failures, at_cells, obs)


def _with_cells(failures: list[Problem], at_cells: list[tuple[int, str, str | None, str | None]],
                obs: pd.DataFrame) -> list[Problem]:
    """Each cell failure given its cell's address and value, by one join with the batch's numbers (a lookup
    table of every number of a national batch would cost more memory than the numbers themselves)."""
    if not at_cells:
        return failures
    keys = ["submission_id", "row_code", "measure"]
    wanted = pd.DataFrame(at_cells, columns=["failure", *keys])
    cells = obs[[*keys, "source_cell", "value"]].drop_duplicates(keys, keep="last")
    found = wanted.merge(cells, on=keys, how="left")
    for i, cell, value in found[["failure", "source_cell", "value"]].itertuples(index=False):
        failures[i] = replace(failures[i], where=replace(failures[i].where, cell=None if pd.isna(cell) else cell),
                              value=_fmt(value))
    return failures


def _history_details(rule: str, rec: pd.Series) -> dict[str, str]:
    if rule == "ytd-continuity":
        return {"expected": _fmt(rec["expected_ytd"]), "previous": _fmt(rec["prev_ytd"]) or "0",
                "period_value": _fmt(rec["period"])}
    if rule == "ytd-decreased":
        return {"expected": _fmt(rec["prev_ytd_flow"])}
    if rule == "prev-year-mismatch":
        return {"expected": _fmt(rec["last_year_ytd"])}
    if rule == "plan-changed":
        return {"expected": _fmt(rec["prev_plan"])}
    if rule == "stock-ytd-not-period":
        return {"expected": _fmt(rec["stock_period"])}
    if rule == "stock-jump":
        return {"expected": _fmt(rec["prev_stock"]), "change": f"{rec['stock_change']:.0%}"}
    if rule == "outlier-zscore":
        return {"expected": _fmt(rec["hist_median"]), "score": f"{rec['mod_z']:.1f}".replace(".", ",")}
    return {"expected": f"{_fmt(max(rec['band_low'], 0))} – {_fmt(rec['band_high'])}"}
