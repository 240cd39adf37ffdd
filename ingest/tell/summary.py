"""The run summary: per form, what was expected, accepted, rejected and missing, and the on-time rate."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from ingest import warehouse
from ingest.catalogue.constants import ACCEPTED, ACCEPTED_WITH_WARNINGS, REJECTED
from ingest.marts.calendar import CALENDAR_TABLE, read_calendar
from ingest.settings import reports_dir


def summarise(as_of: dt.date) -> pd.DataFrame:
    """One row per form (and a total) of the reports due by ``as_of`` (the reporting calendar,
    ``marts.fct_report_status``, which must be as of that day): expected, each status of the version that counts,
    received on time, on-time rate."""
    with warehouse.connect(read_only=True) as con:
        read_calendar(con, as_of)  # refuses a calendar of another day
        frame = warehouse.frame(con, f"""
            select form_code,
                   count(*) as expected,
                   count(*) filter (where status = :accepted) as accepted,
                   count(*) filter (where status = :accepted_with_warnings) as accepted_with_warnings,
                   count(*) filter (where status = :rejected) as rejected,
                   count(*) filter (where status = 'missing') as missing,
                   count(*) filter (where on_time) as on_time
            from {CALENDAR_TABLE}
            where is_due
            group by form_code order by form_code""",
                                {"accepted": ACCEPTED, "accepted_with_warnings": ACCEPTED_WITH_WARNINGS,
                                 "rejected": REJECTED})
    total = frame.drop(columns="form_code").sum().to_frame().T
    total.insert(0, "form_code", "total")
    frame = pd.concat([frame, total], ignore_index=True)
    frame["on_time_rate"] = (frame["on_time"] / frame["expected"].where(frame["expected"] > 0)).round(3)
    return frame


def problem_counts() -> pd.DataFrame:
    with warehouse.connect(read_only=True) as con:
        return warehouse.frame(con, """select rule, severity, count(*) as problems, count(distinct sha256) as files
                              from marts.fct_problem group by rule, severity
                              order by severity, problems desc, rule""")


def render(frame: pd.DataFrame, problems: pd.DataFrame, as_of: dt.date) -> str:
    lines = [f"sectorstats — submissions due up to {as_of:%Y-%m-%d}", ""]
    header = f"{'form':<11}{'expected':>9}{'accepted':>9}{'warnings':>9}{'rejected':>9}{'missing':>9}{'on time':>9}"
    lines += [header, "-" * len(header)]
    for r in frame.itertuples(index=False):
        rate = "" if pd.isna(r.on_time_rate) else f"{r.on_time_rate:.1%}"
        lines.append(f"{r.form_code:<11}{r.expected:>9}{r.accepted:>9}{r.accepted_with_warnings:>9}"
                     f"{r.rejected:>9}{r.missing:>9}{rate:>9}")
    if not problems.empty:
        lines += ["", "problems by rule:"]
        lines += [f"  {r.severity:<8}{r.rule:<24}{r.problems:>6} in {r.files} file(s)"
                  for r in problems.itertuples(index=False)]
    return "\n".join(lines)


def write_summary(as_of: dt.date, out_dir: Path | None = None) -> str:
    """Render the summary, and keep it as text and JSON under ``reports/``."""
    frame, problems = summarise(as_of), problem_counts()
    text = render(frame, problems, as_of)
    out = out_dir or reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({
        "as_of": as_of.isoformat(),
        "forms": json.loads(frame.to_json(orient="records")),
        "problems": json.loads(problems.to_json(orient="records")),
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    return text
