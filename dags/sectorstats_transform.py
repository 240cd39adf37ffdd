"""
### sectorstats — build the marts and tell the districts

Runs when `sectorstats_ingest` has loaded new raw data (the `sectorstats_raw_tables` asset):
**dbt_build** (seeds, staging → intermediate → marts, with every data test; dbt's unit tests run in CI) →
**publish** (on DuckDB a read-only snapshot for analysts, `analyst/warehouse.duckdb`, swapped in atomically) →
**alerts** (a notice for every rejected report and every report accepted with warnings, with its problems and
the feedback workbook, each recorded once in `ops.alert_log` and sent through the configured channels) →
**summary** (per form: expected, accepted, rejected, missing, on-time rate, in `reports/summary.txt`) →
**status_page** (`reports/status.html`) →
**province_reports** (the province's own filled-in forms, `reports/province/<period>/`, of every form and period
whose figures this build changed: see `python -m ingest province-report`) →
**indicator_page** (`reports/indicators.html`: the key indicators by month, plan, year to date and last year, per
unit and for the province, charts drawn from the marts). Deadlines (reminders, overdue, escalation) are
`sectorstats_monitor`'s.

Every task opens the warehouse, so they run in the pool `sectorstats_warehouse` (one slot: DuckDB has one
writer; on Postgres the slot keeps the marts from being rebuilt while the alerts read them).
The as-of date for "expected" and "missing" is `$SECTORSTATS_AS_OF` (default: today).
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ingest.orchestration.assets import MARTS, RAW_TABLES
from ingest.orchestration.defaults import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="sectorstats_transform",
    dag_display_name="sectorstats: marts and alerts",
    description="dbt build → publish → bad-data notices → summary → status and indicator pages → dbt docs",
    schedule=[RAW_TABLES],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    default_args=DEFAULT_ARGS,
    tags=["sectorstats", "dbt", "alerts"],
    doc_md=__doc__,
)
def sectorstats_transform():
    @task(outlets=[MARTS])
    def dbt_build() -> dict:
        """`dbt build`: seeds, models and data tests."""
        from ingest.marts.dbt import build_marts
        from ingest.settings import as_of

        return build_marts(as_of())

    @task
    def publish() -> str:
        """On DuckDB the analysts' read-only snapshot of the warehouse, swapped in atomically."""
        from ingest.marts.publish import publish_snapshot

        snapshot = publish_snapshot()
        return str(snapshot) if snapshot else "marts read in place (Postgres)"

    @task
    def alerts() -> dict:
        """Record and send the bad-data notices that are new since the last run (and retry failed sends)."""
        from ingest.settings import as_of
        from ingest.tell.alerts import dispatch, raise_if_undelivered

        result = dispatch(as_of(), families=("problems",))
        raise_if_undelivered(result)  # an outage turns the task red; the alerts stay owed and are retried
        return result

    @task
    def summary() -> str:
        """Write the per-form summary to reports/summary.txt and the task log."""
        from ingest.settings import as_of
        from ingest.tell.summary import write_summary

        text = write_summary(as_of())
        print(text)  # noqa: T201 - the summary belongs in the task log
        return text

    @task
    def status_page() -> str:
        """reports/status.html, with this load's counts and problems."""
        from ingest.settings import as_of
        from ingest.tell.status_page import write_status_page

        return str(write_status_page(as_of()))

    @task
    def province_reports() -> list[str]:
        """The province's reports (form, annex, coverage, lineage, narrative) of each form and period whose
        figures changed since they were last written: new reports, new versions, reports fallen due."""
        from ingest.tell.province_report import write_changed_province_reports

        return [str(path) for path in write_changed_province_reports()]

    @task
    def indicator_page() -> str:
        """reports/indicators.html: the key indicators of the latest year, charts drawn from the marts."""
        from ingest.settings import as_of
        from ingest.tell.indicator_page import write_indicator_page

        return str(write_indicator_page(as_of()))

    @task
    def docs() -> str:
        """The dbt documentation site, from the manifest of this run's build (no second compilation)."""
        from ingest.marts.dbt import generate_docs
        from ingest.marts.publish import publish_dbt_docs
        from ingest.settings import as_of

        return str(publish_dbt_docs(generate_docs(as_of())))

    (dbt_build() >> publish() >> alerts() >> summary() >> status_page() >> province_reports() >> indicator_page()
     >> docs())


sectorstats_transform()
