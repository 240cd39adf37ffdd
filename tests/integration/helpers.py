"""Fixtures that run the real pipeline (Airflow DAGs, Great Expectations, dbt) on small inboxes."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import html
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil
import pytest

from ingest.catalogue import Form, load_catalogue
from ingest.orchestration.environment import embedded_environment
from ingest.tell.official_forms import Quirks, write_form

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).with_name("airflow")
VN = dt.timezone(dt.timedelta(hours=7))
AS_OF = "2024-03-31"


def consistent_values(form: Form, seed: int, months_elapsed: int) -> dict[tuple[str, str], float | None]:
    """Values that satisfy every ``sum_of`` and ``of`` rule of ``form`` in every column."""
    rng = random.Random(seed)
    totals = {r.code for r in form.rows if r.sum_of}
    part_of_sum = {c for r in form.rows for c in r.sum_of}
    leaves = {r.code: rng.randint(3, 400) for r in form.rows if r.code not in totals and
              (r.code in part_of_sum or not r.of)}
    factors = {"period": 1.0, "ytd": float(months_elapsed), "plan_year": 13.0, "ytd_prev_year": 0.9 * months_elapsed}
    out: dict[tuple[str, str], float | None] = {}
    for measure, factor in factors.items():
        vals = {code: float(round(v * factor)) for code, v in leaves.items()}
        for row in reversed(form.rows):  # totals of totals: 04 before 01
            if row.sum_of:
                vals[row.code] = sum(vals[c] for c in row.sum_of)
        for row in form.rows:
            if row.code not in vals:  # an "of which" part outside any sum: half its whole
                vals[row.code] = float(vals[row.of] // 2)
        for row in form.rows:
            if row.kind == "stock":
                out[(row.code, measure)] = None if measure == "plan_year" else \
                    vals[row.code] if measure != "ytd" else out.get((row.code, "period"))
            else:
                out[(row.code, measure)] = vals[row.code]
    for row in form.rows:
        if row.kind == "stock":  # the year-to-date column repeats the period-end value
            out[(row.code, "ytd")] = out[(row.code, "period")]
        else:  # the same every month: year to date = months × this month, so the months continue each other
            out[(row.code, "ytd")] = out[(row.code, "period")] * months_elapsed
    return out


@dataclass
class Written:
    folder: str
    name: str
    form_code: str
    unit_code: str
    period_start: dt.date
    values: dict
    cells: dict


def put(inbox: Path, folder: str, name: str, form_code: str, unit_code: str, period_start: dt.date,
        values: dict, received: dt.datetime, quirks: Quirks | None = None) -> Written:
    """Write one submission into ``inbox/<folder>/<name>`` with the given arrival time."""
    cat = load_catalogue()
    path = inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = write_form(path, cat.form(form_code), cat.unit(unit_code), period_start, values, options=quirks)
    ts = received.timestamp()
    os.utime(path, (ts, ts))
    return Written(folder, name, form_code, unit_code, period_start, values, cells)


def make_dev_warehouse(path: Path) -> Path:
    """The small development warehouse of dbt_project/scripts/make_dev_warehouse.py, written to ``path``."""
    subprocess.run([sys.executable, str(REPO / "dbt_project" / "scripts" / "make_dev_warehouse.py"), str(path)],
                   check=True, capture_output=True, text=True)
    return path


def pipeline_env(data_dir: Path) -> dict[str, str]:
    """What `make run` runs the DAGs with, for ``data_dir``, as of the tests' day."""
    # the tests write files and run at once: no waiting for a file to settle (tests/doors/test_sftp_inbox.py does)
    return {**embedded_environment(data_dir), "SECTORSTATS_AS_OF": AS_OF, "SECTORSTATS_INBOX_SETTLE_SECONDS": "0"}


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-4000:]}")
    return proc


def run_dags(env: dict[str, str], *, monitor: bool = True) -> None:
    """One scheduled cycle, as `make run` does it: the ingest DAG, the transform DAG, then the monitoring DAG."""
    airflow(env, "dags", "test", "sectorstats_ingest")
    airflow(env, "dags", "test", "sectorstats_transform")
    if monitor:
        airflow(env, "dags", "test", "sectorstats_monitor")


def stop_process_groups(procs: list[subprocess.Popen], marker_name: str, marker: str,
                        grace: float = 10.0) -> None:
    """SIGTERM each process group started here, SIGKILL what is left after ``grace`` seconds; then the same for any
    process whose environment has ``marker_name=marker`` (task processes put themselves in groups of
    their own)."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)  # the group may outlive its leader
        p.wait()
    strays = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            if proc.environ().get(marker_name) == marker:
                strays.append(proc)
    for proc in strays:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(strays, timeout=10)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(data_dir: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Airflow metadata database (SQLite), copied into each pipeline's data directory."""
    home = tmp_path_factory.mktemp("airflow-template")
    env = pipeline_env(home)
    airflow(env, "db", "migrate")
    airflow(env, "pools", "set", "sectorstats_warehouse", "1", "tasks that open the DuckDB warehouse")
    return home / "airflow"


class Mailbox:
    """An SMTP server on loopback (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def bodies(self) -> list[str]:
        out = []
        for msg in self.messages:
            part = msg.get_body(preferencelist=("html", "plain"))
            out.append(html.unescape(part.get_content()))
        return out


@pytest.fixture(scope="module")
def mailbox():
    from aiosmtpd.controller import Controller

    port = free_port()
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    try:
        yield box
    finally:
        controller.stop()


class ChatRoom:
    """A webhook receiver on loopback (the standard library's HTTP server) that keeps every JSON post."""

    def __init__(self) -> None:
        import http.server
        import threading

        room = self
        self.posts: list[dict] = []
        self.headers: list[dict[str, str]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                room.posts.append(json.loads(body.decode("utf-8")))
                room.headers.append(dict(self.headers))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def chatroom():
    room = ChatRoom()
    try:
        yield room
    finally:
        room.close()


def webhook_connection_env(port: int, token: str = "test-token") -> dict[str, str]:
    """The Airflow HTTP connection of the chat webhook, as an environment variable."""
    return {"AIRFLOW_CONN_WEBHOOK_SECTORSTATS": json.dumps({
        "conn_type": "http", "host": f"http://127.0.0.1:{port}/hooks/sectorstats", "password": token})}


def smtp_connection_env(port: int) -> dict[str, str]:
    """The Airflow connection the alerts use, given as an environment variable (never in the repository)."""
    return {"AIRFLOW_CONN_SMTP_SECTORSTATS": json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "sectorstats@example.invalid",
                  "timeout": 10, "retry_limit": 1}})}


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=VN)
