"""
### sectorstats — deadlines: who owes which report, and telling them

Every morning (08:00, Vietnam), independently of whether anything was uploaded:
**calendar** builds the reporting calendar for the day (`marts.fct_report_status`, dbt: for every report a unit
owes, whether it is due soon, received on time or late, rejected or missing, from the form catalogue's due dates
and the ledger of received files; `ingest/marts/calendar.py`) and publishes the analysts' copy →
**deadline_alerts** sends what the calendar
calls for, each once: a reminder a few days before the due date to units that have sent nothing, an overdue
notice the day after, an escalation to the province after the set number of days
(`ingest/catalogue/alerts.yaml`, `forms.yaml` → `deadlines`), and retries deliveries that failed →
**status_page** rewrites `reports/status.html` (units × periods of each form, coloured by state).

The calendar's dbt model is the one definition of where each report stands: the transform DAG builds it with the
marts, this DAG for its day; the alerts, the status page and the summary read it (Airflow's own deadline alerts
are not used for reports).
The day is the run's date in Vietnam, or `$SECTORSTATS_AS_OF` when set.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ingest.orchestration.defaults import DEFAULT_ARGS, START_DATE, run_day
from ingest.orchestration.schedule import monitor_timetable


@dag(
    dag_id="sectorstats_monitor",
    dag_display_name="sectorstats: deadlines and reminders",
    description="reporting calendar → reminders, overdue notices, escalations",
    schedule=monitor_timetable(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    default_args=DEFAULT_ARGS,
    tags=["sectorstats", "alerts"],
    doc_md=__doc__,
)
def sectorstats_monitor():
    @task
    def calendar() -> dict:
        """The reporting calendar for the day (marts.fct_report_status): every report owed and where it stands."""
        from ingest.marts.calendar import build_calendar

        return build_calendar(run_day())

    @task
    def deadline_alerts() -> dict:
        """Reminders, overdue notices and escalations, each recorded once and sent through the configured
        channels; failed deliveries are retried."""
        from ingest.tell.alerts import dispatch, raise_if_undelivered

        result = dispatch(run_day(), families=("deadlines",))
        raise_if_undelivered(result)  # an outage turns the task red; the alerts stay owed and are retried
        return result

    @task
    def status_page() -> str:
        """reports/status.html: the reporting matrix of every form, the last load and the recent alerts."""
        from ingest.tell.status_page import write_status_page

        return str(write_status_page(run_day()))

    calendar() >> deadline_alerts() >> status_page()


sectorstats_monitor()
