"""The words and numbers of the reporting calendar that the code shares, each written once.

What a form is (rows, columns, due days, measures) is in ``forms.yaml``; what the pipeline calls the outcomes of a
file and the states of a report, and the clock it reads them on, are here.
"""

from __future__ import annotations

import datetime as dt

VIETNAM = dt.timezone(dt.timedelta(hours=7), "UTC+7")
"""Deadlines are Vietnamese calendar days; the warehouse stores UTC."""
VIETNAM_TZ_NAME = "Asia/Ho_Chi_Minh"
"""The same zone by name, for Airflow's timetables."""

ACCEPTED = "accepted"
ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
REJECTED = "rejected"
SUBMISSION_STATUSES = (ACCEPTED, ACCEPTED_WITH_WARNINGS, REJECTED)
"""A file's verdict (``raw.submissions.status``)."""
ACCEPTED_STATUSES = (ACCEPTED, ACCEPTED_WITH_WARNINGS)
"""The verdicts whose numbers may count."""

REPORT_STATES = ("due_soon", "on_time", "late", "rejected", "missing")
"""Where a report owed stands as of a day (``marts.fct_report_status.state``)."""


def vietnam_date(moment: dt.datetime) -> dt.date:
    """The Vietnamese calendar day of a time (naive times are UTC, as the warehouse stores them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VIETNAM).date()
