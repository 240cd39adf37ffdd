"""The words the code shares for the outcomes of a file and the states of a report, each written once.

What a form is (rows, columns, measures, due days, the time zone of its deadlines) is in ``forms.yaml``
(:mod:`ingest.catalogue`); what the pipeline calls a file's verdict and a report's state is here. dbt's models
check the same values (check constraints, ``declared_constraints``) where they store them.
"""

from __future__ import annotations

ACCEPTED = "accepted"
ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
REJECTED = "rejected"
SUBMISSION_STATUSES = (ACCEPTED, ACCEPTED_WITH_WARNINGS, REJECTED)
"""A file's verdict (``raw.submissions.status``)."""
ACCEPTED_STATUSES = (ACCEPTED, ACCEPTED_WITH_WARNINGS)
"""The verdicts whose numbers may count."""

REPORT_STATES = ("due_soon", "on_time", "late", "rejected", "unreadable", "missing")
"""Where a report owed stands as of a day (``marts.fct_report_status.state``)."""
