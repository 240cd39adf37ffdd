"""Build a small, realistic development warehouse for the dbt project.

Writes the raw tables (declared in the dbt source files, created by ``ingest.warehouse.ensure_schema``) into a
DuckDB file, so the dbt project can be built and tested without running the Python ingest:

- ``raw.catalogue_forms``, ``raw.catalogue_indicators``, ``raw.catalogue_settings``: the real catalogue, as the
  load stage writes it (a row added to forms.yaml shows up here too);
- ``raw.arrivals``, ``raw.submissions``, ``raw.observations``, ``raw.problems``, ``raw.loads``: a handful of
  made-up reports from four districts for 2024 and January 2025, with numbers that satisfy the catalogue's
  ``sum_of``/``of`` arithmetic.

The scenarios the marts must handle (see ``SCENARIOS`` below):

- an accepted v1 followed by a rejected v2 (the v1 numbers stay);
- an accepted-with-warnings v1 replaced by an accepted v2 (the v2 numbers win);
- a report that only ever arrived rejected (status ``rejected``, no numbers);
- missing reports (most of the expected grid, e.g. Lộc Hà's December 2024 social-protection report);
- a report received on the due day late in the evening UTC but still on time in Vietnam, and one received
  17:30 UTC on the due day (the next day in Vietnam: late);
- a report for January 2025, received before its due date has come (not expected at as-of 2025-01-31);
- a file that could not be identified (a problem without ``submission_id``) and a duplicate arrival;
- text cells (``khoảng 120``) with a qualifier, kept as warnings.

Usage (from the repository root)::

    .venv/bin/python dbt_project/scripts/make_dev_warehouse.py /tmp/dbtdev/warehouse.duckdb
    SECTORSTATS_WAREHOUSE=/tmp/dbtdev/warehouse.duckdb .venv/bin/dbt build \\
        --project-dir dbt_project --profiles-dir dbt_project --vars '{as_of: "2025-01-31"}'

The file is replaced if it exists. The data is deterministic (fixed random seed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import sys
from pathlib import Path

import pandas as pd

from ingest import warehouse
from ingest.catalogue import Row, load_catalogue
from ingest.load.stage import catalogue_frames
from ingest.parse.stage import PARSER_VERSION
from ingest.warehouse.ledger import number_versions
from ingest.warehouse.tables import table

NUMERIC_COLUMNS = dict(zip(load_catalogue().measure_keys, "EFGH", strict=True))  # the sheet columns of the measures
FIRST_DATA_ROW = 12  # sheet row of the first indicator row

LOAD_ID = "load-dev-0001"
SHEET = "Biểu"

# (unit, form, period_start, version, status, received_at UTC, extra) — one entry per identified file.
# extra: "warning_text" puts a text cell with a qualifier in the file (a warning); "ytd_correction" adds 30 to
# the year to date of rows 01 and 03 only; "blank_period" leaves row 09's period cell empty.
# Year to date runs on from the unit's previous accepted report of the year (a stock's repeats its period value);
# before a unit's first report of a year, the months it did not send are simulated.
SCENARIOS: list[tuple[str, str, dt.date, int, str, dt.datetime, str]] = [
    # Thành phố Hà Tĩnh, employment: Oct accepted v1 then a rejected v2 (v1 stays).
    ("436", "01/LĐVL-H", dt.date(2024, 10, 1), 1, "accepted", dt.datetime(2024, 11, 5, 2, 0), ""),
    ("436", "01/LĐVL-H", dt.date(2024, 10, 1), 2, "rejected", dt.datetime(2024, 11, 12, 3, 0), ""),
    # Nov: received 16:30 UTC on the due day = 23:30 in Vietnam: on time.
    ("436", "01/LĐVL-H", dt.date(2024, 11, 1), 1, "accepted", dt.datetime(2024, 12, 10, 16, 30), ""),
    # Dec: the year-to-date column carries a correction of 30 domestic jobs found in an earlier month (rows 01
    # and 03), which the month's own column does not: the derived monthly value must pick it up.
    ("436", "01/LĐVL-H", dt.date(2024, 12, 1), 1, "accepted", dt.datetime(2025, 1, 8, 1, 0), "ytd_correction"),
    # Jan 2025 sent early: due 2025-02-10, after as-of 2025-01-31, so not expected yet.
    ("436", "01/LĐVL-H", dt.date(2025, 1, 1), 1, "accepted", dt.datetime(2025, 1, 30, 4, 0), ""),
    # Thạch Hà, employment: Nov accepted-with-warnings v1, replaced by an accepted v2.
    ("445", "01/LĐVL-H", dt.date(2024, 11, 1), 1, "accepted_with_warnings", dt.datetime(2024, 12, 9, 2, 0),
     "warning_text"),
    ("445", "01/LĐVL-H", dt.date(2024, 11, 1), 2, "accepted", dt.datetime(2024, 12, 11, 2, 0), ""),
    # Dec: received 17:30 UTC on the due day = 00:30 the next day in Vietnam: late.
    # Its row 09 "this month" cell was left blank; year to date was filled in (the month is derived from it).
    ("445", "01/LĐVL-H", dt.date(2024, 12, 1), 1, "accepted", dt.datetime(2025, 1, 10, 17, 30), "blank_period"),
    # Social protection, monthly.
    ("436", "03/BTXH-H", dt.date(2024, 11, 1), 1, "accepted", dt.datetime(2024, 12, 6, 2, 0), ""),
    ("436", "03/BTXH-H", dt.date(2024, 12, 1), 1, "accepted_with_warnings", dt.datetime(2025, 1, 9, 2, 0),
     "warning_text"),
    ("445", "03/BTXH-H", dt.date(2024, 12, 1), 1, "accepted", dt.datetime(2025, 1, 7, 2, 0), ""),
    # Lộc Hà (dissolved 2025-01-01): Nov received, Dec missing; its Dec employment report only ever rejected.
    ("448", "03/BTXH-H", dt.date(2024, 11, 1), 1, "accepted", dt.datetime(2024, 12, 10, 8, 0), ""),
    ("448", "01/LĐVL-H", dt.date(2024, 12, 1), 1, "rejected", dt.datetime(2025, 1, 9, 8, 0), ""),
    # Training and inspection, quarterly (due the 15th of the month after the quarter).
    ("436", "02/GDNN-H", dt.date(2024, 7, 1), 1, "accepted", dt.datetime(2024, 10, 14, 2, 0), ""),
    ("436", "02/GDNN-H", dt.date(2024, 10, 1), 1, "accepted", dt.datetime(2025, 1, 14, 2, 0), ""),
    ("445", "02/GDNN-H", dt.date(2024, 10, 1), 1, "accepted", dt.datetime(2025, 1, 20, 2, 0), ""),
    ("436", "04/TTr-H", dt.date(2024, 10, 1), 1, "accepted", dt.datetime(2025, 1, 13, 2, 0), ""),
    ("448", "04/TTr-H", dt.date(2024, 10, 1), 1, "rejected", dt.datetime(2025, 1, 15, 2, 0), ""),
    ("448", "04/TTr-H", dt.date(2024, 10, 1), 2, "accepted", dt.datetime(2025, 1, 16, 2, 0), ""),
]


# ops.alert_log / ops.alert_delivery: an overdue notice e-mailed, and a rejection whose webhook post failed once.
_AT = dt.datetime(2025, 1, 11, 1, 0)
ALERTS = [
    {"alert_id": "a-overdue-448", "kind": "overdue", "unit_code": "448", "form_code": "03/BTXH-H",
     "period_start": dt.date(2024, 12, 1), "recipient": "phongldtbxh.locha@example.invalid", "channel": "email",
     "subject": "[sectorstats] Chưa nhận báo cáo 03/BTXH-H Tháng 12 năm 2024", "body": "…",
     "reason": "no accepted report by the due date", "created_at": _AT, "sent_at": _AT, "send_status": "sent"},
    {"alert_id": "a-rejected-448", "kind": "rejected", "unit_code": "448", "form_code": "04/TTr-H",
     "period_start": dt.date(2024, 10, 1), "recipient": "phongldtbxh.locha@example.invalid",
     "channel": "email,webhook", "subject": "[sectorstats] Báo cáo bị từ chối: 04/TTr-H Quý IV năm 2024",
     "body": "…", "reason": "1 problem(s): sum-mismatch", "created_at": _AT, "sent_at": _AT,
     "send_status": "partly sent"},
]
DELIVERIES = [
    {"alert_id": "a-overdue-448", "channel": "email", "recipient": "phongldtbxh.locha@example.invalid",
     "status": "sent", "attempts": 1, "created_at": _AT, "last_attempt_at": _AT, "sent_at": _AT},
    {"alert_id": "a-rejected-448", "channel": "email", "recipient": "phongldtbxh.locha@example.invalid",
     "status": "sent", "attempts": 1, "created_at": _AT, "last_attempt_at": _AT, "sent_at": _AT},
    {"alert_id": "a-rejected-448", "channel": "webhook", "recipient": "webhook_sectorstats", "status": "failed",
     "attempts": 1, "created_at": _AT, "last_attempt_at": _AT, "last_error": "URLError: timed out"},
]


def sha(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def form_values(rows: tuple[Row, ...], rng: random.Random) -> dict[str, float]:
    """One consistent set of values for a form's rows: totals are the sums of their parts, an `of` part is a
    fraction of its whole."""
    by_code = {r.code: r for r in rows}
    parts = {p for r in rows for p in r.sum_of}
    values: dict[str, float] = {}

    def value(code: str) -> float:
        if code in values:
            return values[code]
        r = by_code[code]
        if r.sum_of:
            v = sum(value(p) for p in r.sum_of)
        elif code in parts or not r.of:
            v = float(rng.randint(50, 5000)) if r.kind != "amount" else round(rng.uniform(100, 9000), 1)
        else:
            share = rng.uniform(0.02, 0.12) if r.kind == "stock" else rng.uniform(0.2, 0.7)
            v = float(int(value(r.of) * share)) if r.kind != "amount" else round(value(r.of) * share, 1)
        values[code] = v
        return v

    for r in rows:
        value(r.code)
    return values


def report_values(
    rows: tuple[Row, ...],
    rng: random.Random,
    ytd_state: dict[tuple[str, str, int], dict[dt.date, dict[str, float]]],
    plans: dict[tuple[str, str, int], dict[str, float]],
    unit: str,
    form: str,
    period_start: dt.date,
    extra: str,
) -> dict[str, dict[str, float]]:
    """The four measures of one report, consistent over time: year to date = the previous accepted report's
    year to date + this period (stocks: the period value), the same annual plan all year."""
    kinds = {r.code: r.kind for r in rows}
    months = 1 if load_catalogue().form(form).frequency == "monthly" else 3
    period = form_values(rows, rng)
    earlier = {p: v for p, v in ytd_state.get((unit, form, period_start.year), {}).items() if p < period_start}
    if earlier:
        before = earlier[max(earlier)]
    else:  # the periods of the year before this unit's first report here: simulated
        before = dict.fromkeys(period, 0.0)
        for _ in range((period_start.month - 1) // months):
            for code, v in form_values(rows, rng).items():
                before[code] += v
    ytd = {
        code: period[code] if kinds[code] == "stock" else round(before[code] + period[code], 1)
        for code in period
    }
    if extra == "ytd_correction":
        for code in ("01", "03"):
            ytd[code] += 30
    plan = plans.setdefault(
        (unit, form, period_start.year),
        {code: v if kinds[code] == "stock" else round(v * 12 / months * 1.1, 1)
         for code, v in form_values(rows, rng).items()},
    )
    return {"plan_year": plan, "period": period, "ytd": ytd, "ytd_prev_year": form_values(rows, rng)}


def build(path: Path) -> None:
    cat = load_catalogue()
    rng = random.Random(42)
    ytd_state: dict[tuple[str, str, int], dict[dt.date, dict[str, float]]] = {}
    plans: dict[tuple[str, str, int], dict[str, float]] = {}

    arrivals: list[dict] = []
    submissions: list[dict] = []
    observations: list[dict] = []
    problems: list[dict] = []

    def problem(digest: str, submission_id: str | None, file_name: str, unit: str, rule: str, stage: str,
                severity: str, row_code: str | None, measure: str | None, cell: str | None, value_text: str | None,
                vi: str, en: str) -> None:
        problems.append({
            "problem_id": sha(digest, rule, SHEET if cell else None, cell, row_code, measure)[:16], "sha256": digest,
            "submission_id": submission_id, "file_name": file_name, "folder_unit_code": unit, "stage": stage,
            "severity": severity, "rule": rule, "row_code": row_code, "measure": measure,
            "source_sheet": SHEET if cell else None, "source_cell": cell, "value_text": value_text,
            "message_vi": vi, "message_en": en})

    for unit, form_code, period_start, version, status, received_at, extra in SCENARIOS:
        form = cat.form(form_code)
        digest = sha(unit, form_code, period_start, version)
        submission_id = digest[:16]
        file_name = f"{form_code.split('/')[0]}_{unit}_{period_start:%Y%m}_v{version}.xlsx"
        submissions.append({
            "sha256": digest, "submission_id": submission_id, "file_name": file_name, "folder_unit_code": unit,
            "received_at": received_at, "unit_code": unit, "form_code": form_code, "form_version": form.version,
            "period_type": form.period_type, "period_start": period_start, "source_sheet": SHEET, "status": status,
            "n_errors": 1 if status == "rejected" else 0, "n_warnings": 1 if extra == "warning_text" else 0,
            "version": version})
        arrivals.append({
            "arrival_id": sha("arrival", unit, file_name, received_at, digest)[:20], "sha256": digest,
            "folder_unit_code": unit, "file_name": file_name, "size_bytes": 24_000 + version, "mtime_ns": 0,
            "received_at": received_at, "is_duplicate": False,
            "archive_path": f"archive/sha256/{digest[:2]}/{digest}"})
        measure_values = report_values(form.rows, rng, ytd_state, plans, unit, form_code, period_start, extra)
        if status != "rejected":
            ytd_state.setdefault((unit, form_code, period_start.year), {})[period_start] = measure_values["ytd"]
        for i, r in enumerate(form.rows):
            for m in NUMERIC_COLUMNS:
                cell = f"{NUMERIC_COLUMNS[m]}{FIRST_DATA_ROW + i}"
                value, value_text, qualifier = measure_values[m][r.code], None, None
                if extra == "warning_text" and m == "period" and r.code == "09":
                    value_text, qualifier = f"khoảng {int(value)}", "about"
                if extra == "blank_period" and m == "period" and r.code == "09":
                    value = None
                if status == "rejected" and i == 0 and m == "period":
                    # observations are kept for every identified submission, rejected ones too: make this file's
                    # first total wrong, so the marts must leave its numbers out
                    value += 12
                observations.append({"submission_id": submission_id, "row_code": r.code, "measure": m,
                                     "value": value, "value_text": value_text, "qualifier": qualifier,
                                     "source_sheet": SHEET, "source_cell": cell})
                if value_text:
                    problem(digest, submission_id, file_name, unit, "value-with-qualifier", "parse", "warning", r.code,
                            m, cell, value_text,
                            f"Ô {cell}: giá trị '{value_text}' không phải số chính xác, đã lấy {int(value)}",
                            f"Cell {cell}: '{value_text}' is not an exact number; read as {int(value)}")
        if status == "rejected":
            first = form.rows[0].code
            problem(digest, submission_id, file_name, unit, "sum-mismatch", "validate", "error", first, "period",
                    f"F{FIRST_DATA_ROW}", "12", f"Mã số {first}: tổng không bằng tổng các thành phần",
                    f"Row {first}: total differs from the sum of its parts")

    # A file nobody could identify, uploaded to Can Lộc's folder: a problem without submission_id.
    junk, junk_name, junk_at = sha("junk", "443", "bao cao thang 12.xlsx"), "bao cao thang 12.xlsx", \
        dt.datetime(2025, 1, 9, 9, 0)
    submissions.append({"sha256": junk, "file_name": junk_name, "folder_unit_code": "443", "received_at": junk_at,
                        "status": "rejected", "n_errors": 1, "n_warnings": 0})
    arrivals.append({"arrival_id": sha("arrival", "443", junk_name, junk_at, junk)[:20], "sha256": junk,
                     "folder_unit_code": "443", "file_name": junk_name, "size_bytes": 8_000, "mtime_ns": 0,
                     "received_at": junk_at, "is_duplicate": False,
                     "archive_path": f"archive/sha256/{junk[:2]}/{junk}"})
    problem(junk, None, junk_name, "443", "form-not-found", "read", "error", None, None, None, None,
            "Không tìm thấy mã biểu mẫu trong tệp", "No form code found in the file")
    # The same bytes as Thành phố Hà Tĩnh's November employment report, uploaded again under another name.
    dup = submissions[2]["sha256"]
    dup_at = dt.datetime(2024, 12, 11, 1, 0)
    arrivals.append({"arrival_id": sha("arrival", "436", "copy.xlsx", dup_at, dup)[:20], "sha256": dup,
                     "folder_unit_code": "436", "file_name": "copy.xlsx", "size_bytes": 24_001, "mtime_ns": 0,
                     "received_at": dup_at, "is_duplicate": True, "archive_path": f"archive/sha256/{dup[:2]}/{dup}"})
    loads = [{"load_id": LOAD_ID, "started_at": dt.datetime(2025, 1, 31, 1, 0),
              "finished_at": dt.datetime(2025, 1, 31, 1, 2), "files_seen": len(arrivals),
              "files_new": len(submissions), "submissions": sum(1 for s in submissions if s.get("submission_id")),
              "problems": len(problems), "catalogue_version": cat.version}]

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    rows = {"raw.arrivals": arrivals, "raw.submissions": submissions, "raw.observations": observations,
            "raw.problems": problems, "raw.loads": loads, "ops.alert_log": ALERTS, "ops.alert_delivery": DELIVERIES}
    with warehouse.connect(path) as con:
        warehouse.ensure_schema(con)  # every raw and ops table, as the pipeline creates them
        for name, records in rows.items():
            frame = pd.DataFrame(records, columns=table(name).names)
            if "load_id" in frame.columns and name != "raw.loads":
                frame["load_id"] = LOAD_ID
            if "parser_version" in frame.columns:
                frame["parser_version"] = PARSER_VERSION
            warehouse.insert_frame(con, name, frame)
        for name, frame in catalogue_frames(cat).items():
            warehouse.replace_frame(con, name, frame)
        number_versions(con)  # the ledger's bookkeeping, as the load stage does it
    print(f"{path}: {len(submissions)} submissions, {len(observations)} observations, {len(problems)} problems, "
          f"{len(cat.forms)} forms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path, nargs="?", default=Path("/tmp/dbtdev/warehouse.duckdb"),
                        help="DuckDB file to (re)create (default: /tmp/dbtdev/warehouse.duckdb)")
    args = parser.parse_args(argv)
    build(args.warehouse.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
