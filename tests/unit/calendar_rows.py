"""Reporting calendars written by hand, for the tests of what reads one (the alerts, the status page, the summary).

The calendar itself (which reports are owed, in which state) is dbt's ``marts.fct_report_status``, tested by its
dbt unit tests and, end to end, by the integration tests. A test of a reader states the calendar it reads: every
report owed by the units that exist in the periods given, each ``missing`` when past due and ``due_soon`` otherwise,
unless the test says otherwise for a report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ingest import warehouse
from ingest.catalogue import load_catalogue
from ingest.marts.calendar import CALENDAR_TABLE, COLUMNS

CAT = load_catalogue()


@dataclass(frozen=True)
class Got:
    """What was received for a report: its state and versions (dates are Vietnamese calendar days)."""

    state: str
    n_versions: int = 1
    last_received: str | None = None
    accepted_received: str | None = None
    n_unreadable: int = 0
    unreadable_received: str | None = None


def calendar(as_of: dt.date, forms: list[str], periods: list[str],
             got: dict[tuple[str, str, str], Got] | None = None) -> pd.DataFrame:
    """The calendar of ``forms`` × ``periods`` (ISO first days, those due by ``as_of`` plus the reminder days) ×
    the units existing on the period's first and last day; ``got[(unit, form, period)]`` overrides a report's
    state."""
    got = got or {}
    rows = []
    for code in forms:
        form = CAT.form(code)
        for p in periods:
            start = dt.date.fromisoformat(p)
            months = 1 if form.frequency == "monthly" else 3
            end = (pd.Timestamp(start) + pd.offsets.MonthEnd(months)).date()
            due = form.due_date(start)
            if due > as_of + dt.timedelta(days=CAT.reminder_days_before):
                continue  # not owed yet
            for unit in CAT.units:
                if not (unit.exists_on(start) and unit.exists_on(end)):
                    continue
                g = got.get((unit.code, code, p))
                state = g.state if g else ("missing" if due < as_of else "due_soon")
                accepted = dt.date.fromisoformat(g.accepted_received) if g and g.accepted_received else None
                last = dt.date.fromisoformat(g.last_received) if g and g.last_received else accepted
                n = g.n_versions if g else 0
                unreadable = dt.date.fromisoformat(g.unreadable_received) if g and g.unreadable_received else None
                overdue = (as_of - due).days if accepted is None and due < as_of else 0
                rows.append({"report_id": f"{unit.code}|{code}|{start}", "unit_code": unit.code,
                             "unit_name": unit.name, "form_code": code, "period_type": form.period_type,
                             "period_start": start, "due_date": due, "state": state,
                             "status": "missing" if not n else ("accepted" if accepted else "rejected"),
                             "n_versions": n, "n_unreadable": g.n_unreadable if g else 0,
                             "unreadable_received_date": unreadable, "days_overdue": overdue, "is_due": due <= as_of,
                             "on_time": None if not n else (last or due) <= due, "last_received_date": last,
                             "accepted_received_date": accepted, "as_of": as_of})
    return pd.DataFrame(rows, columns=COLUMNS)


TYPES = {"period_start": "date", "due_date": "date", "last_received_date": "date", "accepted_received_date": "date",
         "as_of": "date", "unreadable_received_date": "date", "n_versions": "integer", "n_unreadable": "integer",
         "days_overdue": "integer", "is_due": "boolean",
         "on_time": "boolean"}


def write_calendar(con: warehouse.Connection, frame: pd.DataFrame) -> None:
    """Put ``frame`` in the warehouse as the calendar dbt would have built (replacing any)."""
    warehouse.execute(con, "create schema if not exists marts")
    warehouse.execute(con, f"drop table if exists {CALENDAR_TABLE}")
    columns = ", ".join(f"{c} {TYPES.get(c, 'varchar')}" for c in COLUMNS)
    warehouse.execute(con, f"create table {CALENDAR_TABLE} ({columns})")
    warehouse.insert_frame(con, CALENDAR_TABLE, frame)
