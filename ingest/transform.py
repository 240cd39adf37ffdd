"""Running dbt (in-process, with dbtRunner) over the warehouse."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os

from ingest.settings import DBT_PROJECT_DIR, data_dir, warehouse_path

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    pass


def dbt_args(command: str, as_of: dt.date, extra: list[str] | None = None) -> list[str]:
    """The dbt command line: project and profiles from the repository, target and logs in the data dir."""
    return [
        command,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(data_dir() / "dbt" / "target"),
        "--log-path", str(data_dir() / "dbt" / "logs"),
        "--vars", json.dumps({"as_of": as_of.isoformat()}),
        *(extra or []),
    ]


def run_dbt(command: str = "build", *, as_of: dt.date, extra: list[str] | None = None) -> dict[str, int]:
    """Run one dbt command; raise :class:`TransformError` naming the failed nodes."""
    from dbt.cli.main import dbtRunner

    os.environ["SECTORSTATS_WAREHOUSE"] = str(warehouse_path())
    result = dbtRunner().invoke(dbt_args(command, as_of, extra))
    counts: dict[str, int] = {}
    failed = []
    for r in getattr(result.result, "results", None) or []:
        status = str(r.status)
        counts[status] = counts.get(status, 0) + 1
        if status in ("error", "fail", "runtime error"):
            failed.append(f"{r.node.unique_id}: {r.message}")
    if not result.success:
        detail = "; ".join(failed) or str(result.exception)
        raise TransformError(f"dbt {command} failed: {detail}")
    log.info("dbt %s: %s", command, counts)
    return counts
