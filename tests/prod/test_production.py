"""The production configuration on real services: Postgres metadata, the Celery executor, Redis, two workers, and
the Postgres warehouse with its two roles.

`make test-prod` (called from .ci/run) runs this against the machine's PostgreSQL (127.0.0.1:5432) and Redis
(127.0.0.1:6379), with the settings docker-compose.yaml gives its containers: a fresh metadata database is
migrated, the pool created, the warehouse database and its roles made by `python -m ingest warehouse-roles` (what
the compose init service runs), then the API server, scheduler, DAG processor, triggerer and two Celery workers run
as processes of this test. The DAGs run as in production, from their schedules: the ingest DAG's latest scheduled
run loads the demo inbox into Postgres, its asset event starts the transform DAG (dbt-postgres: every model and
every dbt test), then the monitoring DAG's. The marts must equal those of the embedded run (`make run`'s SQLite +
`airflow dags test` + DuckDB) on the same inbox, cell for cell; the analysts' role reads them and can write
nothing. Every process started here is stopped by its own process group, and the databases and roles are dropped,
also when the test fails.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.integration.helpers import (
    AIRFLOW,
    REPO,
    airflow,
    free_port,
    pipeline_env,
    run_dags,
    stop_process_groups,
)

pytestmark = pytest.mark.integration

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_URL = "redis://127.0.0.1:6379/0"
AS_OF = "2025-01-31"  # make run's
MARKER = "SECTORSTATS_TEST_PROD"
DAGS = ("sectorstats_ingest", "sectorstats_transform", "sectorstats_monitor")
# columns that say when or in which load something happened: they differ between any two runs
RUN_COLUMNS = ("load_id", "loaded_at", "published_at", "built_at", "created_at", "sent_at", "last_attempt_at")
START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
}


def _services_up() -> None:
    import psycopg2
    import redis

    try:
        psycopg2.connect(dbname="postgres", connect_timeout=5, **PG).close()
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not answering at 127.0.0.1:5432 ({exc}); start it: {START['PostgreSQL']}")
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not answering at 127.0.0.1:6379 ({exc}); start it: {START['Redis']}")


def _admin(sql: str) -> None:
    import psycopg2

    con = psycopg2.connect(dbname="postgres", **PG)
    con.autocommit = True
    try:
        con.cursor().execute(sql)
    finally:
        con.close()


@dataclass
class Deployment:
    env: dict[str, str]
    data: Path
    logs: Path
    database: str
    procs: dict[str, subprocess.Popen]
    warehouse_url: str = ""
    analyst_url: str = ""
    pipeline_role: str = ""

    def sql(self, statement: str) -> list[tuple]:
        import psycopg2

        con = psycopg2.connect(dbname=self.database, **PG)
        try:
            with con.cursor() as cur:
                cur.execute(statement)
                return cur.fetchall()
        finally:
            con.close()

    def diagnostics(self) -> str:
        out = []
        for name, p in self.procs.items():
            log = self.logs / f"{name}.log"
            out.append(f"--- {name} ({p.poll()=}) ---\n" + (log.read_text(errors="replace")[-2500:] if log.exists()
                                                            else "(no log)"))
        for log in sorted(Path(self.env["AIRFLOW_HOME"], "logs").glob("dag_id=*/**/*.log")):
            text = log.read_text(errors="replace")
            if "ERROR" in text or "Traceback" in text:
                out.append(f"--- {log.name} ---\n{text[-2500:]}")
        return "\n".join(out)

    def wait(self, what: str, timeout: float, check) -> None:
        deadline = time.monotonic() + timeout
        while True:
            dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
            if dead:
                raise AssertionError(f"process(es) exited: {dead}\n{self.diagnostics()}")
            if check():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.diagnostics()}")
            time.sleep(2)

    def runs(self, dag_id: str) -> list[tuple[str, str]]:
        return self.sql(f"select run_type, state from dag_run where dag_id = '{dag_id}' order by id")


def _demo_inbox(tmp_path: Path) -> Path:
    """make run's demo inbox, generated once; both runs get byte-identical copies with the same times."""
    env = {**pipeline_env(tmp_path / "generated"), "SECTORSTATS_AS_OF": AS_OF}
    subprocess.run([str(Path(AIRFLOW).with_name("python")), "-m", "devtools", "demo", "--if-empty"], env=env,
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    return tmp_path / "generated" / "inbox"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _demo_inbox(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def embedded(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded default on the same inbox: SQLite metadata, `airflow dags test`, as `make run` does."""
    data = tmp_path_factory.mktemp("embedded") / "data"
    shutil.copytree(inbox, data / "inbox")
    env = {**pipeline_env(data), "SECTORSTATS_AS_OF": AS_OF}
    airflow(env, "db", "migrate")
    airflow(env, "pools", "set", "sectorstats_warehouse", "1", "one writer")
    run_dags(env)
    return data


@pytest.fixture(scope="module")
def deployment(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    _services_up()
    root = tmp_path_factory.mktemp("prod")
    data, logs = root / "data", root / "logs"
    shutil.copytree(inbox, data / "inbox")
    logs.mkdir()
    tag = uuid.uuid4().hex[:10]
    database, warehouse_db = f"sectorstats_prodtest_{tag}", f"sectorstats_prodtest_{tag}_warehouse"
    pipeline_role, analyst_role = f"sectorstats_pipeline_{tag}", f"sectorstats_analyst_{tag}"
    _admin(f"create database {database}")
    port = free_port()
    marker = uuid.uuid4().hex
    metadata = f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{database}"
    server = f"{PG['host']}:{PG['port']}"
    warehouse_url = f"postgresql+psycopg2://{pipeline_role}:{uuid.uuid4().hex}@{server}/{warehouse_db}"
    analyst_password = uuid.uuid4().hex
    env = {**pipeline_env(data),
           "SECTORSTATS_AS_OF": AS_OF,
           "SECTORSTATS_WAREHOUSE_URL": warehouse_url,
           MARKER: marker,
           # what docker-compose.yaml sets (with its hosts: postgres, redis, airflow-apiserver)
           "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
           "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
           "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
           "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
           "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
           # here, not in compose: this test's own port and Celery queue, so nothing else on the machine meets it
           "AIRFLOW__API__HOST": "127.0.0.1",
           "AIRFLOW__API__PORT": str(port),
           "AIRFLOW__API__WORKERS": "1",
           "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
           "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"sectorstats-{marker[:8]}",
           "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
           "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"}
    procs: dict[str, subprocess.Popen] = {}
    deployment = Deployment(env, data, logs, database, procs, warehouse_url,
                            f"postgresql+psycopg2://{analyst_role}:{analyst_password}@{server}/{warehouse_db}",
                            pipeline_role)
    try:
        subprocess.run([str(Path(AIRFLOW).with_name("python")), "-m", "ingest", "warehouse-roles"], check=True,
                       timeout=120, capture_output=True, env={
                           **env, "SECTORSTATS_WAREHOUSE_ADMIN_URL": f"postgresql+psycopg2://{PG['user']}@{server}/postgres",
                           "SECTORSTATS_ANALYST_ROLE": analyst_role, "SECTORSTATS_ANALYST_PASSWORD": analyst_password})
        airflow(env, "db", "migrate")
        airflow(env, "pools", "set", "sectorstats_warehouse", "1", "tasks that open the DuckDB warehouse (one writer)")
        queue = env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
        commands = {"api-server": ["api-server"], "scheduler": ["scheduler"], "dag-processor": ["dag-processor"],
                    "triggerer": ["triggerer"]}
        for n in (1, 2):  # two workers on one machine: their own names and log-server ports
            commands[f"worker-{n}"] = ["celery", "worker", "--concurrency", "2", "--queues", queue,
                                       "--celery-hostname", f"sectorstats-{n}-{marker[:8]}@%h"]
        for name, args in commands.items():
            proc_env = {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
            with open(logs / f"{name}.log", "wb") as log:
                procs[name] = subprocess.Popen([str(AIRFLOW), *args], env=proc_env, stdout=log,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                               start_new_session=True)
        yield deployment
    finally:
        stop_process_groups(list(procs.values()), MARKER, marker)
        for db in (database, warehouse_db):
            _admin(f"drop database if exists {db} with (force)")
        for role in (pipeline_role, analyst_role):
            _admin(f"drop role if exists {role}")


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


FAMILIES = {"integer": "integer", "bigint": "integer", "smallint": "integer", "hugeint": "integer",
            "double": "float", "double precision": "float", "float": "float", "real": "float",
            "varchar": "text", "character varying": "text", "text": "text", "date": "date",
            "timestamp": "timestamp", "timestamp without time zone": "timestamp", "boolean": "boolean"}


def _family(data_type: str) -> str:
    """integer, float, text, date, timestamp or boolean (both backends' names); anything else as it is named."""
    return FAMILIES.get(data_type.lower(), data_type.lower())


def _cell(value: object) -> object:
    """Doubles to 6 decimals: a sum of doubles (the province rows) depends on the order it is added in, so two builds
    of the same data differ in the last bits (8982.1 against 8982.100000000002)."""
    if isinstance(value, float | Decimal):
        return round(float(value), 6) + 0.0
    return value


def _sort_key(row: tuple) -> tuple:
    return tuple((v is None, 0 if v is None else v) for v in row)


def _comparable(rows: Iterable[Sequence]) -> list[tuple]:
    """Rows with their doubles rounded (:func:`_cell`), sorted: what two warehouses are compared by."""
    return sorted((tuple(_cell(v) for v in row) for row in rows), key=_sort_key)


@contextlib.contextmanager
def _connected(url: str) -> Iterator[sa.Connection]:
    """A connection to a warehouse by URL; a DuckDB file is opened read-only (the snapshot is a read-only file)."""
    args = {"connect_args": {"read_only": True}} if url.startswith("duckdb") else {}
    engine = sa.create_engine(url, poolclass=NullPool, **args)
    try:
        with engine.connect() as con:
            yield con
    finally:
        engine.dispose()


def _marts(url: str) -> dict[str, tuple[list[tuple[str, str]], list[tuple]]]:
    """Every table of the marts schema: its columns with their type family, and its rows sorted, without the columns
    that name a run or a time."""
    out = {}
    with _connected(url) as con:
        names = con.execute(sa.text("select table_name from information_schema.tables "
                                    "where table_schema = 'marts' order by table_name")).scalars().all()
        for name in names:
            columns = [(c, _family(t)) for c, t in con.execute(sa.text(
                "select column_name, data_type from information_schema.columns where table_schema = 'marts' "
                "and table_name = :name order by ordinal_position"), {"name": name}) if c not in RUN_COLUMNS]
            select = ", ".join(f'"{c}"' for c, _ in columns)
            out[name] = (columns, _comparable(con.execute(sa.text(f'select {select} from marts."{name}"'))))
    return out


def test_the_pipeline_runs_on_celery_workers_and_builds_the_same_marts(deployment: Deployment,
                                                                      embedded: Path) -> None:
    d = deployment
    d.wait("the DAG processor to parse the three DAGs", 180,
           lambda: len(d.sql("select dag_id from dag where dag_id like 'sectorstats_%'")) == 3)
    airflow(d.env, "dags", "unpause", "sectorstats_transform")
    airflow(d.env, "dags", "unpause", "sectorstats_ingest")  # its latest scheduled run starts (catchup off)
    d.wait("the scheduled ingest run and the transform run its asset event starts", 900,
           lambda: d.runs("sectorstats_transform")[-1:] == [("asset_triggered", "success")]
           and d.runs("sectorstats_ingest")[-1:] == [("scheduled", "success")])
    airflow(d.env, "dags", "unpause", "sectorstats_monitor")  # after the marts, as make run orders them
    d.wait("the monitoring DAG's scheduled run", 600,
           lambda: d.runs("sectorstats_monitor")[-1:] == [("scheduled", "success")])

    failed = d.sql("select dag_id, task_id, state from task_instance where state <> 'success'")
    assert failed == [], d.diagnostics()
    hosts = {h for (h,) in d.sql("select distinct queue || ' ' || hostname from task_instance")}
    assert hosts and all(h.startswith(d.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]) for h in hosts)
    assert {r for (r,) in d.sql("select distinct run_type from dag_run")} == {"scheduled", "asset_triggered"}

    ours, reference = _marts(d.warehouse_url), _marts(f"duckdb:///{embedded / 'warehouse.duckdb'}")
    assert sorted(ours) == sorted(reference)
    assert sum(len(rows) for _, rows in ours.values()) > 10_000
    assert {n: c for n, (c, _) in ours.items()} == {n: c for n, (c, _) in reference.items()}  # names, order, types
    different = [name for name in reference if ours[name] != reference[name]]
    assert different == []


def _as(url: str, sql: str) -> list[tuple]:
    with _connected(url) as con:
        return [tuple(r) for r in con.exec_driver_sql(sql)]


def test_the_analysts_role_reads_the_marts_and_writes_nothing(deployment: Deployment, embedded: Path) -> None:
    import psycopg2.errors

    d = deployment
    if not d.runs("sectorstats_transform"):
        pytest.skip("needs the marts built by the pipeline test")
    count = "select count(*), count(*) filter (where status = 'accepted') from marts.fct_submission"
    reference = _as(f"duckdb:///{embedded / 'warehouse.duckdb'}", count)
    assert _as(d.analyst_url, count) == reference
    assert _as(d.analyst_url, "show transaction_read_only") == [("on",)]
    refused = {
        "insert into marts.dim_form (form_code) values ('x')": psycopg2.errors.ReadOnlySqlTransaction,
        # with a read-write transaction asked for, the privileges still refuse
        "set transaction read write; insert into marts.dim_form (form_code) values ('x')":
            psycopg2.errors.InsufficientPrivilege,
        "set transaction read write; delete from marts.fct_submission": psycopg2.errors.InsufficientPrivilege,
        "set transaction read write; drop table marts.fct_submission": psycopg2.errors.InsufficientPrivilege,
        "set transaction read write; create table marts.mine (i integer)": psycopg2.errors.InsufficientPrivilege,
        "set transaction read write; create schema mine": psycopg2.errors.InsufficientPrivilege,
        "select count(*) from raw.observations": psycopg2.errors.InsufficientPrivilege,
        "select count(*) from ops.alert_log": psycopg2.errors.InsufficientPrivilege,
    }
    for sql, error in refused.items():
        with pytest.raises(sa.exc.DBAPIError) as caught:
            _as(d.analyst_url, sql)
        assert isinstance(caught.value.orig, error), (sql, caught.value)
    assert _as(d.warehouse_url, count) == reference  # refused, not broken: the pipeline's role still reads them


def test_the_pipelines_role_owns_every_schema_and_table(deployment: Deployment) -> None:
    d = deployment
    if not d.runs("sectorstats_transform"):
        pytest.skip("needs the marts built by the pipeline test")
    owners = _as(d.warehouse_url, """
        select n.nspname, pg_get_userbyid(n.nspowner),
               count(c.oid) filter (where pg_get_userbyid(c.relowner) <> current_user), count(c.oid)
        from pg_namespace n left join pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'v')
        where n.nspname in ('raw', 'ops', 'reference', 'staging', 'intermediate', 'marts')
        group by 1, 2 order by 1""")
    assert [(schema, owner, others) for schema, owner, others, _ in owners] == [
        (schema, d.pipeline_role, 0) for schema in ("intermediate", "marts", "ops", "raw", "reference", "staging")]
    assert all(n > 0 for *_, n in owners)


def _guide_queries() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "analyst-guide.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", text, flags=re.S)


def test_the_analyst_guide_answers_the_same_on_postgres_as_the_analysts_role(deployment: Deployment,
                                                                             embedded: Path) -> None:
    """Every SQL example of docs/analyst-guide.md, run by the analysts' role on Postgres and on the embedded DuckDB
    snapshot: the same rows (rounded as the marts are compared), and never none."""
    d = deployment
    if not d.runs("sectorstats_transform"):
        pytest.skip("needs the marts built by the pipeline test")
    queries = _guide_queries()
    assert len(queries) >= 10
    for sql in queries:
        ours = _comparable(_as(d.analyst_url, sql))
        reference = _comparable(_as(f"duckdb:///{embedded / 'analyst' / 'warehouse.duckdb'}", sql))
        assert reference, sql
        assert ours == reference, sql
