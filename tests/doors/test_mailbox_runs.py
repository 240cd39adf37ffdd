"""The mailbox door in real runs: the ingest DAG (``airflow dags test``) taking e-mails from Dovecot, and the
ingest command killed (SIGKILL to its process group) while it takes them, then run again: each message recorded
once, each file once, each reply once."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ingest.settings import REPO_DIR
from tests.doors import messages as m
from tests.doors.servers import DOVECOT, Dovecot
from tests.faults.servers import SmtpServer
from tests.integration.helpers import airflow, pipeline_env

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not DOVECOT.exists(), reason="Dovecot is installed by .ci/system-deps")]

UNITS = [("443", m.CAN_LOC_ADDRESS), ("437", m.HONG_LINH_ADDRESS)]
MARCH_5 = dt.datetime(2024, 3, 5, 2, 30, tzinfo=dt.UTC)


def fill(imap: Dovecot, tmp: Path) -> int:
    """Six e-mails: for each of two units, January's and February's employment report, one with two forms in a
    zip; and one with no attachment. Returns the number of files they carry."""
    files = 0
    for i, (unit, address) in enumerate(UNITS):
        for month in (1, 2):
            report = m.form_bytes(tmp, "01/LĐVL-H", unit, dt.date(2024, month, 1), seed=10 * i + 1)  # months agree
            if month == 2:
                welfare = m.form_bytes(tmp, "03/BTXH-H", unit, dt.date(2024, 2, 1), seed=10 * i + 5)
                attachment = ("bao cao thang 2.zip", m.zipped({"01.xlsx": report, "03.xlsx": welfare}),
                              "application/zip")
                files += 2
            else:
                attachment = (f"Biểu 01 tháng {month}.xlsx", report, m.XLSX)
                files += 1
            imap.deliver(bytes(m.message(address, f"Báo cáo tháng {month}", [attachment])),
                         MARCH_5 + dt.timedelta(minutes=10 * i + month))
    imap.deliver(bytes(m.message(m.CAN_LOC_ADDRESS, "Hỏi về biểu mẫu")), MARCH_5 + dt.timedelta(hours=1))
    return files


def state(data: Path) -> dict[str, list]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        def q(sql: str) -> list:
            return sorted(con.execute(sql).fetchall())
        return {
            "messages": q("select uid, sender, outcome, reason, files_taken, receipt_alert_id is not null "
                          "from raw.mail_messages"),
            "arrivals": q("select folder_unit_code, file_name, sha256, received_at, is_duplicate from raw.arrivals"),
            "submissions": q("select unit_code, form_code, period_start, status from raw.submissions"),
            "replies": q("select l.recipient, d.status from ops.alert_log l join ops.alert_delivery d using (alert_id) "
                         "where l.kind = 'receipt'"),
        }


@pytest.fixture
def servers(tmp_path: Path):
    imap, smtp = Dovecot(), SmtpServer()
    smtp.set("ok")
    try:
        yield imap, smtp
    finally:
        imap.close()
        smtp.close()


def test_the_ingest_dag_takes_the_mailbox_and_answers_every_message(tmp_path: Path, servers,
                                                                    airflow_home: Path) -> None:
    imap, smtp = servers
    files = fill(imap, tmp_path)
    (tmp_path / "data" / "airflow").mkdir(parents=True)
    shutil.copy(airflow_home / "airflow.db", tmp_path / "data" / "airflow" / "airflow.db")
    env = {**pipeline_env(tmp_path / "data"), **imap.connection_env(), **smtp.connection_env()}
    airflow(env, "dags", "test", "sectorstats_ingest")
    got = state(tmp_path / "data")
    assert len(got["arrivals"]) == files == 6
    assert [s[3] for s in got["submissions"]] == ["accepted"] * 6
    assert got["messages"][-1] == (5, m.CAN_LOC_ADDRESS, "nothing-taken", "no-attachment", 0, True)
    assert got["replies"] == sorted([(m.CAN_LOC_ADDRESS, "sent")] * 3 + [(m.HONG_LINH_ADDRESS, "sent")] * 2)
    assert (imap.uids("INBOX"), len(imap.uids("Sectorstats/Taken")), len(smtp.received)) == ([], 5, 5)


def run(data: Path, env: dict[str, str], kill_after: str | None = None, delay: float = 0.0) -> None:
    """``python -m ingest -v ingest``; with ``kill_after``, its process group is SIGKILLed once that log text
    appears (and ``delay`` seconds more)."""
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("SECTORSTATS_")}, **env,
            "SECTORSTATS_DATA_DIR": str(data), "SECTORSTATS_INBOX_DIR": str(data / "inbox"),
            "SECTORSTATS_PARSE_WORKERS": "2", "SECTORSTATS_AS_OF": "2024-03-31"}
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "-v", "ingest"], cwd=REPO_DIR, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert proc.stdout is not None
    said = []
    for line in proc.stdout:
        said.append(line)
        if kill_after and kill_after in line:
            time.sleep(delay)
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=300)
    expected = -signal.SIGKILL if kill_after else 0
    assert proc.returncode == expected, "".join(said)[-3000:]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    tmp = tmp_path_factory.mktemp("uninterrupted")
    imap, smtp = Dovecot(), SmtpServer()
    smtp.set("ok")
    try:
        fill(imap, tmp)
        run(tmp / "data", {**imap.connection_env(), **smtp.connection_env()})
        return state(tmp / "data")
    finally:
        imap.close()
        smtp.close()


@pytest.mark.parametrize(("kill_after", "delay"), [
    ("message UID 3 from", 0.0),  # while it takes the messages, before anything is recorded
    ("moving them out of the mailbox folder", 0.0),  # recorded, maybe not moved
    ("archive:", 0.0),  # moved and answered
])
def test_a_pull_killed_anywhere_is_finished_by_the_next_run_each_message_once(
        tmp_path: Path, servers, uninterrupted: dict[str, list], kill_after: str, delay: float) -> None:
    imap, smtp = servers
    fill(imap, tmp_path)
    env = {**imap.connection_env(), **smtp.connection_env()}
    run(tmp_path / "data", env, kill_after, delay)
    run(tmp_path / "data", env)
    assert state(tmp_path / "data") == uninterrupted
    assert (imap.uids("INBOX"), len(imap.uids("Sectorstats/Taken"))) == ([], 5)
    ids = [r.message_id for r in smtp.received]
    assert len(set(ids)) == len(ids) == 5  # every message answered once


def test_a_pull_killed_while_the_mail_server_takes_a_reply_sends_only_that_one_again(
        tmp_path: Path, servers, uninterrupted: dict[str, list]) -> None:
    imap, smtp = servers
    fill(imap, tmp_path)
    env = {**imap.connection_env(), **smtp.connection_env()}
    started: list[subprocess.Popen] = []

    def kill_on_second(count: int) -> None:
        if count == 2:
            os.killpg(started[0].pid, signal.SIGKILL)

    full = {**{k: v for k, v in os.environ.items() if not k.startswith("SECTORSTATS_")}, **env,
            "SECTORSTATS_DATA_DIR": str(tmp_path / "data"), "SECTORSTATS_PARSE_WORKERS": "2",
            "SECTORSTATS_INBOX_DIR": str(tmp_path / "data" / "inbox"), "SECTORSTATS_AS_OF": "2024-03-31"}
    smtp.on_message = kill_on_second
    started.append(subprocess.Popen([sys.executable, "-m", "ingest", "ingest"], cwd=REPO_DIR, env=full,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    assert started[0].wait(timeout=300) == -signal.SIGKILL
    smtp.on_message = None
    run(tmp_path / "data", env)
    assert state(tmp_path / "data") == uninterrupted
    ids = [r.message_id for r in smtp.received]
    # the reply in flight when the process died is the one sent again, under the same Message-ID (at least once)
    assert (len(ids), len(set(ids)), ids[1] == ids[2]) == (6, 5, True)
