"""Benchmark harness: the real DAGs on a cached inbox, per stage and in total, against a naive baseline and a floor.

    .venv/bin/python -m bench.run --scale province-month            # `make bench`
    .venv/bin/python -m bench.run --scale province-year             # `make bench SCALE=province-year`
    .venv/bin/python -m bench.run --scale national-year --sample 3000 --jobs 2

1. the inbox of the scale (``bench/inboxes.py``: generated once, cached) is hard-linked into a fresh
   ``SECTORSTATS_DATA_DIR`` under ``$SECTORSTATS_BENCH_DIR/runs/`` (default ``bench/.cache``);
2. Airflow's metadata database is migrated and the one-slot pool created (set-up, timed apart), then the DAGs run
   with ``airflow dags test`` one after the other, exactly as ``make run`` does (the same environment:
   ``AIRFLOW_HOME``, the DAGs folder, ``SECTORSTATS_AS_OF``): ``sectorstats_ingest``, ``sectorstats_transform``,
   ``sectorstats_monitor``;
3. while each runs, the process tree is sampled every 0.2 s (psutil: resident memory summed over the processes,
   CPU time); CPU in total is the exact ``getrusage(RUSAGE_CHILDREN)`` delta. Per stage, the wall time is what
   Airflow recorded for the tasks (``task_instance.start_date``/``end_date`` in the metadata database: what a
   data engineer sees), and CPU and peak memory are the samples taken while those tasks ran;
4. the floor (``bench/floor.py``) and the naive baseline (``bench/naive.py``, on a sample, extrapolated) run on
   the same inbox, each in its own process;
5. incremental: one new submission (a report the inbox lacks, rendered by the library's form writer) is dropped
   into the inbox, the ingest and transform DAGs run again, and the time until ``marts.fct_indicator_value``
   holds its numbers is measured;
6. ``bench/report.py`` writes ``bench/results/<date>-<scale>.md`` (and the figures as JSON beside the run).

With ``--warehouse postgres`` the warehouse is a fresh Postgres database (``sectorstats_bench_<scale>``, made with
its roles by ``ingest.warehouse.roles`` as an administrator, ``--postgres-admin-url``; kept after the run for
inspection, replaced by the next): the production deployment's warehouse. The label and report say ``-postgres``.

A benchmark, not a test: nothing here asserts a time. Run it under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import report
from bench.inboxes import SCALES, Inbox, bench_dir, ensure_inbox, link_inbox, write_reference
from ingest.orchestration.environment import embedded_environment

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
AIRFLOW = VENV_BIN / "airflow"
DAGS = ("sectorstats_ingest", "sectorstats_transform", "sectorstats_monitor")
# Stages as the issue names them, each made of DAG tasks; everything else of a DAG run's wall time is Airflow's
# own (starting the process, parsing the DAG files, scheduling between tasks).
STAGES: list[tuple[str, list[tuple[str, str]]]] = [
    ("read+parse", [("sectorstats_ingest", "archive"), ("sectorstats_ingest", "plan"),
                    ("sectorstats_ingest", "parse"), ("sectorstats_ingest", "merge")]),
    ("validate", [("sectorstats_ingest", "validate")]),
    ("load", [("sectorstats_ingest", "load")]),
    ("dbt build", [("sectorstats_transform", "dbt_build"), ("sectorstats_transform", "publish"),
                   ("sectorstats_transform", "docs")]),
    ("alerts/monitor", [("sectorstats_ingest", "feedback"), ("sectorstats_ingest", "announce"),
                        ("sectorstats_transform", "alerts"), ("sectorstats_transform", "summary"),
                        ("sectorstats_transform", "status_page"), ("sectorstats_transform", "province_reports"),
                        ("sectorstats_transform", "indicator_page"),
                        ("sectorstats_monitor", "*")]),
]
# A Hà Tĩnh fact, not a pipeline rule: its 13 districts and 69 communes. Left out of the national bench's copy of
# the dbt project, whose units are the bench's own.
HA_TINH_ONLY_TESTS = ("tests/assert_reporting_units_are_districts_and_communes.sql",)


def pipeline_env(data: Path, as_of: str, dbt_project: Path | None) -> dict[str, str]:
    """The environment of the Makefile's ``run`` target, for ``data``."""
    env = embedded_environment(data)
    env.update({"SECTORSTATS_AS_OF": as_of, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                # the harness writes each file whole before a run: a real upload waits the inbox's settle time
                # (SECTORSTATS_INBOX_SETTLE_SECONDS), which is not what is measured here
                "SECTORSTATS_INBOX_SETTLE_SECONDS": "0"})
    if dbt_project is not None:
        env["SECTORSTATS_DBT_PROJECT_DIR"] = str(dbt_project)
    return env


def bench_dbt_project(run_dir: Path, inbox: Inbox) -> Path | None:
    """For the national scale: a fresh copy of the repository's dbt project whose reference seeds hold the bench's
    units (the catalogue reads its units from there too), without the test that pins Hà Tĩnh's unit counts."""
    if inbox.scale != "national-year":
        return None
    from bench.inboxes import national_units

    project = run_dir / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    wanted = set(inbox.units)
    write_reference(project, [u for u in national_units() if u[0] in wanted])
    for test in HA_TINH_ONLY_TESTS:
        (project / test).unlink()
    return project


class Sampler(threading.Thread):
    """Samples a process tree every ``interval`` seconds: (time, resident bytes summed, CPU seconds since the last
    sample, resident bytes of the largest process)."""

    def __init__(self, proc: psutil.Popen, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.proc, self.interval = proc, interval
        self.samples: list[tuple[float, int, float, int]] = []
        self.done = threading.Event()
        self._cpu: dict[int, float] = {}

    def run(self) -> None:
        while not self.done.is_set():
            self.take()
            self.done.wait(self.interval)

    def take(self) -> None:
        try:
            procs = [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss = biggest = 0
        cpu = 0.0
        for p in procs:
            try:
                with p.oneshot():
                    r = p.memory_info().rss
                    t = p.cpu_times()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            total = t.user + t.system
            cpu += total - self._cpu.get(p.pid, 0.0)
            self._cpu[p.pid] = total
            rss += r
            biggest = max(biggest, r)
        self.samples.append((time.time(), rss, cpu, biggest))


def measured(cmd: list[str], env: dict[str, str], log: Path) -> dict:
    """Run ``cmd`` to the end, sampled; raise with the log's tail when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, wall = time.time(), time.perf_counter()
    with log.open("w") as out:
        proc = psutil.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        sampler = Sampler(proc)
        sampler.start()
        code = proc.wait()
        sampler.done.set()
        sampler.join()
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code:
        tail = log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{shlex.join(cmd)} failed ({code}), log {log}:\n{tail}")
    samples = sampler.samples
    return {
        "command": shlex.join(cmd), "started": started, "ended": started + wall, "wall_s": wall,
        "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "peak_rss_mb": max((s[1] for s in samples), default=0) / 2**20,
        "peak_process_rss_mb": max((s[3] for s in samples), default=0) / 2**20,
        "samples": samples,
    }


def task_instances(airflow_home: Path, since: float) -> list[dict]:
    """The task instances Airflow recorded that started after ``since`` (a Unix time)."""
    con = sqlite3.connect(airflow_home / "airflow.db")
    try:
        rows = con.execute("select dag_id, task_id, map_index, state, start_date, end_date from task_instance "
                           "where start_date is not null").fetchall()
    finally:
        con.close()
    out = []
    for dag_id, task_id, map_index, state, start, end in rows:
        s, e = _utc(start), _utc(end) if end else None
        if s >= since - 1:
            out.append({"dag_id": dag_id, "task_id": task_id, "map_index": map_index, "state": state,
                        "start": s, "end": e, "wall_s": (e - s) if e else None})
    return sorted(out, key=lambda t: t["start"])


def _utc(text: str) -> float:
    value = dt.datetime.fromisoformat(str(text).replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def _union(windows: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(windows):
        if e > end:
            total += e - max(s, end)
            end = e
    return total


def stage_figures(tis: list[dict], runs: list[dict], files: int) -> dict:
    """Per stage: wall (Airflow's task times), CPU and peak memory (the samples taken meanwhile), files/s."""
    # each sample covers the interval since the sample before it (of the same DAG run)
    intervals = [(prev[0], s[0], s[1], s[2]) for r in runs for prev, s in zip(r["samples"], r["samples"][1:],
                                                                              strict=False)]
    stages = {}
    for name, tasks in STAGES:
        chosen = [t for t in tis if t["end"] and any(t["dag_id"] == d and k in ("*", t["task_id"]) for d, k in tasks)]
        windows = [(t["start"], t["end"]) for t in chosen]
        cpu, peak = 0.0, 0
        for a, b, rss, used in intervals:
            overlap = sum(max(0.0, min(b, e) - max(a, s)) for s, e in windows)
            if overlap > 0:  # CPU shared out by the time overlapping the tasks; memory: the sample's
                cpu += used * min(1.0, overlap / (b - a))
                peak = max(peak, rss)
        wall = _union(windows)
        stages[name] = {
            "tasks": sorted({f"{t['dag_id'].removeprefix('sectorstats_')}.{t['task_id']}" for t in chosen}),
            "wall_s": wall, "cpu_s": cpu, "files_per_s": files / wall if wall else None, "peak_rss_mb": peak / 2**20,
        }
    total_wall = sum(r["wall_s"] for r in runs)
    in_tasks = _union([(t["start"], t["end"]) for t in tis if t["end"]])
    stages["airflow overhead"] = {
        "tasks": ["process start, DAG parsing, scheduling between tasks"],
        "wall_s": total_wall - in_tasks,
        "cpu_s": max(0.0, sum(r["cpu_s"] for r in runs) - sum(v["cpu_s"] for v in stages.values())),
        "files_per_s": None, "peak_rss_mb": None,
    }
    return stages


def run_dags(env: dict[str, str], logs: Path, dags: tuple[str, ...] = DAGS) -> list[dict]:
    runs = []
    for dag in dags:
        print(f"  airflow dags test {dag}", flush=True)
        r = measured([str(AIRFLOW), "dags", "test", dag], env, logs / f"{dag}.log")
        r["dag_id"] = dag
        runs.append(r)
        print(f"    {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, peak {r['peak_rss_mb']:.0f} MB", flush=True)
    return runs


def warehouse_query(url: str, sql: str, params: dict | None = None) -> object:
    """One value from the warehouse (DuckDB file read-only, or Postgres)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    args = {"connect_args": {"read_only": True}} if url.startswith("duckdb") else {}
    engine = sa.create_engine(url, poolclass=NullPool, **args)
    try:
        with engine.connect() as con:
            return con.execute(sa.text(sql), params or {}).scalar()
    finally:
        engine.dispose()


def warehouse_counts(url: str) -> dict:
    queries = {
        "raw_submissions": "select count(*) from raw.submissions",
        "identified": "select count(*) from raw.submissions where submission_id is not null",
        "accepted": "select count(*) from raw.submissions where status <> 'rejected'",
        "observations": "select count(*) from raw.observations",
        "mart_submissions": "select count(*) from marts.fct_submission where submission_id is not null",
        "mart_submissions_with_numbers": "select count(distinct submission_id) from marts.fct_indicator_value",
        "mart_values": "select count(*) from marts.fct_indicator_value",
    }
    return {name: warehouse_query(url, sql) for name, sql in queries.items()}


def postgres_warehouse(label: str, admin_url: str) -> str:
    """A fresh Postgres warehouse for this run, with the production roles; returns the pipeline's URL."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from ingest.warehouse.roles import setup_roles

    database = "sectorstats_bench_" + "".join(ch if ch.isalnum() else "_" for ch in label)
    engine = sa.create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as con:
            con.exec_driver_sql(f'drop database if exists "{database}" with (force)')
    finally:
        engine.dispose()
    admin = sa.make_url(admin_url)
    url = admin.set(username="sectorstats_bench", password=None, database=database)
    setup_roles(admin, url, "sectorstats_bench_analyst")
    return url.render_as_string(hide_password=False)


def new_submission(inbox: Inbox, data: Path, env: dict[str, str]) -> dict:
    """Write one report the inbox does not hold (a missing one, else the next month of the first unit) into the
    data directory's inbox, as arriving now; returns what it is, with its submission id (sha256[:16])."""
    code = r"""
import datetime as dt, hashlib, json, os, sys
from pathlib import Path
from ingest.catalogue import load_catalogue
from ingest.tell.official_forms import form_bytes
from tests.integration.helpers import consistent_values
want = json.loads(sys.argv[1]); inbox = Path(sys.argv[2])
cat = load_catalogue(); form = cat.form(want["form_code"]); unit = cat.unit(want["unit_code"])
start = dt.date.fromisoformat(want["period_start"])
months = start.month + (2 if form.frequency == "quarterly" else 0)
data = form_bytes(form, unit, start, consistent_values(form, 7, months)).data
path = inbox / unit.code / f"BC bo sung {form.code.split('/')[0]} {start:%m-%Y}.xlsx"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_bytes(data)
print(json.dumps({**want, "file": str(path), "submission_id": hashlib.sha256(data).hexdigest()[:16]}))
"""
    if inbox.missing:
        want = inbox.missing[0]
    else:
        first = sorted(inbox.units)[0]
        want = {"unit_code": first, "form_code": "01/LĐVL-H",
                "period_start": (dt.date.fromisoformat(inbox.as_of).replace(day=1)).isoformat()}
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(want), str(data / "inbox")], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def incremental(inbox: Inbox, data: Path, env: dict[str, str], logs: Path, url: str) -> dict:
    """Drop one new submission into a loaded warehouse and time the DAGs until the marts show its numbers."""
    added = new_submission(inbox, data, env)
    start = time.time()
    runs = run_dags(env, logs / "incremental", ("sectorstats_ingest", "sectorstats_transform"))
    tis = task_instances(data / "airflow", start)
    def ended(task_id: str) -> float | None:
        ends = [t["end"] for t in tis if t["dag_id"] == "sectorstats_transform" and t["task_id"] == task_id]
        return (ends[0] - start) if ends else None

    values = warehouse_query(url, "select count(*) from marts.fct_indicator_value where submission_id = :sid",
                             {"sid": added["submission_id"]})
    return {
        "added": added, "values_in_mart": values,
        "until_marts_s": ended("dbt_build"),  # the dbt build that put it in the marts, tested, ended
        "until_published_s": ended("publish"),  # the analysts' snapshot holds it
        "until_notified_s": ended("alerts"),  # the bad-data notices of the load are sent (none for this file)
        "both_dags_s": sum(r["wall_s"] for r in runs),
        "cpu_s": sum(r["cpu_s"] for r in runs),
        "stages": {k: v for k, v in stage_figures(tis, runs, 1).items()},
        "runs": [{k: v for k, v in r.items() if k != "samples"} for r in runs],
    }


def helper(module: str, args: list[str], env: dict[str, str], out: Path) -> dict:
    """Run ``python -m bench.<module>`` in its own process (its own memory, its own clock) and read its JSON."""
    cmd = [sys.executable, "-m", f"bench.{module}", *args, "--json", str(out)]
    print(f"  {module}: {shlex.join(cmd[1:])}", flush=True)
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"bench.{module} failed:\n{proc.stderr[-3000:]}")
    print(f"    {proc.stdout.strip().splitlines()[-1]}", flush=True)
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="province-month")
    parser.add_argument("--sample", type=int, help="national scale: about this many files (whole units)")
    parser.add_argument("--jobs", type=int, default=1, help="national scale: inbox batches generated side by side")
    parser.add_argument("--naive-sample", type=int, default=60,
                        help="files the naive baseline reads (an even spread; extrapolated to the inbox). 0: skip")
    parser.add_argument("--no-incremental", action="store_true", help="skip the incremental measurement")
    parser.add_argument("--airflow-template", type=Path,
                        help="an AIRFLOW_HOME already migrated, with the pool: its airflow.db is copied (tests)")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results", help="where the report goes")
    parser.add_argument("--warehouse", choices=("duckdb", "postgres"), default="duckdb",
                        help="the warehouse: the DuckDB file (default) or a fresh Postgres database")
    parser.add_argument("--postgres-admin-url", default=os.environ.get(
        "SECTORSTATS_WAREHOUSE_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
                        help="--warehouse postgres: an administrator that may create the database and roles")
    args = parser.parse_args(argv)
    command = " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])])

    inbox = ensure_inbox(args.scale, sample=args.sample, jobs=args.jobs)
    label = args.scale + (f"-sample{args.sample}" if args.sample else "") + (
        "-postgres" if args.warehouse == "postgres" else "")
    run_dir = bench_dir() / "runs" / label
    shutil.rmtree(run_dir, ignore_errors=True)
    data, logs = run_dir / "data", run_dir / "logs"
    (logs / "incremental").mkdir(parents=True)
    files = link_inbox(inbox, data / "inbox")
    env = pipeline_env(data, inbox.as_of, bench_dbt_project(run_dir, inbox))
    url = f"duckdb:///{data / 'warehouse.duckdb'}"
    if args.warehouse == "postgres":
        url = env["SECTORSTATS_WAREHOUSE_URL"] = postgres_warehouse(label, args.postgres_admin_url)
    print(f"{label}: {files:,} files of {len(inbox.units):,} units in {data} (as of {inbox.as_of})", flush=True)

    setup = time.perf_counter()
    (data / "airflow").mkdir(parents=True)
    if args.airflow_template:
        shutil.copy2(args.airflow_template / "airflow.db", data / "airflow" / "airflow.db")
    else:
        measured([str(AIRFLOW), "db", "migrate"], env, logs / "db-migrate.log")
        measured([str(AIRFLOW), "pools", "set", "sectorstats_warehouse", "1", "one writer"], env,
                 logs / "pools.log")
    setup = time.perf_counter() - setup

    start = time.time()
    runs = run_dags(env, logs)
    tis = task_instances(data / "airflow", start)
    stages = stage_figures(tis, runs, files)
    counts = warehouse_counts(url)

    floor = helper("floor", ["--inbox", str(data / "inbox")], env, run_dir / "floor.json")
    naive = None
    if args.naive_sample:
        naive = helper("naive", ["--inbox", str(data / "inbox"), "--sample", str(args.naive_sample)], env,
                       run_dir / "naive.json")
    inc = None
    if not args.no_incremental:
        print("  incremental: one new submission", flush=True)
        inc = incremental(inbox, data, env, logs, url)
        print(f"    in the marts after {inc['until_marts_s']:.1f} s ({inc['values_in_mart']} values)", flush=True)

    results = {
        "scale": args.scale, "label": label, "warehouse_backend": args.warehouse,
        "description": SCALES[args.scale].description, "sample": inbox.sample,
        "command": command, "niceness": os.nice(0), "date": dt.date.today().isoformat(), "as_of": inbox.as_of,
        "inbox": {"files": files, "bytes": inbox.bytes, "units": len(inbox.units), "missing": len(inbox.missing),
                  "cache": str(inbox.root), "generation": inbox.generation},
        "setup_s": setup,
        "total": {"wall_s": sum(r["wall_s"] for r in runs), "cpu_s": sum(r["cpu_s"] for r in runs),
                  "files_per_s": files / sum(r["wall_s"] for r in runs),
                  "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                  "peak_process_rss_mb": max(r["peak_process_rss_mb"] for r in runs)},
        "dag_runs": [{k: v for k, v in r.items() if k != "samples"} for r in runs],
        "stages": stages,
        "tasks": [{k: v for k, v in t.items()} for t in tis],
        "warehouse": counts, "floor": floor, "naive": naive, "incremental": inc,
        "machine": report.machine(), "versions": report.versions(),
    }
    (run_dir / "results.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    path = report.write(results, args.results)
    print(f"report: {path}")
    return path


if __name__ == "__main__":
    main()
