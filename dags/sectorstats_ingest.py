"""
### sectorstats — ingest district reports

Every hour, takes what the districts uploaded to the inbox and moves it one way:
**archive** (every file kept byte for byte under its sha256) → **parse** (form, unit, period and every
number with its cell, found by content) → **validate** (Great Expectations suites generated from the
form catalogue, one run per suite for the whole batch) → **load** (raw tables of the warehouse, in
one transaction) → **feedback** (for each file with problems, the district's sheet with the problem
cells marked, in `reports/feedback/<unit>/`).

Each task is a call into the `ingest` library; data passes between tasks as a load package on disk
(`$SECTORSTATS_DATA_DIR/packages/<load id>/`), so a retried task reads the same input and a repeated
load changes nothing. The load task updates the `sectorstats_raw_tables` asset, which schedules
`sectorstats_transform`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from ingest.assets import RAW_TABLES


@dag(
    dag_id="sectorstats_ingest",
    dag_display_name="sectorstats: ingest district reports",
    description="inbox → archive → parse → validate → raw tables",
    schedule="@hourly",
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    default_args={"retries": 2, "retry_delay": pendulum.duration(seconds=30), "retry_exponential_backoff": True},
    tags=["sectorstats", "ingest"],
    doc_md=__doc__,
)
def sectorstats_ingest():
    @task
    def archive(run_id: str | None = None) -> str:
        """Archive new inbox files and record their arrival; returns the load id."""
        from ingest.pipeline import archive_stage, new_load_id

        return str(archive_stage(new_load_id(run_id))["load_id"])

    @task
    def parse(load_id: str) -> str:
        """Parse every archived file not parsed yet into the load package."""
        from ingest.pipeline import parse_stage

        parse_stage(load_id)
        return load_id

    @task
    def validate(load_id: str) -> str:
        """Run the Great Expectations suites over the package and set each submission's status."""
        from ingest.pipeline import validate_stage

        validate_stage(load_id)
        return load_id

    @task(outlets=[RAW_TABLES])
    def load(load_id: str) -> str:
        """Replace the package's files in the raw tables, in one transaction."""
        from ingest.pipeline import load_stage

        load_stage(load_id)
        return load_id

    @task
    def feedback(load_id: str) -> dict:
        """Write the feedback workbooks (the district's sheet, problem cells marked) for files with problems."""
        from ingest.pipeline import feedback_stage

        return feedback_stage(load_id)

    feedback(load(validate(parse(archive()))))


sectorstats_ingest()
