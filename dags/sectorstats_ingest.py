"""
### sectorstats — ingest district reports

Scans the inbox on the reporting calendar of the form catalogue (hourly while reports are due, every six
hours otherwise; see `ingest/orchestration/schedule.py`), and at once when the upload page announces a file it
delivered (the `sectorstats_inbox` asset, updated through Airflow's REST API: `ingest/doors/announcements.py`), and
moves what the districts sent one way:
**archive** (every file kept byte for byte under its sha256: the inbox folder's new files, and, when the connection
`imap_sectorstats` exists, the spreadsheets attached to new e-mails in the department's mailbox, each e-mail
answered once; `ingest/doors/`) → **plan** → **parse**, mapped over chunks of
files (form, unit, period and every number with its cell, found by content) → **merge** → **validate**
(Great Expectations suites generated from the form catalogue, one run per suite for the whole batch) →
**load** (raw tables of the warehouse, in one transaction) → **feedback** (for each file with problems, the
district's sheet with the problem cells marked, in `reports/feedback/<unit>/`) and **announce**: when the
load brought anything new, it updates the `sectorstats_raw_tables` asset, which schedules
`sectorstats_transform`; a run that found nothing new skips it, so the marts are not rebuilt for nothing.

Each task is a call into the `ingest` library and works on a batch (the whole load, or for parse a chunk of
`SECTORSTATS_PARSE_CHUNK` files, 10,000 by default: never one task per file); data passes between tasks as a
load package on disk (`$SECTORSTATS_DATA_DIR/packages/<load id>/`), so a retried task reads the same input
and a repeated load changes nothing. Tasks that open the warehouse (DuckDB, or Postgres in production) run in
the pool `sectorstats_warehouse` (one slot: DuckDB has one writer, and the raw tables change one load at a time);
the parse chunks only read the archive and may run side by side.

**Reprocessing** archived files (after a rule change): trigger with the params `reprocess` (true) and
optionally `from_period` / `to_period` (`2024-01`), e.g. `airflow dags trigger sectorstats_ingest --conf
'{"reprocess": true, "from_period": "2024-01", "to_period": "2024-06"}'` (then the transform runs on the asset),
or `make reprocess FROM=2024-01 TO=2024-06` on the embedded setup.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from ingest.catalogue import load_catalogue
from ingest.orchestration.assets import RAW_TABLES
from ingest.orchestration.defaults import DEFAULT_ARGS, START_DATE
from ingest.orchestration.schedule import ingest_schedule


@dag(
    dag_id="sectorstats_ingest",
    dag_display_name="sectorstats: ingest district reports",
    description="inbox → archive → parse → validate → raw tables",
    schedule=ingest_schedule(load_catalogue()),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    max_active_tasks=4,  # the parse chunks side by side; everything that opens the warehouse waits for the pool
    default_args=DEFAULT_ARGS,
    params={
        "reprocess": Param(False, type="boolean", description="parse and validate archived files again"),
        "from_period": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$",
                             description="with reprocess: first period (YYYY-MM) to reprocess"),
        "to_period": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$",
                           description="with reprocess: last period (YYYY-MM) to reprocess"),
    },
    tags=["sectorstats", "ingest"],
    doc_md=__doc__,
)
def sectorstats_ingest():
    @task
    def archive(run_id: str | None = None, triggering_asset_events=None) -> str:
        """Archive new inbox files and e-mailed reports, record their arrival (and answer each e-mail); returns the
        load id. The files the upload page announced are taken without waiting for them to settle."""
        from ingest.archive.stage import archive_stage
        from ingest.doors.announcements import announced_files
        from ingest.orchestration.assets import INBOX, event_extras
        from ingest.package import new_load_id

        announced = announced_files(event_extras(triggering_asset_events, INBOX))
        return str(archive_stage(new_load_id(run_id), announced=announced)["load_id"])

    @task
    def plan(load_id: str, params: dict | None = None) -> list[int]:
        """Choose the archived files to parse (new ones, or when reprocessing those of the periods asked) and
        split them into chunks of SECTORSTATS_PARSE_CHUNK files."""
        from ingest.parse.stage import period_range, plan_parse

        params = params or {}
        return plan_parse(load_id, reprocess=bool(params.get("reprocess")),
                          periods=period_range(params.get("from_period"), params.get("to_period")))

    @task(pool="default_pool", max_active_tis_per_dagrun=4)
    def parse(chunk: int, load_id: str) -> dict:
        """Parse one chunk of files from the archive (mapped: one task per chunk, never per file). It does not
        open the warehouse, so chunks can run side by side on several workers."""
        from ingest.parse.stage import parse_chunk

        return parse_chunk(load_id, chunk)

    @task
    def merge(load_id: str) -> dict:
        """Gather the parsed chunks into the load package's parsed/."""
        from ingest.parse.stage import merge_parts

        return merge_parts(load_id)

    @task
    def validate(load_id: str) -> dict:
        """Run the Great Expectations suites over the package and give each file its verdict."""
        from ingest.check.stage import validate_stage

        return validate_stage(load_id)

    @task
    def load(load_id: str) -> dict:
        """Replace the package's files in the raw tables, in one transaction."""
        from ingest.load.stage import load_stage

        return load_stage(load_id)

    @task(pool="default_pool")
    def feedback(loaded: dict) -> dict:
        """Write the feedback workbooks (the district's sheet, problem cells marked) for files with problems."""
        from ingest.tell.feedback import feedback_stage

        return feedback_stage(str(loaded["load_id"]))

    @task(outlets=[RAW_TABLES], pool="default_pool")
    def announce(loaded: dict) -> dict:
        """Update the raw-tables asset (and so schedule the transform) only when the load brought something."""
        if not (int(loaded["submissions"]) or int(loaded["problems"])):
            raise AirflowSkipException("nothing new loaded: the marts are up to date")
        return loaded

    load_id = archive()
    parsed = parse.partial(load_id=load_id).expand(chunk=plan(load_id))
    loaded = load(load_id)
    parsed >> merge(load_id) >> validate(load_id) >> loaded
    feedback(loaded) >> announce(loaded)


sectorstats_ingest()
