"""
### sectorstats — build the marts and tell the districts

Runs when `sectorstats_ingest` has loaded new raw data (the `sectorstats_raw_tables` asset):
**dbt build** (staging → intermediate → marts, with every dbt test) → **publish** (a read-only snapshot
for analysts, `analyst/warehouse.duckdb`, swapped in atomically, and the dbt docs site) → **alerts** (late, missing and
rejected reports, each recorded once in `ops.alert_log` and e-mailed when SMTP is configured) →
**summary** (per form: expected, accepted, rejected, missing, on-time rate, in `reports/summary.txt`).

The as-of date for "expected" and "missing" is `$SECTORSTATS_AS_OF` (default: today).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from ingest.assets import MARTS, RAW_TABLES


@dag(
    dag_id="sectorstats_transform",
    dag_display_name="sectorstats: marts and alerts",
    description="dbt build → alerts → summary",
    schedule=[RAW_TABLES],
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    default_args={"retries": 1, "retry_delay": pendulum.duration(seconds=30)},
    tags=["sectorstats", "dbt", "alerts"],
    doc_md=__doc__,
)
def sectorstats_transform():
    @task(outlets=[MARTS])
    def dbt_build() -> dict:
        """`dbt build`: seeds, models and tests, in-process."""
        from ingest.settings import as_of
        from ingest.transform import run_dbt

        return run_dbt("build", as_of=as_of())

    @task
    def publish(_built: dict) -> str:
        """The analysts' read-only snapshot of the warehouse, and the dbt documentation site."""
        from ingest.publish import publish_dbt_docs, publish_snapshot
        from ingest.settings import as_of
        from ingest.transform import run_dbt, target_dir

        run_dbt("docs generate", as_of=as_of())
        publish_dbt_docs(target_dir())
        return str(publish_snapshot())

    @task
    def alerts(_published: str) -> dict:
        """Record and send the alerts that are new since the last run."""
        from ingest.alerts import dispatch
        from ingest.settings import as_of

        return dispatch(as_of())

    @task
    def summary(_alerts: dict) -> str:
        """Write the per-form summary to reports/summary.txt and the task log."""
        from ingest.settings import as_of
        from ingest.summary import write_summary

        text = write_summary(as_of())
        print(text)  # noqa: T201 - the summary belongs in the task log
        return text

    summary(alerts(publish(dbt_build())))


sectorstats_transform()
