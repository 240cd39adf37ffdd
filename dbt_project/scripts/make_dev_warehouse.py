"""Build a small, realistic development warehouse for the dbt project.

Writes the raw tables of ``docs/raw_schema.md`` (schema ``raw``) into a DuckDB file, so the dbt project can be
built and tested without running the Python ingest:

- ``raw.catalogue_forms``, ``raw.catalogue_indicators``, ``raw.catalogue_settings``: read from
  ``ingest/catalogue/forms.yaml`` (the real catalogue, so a row added there shows up here too);
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

import duckdb
import yaml

from ingest import warehouse

REPO_DIR = Path(__file__).resolve().parents[2]
FORMS_YAML = REPO_DIR / "ingest" / "catalogue" / "forms.yaml"

MEASURES = ("plan_year", "period", "ytd", "ytd_prev_year")
NUMERIC_COLUMNS = {"plan_year": "E", "period": "F", "ytd": "G", "ytd_prev_year": "H"}
FIRST_DATA_ROW = 12  # sheet row of the first indicator row

DDL = """
create schema if not exists raw;

create table raw.arrivals (
    arrival_id varchar, sha256 varchar, folder_unit_code varchar, file_name varchar, size_bytes bigint,
    received_at timestamp, is_duplicate boolean, archive_path varchar, load_id varchar
);
create table raw.submissions (
    sha256 varchar, submission_id varchar, file_name varchar, folder_unit_code varchar, received_at timestamp,
    unit_code varchar, form_code varchar, form_version varchar, period_type varchar, period_start date,
    source_sheet varchar, status varchar, n_errors integer, n_warnings integer, version integer,
    load_id varchar
);
create table raw.observations (
    submission_id varchar, row_code varchar, measure varchar, value double, value_text varchar,
    qualifier varchar, source_sheet varchar, source_cell varchar, load_id varchar
);
create table raw.problems (
    problem_id varchar, sha256 varchar, submission_id varchar, file_name varchar, folder_unit_code varchar,
    stage varchar, severity varchar, rule varchar, row_code varchar, measure varchar, source_sheet varchar,
    source_cell varchar, value_text varchar, message_vi varchar, message_en varchar, load_id varchar
);
create table raw.loads (
    load_id varchar, started_at timestamp, finished_at timestamp, files_seen integer, files_new integer,
    submissions integer, problems integer, catalogue_version integer
);
create table raw.catalogue_forms (
    form_code varchar, domain varchar, title_vi varchar, title_en varchar, frequency varchar,
    period_type varchar, due_day integer, catalogue_version integer
);
create table raw.catalogue_indicators (
    form_code varchar, row_code varchar, indicator_name varchar, kind varchar, unit varchar,
    label_vi varchar, label_en varchar, section_vi varchar, of_row_code varchar, sum_of varchar,
    sort_order integer
);
create table raw.catalogue_settings (
    catalogue_version integer, reporting_start date, reminder_days_before integer, escalate_days_after integer
);
"""

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
    ("a-overdue-448", "overdue", "448", "03/BTXH-H", dt.date(2024, 12, 1), "phongldtbxh.locha@example.invalid",
     "email", "[sectorstats] Chưa nhận báo cáo 03/BTXH-H Tháng 12 năm 2024", "…", "no accepted report by the due date",
     _AT, _AT, "sent", None),
    ("a-rejected-448", "rejected", "448", "04/TTr-H", dt.date(2024, 10, 1), "phongldtbxh.locha@example.invalid",
     "email,webhook", "[sectorstats] Báo cáo bị từ chối: 04/TTr-H Quý IV năm 2024", "…", "1 problem(s): sum-mismatch",
     _AT, _AT, "partly sent", None),
]
DELIVERIES = [
    ("a-overdue-448", "email", "phongldtbxh.locha@example.invalid", "sent", 1, _AT, _AT, _AT, None),
    ("a-rejected-448", "email", "phongldtbxh.locha@example.invalid", "sent", 1, _AT, _AT, _AT, None),
    ("a-rejected-448", "webhook", "webhook_sectorstats", "failed", 1, _AT, _AT, None, "URLError: timed out"),
]


def sha(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def read_catalogue(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def catalogue_rows(spec: dict) -> tuple[list[tuple], list[tuple], tuple]:
    """raw.catalogue_forms, raw.catalogue_indicators and raw.catalogue_settings rows from forms.yaml."""
    version = int(spec.get("catalogue_version", 1))
    deadlines = spec["deadlines"]
    forms, indicators = [], []
    for f in spec["forms"]:
        freq = f["frequency"]
        due = deadlines[freq]
        due_day = due.get("day_of_following_month") or due.get("day_of_month_after_quarter")
        period_type = "month" if freq == "monthly" else "quarter"
        forms.append((f["code"], f["domain"], f["title_vi"], f["title_en"], freq, period_type, int(due_day), version))
        order = 0
        for section in f["sections"]:
            for r in section["rows"]:
                order += 1
                sum_of = ",".join(r["sum_of"]) if r.get("sum_of") else None
                indicators.append((
                    f["code"], r["code"], r["name"], r["kind"], r["unit"], r["label_vi"], r["label_en"],
                    section["heading"], r.get("of"), sum_of, order,
                ))
    settings = (
        version,
        dt.date.fromisoformat(spec["reporting_start"]),
        int(deadlines["reminder_days_before"]),
        int(deadlines["escalate_days_after"]),
    )
    return forms, indicators, settings


def form_values(rows: list[dict], rng: random.Random) -> dict[str, float]:
    """One consistent set of values for a form's rows: totals are the sums of their parts, an `of` part is a
    fraction of its whole."""
    by_code = {r["code"]: r for r in rows}
    parts = {p for r in rows for p in r.get("sum_of", [])}
    values: dict[str, float] = {}

    def value(code: str) -> float:
        if code in values:
            return values[code]
        r = by_code[code]
        if r.get("sum_of"):
            v = sum(value(p) for p in r["sum_of"])
        elif code in parts or not r.get("of"):
            v = float(rng.randint(50, 5000)) if r["kind"] != "amount" else round(rng.uniform(100, 9000), 1)
        else:
            share = rng.uniform(0.02, 0.12) if r["kind"] == "stock" else rng.uniform(0.2, 0.7)
            v = float(int(value(r["of"]) * share)) if r["kind"] != "amount" else round(value(r["of"]) * share, 1)
        values[code] = v
        return v

    for r in rows:
        value(r["code"])
    return values


def report_values(
    rows: list[dict],
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
    kinds = {r["code"]: r["kind"] for r in rows}
    months = 3 if form.startswith(("02/", "04/")) else 1
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
    spec = read_catalogue(FORMS_YAML)
    forms, indicators, settings = catalogue_rows(spec)
    form_rows = {f["code"]: [r for s in f["sections"] for r in s["rows"]] for f in spec["forms"]}
    period_types = {f[0]: f[5] for f in forms}
    rng = random.Random(42)
    ytd_state: dict[tuple[str, str, int], dict[dt.date, dict[str, float]]] = {}
    plans: dict[tuple[str, str, int], dict[str, float]] = {}

    arrivals, submissions, observations, problems = [], [], [], []
    for unit, form, period_start, version, status, received_at, extra in SCENARIOS:
        digest = sha(unit, form, period_start, version)
        submission_id = digest[:16]
        file_name = f"{form.split('/')[0]}_{unit}_{period_start:%Y%m}_v{version}.xlsx"
        n_errors = 1 if status == "rejected" else 0
        n_warnings = 1 if extra == "warning_text" else 0
        submissions.append((
            digest, submission_id, file_name, unit, received_at, unit, form, "current", period_types[form],
            period_start, SHEET, status, n_errors, n_warnings, version, LOAD_ID,
        ))
        arrivals.append((
            sha("arrival", unit, file_name, received_at, digest), digest, unit, file_name, 24_000 + version,
            received_at, False, f"archive/sha256/{digest[:2]}/{digest}", LOAD_ID,
        ))
        measure_values = report_values(form_rows[form], rng, ytd_state, plans, unit, form, period_start, extra)
        if status != "rejected":
            ytd_state.setdefault((unit, form, period_start.year), {})[period_start] = measure_values["ytd"]
        for i, r in enumerate(form_rows[form]):
            for m in MEASURES:
                cell = f"{NUMERIC_COLUMNS[m]}{FIRST_DATA_ROW + i}"
                value, value_text, qualifier = measure_values[m][r["code"]], None, None
                if extra == "warning_text" and m == "period" and r["code"] == "09":
                    value_text, qualifier = f"khoảng {int(value)}", "about"
                if extra == "blank_period" and m == "period" and r["code"] == "09":
                    value = None
                observations.append((submission_id, r["code"], m, value, value_text, qualifier, SHEET, cell, LOAD_ID))
                if value_text:
                    problems.append((
                        sha(digest, "value-with-qualifier", SHEET, cell, r["code"], m), digest, submission_id,
                        file_name, unit, "parse", "warning", "value-with-qualifier", r["code"], m, SHEET, cell,
                        value_text, f"Ô {cell}: giá trị '{value_text}' không phải số chính xác, đã lấy {int(value)}",
                        f"Cell {cell}: '{value_text}' is not an exact number; read as {int(value)}", LOAD_ID,
                    ))
        if status == "rejected":
            first = form_rows[form][0]
            cell = f"F{FIRST_DATA_ROW}"
            problems.append((
                sha(digest, "sum-mismatch", SHEET, cell, first["code"], "period"), digest, submission_id, file_name,
                unit, "validate", "error", "sum-mismatch", first["code"], "period", SHEET, cell, "12",
                f"Mã số {first['code']}: tổng không bằng tổng các thành phần",
                f"Row {first['code']}: total differs from the sum of its parts", LOAD_ID,
            ))
            # Observations are kept for every identified submission, rejected ones included: make this
            # file's first total wrong, so the marts must leave its numbers out.
            for i, o in enumerate(observations):
                if o[0] == submission_id and o[1] == first["code"] and o[2] == "period":
                    observations[i] = (*o[:3], o[3] + 12, *o[4:])

    # A file nobody could identify, uploaded to Can Lộc's folder: a problem without submission_id.
    junk = sha("junk", "443", "bao cao thang 12.xlsx")
    junk_at = dt.datetime(2025, 1, 9, 9, 0)
    submissions.append((
        junk, None, "bao cao thang 12.xlsx", "443", junk_at, None, None, None, None, None, None, "rejected", 1, 0,
        None, LOAD_ID,
    ))
    arrivals.append((
        sha("arrival", "443", "bao cao thang 12.xlsx", junk_at, junk), junk, "443", "bao cao thang 12.xlsx", 8_000,
        junk_at, False, f"archive/sha256/{junk[:2]}/{junk}", LOAD_ID,
    ))
    problems.append((
        sha(junk, "form-not-found", None, None, None, None), junk, None, "bao cao thang 12.xlsx", "443", "read",
        "error", "form-not-found", None, None, None, None, None,
        "Không tìm thấy mã biểu mẫu trong tệp", "No form code found in the file", LOAD_ID,
    ))
    # The same bytes as Thành phố Hà Tĩnh's November employment report, uploaded again under another name.
    dup = submissions[2]
    dup_at = dt.datetime(2024, 12, 11, 1, 0)
    arrivals.append((
        sha("arrival", "436", "copy.xlsx", dup_at, dup[0]), dup[0], "436", "copy.xlsx", 24_001, dup_at, True,
        f"archive/sha256/{dup[0][:2]}/{dup[0]}", LOAD_ID,
    ))

    loads = [(
        LOAD_ID, dt.datetime(2025, 1, 31, 1, 0), dt.datetime(2025, 1, 31, 1, 2), len(arrivals), len(submissions),
        sum(1 for s in submissions if s[1]), len(problems), settings[0],
    )]

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    with warehouse.connect(path) as wh:
        wh.exec_driver_sql(DDL)
        warehouse.ensure_schema(wh)  # the ops tables (alerts, reporting status), as the pipeline creates them
    con = duckdb.connect(str(path))
    try:
        con.executemany("insert into ops.alert_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ALERTS)
        con.executemany("insert into ops.alert_delivery values (?, ?, ?, ?, ?, ?, ?, ?, ?)", DELIVERIES)
        for table, rows in (
            ("arrivals", arrivals), ("submissions", submissions), ("observations", observations),
            ("problems", problems), ("loads", loads), ("catalogue_forms", forms),
            ("catalogue_indicators", indicators), ("catalogue_settings", [settings]),
        ):
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into raw.{table} values ({marks})", rows)
    finally:
        con.close()
    print(
        f"{path}: {len(submissions)} submissions, {len(observations)} observations, {len(problems)} problems, "
        f"{len(forms)} forms, {len(indicators)} catalogue rows"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path, nargs="?", default=Path("/tmp/dbtdev/warehouse.duckdb"),
                        help="DuckDB file to (re)create (default: /tmp/dbtdev/warehouse.duckdb)")
    args = parser.parse_args(argv)
    build(args.warehouse.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
