"""ingest.tell.alerts: who is told what and when, and that each alert is recorded once and sent once.

The sending itself goes through Airflow notifiers to real servers in tests/integration/test_pipeline.py; here the
outbox logic runs on a real DuckDB warehouse with senders that record what they are asked to send.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ingest import warehouse
from ingest.catalogue import load_catalogue
from ingest.tell import alerts
from tests.unit.calendar_rows import Got, calendar, write_calendar

CAT = load_catalogue()
PROVINCE = "thongke@soldtbxh.example.invalid"
DUC_THO = "phongldtbxh.ductho@example.invalid"
CAN_LOC = "phongldtbxh.canloc@example.invalid"
EMPLOYMENT = "01/LĐVL-H"
NOW = dt.datetime(2024, 3, 8, 1, 0)


# -- recipients ------------------------------------------------------------------------------------------------

def test_a_district_is_told_and_so_is_the_province() -> None:
    assert alerts.recipients_for("440") == (DUC_THO, PROVINCE)
    assert alerts.recipients_for("440", to=("unit",)) == (DUC_THO,)
    assert alerts.recipients_for("440", to=("province", "unit")) == (PROVINCE, DUC_THO)


def test_a_mix_up_is_told_to_both_units_once_and_the_province() -> None:
    assert alerts.recipients_for("440", "443", "440") == (DUC_THO, CAN_LOC, PROVINCE)


@pytest.mark.parametrize("codes", [("18685",), ("18685", None), (None,), ("",), ()])
def test_a_unit_without_recipients_still_tells_the_province(codes: tuple) -> None:
    assert alerts.recipients_for(*codes) == (PROVINCE,)
    assert alerts.recipients_for(*codes, to=("unit",)) == ()


@pytest.mark.parametrize(
    "spec",
    [
        {"province": [PROVINCE], "units": {"18685": None}},  # listed with no address
        {"province": [PROVINCE], "units": None},  # `units:` left empty
        {"province": [PROVINCE]},  # no units at all
    ],
)
def test_recipients_yaml_with_empty_entries(monkeypatch: pytest.MonkeyPatch, spec: dict) -> None:
    monkeypatch.setattr(alerts, "recipients", lambda: spec)
    assert alerts.recipients_for("18685", "440") == (PROVINCE,)


def test_no_province_configured_gives_the_units_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "recipients", lambda: {"province": None, "units": {"440": [DUC_THO]}})
    assert alerts.recipients_for("440", "18685") == (DUC_THO,)


def test_alert_kinds_are_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "alerts.yaml").write_text("kinds:\n  reminder: {to: [unit], channels: [email]}\n", encoding="utf-8")
    monkeypatch.setattr(alerts, "CATALOGUE_DIR", tmp_path)
    alerts.alert_kinds.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"no text for alert kind\(s\) \['escalation', 'overdue', 'receipt', "
                                             r"'rejected', 'warnings'\]"):
            alerts.alert_kinds()
    finally:
        alerts.alert_kinds.cache_clear()


# -- deadline alerts -------------------------------------------------------------------------------------------

@pytest.fixture
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty warehouse file with the raw and ops tables, and the marts the problem alerts read."""
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        con.exec_driver_sql("create schema marts")
        con.exec_driver_sql("""create table marts.fct_submission (unit_code varchar, form_code varchar,
                       period_start date, due_date date, status varchar, received_at timestamp, on_time boolean,
                       submission_id varchar)""")
        con.exec_driver_sql("""create table marts.fct_problem (submission_id varchar, sha256 varchar,
                       file_name varchar,
                       folder_unit_code varchar, severity varchar, rule varchar, source_sheet varchar,
                       source_cell varchar, message_vi varchar, message_en varchar, unit_code varchar,
                       stage varchar, row_code varchar, measure varchar, value_text varchar)""")
    return tmp_path


FEB = dt.date(2024, 2, 1)  # February's monthly reports are due 2024-03-10
WELFARE = "03/BTXH-H"


def feb_calendar(as_of: dt.date) -> pd.DataFrame:
    """The calendar of January and February 2024 (the monthly forms) as of a day in March: Đức Thọ's February
    employment report was rejected on 03-05, Vũ Quang's arrived late on 03-12, nothing else arrived."""
    due = dt.date(2024, 3, 10)
    got = {("440", EMPLOYMENT, "2024-02-01"): Got("rejected" if as_of > due else "due_soon",
                                                  last_received="2024-03-05")}
    if as_of >= dt.date(2024, 3, 12):
        got[("441", EMPLOYMENT, "2024-02-01")] = Got("late", accepted_received="2024-03-12")
    return calendar(as_of, [EMPLOYMENT, WELFARE], ["2024-01-01", "2024-02-01"], got)


def deadline_alerts(as_of: dt.date) -> dict[tuple[str, str, str, dt.date], alerts.Alert]:
    found = alerts.collect_deadline_alerts(feb_calendar(as_of), CAT, as_of)
    return {(a.kind, a.unit_code, a.form_code, a.period_start): a for a in found}


def test_reminder_three_days_before_to_units_that_sent_nothing() -> None:
    assert not [k for k in deadline_alerts(dt.date(2024, 3, 6)) if k[0] == "reminder"]  # 4 days before
    got = deadline_alerts(dt.date(2024, 3, 7))
    reminders = {k: a for k, a in got.items() if k[0] == "reminder"}
    assert len(reminders) == 13 * 2 - 1  # both monthly forms; Đức Thọ sent its employment report
    a = reminders[("reminder", "443", EMPLOYMENT, FEB)]
    assert a.recipients == (CAN_LOC,)  # the unit only
    assert a.subject == "[sectorstats] Nhắc nộp báo cáo 01/LĐVL-H Tháng 2 năm 2024 — hạn 10/03/2024"
    assert a.body == (
        "Kính gửi Huyện Can Lộc (mã 443): báo cáo 01/LĐVL-H Tháng 2 năm 2024 đến hạn nộp ngày 10/03/2024 (còn 3 "
        "ngày). Đến nay hệ thống chưa nhận được báo cáo của đơn vị. Đề nghị đơn vị gửi đúng hạn.\n"
        "Reminder: report 01/LĐVL-H for 2024-02 is due on 2024-03-10 (3 day(s) left) and has not been received.")
    assert a.channels == ("email",)


def test_overdue_the_day_after_and_escalation_after_seven_days() -> None:
    on_due_day = deadline_alerts(dt.date(2024, 3, 10))
    assert not [k for k in on_due_day if k[0] in ("overdue", "escalation") and k[3] == FEB]
    next_day = deadline_alerts(dt.date(2024, 3, 11))
    overdue = next_day[("overdue", "440", EMPLOYMENT, FEB)]
    assert overdue.recipients == (DUC_THO,)
    assert overdue.subject == "[sectorstats] Chưa nhận báo cáo 01/LĐVL-H Tháng 2 năm 2024 — Huyện Đức Thọ (mã 440)"
    assert overdue.body.splitlines()[0] == (
        "Đơn vị Huyện Đức Thọ (mã 440) chưa gửi báo cáo 01/LĐVL-H Tháng 2 năm 2024, hạn nộp ngày 10/03/2024 "
        "(đã quá 1 ngày); tệp gửi ngày 05/03/2024 bị từ chối. Đề nghị gửi ngay.")
    assert ("escalation", "440", EMPLOYMENT, FEB) not in next_day
    week = deadline_alerts(dt.date(2024, 3, 17))
    escalation = week[("escalation", "443", EMPLOYMENT, FEB)]
    assert escalation.recipients == (PROVINCE, CAN_LOC)
    assert escalation.subject == ("[sectorstats] Quá hạn 7 ngày: 01/LĐVL-H Tháng 2 năm 2024 — "
                                  "Huyện Can Lộc (mã 443)")
    assert escalation.channels == ("email", "webhook")
    assert ("overdue", "441", EMPLOYMENT, FEB) not in week and ("escalation", "441", EMPLOYMENT, FEB) not in week
    # the ids are the same whichever day asks: that is what makes them told once
    assert week[("overdue", "440", EMPLOYMENT, FEB)].alert_id == overdue.alert_id


def test_a_commune_without_an_address_is_escalated_to_the_province() -> None:
    as_of = dt.date(2025, 8, 20)
    july = {(a.kind, a.unit_code): a for a in alerts.collect_deadline_alerts(
        calendar(as_of, [EMPLOYMENT], ["2025-07-01"]), CAT, as_of)}
    assert len(july) == 2 * 69  # every commune: overdue and escalated; the districts no longer exist
    assert july[("overdue", "18685")].recipients == ()
    assert july[("escalation", "18685")].recipients == (PROVINCE,)


# -- the outbox: recorded once, sent once ----------------------------------------------------------------------

class Senders:
    """Senders that keep what they are asked to send; ``fail`` makes the listed (kind, channel) raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail: set[tuple[str, str]] = set()
        self.crash_after: int | None = None

    def _send(self, channel: str, alert: alerts.Alert, conn_id: str) -> None:
        if self.crash_after is not None and len(self.sent) >= self.crash_after:
            raise SystemExit("the worker was killed")  # not an Exception: nothing catches it
        if (alert.kind, channel) in self.fail:
            raise ConnectionError("connection refused")
        self.sent.append((alert.alert_id, channel, conn_id))

    def as_dict(self) -> dict:
        return {"email": lambda a, c, _key: self._send("email", a, c),
                "webhook": lambda a, c, _key: self._send("webhook", a, c)}


BOTH = {"email": True, "webhook": True}


def run(as_of: dt.date, senders: Senders, configured: dict | None = None, now: dt.datetime = NOW) -> dict[str, int]:
    with warehouse.connect() as con:
        write_calendar(con, feb_calendar(as_of))  # what the monitoring DAG built for the day
    return alerts.dispatch(as_of, families=("deadlines",), now=now, senders=senders.as_dict(),
                           configured=configured or BOTH)


def test_each_alert_is_sent_once_across_runs(wh: Path) -> None:
    senders = Senders()
    first = run(dt.date(2024, 3, 17), senders)
    n_sent = len(senders.sent)
    assert first["new"] > 0 and first["sent"] == n_sent and first["failed"] == 0
    # escalations go by e-mail and webhook: one delivery each
    assert first["sent"] == first["new"] + first["escalation"]
    again = run(dt.date(2024, 3, 17), senders)
    later = run(dt.date(2024, 3, 18), senders)  # the next day: nothing new (the same reports, already told)
    assert again == later == {"new": 0, "sent": 0, "failed": 0, "waiting": 0, "withdrawn": 0, "owed": 0,
                              "oldest_owed": None}
    assert len(senders.sent) == n_sent == len(set(senders.sent))
    with warehouse.connect(read_only=True) as con:
        assert con.exec_driver_sql("select distinct send_status from ops.alert_log").fetchall() == [("sent",)]
        assert con.exec_driver_sql(
            "select count(*) from ops.alert_delivery where status = 'sent'").fetchone() == (n_sent,)


def test_a_failed_delivery_is_retried_and_the_others_are_not_resent(wh: Path) -> None:
    """The chat room is down: after OUTAGE_AFTER failures in a row the run leaves the channel alone (the other
    escalations keep their turn), the failed ones wait RETRY_FIRST; a later run delivers every one, once."""
    senders = Senders()
    senders.fail = {("escalation", "webhook")}
    first = run(dt.date(2024, 3, 17), senders)
    n_escalations = first["escalation"]
    assert (first["failed"], first["owed"]) == (alerts.OUTAGE_AFTER, n_escalations)
    sent_before = list(senders.sent)
    senders.fail = set()
    too_soon = run(dt.date(2024, 3, 17), senders, now=NOW + dt.timedelta(minutes=1))
    assert (too_soon["sent"], too_soon["failed"], too_soon["owed"]) == (n_escalations - alerts.OUTAGE_AFTER, 0,
                                                                        alerts.OUTAGE_AFTER)
    retry = run(dt.date(2024, 3, 17), senders, now=NOW + alerts.RETRY_FIRST)
    assert retry == {"new": 0, "sent": alerts.OUTAGE_AFTER, "failed": 0, "waiting": 0, "withdrawn": 0, "owed": 0,
                     "oldest_owed": None}
    assert senders.sent[:len(sent_before)] == sent_before
    assert {c for _, c, _ in senders.sent[len(sent_before):]} == {"webhook"}
    assert len(senders.sent) == len(set(senders.sent))
    with warehouse.connect(read_only=True) as con:
        rows = con.exec_driver_sql("""select status, attempts, count(*), bool_and(last_error is null)
                                      from ops.alert_delivery where channel = 'webhook' group by all order by 2"""
                                   ).fetchall()
    assert rows == [("sent", 1, n_escalations - alerts.OUTAGE_AFTER, True), ("sent", 2, alerts.OUTAGE_AFTER, True)]


def test_the_wait_backs_off_from_minutes_to_hours() -> None:
    assert [alerts.retry_delay(n) for n in (1, 2, 3, 4, 7, 8, 50)] == [
        dt.timedelta(minutes=m) for m in (5, 10, 20, 40, 320, 360, 360)]


def test_a_killed_run_resumes_where_it_stopped(wh: Path) -> None:
    senders = Senders()
    senders.crash_after = 5
    with pytest.raises(SystemExit):
        run(dt.date(2024, 3, 17), senders)
    assert len(senders.sent) == 5
    senders.crash_after = None
    resumed = run(dt.date(2024, 3, 17), senders)  # a retried task: the alerts are already recorded
    assert resumed["new"] == 0
    assert len(senders.sent) == len(set(senders.sent)) == 5 + resumed["sent"]


def test_without_a_connection_alerts_are_recorded_not_sent(wh: Path) -> None:
    senders = Senders()
    result = run(dt.date(2024, 3, 11), senders, configured={"email": False, "webhook": False})
    assert result["sent"] == 0 and senders.sent == []
    with warehouse.connect(read_only=True) as con:
        assert con.exec_driver_sql("select distinct send_status from ops.alert_log").fetchall() == [
            ("recorded: no_connection",)]
    # configuring the connection later does not send yesterday's notices
    assert run(dt.date(2024, 3, 11), senders) == {"new": 0, "sent": 0, "failed": 0, "waiting": 0, "withdrawn": 0,
                                                  "owed": 0, "oldest_owed": None}


def test_each_alert_status_summarises_its_deliveries(wh: Path) -> None:
    sent = dt.datetime(2024, 3, 8, 2, 0)
    cases = {  # alert → its deliveries (status, sent_at)
        "all-sent": [("sent", sent), ("sent", sent)],
        "one-sent": [("sent", sent), ("failed", None)],
        "to-retry": [("failed", None), ("pending", None)],
        "waiting": [("pending", None)],
        "unsendable": [("no_recipient", None), ("no_connection", None)],
    }
    with warehouse.connect() as con:
        logs = pd.DataFrame([{"alert_id": a, "kind": "overdue", "recipient": PROVINCE, "channel": "email",
                              "subject": "s", "body": "b", "reason": "r", "created_at": NOW, "send_status": "pending"}
                             for a in cases])
        warehouse.insert_frame(con, "ops.alert_log", logs)
        deliveries = pd.DataFrame([{"alert_id": a, "channel": f"c{i}", "recipient": PROVINCE, "status": st,
                                    "sent_at": at, "attempts": 1, "created_at": NOW}
                                   for a, ds in cases.items() for i, (st, at) in enumerate(ds)])
        warehouse.insert_frame(con, "ops.alert_delivery", deliveries)
        alerts._summarise(con, [*cases, "all-sent"])
        got = {a: f"{status} {at:%H:%M}" if at else f"{status} -" for a, status, at in con.exec_driver_sql(
            "select alert_id, send_status, sent_at from ops.alert_log").fetchall()}
    assert got == {"all-sent": "sent 02:00", "one-sent": "partly sent 02:00", "to-retry": "failed -",
                   "waiting": "pending -", "unsendable": "recorded: no_connection, no_recipient -"}


# -- problem alerts --------------------------------------------------------------------------------------------

def test_problem_alerts_of_a_commune_without_recipients(wh: Path) -> None:
    with warehouse.connect() as con:
        con.exec_driver_sql("""insert into marts.fct_submission values
            ('18073', '03/BTXH-H', date '2025-07-01', date '2025-08-10', 'rejected', timestamp '2025-08-05 03:00',
             true, 's-bad'),
            ('440', '03/BTXH-H', date '2025-06-01', date '2025-07-10', 'accepted_with_warnings',
             timestamp '2025-07-05 03:00', true, 's-warn')""")
        con.exec_driver_sql("""insert into marts.fct_problem (submission_id, sha256, file_name,
            folder_unit_code, severity, rule, source_sheet, source_cell, message_vi, message_en, unit_code) values
            ('s-bad', 'abc123', 'bc thang 7.xlsx', '18073', 'error', 'negative-value', 'Bieu 03', 'F14',
             'Ô F14: số âm', 'F14: negative', '18073'),
            ('s-warn', 'def456', 'bc thang 6.xlsx', '440', 'warning', 'row-unknown', 'Bieu 03', 'C30',
             'Ô C30: mã số 99 không có trong biểu', 'C30: unknown row 99', '440')""")
        got = {(a.kind, a.unit_code): a for a in alerts.collect_problem_alerts(con)}
    assert set(got) == {("rejected", "18073"), ("warnings", "440")}
    rejected = got[("rejected", "18073")]
    assert rejected.recipients == (PROVINCE,)
    assert rejected.subject == "[sectorstats] Báo cáo bị từ chối: 03/BTXH-H Tháng 7 năm 2025"
    assert rejected.body == (
        "Báo cáo 03/BTXH-H Tháng 7 năm 2025 (tệp «bc thang 7.xlsx») của Phường Thành Sen (mã 18073) bị từ chối, "
        "đề nghị sửa và gửi lại:\n- Ô F14: số âm\n\nTệp đính kèm «bc_thang_7_abc123.xlsx» là bảng của đơn vị, các ô "
        "có lỗi được tô màu và ghi chú.\n\nRejected: 1 problem(s) in file «bc thang 7.xlsx».")
    # its feedback workbook was missing (nothing had written it): written now, the list alone (no archived copy)
    assert Path(rejected.attachments[0]).is_file()
    assert got[("warnings", "440")].recipients == (DUC_THO, PROVINCE)


def test_text_from_files_is_never_a_template(wh: Path) -> None:
    with warehouse.connect() as con:
        con.exec_driver_sql("""insert into marts.fct_submission values
            ('440', '03/BTXH-H', date '2024-06-01', date '2024-07-10', 'rejected', timestamp '2024-07-05 03:00',
             true, 's1')""")
        con.exec_driver_sql("""insert into marts.fct_problem (submission_id, sha256, file_name,
            folder_unit_code, severity, rule, source_sheet, source_cell, message_vi, message_en, unit_code) values
            ('s1', 'abc', '{unit}{{x}}.xlsx', '440', 'error', 'negative-value', 'B', 'F1', 'Ô F1: {due} {0}',
             'F1', '440')""")
        (a,) = alerts.collect_problem_alerts(con)
    assert "(tệp «{unit}{{x}}.xlsx»)" in a.body and "- Ô F1: {due} {0}" in a.body


def test_a_unit_whose_file_could_not_be_read_is_told_so_not_that_nothing_came() -> None:
    as_of = dt.date(2024, 3, 11)
    grid = calendar(as_of, [EMPLOYMENT], ["2024-02-01", "2024-03-01"], {
        ("443", EMPLOYMENT, "2024-02-01"): Got("unreadable", 0, n_unreadable=1, unreadable_received="2024-03-08")})
    got = {(a.kind, a.unit_code, a.period_start): a for a in alerts.collect_deadline_alerts(grid, CAT, as_of)}
    overdue = got[("overdue", "443", FEB)]
    assert overdue.body.splitlines()[0] == (
        "Đơn vị Huyện Can Lộc (mã 443) chưa gửi báo cáo 01/LĐVL-H Tháng 2 năm 2024, hạn nộp ngày 10/03/2024 "
        "(đã quá 1 ngày); tệp gửi ngày 08/03/2024 không đọc được (xem thông báo lỗi đã gửi về tệp đó). "
        "Đề nghị gửi ngay.")
    assert overdue.body.splitlines()[1].endswith(
        "no accepted report has been received; the file received on 2024-03-08 could not be read (see the notice "
        "sent about it).")
    # a unit that sent a file, even one that could not be read, is not reminded that nothing came
    early = dt.date(2024, 3, 8)
    soon = calendar(early, [EMPLOYMENT], ["2024-02-01"], {
        ("443", EMPLOYMENT, "2024-02-01"): Got("due_soon", 0, n_unreadable=1, unreadable_received="2024-03-08")})
    reminded = {a.unit_code for a in alerts.collect_deadline_alerts(soon, CAT, early) if a.kind == "reminder"}
    assert "443" not in reminded and len(reminded) == 12
