"""The reporting calendar of a day: ``marts.fct_report_status``, built by dbt, read by the alerts, the status page
and the summary.

For every report a unit owes whose due date falls by the day plus the catalogue's ``reminder_days_before``, the
calendar says where it stands: ``due_soon``, ``on_time``, ``late``, ``rejected``, ``unreadable`` (received, could
not be read) or ``missing``. The one definition is the dbt model
(``dbt_project/models/marts/reporting/fct_report_status.sql``); the version that counts is the ledger's
(:mod:`ingest.warehouse.ledger`). The transform DAG builds it with the marts; the monitoring DAG builds it again
every morning for its day (:func:`build_calendar`: the model and the views it is made from, a few seconds), so
reminders and notices follow the clock even when nothing new arrived.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from ingest import warehouse
from ingest.catalogue.constants import REPORT_STATES

log = logging.getLogger(__name__)

CALENDAR_MODEL = "fct_report_status"
CALENDAR_TABLE = f"marts.{CALENDAR_MODEL}"
COLUMNS = ["report_id", "unit_code", "unit_name", "form_code", "period_type", "period_start", "due_date", "state",
           "status", "n_versions", "n_unreadable", "days_overdue", "is_due", "on_time", "last_received_date",
           "accepted_received_date", "unreadable_received_date", "as_of"]
DATE_COLUMNS = ("period_start", "due_date", "last_received_date", "accepted_received_date", "unreadable_received_date",
                "as_of")


class CalendarOutOfDate(RuntimeError):
    """The calendar in the warehouse is not for the day asked (build it: ``python -m ingest monitor``)."""


def build_calendar(as_of: dt.date) -> dict[str, int]:
    """Build the calendar for ``as_of`` (the model, and the seeds and views it is made from, with their dbt
    tests), publish the analysts' copy, and return how many reports are in each state."""
    from ingest.marts.dbt import WITHOUT_UNIT_TESTS, run_dbt
    from ingest.marts.publish import publish_snapshot

    run_dbt("build", as_of=as_of, extra=["--select", f"+{CALENDAR_MODEL}", *WITHOUT_UNIT_TESTS,
                                        "--indirect-selection", "cautious"], target="calendar")
    publish_snapshot()
    with warehouse.connect(read_only=True) as con:
        counts = state_counts(read_calendar(con, as_of))
    log.info("reporting calendar as of %s: %s", as_of, counts)
    return counts


def read_calendar(con: warehouse.Connection, as_of: dt.date | None = None, *,
                  unit_code: str | None = None) -> pd.DataFrame:
    """Every report of the calendar (dates as ``datetime.date``), by form, period and unit; empty before the first
    build. With ``as_of``, a calendar built for another day is refused (:class:`CalendarOutOfDate`); with
    ``unit_code``, only that unit's reports (the upload page shows a unit what it owes)."""
    if not warehouse.has_table(con, "marts", CALENDAR_MODEL):
        return pd.DataFrame(columns=COLUMNS)
    where = "where unit_code = :unit " if unit_code is not None else ""
    frame = warehouse.frame(con, f"select {', '.join(COLUMNS)} from {CALENDAR_TABLE} {where}"
                                 "order by form_code, period_start, unit_code",
                            {"unit": unit_code} if unit_code is not None else None)
    for column in DATE_COLUMNS:
        frame[column] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[column]]
    if as_of is not None and not frame.empty and set(frame["as_of"]) != {as_of}:
        built = ", ".join(sorted(str(d) for d in set(frame["as_of"])))
        raise CalendarOutOfDate(f"the reporting calendar ({CALENDAR_TABLE}) is as of {built}, not {as_of}: "
                                "build it for that day with `python -m ingest monitor` (SECTORSTATS_AS_OF)")
    return frame


def state_counts(calendar: pd.DataFrame) -> dict[str, int]:
    """How many reports are in each state (every state named, zeros included)."""
    counts = calendar["state"].value_counts()
    return {s: int(counts.get(s, 0)) for s in REPORT_STATES}
