"""A load killed at any point is finished by the next run, exactly as if nothing had happened (issue 15, part 4).

``python -m ingest -v ingest`` runs in its own process group on a small inbox; the whole group (the CLI and its
parse workers) gets SIGKILL — no cleanup, as the kernel's OOM killer or a lost machine does — at each stage
boundary and inside the long stages (parsing in the workers, the load's transaction, the feedback workbooks). A
clean run then takes up what was left, and the warehouse, the archive and the feedback workbooks are those of an
uninterrupted run: nothing lost, nothing twice. The same for ``transform`` (dbt build, killed mid-build: the marts
and the ledger) and ``alerts`` (killed while a real SMTP server on loopback takes a message: every alert
delivered, the one in flight again under its own Message-ID)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.settings import REPO_DIR

pytestmark = pytest.mark.integration

# (the log line after which the group is killed, seconds to wait after it): a boundary, or inside a stage
KILL_POINTS = {
    "after-archive": ("archive:", 0.0),
    "inside-parse": ("parse plan of", 1.0),
    "after-parse": ("parse:", 0.0),
    "inside-validate": ("parse:", 0.5),
    "inside-load": ("validate:", 0.3),
    "after-load": ("load:", 0.0),
    "inside-feedback": ("load:", 0.5),
}


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from devtools.demo import generate_demo

    folder = tmp_path_factory.mktemp("inbox")
    generate_demo(folder, year=2024, seed=5, unit_codes=["443", "440"])
    return folder


def environment(data: Path, inbox: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECTORSTATS_")}
    return {**env, "SECTORSTATS_DATA_DIR": str(data), "SECTORSTATS_INBOX_DIR": str(inbox),
            "SECTORSTATS_PARSE_WORKERS": "2", "SECTORSTATS_AS_OF": "2025-01-31"}


def ingest(data: Path, inbox: Path, kill_after: tuple[str, float] | None = None, command: str = "ingest",
           env: dict[str, str] | None = None, started: list | None = None) -> str:
    """Run a CLI command (``ingest``); with ``kill_after``, SIGKILL its process group once that log line has been
    written; ``started`` receives the process, for a killer elsewhere."""
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "-v", command], cwd=REPO_DIR,
                            env={**environment(data, inbox), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    if started is not None:
        started.append(proc)
    assert proc.stdout is not None
    said = []
    for line in proc.stdout:
        said.append(line)
        if kill_after and kill_after[0] in line:
            time.sleep(kill_after[1])
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=300)
    if kill_after or (started is not None and proc.returncode == -signal.SIGKILL):
        assert proc.returncode == -signal.SIGKILL, "".join(said)[-3000:]
    else:
        assert proc.returncode == 0, "".join(said)[-3000:]
    return "".join(said)


def state(data: Path) -> dict[str, object]:
    """What a run leaves that matters: the reports and their verdicts, the numbers, the problems, the archive and the
    feedback workbooks (not the load ids, times or package files, which differ by design)."""
    import duckdb

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        got = {
            "submissions": con.sql("""select sha256, unit_code, form_code, period_start, status from raw.submissions
                                      order by all""").fetchall(),
            "observations": con.sql("""select submission_id, row_code, measure, value from raw.observations
                                       order by all""").fetchall(),
            "problems": con.sql("select sha256, rule, source_sheet, source_cell from raw.problems order by all"
                                ).fetchall(),
            "arrivals": con.sql("select sha256, file_name from raw.arrivals order by all").fetchall(),
        }
    finally:
        con.close()
    got["archive"] = sorted(p.name for p in (data / "archive").rglob("*") if p.is_file())
    got["feedback"] = sorted(str(p.relative_to(data)) for p in (data / "reports" / "feedback").rglob("*.xlsx"))
    return got


@pytest.fixture(scope="module")
def uninterrupted(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    data = tmp_path_factory.mktemp("reference")
    ingest(data, inbox)
    return state(data)


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_killed_load_is_finished_by_the_next_run(point: str, inbox: Path, uninterrupted: dict,
                                                   tmp_path: Path) -> None:
    ingest(tmp_path, inbox, kill_after=KILL_POINTS[point])
    ingest(tmp_path, inbox)
    got = state(tmp_path)
    assert uninterrupted["submissions"] and uninterrupted["problems"] and uninterrupted["feedback"]
    for part in uninterrupted:
        assert got[part] == uninterrupted[part], part
    ingest(tmp_path, inbox)  # and a third run changes nothing
    assert state(tmp_path) == uninterrupted


# --- the transform and the alerts ---------------------------------------------------------------------------------

MARTS = ["marts.fct_submission", "marts.fct_indicator_value", "marts.fct_problem", "marts.dim_reporting_unit",
         "marts.mart_employment", "marts.mart_social_protection"]


def marts(data: Path) -> dict[str, list]:
    """The marts and the ledger (versions of each report), row for row."""
    import duckdb

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        got = {m: con.sql(f"select * from {m} order by all").fetchall() for m in MARTS}
        got["ledger"] = con.sql("""select sha256, version, is_latest_accepted from raw.submissions
                                   order by all""").fetchall()
    finally:
        con.close()
    return got


@pytest.fixture(scope="module")
def loaded(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("loaded")
    ingest(data, inbox)
    return data


def test_a_killed_transform_is_finished_by_the_next_run(loaded: Path, inbox: Path, tmp_path: Path) -> None:
    reference, faulted = tmp_path / "reference", tmp_path / "faulted"
    shutil.copytree(loaded, reference)
    shutil.copytree(loaded, faulted)
    ingest(reference, inbox, command="transform")
    ingest(faulted, inbox, command="transform", kill_after=(" OK created", 1.0))  # mid-build
    ingest(faulted, inbox, command="transform")
    want = marts(reference)
    assert want["marts.fct_submission"] and want["marts.fct_indicator_value"]
    assert marts(faulted) == want


def test_alerts_killed_while_the_server_takes_a_message(loaded: Path, inbox: Path, tmp_path: Path) -> None:
    from tests.faults.servers import SmtpServer

    data = tmp_path / "data"
    shutil.copytree(loaded, data)
    ingest(data, inbox, command="transform")
    ingest(data, inbox, command="monitor")
    smtp = SmtpServer()
    smtp.set("ok")
    started: list = []
    smtp.on_message = lambda n: os.killpg(started[-1].pid, signal.SIGKILL) if n == 5 else None
    try:
        env = smtp.connection_env()
        ingest(data, inbox, command="alerts", env=env, started=started)  # killed before the 5th 250 reply
        assert started[-1].returncode == -signal.SIGKILL and len(smtp.received) == 5
        smtp.on_message = None
        ingest(data, inbox, command="alerts", env=env)
        ingest(data, inbox, command="alerts", env=env)  # nothing owed, nothing again
    finally:
        smtp.close()
    import duckdb

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        recorded = con.sql("select message_id, status from ops.alert_delivery where channel = 'email'").fetchall()
    finally:
        con.close()
    assert recorded and {status for _, status in recorded} == {"sent"}
    ids = [m.message_id for m in smtp.received]
    assert set(ids) == {key for key, _ in recorded}
    repeated = [i for i in set(ids) if ids.count(i) > 1]
    assert len(ids) == len(recorded) + 1 and repeated == [smtp.received[4].message_id]  # the one in flight
