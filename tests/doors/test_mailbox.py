"""The mailbox door against a real IMAP server (Dovecot on loopback) and a real SMTP server for the replies: real
MIME from district mail programs, who may send, the arrival time, each message taken once whatever is interrupted,
and one reply per message."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest import warehouse
from ingest.doors import mailbox
from ingest.pipeline import run_ingest
from ingest.read.limits import MB
from ingest.tell import alerts
from tests.doors import messages as m
from tests.doors.servers import DOVECOT, Dovecot
from tests.faults.servers import SmtpServer

pytestmark = pytest.mark.skipif(not DOVECOT.exists(), reason="Dovecot is installed by .ci/system-deps")

TAKEN, QUARANTINE = "Sectorstats/Taken", "Sectorstats/Quarantine"
MARCH_5 = dt.datetime(2024, 3, 5, 2, 30, tzinfo=dt.UTC)  # 09:30 in Hà Tĩnh
FEB = dt.date(2024, 2, 1)


@dataclass
class Door:
    imap: Dovecot
    smtp: SmtpServer
    tmp: Path

    def send(self, msg, received: dt.datetime = MARCH_5) -> int:
        return self.imap.deliver(bytes(msg), received)


@pytest.fixture
def door(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Door]:
    imap, smtp = Dovecot(), SmtpServer()
    smtp.set("ok")
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    monkeypatch.delenv("SECTORSTATS_MAIL_AUTHSERV_ID", raising=False)
    for key, value in {**imap.connection_env(), **smtp.connection_env()}.items():
        monkeypatch.setenv(key, value)
    try:
        yield Door(imap, smtp, tmp_path)
    finally:
        imap.close()
        smtp.close()


def rows(sql: str) -> list[tuple]:
    with warehouse.connect(read_only=True) as con:
        return [tuple(r) for r in con.exec_driver_sql(sql).fetchall()]


def test_a_district_e_mail_is_taken_as_its_units_report_received_when_the_server_got_it(door: Door) -> None:
    report = m.form_bytes(door.tmp)
    msg = m.message(attachments=[("Báo cáo tháng 2 năm 2024.xlsx", report, m.XLSX),
                                 ("Công văn 12.pdf", b"%PDF-1.4", "application/pdf")])
    uid = door.send(msg)
    result = run_ingest()
    assert result["archive"] == {"load_id": result["archive"]["load_id"], "files_seen": 0, "files_new": 1,
                                 "duplicates": 0, "messages": 1, "replies_sent": 1}
    sha = hashlib.sha256(report).hexdigest()
    key = mailbox.message_key(f"{Dovecot.user}@127.0.0.1:{door.imap.port}/INBOX", rows(
        "select uidvalidity from raw.mail_messages")[0][0], uid)
    # the file is the sender's unit's, and arrived when the mail server received it (not when the DAG ran)
    assert rows("select folder_unit_code, file_name, received_at, sha256, message_key, is_duplicate "
                "from raw.arrivals") == [("443", "Báo cáo tháng 2 năm 2024.xlsx", dt.datetime(2024, 3, 5, 2, 30),
                                          sha, key, False)]
    assert rows("select unit_code, form_code, period_start, status, received_at from raw.submissions") == [
        ("443", "01/LĐVL-H", FEB, "accepted", dt.datetime(2024, 3, 5, 2, 30))]
    assert rows("select sender, sender_unit_code, subject, outcome, reason, files_taken, not_taken "
                "from raw.mail_messages") == [(m.CAN_LOC_ADDRESS, "443", "Báo cáo tháng 2/2024", "taken", None, 1,
                                              "Công văn 12.pdf: not-spreadsheet")]
    # the whole message is in the archive, byte for byte: nothing received is lost
    (raw_sha,) = rows("select sha256 from raw.mail_messages")[0]
    archived = (door.tmp / "data" / "archive" / "sha256" / raw_sha[:2] / raw_sha).read_bytes()
    assert hashlib.sha256(archived).hexdigest() == raw_sha and b"Content-Disposition: attachment" in archived
    # moved out of the inbox only after the commit; never deleted
    assert (door.imap.uids("INBOX"), len(door.imap.uids(TAKEN))) == ([], 1)
    # one reply, to the sender only, threaded under the message
    (reply,) = door.smtp.received
    assert reply.rcpt == [m.CAN_LOC_ADDRESS]
    assert reply.subject == "[sectorstats] Đã nhận thư / Received: Báo cáo tháng 2/2024"
    assert reply.message["In-Reply-To"] == msg["Message-ID"]
    assert reply.message["Auto-Submitted"] == "auto-replied"
    assert reply.text().splitlines()[:3] == [
        "Hệ thống báo cáo ngành Lao động - Thương binh và Xã hội đã nhận thư gửi lúc 05/03/2024 09:30:",
        f"- «Báo cáo tháng 2 năm 2024.xlsx»: đã nhận, mã tiếp nhận {sha[:16]}. Kết quả kiểm tra sẽ được gửi sau.",
        "- «Công văn 12.pdf»: không phải bảng tính nên không được tiếp nhận."]
    # a second run finds nothing new and says nothing again
    again = run_ingest()
    assert (again["archive"]["files_new"], again["archive"]["messages"], len(door.smtp.received)) == (0, 0, 1)


def test_mail_programs_real_mime_outlook_names_forwarded_mail_and_zips_all_give_their_reports(door: Door) -> None:
    one = m.form_bytes(door.tmp, "01/LĐVL-H", "443", FEB, seed=1)
    two = m.form_bytes(door.tmp, "03/BTXH-H", "443", FEB, seed=2)
    three = m.form_bytes(door.tmp, "01/LĐVL-H", "437", FEB, seed=3)
    door.send(m.outlook_style(m.CAN_LOC_ADDRESS, "Biểu 01 LĐVL tháng 2.xlsx", one))
    door.send(m.message(attachments=[("bao cao.zip", m.zipped({"Tháng 2/Biểu 03 BTXH.xlsx": two}), "application/zip")]),
              MARCH_5 + dt.timedelta(minutes=1))
    # the province forwards Hồng Lĩnh's e-mail: the form's own unit decides
    inner = m.message(m.HONG_LINH_ADDRESS, attachments=[("HL bieu 01.xlsx", three, m.XLSX)])
    door.send(m.forwarded(m.PROVINCE_ADDRESS, inner), MARCH_5 + dt.timedelta(minutes=2))
    run_ingest()
    assert rows("select folder_unit_code, file_name from raw.arrivals order by received_at") == [
        ("443", "Biểu 01 LĐVL tháng 2.xlsx"), ("443", "Biểu 03 BTXH.xlsx"), ("42", "HL bieu 01.xlsx")]
    assert rows("select unit_code, form_code, status from raw.submissions order by received_at") == [
        ("443", "01/LĐVL-H", "accepted"), ("443", "03/BTXH-H", "accepted"), ("437", "01/LĐVL-H", "accepted")]
    assert sorted(r.rcpt[0] for r in door.smtp.received) == sorted(
        [m.CAN_LOC_ADDRESS, m.CAN_LOC_ADDRESS, m.PROVINCE_ADDRESS])


def test_a_report_sent_in_another_units_name_is_the_mix_up_it_is_for_a_folder(door: Door) -> None:
    door.send(m.message(attachments=[("bc.xlsx", m.form_bytes(door.tmp, unit_code="437"), m.XLSX)]))
    run_ingest()
    assert rows("select status from raw.submissions") == [("rejected",)]
    assert rows("select rule, folder_unit_code from raw.problems") == [("unit-folder-mismatch", "443")]


def test_an_unknown_sender_is_quarantined_answered_and_listed_never_loaded(door: Door) -> None:
    door.send(m.message("stranger@example.invalid", attachments=[("x.xlsx", m.form_bytes(door.tmp), m.XLSX)]))
    result = run_ingest()
    assert (result["archive"]["files_new"], rows("select count(*) from raw.submissions")) == (0, [(0,)])
    assert rows("select sender, sender_unit_code, outcome, reason, files_taken from raw.mail_messages") == [
        ("stranger@example.invalid", None, "quarantined", "unknown-sender", 0)]
    assert (door.imap.uids("INBOX"), len(door.imap.uids(QUARANTINE))) == ([], 1)
    (reply,) = door.smtp.received
    assert reply.rcpt == ["stranger@example.invalid"]
    assert "- Địa chỉ stranger@example.invalid chưa được đăng ký gửi báo cáo cho đơn vị nào" in reply.text()
    from ingest.tell.status_page import read_quarantine

    with warehouse.connect(read_only=True) as con:
        held = read_quarantine(con)
    assert held[["sender", "reason"]].values.tolist() == [["stranger@example.invalid", "unknown-sender"]]


def test_with_a_trusted_mail_server_only_authenticated_senders_are_taken(door: Door,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_MAIL_AUTHSERV_ID", "mail.soldtbxh.example.invalid")
    report = m.form_bytes(door.tmp)
    forged = m.message(attachments=[("a.xlsx", report, m.XLSX)],
                       headers={"Authentication-Results": "mail.soldtbxh.example.invalid; dmarc=fail "
                                                          "header.from=example.invalid"})
    genuine = m.message(attachments=[("b.xlsx", report, m.XLSX)],
                        headers={"Authentication-Results": "mail.soldtbxh.example.invalid; dkim=pass "
                                                           "header.d=example.invalid"})
    door.send(forged)
    door.send(genuine, MARCH_5 + dt.timedelta(minutes=5))
    run_ingest()
    assert rows("select outcome, reason, files_taken from raw.mail_messages order by received_at") == [
        ("quarantined", "not-authenticated", 0), ("taken", None, 1)]
    assert rows("select file_name from raw.arrivals") == [("b.xlsx",)]


def test_messages_without_a_report_are_answered_with_why_and_automatic_ones_never(door: Door,
                                                                                 monkeypatch: pytest.MonkeyPatch
                                                                                 ) -> None:
    monkeypatch.setenv("SECTORSTATS_MAX_MESSAGE_MB", "1")
    door.send(m.message(text="Xin gửi báo cáo (quên đính kèm)"))
    door.send(m.message(attachments=[("big.xlsx", b"PK" + b"\0" * (2 * MB), m.XLSX)]),
              MARCH_5 + dt.timedelta(minutes=1))
    door.send(m.message(subject="Tự động trả lời: đang nghỉ phép", headers={"Auto-Submitted": "auto-replied"}),
              MARCH_5 + dt.timedelta(minutes=2))
    run_ingest()
    assert rows("select outcome, reason, sha256 is null from raw.mail_messages order by received_at") == [
        ("nothing-taken", "no-attachment", False), ("nothing-taken", "message-too-large", True),
        ("nothing-taken", "no-attachment", False)]
    texts = sorted(r.text().splitlines()[1] for r in door.smtp.received)
    assert texts == sorted([
        "- Thư không có tệp đính kèm. Vui lòng đính kèm tệp báo cáo (Excel .xlsx, .xls hoặc LibreOffice .ods).",
        "- Thư quá lớn (giới hạn 1 MB) nên chưa được tiếp nhận. Vui lòng gửi riêng từng tệp báo cáo."])
    assert len(door.imap.uids(TAKEN)) == 3  # kept in the mailbox, out of the inbox


def test_a_25_mb_attachment_and_a_zip_bomb_are_each_refused_precisely_and_the_rest_lands(door: Door) -> None:
    report = m.form_bytes(door.tmp)
    big = b"PK\x03\x04" + bytes(25 * MB)
    door.send(m.message(attachments=[("Bieu 01 scan.xlsx", big, m.XLSX)]))
    bomb = m.zipped({"bieu.xlsx": bytes(200 * MB)})
    door.send(m.message(attachments=[("bc.zip", bomb, "application/zip"), ("ok.xlsx", report, m.XLSX)]),
              MARCH_5 + dt.timedelta(minutes=1))
    run_ingest()
    assert rows("select file_name, rule from raw.problems where stage = 'read'") == [
        ("Bieu 01 scan.xlsx", "file-too-large")]
    assert rows("select file_name, status from raw.submissions order by received_at") == [
        ("Bieu 01 scan.xlsx", "rejected"), ("ok.xlsx", "accepted")]
    assert rows("select not_taken from raw.mail_messages order by received_at") == [(None,),
                                                                                  ("bc.zip: zip-too-large",)]
    (zip_reply,) = [r.text() for r in door.smtp.received if "bc.zip" in r.text()]
    assert ("- «bc.zip»: tệp nén giải nén ra quá lớn hoặc quá nhiều tệp (giới hạn 100 MB), không được mở. Vui lòng "
            "đính kèm trực tiếp tệp báo cáo.") in zip_reply.splitlines()


def test_the_same_attachment_sent_again_is_a_duplicate_and_the_reply_says_so(door: Door) -> None:
    report = m.form_bytes(door.tmp)
    door.send(m.message(attachments=[("bc.xlsx", report, m.XLSX)]))
    run_ingest()
    door.send(m.message(subject="Gửi lại", attachments=[("bc (1).xlsx", report, m.XLSX)]),
              MARCH_5 + dt.timedelta(hours=1))
    run_ingest()
    assert rows("select file_name, is_duplicate from raw.arrivals order by received_at") == [
        ("bc.xlsx", False), ("bc (1).xlsx", True)]
    sha = hashlib.sha256(report).hexdigest()
    (again,) = [r for r in door.smtp.received if r.subject.endswith("Gửi lại")]
    assert again.text().splitlines()[1] == (
        f"- «bc (1).xlsx»: đã nhận trước đây (cùng nội dung), mã tiếp nhận {sha[:16]}; không cần gửi lại.")


def test_a_run_interrupted_after_its_commit_only_moves_the_messages_next_time(door: Door,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    door.send(m.message(attachments=[("bc.xlsx", m.form_bytes(door.tmp), m.XLSX)]))
    real_move = mailbox.Session.move

    def cut(self, uids, folder):  # the task is killed between the commit and the move
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(mailbox.Session, "move", cut)
    with pytest.raises(KeyboardInterrupt):
        run_ingest()
    assert (door.imap.uids("INBOX"), door.smtp.received) == ([1], [])  # recorded, not moved, not answered
    monkeypatch.setattr(mailbox.Session, "move", real_move)
    run_ingest()
    assert rows("select count(*) from raw.mail_messages") == [(1,)]
    assert rows("select count(*), count(distinct sha256) from raw.arrivals") == [(1, 1)]
    assert (door.imap.uids("INBOX"), len(door.imap.uids(TAKEN)), len(door.smtp.received)) == ([], 1, 1)


def test_a_run_interrupted_before_its_commit_takes_the_same_message_once_next_time(
        door: Door, monkeypatch: pytest.MonkeyPatch) -> None:
    door.send(m.message(attachments=[("bc.xlsx", m.form_bytes(door.tmp), m.XLSX)]))
    real_record = alerts.record

    def cut(*args, **kwargs):  # killed after fetching and archiving, before the commit
        raise KeyboardInterrupt("killed")

    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
    monkeypatch.setattr(alerts, "record", cut)
    with pytest.raises(KeyboardInterrupt):
        run_ingest()
    assert rows("select count(*) from raw.arrivals") == [(0,)]
    assert door.imap.uids("INBOX") == [1]
    monkeypatch.setattr(alerts, "record", real_record)
    run_ingest()
    assert rows("select count(*) from raw.mail_messages") == [(1,)]
    assert rows("select file_name, is_duplicate from raw.arrivals") == [("bc.xlsx", False)]
    assert len(door.smtp.received) == 1


def test_a_message_found_again_under_a_new_uid_is_not_taken_twice(door: Door) -> None:
    raw = bytes(m.message(attachments=[("bc.xlsx", m.form_bytes(door.tmp), m.XLSX)]))
    door.imap.deliver(raw, MARCH_5)
    run_ingest()
    door.imap.deliver(raw, MARCH_5)  # the same bytes back in the inbox (a mailbox rebuilt, a message moved back)
    run_ingest()
    assert rows("select outcome, reason from raw.mail_messages order by uid") == [("taken", None),
                                                                                  ("taken", "already-taken")]
    assert (rows("select count(*) from raw.arrivals"), len(door.smtp.received)) == ([(1,)], 1)


def test_a_mail_outage_delays_the_reply_and_drops_nothing(door: Door) -> None:
    door.smtp.set("down")
    door.send(m.message(attachments=[("bc.xlsx", m.form_bytes(door.tmp), m.XLSX)]))
    first = run_ingest()
    assert (first["archive"]["replies_sent"], rows("select status from ops.alert_delivery")) == (0, [("failed",)])
    assert door.imap.uids("INBOX") == []  # the message is taken all the same
    door.smtp.set("ok")
    with warehouse.connect() as con:  # the next alerts run, after the back-off
        alerts.deliver(con, dt.datetime.now(dt.UTC).replace(tzinfo=None) + alerts.RETRY_FIRST)
    assert [r.rcpt for r in door.smtp.received] == [[m.CAN_LOC_ADDRESS]]


def test_messages_are_read_in_worker_processes(door: Door, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_PARSE_WORKERS", "1")
    door.send(m.message(attachments=[("bc.xlsx", m.form_bytes(door.tmp), m.XLSX)]))
    run_ingest()
    assert rows("select outcome, files_taken from raw.mail_messages") == [("taken", 1)]
    assert rows("select status from raw.submissions") == [("accepted",)]


def test_a_wrong_password_fails_the_run_loudly_and_takes_nothing(door: Door, monkeypatch: pytest.MonkeyPatch) -> None:
    env = door.imap.connection_env()
    monkeypatch.setenv("AIRFLOW_CONN_IMAP_SECTORSTATS",
                       env["AIRFLOW_CONN_IMAP_SECTORSTATS"].replace(Dovecot.password, "wrong"))
    door.send(m.message(attachments=[("bc.xlsx", m.form_bytes(door.tmp), m.XLSX)]))
    with pytest.raises(Exception, match=r"AUTHENTICATIONFAILED|Authentication failed"):
        run_ingest()
    assert door.imap.uids("INBOX") == [1]


def test_the_mailbox_command_checks_the_connection_and_takes_nothing(door: Door, capsys) -> None:
    from ingest.cli import main

    door.send(m.message(attachments=[("bc.xlsx", b"x", m.XLSX)]))
    assert main(["mailbox"]) == 0
    out = [line for line in capsys.readouterr().out.splitlines()  # Airflow's own log lines aside
           if line.startswith(("mailbox ", "  "))]
    assert out[0].startswith(f"mailbox {Dovecot.user}@127.0.0.1:{door.imap.port}/INBOX (UIDVALIDITY ")
    assert out[0].endswith("): 1 message(s) waiting")
    assert out[1:] == ["  Sectorstats/Taken: (not created yet)", "  Sectorstats/Quarantine: (not created yet)"]
    assert door.imap.uids("INBOX") == [1]
    door.imap.stop()
    assert main(["mailbox"]) == 2
    assert "ConnectionRefusedError" in capsys.readouterr().err


def test_a_mail_server_that_is_down_delays_the_e_mails_and_never_stops_the_folders_files(
        door: Door, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.catalogue import load_catalogue
    from tests.integration.helpers import consistent_values, put

    form = load_catalogue().form("01/LĐVL-H")
    monkeypatch.setenv("SECTORSTATS_INBOX_DIR", str(door.tmp / "inbox"))
    put(door.tmp / "inbox", "437", "hl.xlsx", form.code, "437", FEB, consistent_values(form, 3, 2), MARCH_5)
    door.send(m.message(attachments=[("bc.xlsx", m.form_bytes(door.tmp), m.XLSX)]))
    door.imap.stop()
    down = run_ingest()
    assert down["archive"]["mailbox_unreachable"].startswith("ConnectionRefusedError: ")
    assert rows("select folder_unit_code, file_name, message_key from raw.arrivals") == [("437", "hl.xlsx", None)]
    door.imap.start()
    back = run_ingest()
    assert "mailbox_unreachable" not in back["archive"]
    assert rows("select folder_unit_code, file_name from raw.arrivals where message_key is not null") == [
        ("443", "bc.xlsx")]
