"""Running dbt over the warehouse, with the dbt target of its backend (``duckdb`` or ``postgres``; see
``dbt_project/profiles.yml``), whose connection is handed to dbt in environment variables made from
``SECTORSTATS_WAREHOUSE_URL``: one setting for both.

dbt runs in a child process: dbt-duckdb keeps its DuckDB connection open for the life of the
process, and DuckDB refuses a second connection to the same file with another configuration, so an
in-process run would lock the alert and summary tasks that follow it in the same worker.

What runs with each load is ``dbt build`` without dbt's unit tests (:func:`build_marts`): the seeds, the models and
every data test, in dependency order, so a failed test of a staging model keeps the marts built from it as they
were. The unit tests check the SQL on fixed inputs, not the data, so they run where the SQL changes, in
``make test`` (:func:`run_unit_tests`), as dbt advises; in each load they would be a fifth of the build's time.

Each kind of run keeps its own dbt target directory (:data:`TARGETS`), because dbt rewrites ``manifest.json`` on
every command with the compiled code of only the nodes it ran: the documentation site is generated
(``--no-compile``, no second compilation of ~400 nodes) from the manifest of the marts' build, which the
monitoring DAG's build of the calendar does not overwrite. The parse state is shared between them, so only the
first run after a change of the project parses it.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ingest import warehouse
from ingest.settings import DBT_PROJECT_DIR, data_dir

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    pass


# What each dbt target directory is for: "marts", the build of the marts (and the docs made from its manifest);
# "calendar", the monitoring DAG's build of the day's calendar; "unit-tests", dbt's unit tests (make test).
TARGETS = ("marts", "calendar", "unit-tests")
PARSE_STATE = "partial_parse.msgpack"
# dbt's unit tests test the SQL, not the data: every run of the pipeline leaves them out (run_unit_tests runs them)
WITHOUT_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]
# How many of a failed data test's rows its error shows
FAILING_ROWS_SHOWN = 5
# How many of dbt's last output lines an error shows when no node failed (dbt did not start, the project is broken)
OUTPUT_KEPT_FOR_ERRORS = 60


def target_dir(target: str = "marts") -> Path:
    """The dbt target directory of one kind of run (one of :data:`TARGETS`)."""
    if target not in TARGETS:
        raise ValueError(f"unknown dbt target directory {target!r}: one of {', '.join(TARGETS)}")
    return data_dir() / "dbt" / ("target" if target == "marts" else f"target-{target}")


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


# What the incremental facts are computed by: a change to any of these builds every report year again
# (var project_digest; see dbt_project/macros/incremental_report_years.sql). Descriptions (YAML) do not count.
PROJECT_CODE = ("dbt_project.yml", "models/**/*.sql", "macros/**/*.sql", "seeds/**/*.csv")


@functools.cache
def project_digest(project: Path = DBT_PROJECT_DIR) -> str:
    """The sha256 of the dbt project's SQL, seeds and project file, by path and content."""
    digest = hashlib.sha256()
    files = sorted({path for pattern in PROJECT_CODE for path in project.glob(pattern) if path.is_file()})
    for path in files:
        digest.update(path.relative_to(project).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def dbt_args(command: str, as_of: dt.date, extra: list[str] | None = None, target: str = "marts") -> list[str]:
    """The dbt command line: project and profiles from the repository, target and logs in the data dir."""
    return [
        *command.split(),  # "build", "test" or "docs generate"
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", dbt_target(),
        "--target-path", str(target_dir(target)),
        "--log-path", str(data_dir() / "dbt" / "logs"),
        "--vars", json.dumps({"as_of": as_of.isoformat(), "project_digest": project_digest()}),
        *(extra or []),
    ]


def build_marts(as_of: dt.date) -> dict[str, int]:
    """The seeds, models and data tests of the project, in dependency order (not its unit tests)."""
    return run_dbt("build", as_of=as_of, extra=WITHOUT_UNIT_TESTS)


def run_unit_tests(as_of: dt.date) -> dict[str, int]:
    """dbt's unit tests: the SQL of the models on the fixed inputs of their YAML, no warehouse data read."""
    return run_dbt("test", as_of=as_of, extra=["--select", "test_type:unit"], target="unit-tests")


def generate_docs(as_of: dt.date) -> Path:
    """The documentation site, from the manifest of the last :func:`build_marts` (no second compilation)."""
    run_dbt("docs generate", as_of=as_of, extra=["--no-compile"])
    return target_dir()


def run_dbt(command: str = "build", *, as_of: dt.date, extra: list[str] | None = None,
            target: str = "marts") -> dict[str, int]:
    """Run one dbt command in the target directory ``target``; raise :class:`TransformError` naming the failed
    nodes."""
    # unbuffered: dbt's output goes to the log line by line as dbt writes it (a task's log shows the build's
    # progress, and a build killed half-way has logged what it did); its last lines are kept for the error
    env = {**os.environ, **dbt_environment(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "PYTHONUNBUFFERED": "1"}
    dbt = Path(sys.executable).with_name("dbt")
    _share_parse_state(target)
    tail: collections.deque[str] = collections.deque(maxlen=OUTPUT_KEPT_FOR_ERRORS)
    started = time.time()
    with subprocess.Popen([str(dbt), *dbt_args(command, as_of, extra, target)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.info("dbt: %s", line.rstrip("\n"))
            tail.append(line)
    counts: dict[str, int] = {}
    failed: list[str] = []
    results = target_dir(target) / "run_results.json"
    # only this command's results: a dbt that failed before running a node (or a command that writes none, such
    # as docs generate) leaves an earlier command's file, whose counts and failures are not this one's
    if results.exists() and results.stat().st_mtime >= started:
        for r in json.loads(results.read_text(encoding="utf-8")).get("results", []):
            counts[r["status"]] = counts.get(r["status"], 0) + 1
            if r["status"] in ("error", "fail", "runtime error"):
                rows = failing_rows(r.get("compiled_code") or "") if r["status"] == "fail" else []
                failed.append(f"{r['unique_id']}: {r.get('message')}"
                              + (f" (first rows: {'; '.join(map(str, rows))})" if rows else ""))
    if proc.returncode != 0:
        detail = "; ".join(failed) or "".join(tail)[-4000:]
        raise TransformError(f"dbt {command} failed: {detail}")
    log.info("dbt %s: %s", command, counts)
    return counts


def failing_rows(compiled_sql: str, limit: int = FAILING_ROWS_SHOWN) -> list[tuple]:
    """The first rows a failed data test returned (its compiled SQL, run again), so that the error says what broke:
    which constraint and how many rows, which key is duplicated. Best effort: an error running it gives none."""
    if not compiled_sql.strip():
        return []
    try:
        with warehouse.connect(read_only=True) as con:
            result = con.exec_driver_sql(f"select * from ({compiled_sql}) as failing limit {int(limit)}")
            return [tuple(row) for row in result.fetchall()]
    except Exception as exc:  # the failure is reported either way; the rows only add to it
        log.warning("could not read the failing rows of a dbt test: %s", exc)
        return []


def _share_parse_state(target: str) -> None:
    """Give ``target`` the newest parse state of any target directory. dbt re-parses the whole project (seconds)
    when its directory has none; it checks a copied state against the project's files itself, and parses again
    what changed."""
    own = target_dir(target) / PARSE_STATE
    states = [p for p in (target_dir(t) / PARSE_STATE for t in TARGETS) if p.exists()]
    if not states:
        return
    newest = max(states, key=lambda p: p.stat().st_mtime_ns)
    if newest != own and (not own.exists() or own.stat().st_mtime_ns < newest.stat().st_mtime_ns):
        own.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(newest, own)
