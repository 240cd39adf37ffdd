"""The reporting calendar: for every report a unit owes, is it received, on time, late, rejected or missing?

This is the monitoring DAG's own source of truth, computed from the catalogue (forms, frequencies, due days,
the units and the dates they existed) and the ledger of received files (``raw.submissions``) as of a given day,
so it does not depend on when dbt last ran. It follows the same definitions as ``marts.fct_submission``
(a test compares them on the demo inbox):

- a report is owed for every period of a form from ``reporting_start`` by every unit that exists on the
  period's first and last day (a unit that no longer exists is owed nothing);
- its due date is the form's due day of the month after the period (after the quarter for quarterly forms);
- the version that counts is the latest accepted one (``accepted`` or ``accepted_with_warnings``); the report
  is on time when that version arrived by the due date, Vietnamese calendar day (UTC+7).

The grid holds every report due by D + ``reminder_days_before``; its states as of day D: ``due_soon`` (due
within that window or today, nothing accepted yet), ``on_time``, ``late``, ``rejected`` (past due, only rejected
versions so far), ``missing`` (past due, nothing received).
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from ingest import warehouse
from ingest.catalogue import Catalogue
from ingest.warehouse.tables import table

log = logging.getLogger(__name__)

VN_OFFSET = pd.Timedelta(hours=7)
ACCEPTED = ("accepted", "accepted_with_warnings")
STATES = ("due_soon", "on_time", "late", "rejected", "missing")
STATUS_COLUMNS = table("ops.reporting_status").names


def _period_starts(frequency: str, first: dt.date, last: dt.date) -> list[dt.date]:
    step = 1 if frequency == "monthly" else 3
    month = first.month if step == 1 else (first.month - 1) // 3 * 3 + 1
    day = dt.date(first.year, month, 1)
    out = []
    while day <= last:
        out.append(day)
        total = day.year * 12 + day.month - 1 + step
        day = dt.date(total // 12, total % 12 + 1, 1)
    return out


def _period_end(start: dt.date, frequency: str) -> dt.date:
    months = 1 if frequency == "monthly" else 3
    total = start.year * 12 + start.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1) - dt.timedelta(days=1)


def owed_reports(cat: Catalogue, as_of: dt.date, horizon_days: int = 0) -> pd.DataFrame:
    """Every (unit, form, period) owed whose due date is on or before ``as_of + horizon_days``."""
    limit = as_of + dt.timedelta(days=horizon_days)
    codes = np.array([u.code for u in cat.units], dtype=object)
    names = np.array([u.name for u in cat.units], dtype=object)
    valid_from = np.array([u.valid_from for u in cat.units], dtype="datetime64[D]")
    valid_to = np.array([u.valid_to or dt.date.max for u in cat.units], dtype="datetime64[D]")
    parts = []
    for form in cat.forms:
        for start in _period_starts(form.frequency, cat.reporting_start, limit):
            due = form.due_date(start)
            if due > limit:
                continue
            end = _period_end(start, form.frequency)
            exists = (valid_from <= np.datetime64(start)) & (valid_to >= np.datetime64(end))  # on both days
            parts.append(pd.DataFrame({"unit_code": codes[exists], "unit_name": names[exists], "form_code": form.code,
                                       "period_type": form.period_type, "period_start": start,
                                       "period_label": form.period_label_vi(start), "due_date": due}))
    columns = ["unit_code", "unit_name", "form_code", "period_type", "period_start", "period_label", "due_date"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def received_reports(con: warehouse.Connection, as_of: dt.date) -> pd.DataFrame:
    """Per identified (unit, form, period): versions received by the end of ``as_of`` (Vietnam) and the latest
    accepted one's arrival date (the latest by version, then arrival)."""
    return warehouse.frame(con, """
        with received as (
            select unit_code, form_code, period_start, received_at,
                   status in ('accepted', 'accepted_with_warnings') as is_accepted,
                   cast(received_at + interval '7 hours' as date) as received_date,
                   row_number() over (
                       partition by unit_code, form_code, period_start,
                                    status in ('accepted', 'accepted_with_warnings')
                       order by coalesce(version, 0) desc, received_at desc) as recency
            from raw.submissions
            where unit_code is not null and form_code is not null and period_start is not null
              and cast(received_at + interval '7 hours' as date) <= :as_of
        )
        select unit_code, form_code, period_start,
               count(*) as n_versions,
               max(received_date) as last_received_date,
               max(case when is_accepted and recency = 1 then received_date end) as accepted_received_date
        from received
        group by unit_code, form_code, period_start""", {"as_of": as_of})


def reporting_status(con: warehouse.Connection, cat: Catalogue, as_of: dt.date) -> pd.DataFrame:
    """The state of every report owed by ``as_of + reminder_days_before`` (see the module docstring)."""
    owed = owed_reports(cat, as_of, cat.reminder_days_before)
    got = received_reports(con, as_of)
    for frame in (owed, got):
        frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    grid = owed.merge(got, on=["unit_code", "form_code", "period_start"], how="left")
    grid["n_versions"] = grid["n_versions"].fillna(0).astype("int64")
    accepted = pd.to_datetime(grid["accepted_received_date"])
    due = pd.to_datetime(grid["due_date"])
    today = pd.Timestamp(as_of)
    has_accepted = accepted.notna()
    state = pd.Series("missing", index=grid.index, dtype="object")
    state[(due >= today) & ~has_accepted] = "due_soon"
    state[(due < today) & ~has_accepted & (grid["n_versions"] > 0)] = "rejected"
    state[has_accepted & (accepted <= due)] = "on_time"
    state[has_accepted & (accepted > due)] = "late"
    grid["state"] = state
    overdue = (today - due).dt.days
    grid["days_overdue"] = overdue.where((overdue > 0) & ~has_accepted, 0).astype("int64")
    grid["as_of"] = as_of
    grid["due_date"] = due.dt.date
    for col in ("last_received_date", "accepted_received_date"):
        grid[col] = pd.to_datetime(grid[col]).dt.date
    return grid[STATUS_COLUMNS].sort_values(["form_code", "period_start", "unit_code"]).reset_index(drop=True)


def write_status(con: warehouse.Connection, grid: pd.DataFrame) -> None:
    """Replace ``ops.reporting_status`` with this grid (one as-of day at a time: the latest computed), in the
    caller's transaction."""
    warehouse.ensure_schema(con)
    warehouse.execute(con, "delete from ops.reporting_status")
    warehouse.insert_frame(con, "ops.reporting_status", grid[STATUS_COLUMNS])


def state_counts(grid: pd.DataFrame) -> dict[str, int]:
    """How many reports are in each state (every state named, zeros included)."""
    counts = grid["state"].value_counts()
    return {s: int(counts.get(s, 0)) for s in STATES}


def run_monitor(as_of: dt.date) -> dict[str, int]:
    """Compute the reporting calendar as of ``as_of`` and keep it in ``ops.reporting_status``; returns the count
    of reports in each state."""
    from ingest.catalogue import load_catalogue

    cat = load_catalogue()
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        grid = reporting_status(con, cat, as_of)
        write_status(con, grid)
    counts = state_counts(grid)
    log.info("reporting status as of %s: %s", as_of, counts)
    return counts
