"""A mail or chat outage delays alerts, never drops them (issue 15, part 1): real SMTP and webhook servers on loopback
(tests/faults/servers.py) refuse, hang, close in the middle of DATA, answer 500 or 429, or are down for several
runs; the alerts stay owed, back off, are withdrawn when no longer true, show on the status page and in
``alerts --pending``, and once the server is back each goes out once, with the Message-ID recorded before it was
first tried."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest import warehouse
from ingest.settings import REPO_DIR
from ingest.tell import alerts
from tests.faults.servers import SmtpServer, WebhookServer
from tests.unit.calendar_rows import write_calendar
from tests.unit.test_alerts import NOW, feb_calendar, wh  # noqa: F401 - wh: the warehouse fixture

OVERDUE_DAY = dt.date(2024, 3, 17)  # 51 overdue notices (e-mail) and 51 escalations (e-mail and webhook)
N_EMAILS, N_POSTS = 102, 51


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch):
    server = SmtpServer()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_SECTORSTATS", server.connection_env()["AIRFLOW_CONN_SMTP_SECTORSTATS"])
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch):
    server = WebhookServer()
    monkeypatch.setenv("AIRFLOW_CONN_WEBHOOK_SECTORSTATS",
                       server.connection_env()["AIRFLOW_CONN_WEBHOOK_SECTORSTATS"])
    try:
        yield server
    finally:
        server.close()


def run(as_of: dt.date, now: dt.datetime, senders: dict | None = None) -> dict:
    with warehouse.connect() as con:
        write_calendar(con, feb_calendar(as_of))
    return alerts.dispatch(as_of, families=("deadlines",), now=now, senders=senders)


def deliveries(channel: str) -> dict[str, tuple[str, int, dt.datetime | None, str]]:
    with warehouse.connect(read_only=True) as con:
        rows = con.exec_driver_sql("""select alert_id, status, attempts, next_attempt_at, message_id
                                      from ops.alert_delivery where channel = ?""", (channel,)).fetchall()
    return {a: (status, attempts, nxt, key) for a, status, attempts, nxt, key in rows}


@pytest.mark.parametrize("mode", ["down", "busy", "hang", "drop-data", "slow-data"])
def test_a_mail_outage_over_several_runs_delays_every_e_mail_and_drops_none(
        mode: str, wh: Path, smtp: SmtpServer, hook: WebhookServer) -> None:  # noqa: F811
    smtp.set(mode)
    hook.set("ok")
    first = run(OVERDUE_DAY, NOW)
    assert (first["sent"], first["failed"], first["owed"]) == (N_POSTS, alerts.OUTAGE_AFTER, N_EMAILS)
    assert first["oldest_owed"] == "2024-03-08 01:00:00"
    alerts.raise_if_undelivered(first)  # the chat room got its posts: not a silent run
    tried = {a: d for a, d in deliveries("email").items() if d[1]}
    assert [(s, n, nxt) for s, n, nxt, _ in tried.values()] == [("failed", 1, NOW + alerts.RETRY_FIRST)] * 3
    # the next hourly runs while the server is still down: the three wait their turn, three others are tried
    second = run(OVERDUE_DAY, NOW + dt.timedelta(hours=1))
    assert (second["sent"], second["failed"], second["owed"]) == (0, alerts.OUTAGE_AFTER, N_EMAILS)
    with pytest.raises(alerts.AlertsUndelivered, match=r"no alert could be delivered: 3 attempt\(s\) failed; 102 "
                       r"deliveries owed, the oldest since 2024-03-08 01:00:00 \(UTC\)"):
        alerts.raise_if_undelivered(second)
    # slow DATA: the server took the six messages it never confirmed; the others it never saw
    assert len(smtp.received) == (6 if mode == "slow-data" else 0)
    smtp.set("ok")
    back = run(OVERDUE_DAY, NOW + alerts.RETRY_MAX)
    assert (back["sent"], back["failed"], back["owed"]) == (N_EMAILS, 0, 0)
    # the server's log: every e-mail, each with the Message-ID recorded before its first attempt; the six it took
    # without confirming (slow DATA) came again with the same Message-ID, which a mail client shows once
    recorded = {key for _, _, _, key in deliveries("email").values()}
    ids = [m.message_id for m in smtp.received]
    assert set(ids) == recorded and len(ids) == N_EMAILS + (6 if mode == "slow-data" else 0)
    assert {s for s, *_ in deliveries("email").values()} == {"sent"}
    assert run(OVERDUE_DAY, NOW + 2 * alerts.RETRY_MAX)["sent"] == 0
    assert len(smtp.received) == len(ids)


@pytest.mark.parametrize(("mode", "wait"), [("error", alerts.RETRY_FIRST), ("throttle", dt.timedelta(hours=1)),
                                            ("slow", alerts.RETRY_FIRST), ("down", alerts.RETRY_FIRST)])
def test_a_chat_outage_backs_off_as_the_receiver_asks(mode: str, wait: dt.timedelta, wh: Path,  # noqa: F811
                                                      smtp: SmtpServer, hook: WebhookServer) -> None:
    smtp.set("ok")
    hook.set(mode)
    hook.delay = 3.0  # over the connection's 1 s timeout
    first = run(OVERDUE_DAY, NOW)
    assert (first["sent"], first["failed"], first["owed"]) == (N_EMAILS, alerts.OUTAGE_AFTER, N_POSTS)
    tried = [d for d in deliveries("webhook").values() if d[1]]
    assert [(s, n, nxt) for s, n, nxt, _ in tried] == [("failed", 1, NOW + wait)] * 3
    hook.set("ok")
    early = run(OVERDUE_DAY, NOW + wait - dt.timedelta(seconds=1))  # the three wait; the others go
    assert (early["sent"], early["owed"]) == (N_POSTS - 3, 3)
    late = run(OVERDUE_DAY, NOW + wait)
    assert (late["sent"], late["owed"]) == (3, 0)
    keys = [key for key, _ in hook.posts]
    assert set(keys) == {key for *_, key in deliveries("webhook").values()} and len(set(keys)) == N_POSTS
    if mode == "slow":  # the receiver took the three posts whose answers came too late: repeats, with the same key
        timed_out = {key for *_, key in tried}
        assert {k for k in keys if keys.count(k) > 1} <= timed_out
    else:
        assert len(keys) == N_POSTS


def test_an_alert_no_longer_true_is_withdrawn_not_sent_late(wh: Path, smtp: SmtpServer,  # noqa: F811
                                                            hook: WebhookServer) -> None:
    """Reminders owed through an outage until after the due date: they are withdrawn, and the overdue notices that
    are now true go out instead."""
    smtp.set("down")
    hook.set("ok")
    reminders = run(dt.date(2024, 3, 7), NOW)
    # February's reminders, and January's overdue notices and escalations (e-mail): all owed
    assert (reminders["reminder"], reminders["owed"]) == (25, 25 + 26 + 26)
    smtp.set("ok")
    after_due = run(dt.date(2024, 3, 11), NOW + alerts.RETRY_MAX)
    assert after_due["withdrawn"] == 25 and after_due["owed"] == 0
    assert smtp.received and not [m for m in smtp.received if "nhắc" in m.subject.lower()]
    with warehouse.connect(read_only=True) as con:
        assert con.exec_driver_sql("""select l.kind, d.status, count(*) from ops.alert_log l join ops.alert_delivery d
                                      using (alert_id) where l.kind = 'reminder' group by all""").fetchall() == [
            ("reminder", "withdrawn", 25)]


def test_what_is_owed_shows_on_the_status_page_and_on_the_command_line(wh: Path, smtp: SmtpServer,  # noqa: F811
                                                                       hook: WebhookServer) -> None:
    from ingest.tell.status_page import write_status_page

    smtp.set("down")
    hook.set("down")
    result = run(OVERDUE_DAY, NOW)
    assert (result["sent"], result["owed"]) == (0, N_EMAILS + N_POSTS)
    page = write_status_page(OVERDUE_DAY, wh / "status.html").read_text(encoding="utf-8")
    assert ('<p id="alerts-owed" class="banner" role="alert"><strong>153</strong> thông báo chưa gửi được, cũ nhất '
            'từ 08/03/2024 08:00; sẽ được gửi lại.') in page
    cli = subprocess.run([sys.executable, "-m", "ingest", "alerts", "--pending"], cwd=REPO_DIR, text=True,
                         capture_output=True, env={**os.environ}, timeout=120)
    assert cli.returncode == 1, cli.stderr
    assert cli.stdout.splitlines()[-1] == "153 deliveries owed, the oldest since 2024-03-08 01:00:00 (UTC)"
    assert sum("refused" in line.lower() for line in cli.stdout.splitlines()) == 6, cli.stdout  # 3 e-mails, 3 posts


def test_a_run_killed_inside_sending(wh: Path, smtp: SmtpServer, hook: WebhookServer) -> None:  # noqa: F811
    """Killed before the message left: the next run sends it, once. Killed after the server took it and before
    ``sent`` was committed (the one window left): sent again with the same Message-ID, which mail clients show
    once; documented in the README as the at-least-once remainder."""
    smtp.set("ok")
    hook.set("ok")
    calls = {"n": 0}

    def killed_before(alert: alerts.Alert, conn_id: str, key: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("killed before the message left")
        alerts.send_email(alert, conn_id, key)

    with pytest.raises(SystemExit):
        run(OVERDUE_DAY, NOW, senders={"email": killed_before, "webhook": alerts.send_webhook})
    assert len(smtp.received) == 1
    assert sorted(d[0] for d in deliveries("email").values() if d[0] != "pending") == ["sending", "sent"]
    resumed = run(OVERDUE_DAY, NOW)
    assert resumed["owed"] == 0 and len(smtp.received) == N_EMAILS
    assert len({m.message_id for m in smtp.received}) == N_EMAILS  # none twice

    # a second day's alerts, killed after the server took the first message
    def killed_after(alert: alerts.Alert, conn_id: str, key: str) -> None:
        alerts.send_email(alert, conn_id, key)
        raise SystemExit("killed after the server took it")

    before = len(smtp.received)
    with warehouse.connect() as con:  # a fresh notice to send: the escalations of another calendar day
        con.exec_driver_sql("delete from ops.alert_delivery where channel = 'email' and alert_id in "
                            "(select alert_id from ops.alert_log where kind = 'overdue' limit 1)")
        con.exec_driver_sql("delete from ops.alert_log where alert_id not in (select alert_id from ops.alert_delivery)")
    with pytest.raises(SystemExit):
        run(OVERDUE_DAY, NOW, senders={"email": killed_after, "webhook": alerts.send_webhook})
    run(OVERDUE_DAY, NOW)
    again = smtp.received[before:]
    assert len(again) == 2 and again[0].message_id == again[1].message_id


def test_a_notice_waits_for_its_feedback_workbook(wh: Path, smtp: SmtpServer, hook: WebhookServer) -> None:  # noqa: F811
    """The feedback step was killed before writing a file's workbook: the e-mail waits, pending (the chat post,
    which carries no file, goes), and leaves with the workbook once it is there."""
    smtp.set("ok")
    hook.set("ok")
    workbook = wh / "reports" / "feedback" / "440" / "bc_abcdef12.xlsx"
    notice = alerts.Alert("a-rejected", "rejected", "440", "01/LĐVL-H", dt.date(2024, 2, 1), ("x@example.invalid",),
                          "[sectorstats] rejected", "body", "1 problem(s)", (str(workbook),))
    with warehouse.connect() as con:
        alerts.record(con, [notice], NOW, {"email": True, "webhook": True})
        waiting = alerts.deliver(con, NOW)
        assert waiting == {"sent": 1, "failed": 0, "waiting": 1}  # the post went; the e-mail waits
        assert con.exec_driver_sql("select status, attempts, last_error from ops.alert_delivery where channel = "
                                   "'email'").fetchall() == [
            ("pending", 0, "waiting for its feedback workbook bc_abcdef12.xlsx")]
        workbook.parent.mkdir(parents=True)
        workbook.write_bytes(b"PK\x03\x04 a workbook")
        assert alerts.deliver(con, NOW + dt.timedelta(minutes=1)) == {"sent": 1, "failed": 0, "waiting": 0}
    assert [(m.message_id, m.attachments) for m in smtp.received] == [
        ("<a-rejected.email@sectorstats.invalid>", ["bc_abcdef12.xlsx"])]
