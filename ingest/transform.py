"""Running dbt over the warehouse.

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

from ingest.settings import DBT_PROJECT_DIR, data_dir, warehouse_path

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    pass


def target_dir() -> Path:
    return data_dir() / "dbt" / "target"


def dbt_args(command: str, as_of: dt.date, extra: list[str] | None = None) -> list[str]:
    """The dbt command line: project and profiles from the repository, target and logs in the data dir."""
    return [
        *command.split(),  # "build", or "docs generate"
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_dir()),
        "--log-path", str(data_dir() / "dbt" / "logs"),
        "--vars", json.dumps({"as_of": as_of.isoformat()}),
        *(extra or []),
    ]


def run_dbt(command: str = "build", *, as_of: dt.date, extra: list[str] | None = None) -> dict[str, int]:
    """Run one dbt command; raise :class:`TransformError` naming the failed nodes."""
    env = {**os.environ, "SECTORSTATS_WAREHOUSE": str(warehouse_path()), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
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
