"""The real DAGs on a small inbox: round trip, corrections, broken files, idempotence."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from ingest.catalogue import load_catalogue
from ingest.read.numbers import format_vi
from ingest.tell.indicator_page import page_spec
from ingest.tell.official_forms import Quirks
from tests.integration.helpers import (
    airflow,
    at,
    consistent_values,
    pipeline_env,
    put,
    query,
    run_dags,
    smtp_connection_env,
    webhook_connection_env,
)

pytestmark = pytest.mark.integration

JAN, FEB, Q1 = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 1, 1)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, airflow_home: Path, mailbox, chatroom):
    """A small inbox for two units, run through the three DAGs once (ingest, transform, monitor as of
    2024-03-31), with alerts e-mailed to a local SMTP server and posted to a local chat webhook."""
    data = tmp_path_factory.mktemp("data")
    (data / "airflow").mkdir()
    shutil.copy(airflow_home / "airflow.db", data / "airflow" / "airflow.db")
    inbox = data / "inbox"
    cat = load_catalogue()
    written = {}
    # one seed: the months continue each other (February's year to date = January's + February's)
    for i, (form_code, period, months) in enumerate([("01/LĐVL-H", JAN, 1), ("01/LĐVL-H", FEB, 2),
                                                     ("02/GDNN-H", Q1, 1)]):
        form = cat.form(form_code)
        written[(form_code, period, "443")] = put(
            inbox, "443", f"bao cao {i}.xlsx", form_code, "443", period, consistent_values(form, 3, months),
            at(str(form.due_date(period) - dt.timedelta(days=2))),
            Quirks(extra_rows_before=2, sum_formulas=True, numbers_as_text=("09",)) if i == 1 else None)
    form3 = cat.form("03/BTXH-H")
    good3 = consistent_values(form3, 7, 1)
    bad3 = dict(good3)
    for measure in ("period", "ytd"):  # a stock: year-to-date repeats the period, so both are off by 5
        bad3[("01", measure)] = good3[("01", measure)] + 5  # total ≠ sum of parts
    written["bad"] = put(inbox, "440", "BTXH thang 1.xlsx", "03/BTXH-H", "440", JAN, bad3, at("2024-02-08"))
    written["good3"] = good3
    # the same district's form, put in another district's folder
    put(inbox, "441", "nham.xlsx", "01/LĐVL-H", "440", JAN, consistent_values(cat.form("01/LĐVL-H"), 9, 1),
        at("2024-02-09"))
    (inbox / "443" / "ghi chu.xlsx").write_bytes(b"%PDF-1.4 this is not a spreadsheet")
    damaged = (inbox / "443" / "bao cao 0.xlsx").read_bytes()[:900]
    (inbox / "443" / "hong.xlsx").write_bytes(damaged)
    env = {**pipeline_env(data), **smtp_connection_env(mailbox.port), **webhook_connection_env(chatroom.port)}
    run_dags(env)
    return data, env, written


def test_round_trip_every_number_lands_with_its_cell(pipeline) -> None:
    data, _, written = pipeline
    for (form_code, period, unit), w in ((k, v) for k, v in written.items() if isinstance(k, tuple)):
        rows = query(data, """select row_code, measure, value, source_cell, source_file from marts.fct_indicator_value
                              where unit_code = ? and form_code = ? and period_start = ?""",
                     [unit, form_code, period])
        got = {(r, m): (v, c) for r, m, v, c, _ in rows}
        expected = {k: (v, w.cells[k]) for k, v in w.values.items() if v is not None}
        assert {k: got.get(k) for k in expected} == expected
        assert {f for *_, f in rows} == {w.name}


def test_statuses_of_the_small_inbox(pipeline) -> None:
    data, _, _ = pipeline
    rows = query(data, """select unit_code, form_code, period_start, status from marts.fct_submission
                          where status <> 'missing' order by 1, 2, 3""")
    assert rows == [
        ("440", "01/LĐVL-H", JAN, "rejected"),
        ("440", "03/BTXH-H", JAN, "rejected"),
        ("443", "01/LĐVL-H", JAN, "accepted"),
        ("443", "01/LĐVL-H", FEB, "accepted"),
        ("443", "02/GDNN-H", Q1, "accepted"),
    ]


def test_arithmetic_error_is_reported_at_its_cell(pipeline) -> None:
    data, _, written = pipeline
    bad, good = written["bad"], written["good3"]
    rows = query(data, """select rule, severity, row_code, measure, source_cell, message_vi from marts.fct_problem
                          where file_name = 'BTXH thang 1.xlsx' order by source_cell""")
    expected = []
    for measure, label in (("period", "Thực hiện kỳ báo cáo"), ("ytd", "Lũy kế từ đầu năm")):
        parts = sum(good[(c, measure)] for c in ("02", "03", "04", "05"))
        cell = bad.cells[("01", measure)]
        expected.append(("sum-mismatch", "error", "01", measure, cell,
                         f"Sheet «Bieu 03», ô {cell} (mã số 01, cột «{label}»): tổng {format_vi(parts + 5)} "
                         f"khác tổng các mã số 02, 03, 04, 05 là {format_vi(parts)}."))
    assert rows == expected


def test_broken_and_misplaced_files_are_recorded_not_fatal(pipeline) -> None:
    data, _, _ = pipeline
    rows = dict(query(data, "select file_name, rule from marts.fct_problem where severity = 'error'"))
    assert rows["ghi chu.xlsx"] == "file-not-spreadsheet"
    assert rows["hong.xlsx"] == "file-damaged"
    assert rows["nham.xlsx"] == "unit-folder-mismatch"
    # nothing received is lost: every file is archived byte for byte
    archived = {p.name for p in (data / "archive" / "sha256").rglob("*") if p.is_file()}
    inbox = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (data / "inbox").rglob("*") if p.is_file()}
    assert inbox <= archived


def _snapshot(data: Path) -> dict[str, list]:
    tables = ["raw.arrivals", "raw.submissions", "raw.observations", "raw.problems", "marts.fct_indicator_value",
              "marts.fct_submission", "marts.fct_problem", "ops.alert_log", "ops.alert_delivery",
              "marts.fct_report_status"]
    return {t: sorted(map(repr, query(data, f"select * exclude (load_id) from {t}")))
            if t.startswith("raw.") else sorted(map(repr, query(data, f"select * from {t}"))) for t in tables}


def test_running_twice_changes_nothing(pipeline, mailbox, chatroom) -> None:
    data, env, _ = pipeline
    before = _snapshot(data)
    messages, posts = len(mailbox.messages), len(chatroom.posts)
    run_dags(env)
    assert _snapshot(data) == before
    assert (len(mailbox.messages), len(chatroom.posts)) == (messages, posts)  # nobody is told twice


def test_corrected_resubmission_replaces_the_rejected_one(pipeline) -> None:
    data, env, written = pipeline
    fixed = put(data / "inbox", "440", "BTXH thang 1 (sua).xlsx", "03/BTXH-H", "440", JAN, written["good3"],
                at("2024-02-12"))
    run_dags(env)
    ledger = query(data, """select file_name, version, status from raw.submissions
                            where unit_code = '440' and form_code = '03/BTXH-H' order by version""")
    assert ledger == [("BTXH thang 1.xlsx", 1, "rejected"), ("BTXH thang 1 (sua).xlsx", 2, "accepted")]
    sub = query(data, """select status, version, on_time from marts.fct_submission
                         where unit_code = '440' and form_code = '03/BTXH-H' and period_start = ?""", [JAN])
    assert sub == [("accepted", 2, False)]  # due 2024-02-10, corrected on the 12th
    values = dict(((r, m), v) for r, m, v in query(data, """
        select row_code, measure, value from marts.fct_indicator_value
        where unit_code = '440' and form_code = '03/BTXH-H' and period_start = ?""", [JAN]))
    assert values == {k: v for k, v in fixed.values.items() if v is not None}


def test_alerts_are_emailed_once_with_the_cell(pipeline, mailbox, chatroom) -> None:
    data, _, written = pipeline
    sent = query(data, "select kind, unit_code, send_status from ops.alert_log order by kind, unit_code")
    assert {status for *_, status in sent} == {"sent"}
    emails = query(data, "select count(*) from ops.alert_delivery where channel = 'email' and status = 'sent'")
    assert len(mailbox.messages) == emails[0][0] == len(sent)
    posts = query(data, "select count(*) from ops.alert_delivery where channel = 'webhook' and status = 'sent'")
    assert len(chatroom.posts) == posts[0][0] > 0
    subjects = [m["Subject"] for m in mailbox.messages]
    bodies = dict(zip(subjects, mailbox.bodies(), strict=True))
    rejected = "[sectorstats] Báo cáo bị từ chối: 03/BTXH-H Tháng 1 năm 2024"
    cell = written["bad"].cells[("01", "period")]
    assert rejected in bodies
    assert f"Sheet «Bieu 03», ô {cell} (mã số 01, cột «Thực hiện kỳ báo cáo»)" in bodies[rejected]
    assert "Huyện Đức Thọ (mã 440)" in bodies[rejected]
    # the feedback workbook (the district's sheet with the cell marked) goes with it
    msg = next(m for m in mailbox.messages if m["Subject"] == rejected)
    sha = hashlib.sha256((data / "inbox" / "440" / "BTXH thang 1.xlsx").read_bytes()).hexdigest()
    assert [p.get_filename() for p in msg.iter_attachments()] == [f"BTXH_thang_1_{sha[:8]}.xlsx"]
    assert (data / "reports" / "feedback" / "440" / f"BTXH_thang_1_{sha[:8]}.xlsx").exists()
    recipients = {m["Subject"]: m["To"] for m in mailbox.messages}
    assert recipients[rejected] == "phongldtbxh.ductho@example.invalid, thongke@soldtbxh.example.invalid"
    # the file put in another district's folder is told to both districts
    mixup = [s for s, b in bodies.items() if "nham.xlsx" in b]
    assert len(mixup) == 1
    assert set(recipients[mixup[0]].split(", ")) == {"phongldtbxh.ductho@example.invalid",
                                                     "phongldtbxh.vuquang@example.invalid",
                                                     "thongke@soldtbxh.example.invalid"}
    # a missing report (unit 443, form 03, January; due 2024-02-10) gets an overdue notice, to the unit
    overdue = "[sectorstats] Chưa nhận báo cáo 03/BTXH-H Tháng 1 năm 2024 — Huyện Can Lộc (mã 443)"
    assert recipients[overdue] == "phongldtbxh.canloc@example.invalid"
    assert ("Đơn vị Huyện Can Lộc (mã 443) chưa gửi báo cáo 03/BTXH-H Tháng 1 năm 2024, hạn nộp ngày 10/02/2024 "
            "(đã quá 50 ngày). Đề nghị gửi ngay.") in bodies[overdue]
    # and, 50 days late as of 2024-03-31, an escalation to the province (the unit in copy), e-mail and chat
    escalation = "[sectorstats] Quá hạn 50 ngày: 03/BTXH-H Tháng 1 năm 2024 — Huyện Can Lộc (mã 443)"
    assert recipients[escalation] == "thongke@soldtbxh.example.invalid, phongldtbxh.canloc@example.invalid"
    post = next(p for p in chatroom.posts if p["text"].startswith(escalation))
    assert post["kind"] == "escalation" and post["unit_code"] == "443" and post["period_start"] == "2024-01-01"
    assert all(h["Authorization"] == "Bearer test-token" for h in chatroom.headers)
    # recorded in marts.fct_alert: one row per channel, with recipient, reason and sent time
    rows = query(data, """select channel, recipient, reason, sent_at is not null, delivery_status
                          from marts.fct_alert where kind = 'escalation' and unit_code = '443'
                          and form_code = '03/BTXH-H' and period_start = date '2024-01-01'
                          order by channel""")
    reason = "no accepted report 50 days after the due date 2024-02-10"
    assert rows == [("email", "thongke@soldtbxh.example.invalid, phongldtbxh.canloc@example.invalid", reason, True,
                     "sent"),
                    ("webhook", "webhook_sectorstats", reason, True, "sent")]



def test_analysts_read_a_published_snapshot_while_the_pipeline_writes(pipeline) -> None:
    data, _, _ = pipeline
    snapshot = data / "analyst" / "warehouse.duckdb"
    writer = duckdb.connect(str(data / "warehouse.duckdb"))  # the pipeline holding its warehouse
    try:
        reader = duckdb.connect(str(snapshot), read_only=True)
        try:
            published = reader.execute("select count(*), sum(value) from marts.fct_indicator_value").fetchone()
        finally:
            reader.close()
        live = writer.execute("select count(*), sum(value) from marts.fct_indicator_value").fetchone()
    finally:
        writer.close()
    assert published == live and published[0] > 0
    assert not os.access(snapshot, os.W_OK) or os.geteuid() == 0  # written read-only (root may write anyway)
    assert oct(snapshot.stat().st_mode & 0o777) == "0o444"
    docs = (data / "reports" / "dbt_docs" / "index.html").read_text(encoding="utf-8")
    assert "dbt" in docs.lower() and (data / "reports" / "dbt_docs" / "catalog.json").exists()


def test_published_dbt_docs_describe_every_model_and_column(pipeline) -> None:
    """Analysts read the published dbt docs: every model built (catalog.json) and every one of its columns has a
    description in the manifest (doc() blocks of models/docs/_common_columns.md are rendered there)."""
    data, _, _ = pipeline
    docs = data / "reports" / "dbt_docs"
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    models = {uid: node for uid, node in catalog["nodes"].items() if uid.startswith("model.")}
    assert models
    undescribed_models, undescribed_columns = [], []
    for uid, node in sorted(models.items()):
        described = manifest["nodes"][uid]
        if not (described.get("description") or "").strip():
            undescribed_models.append(uid)
        columns = {name.lower(): col for name, col in described["columns"].items()}
        undescribed_columns += [f"{described['name']}.{name}" for name in node["columns"]
                                if not ((columns.get(name.lower()) or {}).get("description") or "").strip()]
    assert not undescribed_models, f"models without a description: {undescribed_models}"
    assert not undescribed_columns, (f"{len(undescribed_columns)} columns without a description: "
                                     + ", ".join(undescribed_columns))


def test_the_dags_rebuild_the_status_page(pipeline) -> None:
    data, _, _ = pipeline
    page = (data / "reports" / "status.html").read_text(encoding="utf-8")
    states = dict(query(data, "select state, count(*) from marts.fct_report_status group by state"))
    for state, n in states.items():
        assert page.count(f'<td class="m-{state}"') == n, state
    assert states["missing"] > 0 and "2024-03-31" in page


def test_the_dags_draw_the_indicator_page_and_the_docs_link_to_both_pages(pipeline) -> None:
    data, _, _ = pipeline
    page = (data / "reports" / "indicators.html").read_text(encoding="utf-8")
    # one reported chart per unit and indicator of the page with a number in 2024
    drawn = set(re.findall(r'data-series="reported" data-unit="(\w+)" data-indicator="([^"]+)"', page))
    spec = page_spec()
    wanted = [f"{f}|{r}" for f, rows in spec.rows.items() for r in rows]
    numbers = query(data, f"""select distinct unit_code, indicator_id from marts.fct_indicator_period_value
                              where period_type = base_period_type and year(period_start) = 2024
                                and indicator_id in ({", ".join("?" * len(wanted))})""", wanted)
    assert drawn == set(numbers) and drawn
    assert '<span id="year">2024</span>' in page
    manifest = json.loads((data / "reports" / "dbt_docs" / "manifest.json").read_text(encoding="utf-8"))
    overview = manifest["docs"]["doc.sectorstats.__overview__"]["block_contents"]
    assert "[The reporting status page](../status.html)" in overview
    assert "[The indicator page](../indicators.html)" in overview


def test_reminders_are_sent_once_across_runs_and_a_retried_task(pipeline, mailbox) -> None:
    """As of 2024-04-08, March's monthly reports (due 2024-04-10) are in the reminder window: the monitoring DAG
    e-mails each unit that sent nothing one reminder — not again on the next run, nor when its alert task is run
    a second time (what a retry does)."""
    data, env, _ = pipeline
    env = {**env, "SECTORSTATS_AS_OF": "2024-04-08"}
    before = len(mailbox.messages)
    airflow(env, "dags", "test", "sectorstats_monitor")
    reminders = [m for m in mailbox.messages[before:] if "Nhắc nộp báo cáo" in m["Subject"]]
    owed = query(data, """select unit_code, form_code from marts.fct_report_status
                          where state = 'due_soon' and n_versions = 0 order by 1, 2""")
    assert len(reminders) == len(owed) == 13 * 2  # both monthly forms, every district, nothing sent yet
    one = next(m for m in reminders if m["Subject"] == (
        "[sectorstats] Nhắc nộp báo cáo 01/LĐVL-H Tháng 3 năm 2024 — hạn 10/04/2024"
        ) and m["To"] == "phongldtbxh.canloc@example.invalid")
    assert "Kính gửi Huyện Can Lộc (mã 443)" in one.get_body().get_content()
    sent = len(mailbox.messages)
    airflow(env, "tasks", "test", "sectorstats_monitor", "deadline_alerts")  # the task once more
    airflow(env, "dags", "test", "sectorstats_monitor")  # the next run
    assert len(mailbox.messages) == sent
    assert query(data, "select count(*) from ops.alert_log where kind = 'reminder'") == [(26,)]
