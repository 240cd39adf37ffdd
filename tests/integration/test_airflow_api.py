"""A real Airflow (api-server, scheduler, dag-processor) runs `sectorstats_ingest`, driven through its REST API.

What a data engineer does after `make airflow`, with the official client (`apache-airflow-client`): log in as the
configured user with the password Airflow generated (`POST /auth/token`), create the warehouse pool, unpause the
DAG, trigger a run, wait for it and read back every task instance. Everything lives in the test's own temporary
AIRFLOW_HOME and data directory, on a free port; every process started here is stopped by its process group (and
any task process that left the group is found by a marker in its environment), also when the test fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.catalogue import load_catalogue
from tests.integration.helpers import (
    AIRFLOW,
    airflow,
    at,
    consistent_values,
    free_port,
    pipeline_env,
    put,
    query,
    stop_process_groups,
)

pytestmark = pytest.mark.integration

DAG_ID = "sectorstats_ingest"
TRANSFORM = "sectorstats_transform"
TASKS = ["archive", "parse", "validate", "load", "feedback"]
POOL = "sectorstats_warehouse"
USER = "admin"
PAGE_USER = "upload_page"  # the upload page's account: role op, the least that may post asset events
JAN, Q1 = dt.date(2024, 1, 1), dt.date(2024, 1, 1)
MARKER = "SECTORSTATS_TEST_AIRFLOW_API"  # set in the environment of every process this test starts


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


@dataclass
class Airflow:
    url: str
    home: Path
    data: Path
    logs: Path
    procs: dict[str, subprocess.Popen]

    def diagnostics(self) -> str:
        out = [f"--- {name} ({p.poll()=}) ---\n{_tail(self.logs / f'{name}.log')}" for name, p in self.procs.items()]
        out += [f"--- {log.relative_to(self.home)} ---\n{_tail(log, 1500)}"
                for log in sorted((self.home / "logs").glob(f"dag_id={DAG_ID}/**/*.log"))]
        return "\n".join(out)

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise AssertionError(f"Airflow process(es) exited: {dead}\n{self.diagnostics()}")


@contextlib.contextmanager
def start_airflow(tmp_path: Path, **settings: str) -> Iterator[Airflow]:
    """api-server + scheduler + dag-processor on SQLite, LocalExecutor and a free port, for the data directory
    ``tmp_path/data``; ``settings`` are more environment variables. Stopped, with every task process, on exit."""
    data = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    marker = uuid.uuid4().hex
    env = {**pipeline_env(data),
           "SECTORSTATS_AS_OF": "2025-01-31",
           "SECTORSTATS_PARSE_WORKERS": "1",
           MARKER: marker,
           "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
           "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
           "AIRFLOW__CORE__PARALLELISM": "2",
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin,{PAGE_USER}:op",
           "AIRFLOW__API__HOST": "127.0.0.1",
           "AIRFLOW__API__PORT": str(port),
           "AIRFLOW__API__WORKERS": "1",
           "AIRFLOW__API__BASE_URL": url,
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
           "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
           **settings}
    home = Path(env["AIRFLOW_HOME"])
    airflow(env, "db", "migrate")  # also writes airflow.cfg (secrets shared by the three processes) before they start
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, args in (("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(port)]),
                           ("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"])):
            with open(logs / f"{name}.log", "wb") as log:
                procs[name] = subprocess.Popen([str(AIRFLOW), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL, start_new_session=True)
        server = Airflow(url, home, data, logs, procs)
        deadline = time.monotonic() + 120
        while True:
            server.check_alive()
            try:
                with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the api-server did not answer on {url}\n{server.diagnostics()}")
            time.sleep(0.5)
        yield server
    finally:
        stop_process_groups(list(procs.values()), MARKER, marker)


@pytest.fixture
def running_airflow(tmp_path: Path) -> Iterator[Airflow]:
    """Airflow with a two-file inbox, which runs only the run a test triggers (no scheduled run of its own)."""
    data = tmp_path / "data"
    cat = load_catalogue()
    for i, (form_code, period) in enumerate([("01/LĐVL-H", JAN), ("02/GDNN-H", Q1)]):
        form = cat.form(form_code)
        put(data / "inbox", "443", f"bao cao {i}.xlsx", form_code, "443", period, consistent_values(form, 3, 1),
            at(str(form.due_date(period) - dt.timedelta(days=2))))
    with start_airflow(tmp_path, AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False") as server:
        yield server


def _token(url: str, username: str, password: str) -> str:
    req = urllib.request.Request(f"{url}/auth/token", method="POST",
                                 data=json.dumps({"username": username, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["access_token"]


def _poll(what: str, server: Airflow, timeout: float, interval: float, fn):
    """Call ``fn`` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while True:
        server.check_alive()
        got = fn()
        if got is not None:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{server.diagnostics()}")
        time.sleep(interval)


def test_a_run_triggered_through_the_rest_api_succeeds(running_airflow: Airflow) -> None:
    import airflow_client.client as af

    server = running_airflow
    # the password Airflow generated for the configured user, where a user finds it
    passwords = json.loads((server.home / "simple_auth_manager_passwords.json.generated").read_text())
    assert set(passwords) == {USER, PAGE_USER}
    token = _token(server.url, USER, passwords[USER])

    with af.ApiClient(af.Configuration(host=server.url, access_token=token)) as api:
        dags, runs, tis, pools = af.DAGApi(api), af.DagRunApi(api), af.TaskInstanceApi(api), af.PoolApi(api)
        try:
            pools.post_pool(af.PoolBody(name=POOL, slots=1, description="DuckDB has one writer"))
        except af.ApiException as e:  # already there (created by the project's own setup): make it one slot
            if e.status != 409:
                raise
            pools.patch_pool(POOL, af.PoolPatchBody(pool=POOL, slots=1))
        assert pools.get_pool(POOL).slots == 1

        def parsed():
            try:
                return dags.get_dag(DAG_ID)
            except af.ApiException as e:
                if e.status == 404:
                    return None
                raise

        dag = _poll(f"the dag-processor to parse {DAG_ID}", server, 120, 1, parsed)
        assert dag.is_paused is True  # AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION, as in the Makefile
        task_ids = sorted(t.task_id for t in af.TaskApi(api).get_tasks(DAG_ID).tasks)
        assert set(TASKS) <= set(task_ids)

        assert dags.patch_dag(DAG_ID, af.DAGPatchBody(is_paused=False)).is_paused is False
        run = runs.trigger_dag_run(DAG_ID, af.TriggerDAGRunPostBody(dag_run_id="api-test", note="triggered by a test"))
        assert (run.dag_run_id, run.run_type.value) == ("api-test", "manual")

        def finished():
            got = runs.get_dag_run(DAG_ID, run.dag_run_id)
            return got if got.state.value in ("success", "failed") else None

        done = _poll(f"run {run.dag_run_id} to finish", server, 300, 0.5, finished)
        states = {ti.task_id: ti.state.value if ti.state else None
                  for ti in tis.get_task_instances(DAG_ID, run.dag_run_id).task_instances}
        # every task of the DAG ran once and succeeded (TASKS at least; a task added later is held to the same)
        assert (done.state.value, states) == ("success", dict.fromkeys(task_ids, "success")), server.diagnostics()
        assert [(r.dag_run_id, r.state.value) for r in runs.get_dag_runs(DAG_ID).dag_runs] == [("api-test", "success")]

    # the run really loaded the inbox into the warehouse
    assert query(server.data, """select unit_code, form_code, period_start, status from raw.submissions
                                 order by form_code""") == [("443", "01/LĐVL-H", JAN, "accepted"),
                                                            ("443", "02/GDNN-H", Q1, "accepted")]


def test_an_upload_is_ingested_at_once_when_the_page_announces_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The door a district uses, end to end: the upload page delivers a file into the inbox and announces it through
    the REST API; the scheduler starts an ingest run for the asset at once (no schedule is due: the scheduler runs
    timetables here, and the file would otherwise wait for the next hour), and that run takes the file although
    it is younger than the 60 s settle time, because its bytes are the ones announced; the transform DAG follows
    on the raw tables' asset, and the report is in the marts. Prints the seconds from upload to each."""
    import airflow_client.client as af
    from fastapi.testclient import TestClient

    from ingest.doors.announcements import AirflowApi, Announcer, ApiConfig
    from ingest.doors.upload.accounts import UNIT
    from ingest.doors.upload.app import PageConfig, create_app
    from ingest.orchestration.assets import INBOX
    from ingest.package import new_load_id
    from tests.doors.test_upload_page import MARCH, login, report, upload

    with start_airflow(tmp_path, SECTORSTATS_INBOX_SETTLE_SECONDS="60") as server:
        passwords = json.loads((server.home / "simple_auth_manager_passwords.json.generated").read_text())
        token = _token(server.url, USER, passwords[USER])
        with af.ApiClient(af.Configuration(host=server.url, access_token=token)) as api:
            dags, runs = af.DAGApi(api), af.DagRunApi(api)
            _poll(f"the dag-processor to parse {DAG_ID} and {TRANSFORM}", server, 120, 1,
                  lambda: {DAG_ID, TRANSFORM} <= {d.dag_id for d in dags.get_dags().dags} or None)
            af.PoolApi(api).post_pool(af.PoolBody(name=POOL, slots=1))
            for dag_id in (DAG_ID, TRANSFORM):  # (this may start the hour's scheduled ingest run)
                dags.patch_dag(dag_id, af.DAGPatchBody(is_paused=False))

            monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(server.data))
            announcer = Announcer(AirflowApi(ApiConfig(server.url, PAGE_USER, passwords[PAGE_USER])), INBOX.uri)
            app = create_app(PageConfig(doors=server.data / "doors", inbox=server.data / "inbox",
                                        secure_cookies=False), warm=False, announcer=announcer)
            _, unit_password = app.state.page.accounts.add("443", UNIT, "443")
            data, _ = report("443", MARCH)
            with TestClient(app) as page:
                assert login(page, "443", unit_password).status_code == 303
                uploaded = upload(page, data, "=bao cao thang 3.xlsx")
                assert uploaded.status_code == 303, uploaded.text
                t0, uploaded_at = time.monotonic(), dt.datetime.now(dt.UTC)
                _poll("the announcement", server, 60, 0.2, lambda: announcer.sent or None)

            def asset_run():
                got = [r for r in runs.get_dag_runs(DAG_ID).dag_runs
                       if r.run_type.value == "asset_triggered" and r.state.value in ("success", "failed")]
                return got or None

            done = _poll("the ingest run the announcement starts", server, 300, 0.5, asset_run)
            elapsed = time.monotonic() - t0

            def transformed():
                """The transform runs once none is left to run (the hour's scheduled ingest may add one)."""
                got = runs.get_dag_runs(TRANSFORM).dag_runs
                return got if got and all(r.state.value in ("success", "failed") for r in got) else None

            built = _poll("the transform run the ingest starts", server, 600, 1, transformed)
            assert {r.state.value for r in built} == {"success"}, server.diagnostics()
            dbt_ends = [ti.end_date for r in built for ti in af.TaskInstanceApi(api).get_task_instances(
                TRANSFORM, r.dag_run_id).task_instances if ti.task_id == "dbt_build"]
            in_marts = (min(e for e in dbt_ends if e > uploaded_at) - uploaded_at).total_seconds()
    assert [r.state.value for r in done] == ["success"], server.diagnostics()
    stored = "=bao cao thang 3.xlsx"  # a name is data: kept as the district wrote it, never a formula or a path
    assert sorted(p.name for p in (server.data / "inbox" / "443").iterdir()) == [stored]
    load_id = new_load_id(done[0].dag_run_id)
    arrivals = query(server.data, "select folder_unit_code, file_name, load_id, received_at from raw.arrivals")
    assert [a[:3] for a in arrivals] == [("443", stored, load_id)]
    started = query(server.data, "select started_at from raw.loads where load_id = ?", [load_id])[0][0]
    assert (started - arrivals[0][3]).total_seconds() < 60  # taken before it had settled: the announcement did it
    assert query(server.data, "select unit_code, form_code, period_start, status from raw.submissions") == [
        ("443", "01/LĐVL-H", MARCH, "accepted")]
    assert query(server.data, """select unit_code, form_code, period_id, status from marts.fct_submission
                                 where status not in ('missing', 'due_soon')""") == [
        ("443", "01/LĐVL-H", "2024-03", "accepted")]
    print(f"upload → ingest run finished: {elapsed:.1f} s; → in the marts (dbt_build done): {in_marts:.1f} s")
