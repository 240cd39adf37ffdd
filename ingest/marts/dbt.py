"""Running dbt over the warehouse, with the dbt target of its backend (``duckdb`` or ``postgres``; see
``dbt_project/profiles.yml``), whose connection is handed to dbt in environment variables made from
``SECTORSTATS_WAREHOUSE_URL``: one setting for both.

dbt runs in a child process: dbt-duckdb keeps its DuckDB connection open for the life of the
process, and DuckDB refuses a second connection to the same file with another configuration, so an
in-process run would lock the alert and summary tasks that follow it in the same worker.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from ingest import warehouse
from ingest.settings import DBT_PROJECT_DIR, data_dir

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    pass


def target_dir() -> Path:
    return data_dir() / "dbt" / "target"


def dbt_target() -> str:
    """The dbt target of the warehouse's backend (an output of ``dbt_project/profiles.yml``)."""
    return "duckdb" if warehouse.backend() == "duckdb" else "postgres"


def dbt_environment() -> dict[str, str]:
    """The variables ``profiles.yml`` reads for the warehouse of ``SECTORSTATS_WAREHOUSE_URL``."""
    path = warehouse.duckdb_file()
    if path is not None:
        return {"SECTORSTATS_WAREHOUSE": str(path)}
    url = warehouse.url()
    return {"SECTORSTATS_PG_HOST": url.host or "127.0.0.1", "SECTORSTATS_PG_PORT": str(url.port or 5432),
            "SECTORSTATS_PG_USER": url.username or "", "SECTORSTATS_PG_PASSWORD": url.password or "",
            "SECTORSTATS_PG_DBNAME": url.database or ""}


def dbt_args(command: str, as_of: dt.date, extra: list[str] | None = None) -> list[str]:
    """The dbt command line: project and profiles from the repository, target and logs in the data dir."""
    return [
        *command.split(),  # "build", or "docs generate"
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", dbt_target(),
        "--target-path", str(target_dir()),
        "--log-path", str(data_dir() / "dbt" / "logs"),
        "--vars", json.dumps({"as_of": as_of.isoformat()}),
        *(extra or []),
    ]


def run_dbt(command: str = "build", *, as_of: dt.date, extra: list[str] | None = None) -> dict[str, int]:
    """Run one dbt command; raise :class:`TransformError` naming the failed nodes."""
    env = {**os.environ, **dbt_environment(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    dbt = Path(sys.executable).with_name("dbt")
    proc = subprocess.run([str(dbt), *dbt_args(command, as_of, extra)], env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        log.info("dbt: %s", line)
    counts: dict[str, int] = {}
    failed: list[str] = []
    results = target_dir() / "run_results.json"
    if results.exists():
        for r in json.loads(results.read_text(encoding="utf-8")).get("results", []):
            counts[r["status"]] = counts.get(r["status"], 0) + 1
            if r["status"] in ("error", "fail", "runtime error"):
                failed.append(f"{r['unique_id']}: {r.get('message')}")
    if proc.returncode != 0:
        detail = "; ".join(failed) or (proc.stdout[-2000:] + proc.stderr[-2000:])
        raise TransformError(f"dbt {command} failed: {detail}")
    log.info("dbt %s: %s", command, counts)
    return counts
