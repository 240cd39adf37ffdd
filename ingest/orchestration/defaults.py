"""What the sectorstats DAGs share: their start, their retries, the pool of the tasks that open the warehouse, and
the day a run is for."""

from __future__ import annotations

import datetime as dt

import pendulum

from ingest.orchestration.schedule import TIMEZONE
from ingest.settings import WAREHOUSE_POOL

START_DATE = pendulum.datetime(2024, 1, 1, tz=TIMEZONE)
"""Before the first report is due; with catchup off, only the latest interval runs."""

DEFAULT_ARGS = {
    # a task that fails (a warehouse held by a reader, a mail server down) is retried with growing delays:
    # 30 s, 1 min, 2 min; a run that still fails is retried by the next scheduled one, from the same archive
    "retries": 3,
    "retry_delay": pendulum.duration(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": pendulum.duration(minutes=10),
    # DuckDB has one writer: every task that opens the warehouse waits for this pool's one slot; the tasks that
    # do not (the parse chunks, feedback, announce) say pool="default_pool"
    "pool": WAREHOUSE_POOL,
}


def run_day() -> dt.date:
    """The day the running DAG run is for, in the catalogue's time zone (``SECTORSTATS_AS_OF`` wins): what the
    monitoring DAG builds the calendar for and reminds of."""
    from airflow.sdk import get_current_context

    from ingest.settings import as_of

    run_after = get_current_context()["dag_run"].run_after
    return as_of(default=pendulum.instance(run_after).in_tz(TIMEZONE).date())
