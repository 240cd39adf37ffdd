"""Alerts: late, missing and bad reports, told once to the district and the province.

Alerts are computed from the marts after each transform (``marts.fct_submission`` and
``marts.fct_problem``). Each alert has a stable id built from what it is about (kind, unit, form,
period, file), so re-running, retrying or restarting never sends it twice: an id already in
``ops.alert_log`` is skipped. Every alert is written to ``ops.alert_log`` whether or not it could be
sent; e-mail goes through Airflow's SMTP notifier when the connection named by
``SECTORSTATS_SMTP_CONN_ID`` (default ``smtp_sectorstats``) exists.

Text from district files (file names, cell values) goes into the message as data: it is never
rendered as a template.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import logging
import os
from dataclasses import dataclass
from functools import cache

import duckdb
import pandas as pd
import yaml

from ingest import warehouse
from ingest.catalogue import load_catalogue
from ingest.feedback import feedback_path
from ingest.settings import CATALOGUE_DIR, reports_dir

log = logging.getLogger(__name__)

MAX_PROBLEMS_IN_MESSAGE = 30


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: str  # missing | late | rejected | warnings
    unit_code: str | None
    form_code: str | None
    period_start: dt.date | None
    recipients: tuple[str, ...]
    subject: str
    body: str
    reason: str
    attachments: tuple[str, ...] = ()  # the feedback workbook, when there is one


@cache
def recipients() -> dict:
    return yaml.safe_load((CATALOGUE_DIR / "recipients.yaml").read_text(encoding="utf-8"))


def recipients_for(*unit_codes: str | None) -> tuple[str, ...]:
    """The addresses of these units, then the province's. A unit with no address configured (e.g. a
    commune-level unit from 2025-07-01 not yet in recipients.yaml, or listed with no address) adds none:
    the province is still told."""
    spec = recipients() or {}
    units = spec.get("units") or {}
    out: list[str] = []
    for code in unit_codes:
        for addr in (units.get(str(code)) or []) if code else []:
            if addr not in out:
                out.append(addr)
    for addr in spec.get("province") or []:
        if addr not in out:
            out.append(addr)
    return tuple(out)


def _alert_id(*parts: object) -> str:
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:20]


def _unit_label(code: str | None) -> str:
    unit = load_catalogue().unit(code) if code else None
    return f"{unit.name} (mã {code})" if unit else f"mã {code or '?'}"


def _period_label(form_code: str | None, period_start: dt.date | None) -> str:
    if not form_code or period_start is None:
        return "?"
    return load_catalogue().form(form_code).period_label_vi(period_start)


def _date(value: object) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def collect_alerts(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[Alert]:
    """Every alert the marts call for as of ``as_of`` (sent or not)."""
    alerts: list[Alert] = []
    subs = con.execute("""
        select unit_code, form_code, period_start, due_date, status, received_at, on_time, submission_id
        from marts.fct_submission
        where due_date <= ? or status <> 'missing'
        order by unit_code, form_code, period_start""", [as_of]).df()
    problems = con.execute("""
        select submission_id, sha256, file_name, folder_unit_code, severity, rule, source_sheet, source_cell,
               message_vi, message_en, unit_code
        from marts.fct_problem order by sha256, severity, source_cell""").df()
    by_sub = {k: g for k, g in problems.groupby("submission_id", dropna=False)}

    for s in subs.itertuples(index=False):
        period = _date(s.period_start)
        label = f"{s.form_code} {_period_label(s.form_code, period)}"
        unit = _unit_label(s.unit_code)
        if s.status == "missing":
            due = _date(s.due_date)
            alerts.append(Alert(
                _alert_id("missing", s.unit_code, s.form_code, period), "missing", s.unit_code, s.form_code, period,
                recipients_for(s.unit_code),
                f"[sectorstats] Chưa nhận báo cáo {label} — {unit}",
                f"Đơn vị {unit} chưa gửi báo cáo {label}, hạn nộp ngày {due:%d/%m/%Y}. Đề nghị gửi ngay.\n"
                f"Report {s.form_code} for {period:%m/%Y} from {unit} was due on {due:%Y-%m-%d} and has not "
                f"been received.",
                f"not received by the due date {due:%Y-%m-%d}"))
            continue
        if s.on_time is not None and not pd.isna(s.on_time) and not s.on_time:  # received after the due date
            alerts.append(Alert(
                _alert_id("late", s.unit_code, s.form_code, period), "late", s.unit_code, s.form_code, period,
                recipients_for(s.unit_code),
                f"[sectorstats] Báo cáo {label} gửi muộn — {unit}",
                f"Báo cáo {label} của {unit} nhận ngày {pd.Timestamp(s.received_at):%d/%m/%Y}, sau hạn nộp "
                f"{_date(s.due_date):%d/%m/%Y}.\nReport received after its due date.",
                "received after the due date"))
        if s.status in ("rejected", "accepted_with_warnings") and s.submission_id in by_sub:
            alerts.append(_problem_alert(s.status, s.submission_id, by_sub[s.submission_id], s.unit_code,
                                         s.form_code, period, label))

    # files that could not be identified as any submission: told to whoever uploaded them
    unidentified = problems[problems["submission_id"] == problems["sha256"]]
    for sha, group in unidentified.groupby("sha256"):
        folder = group["folder_unit_code"].iloc[0]
        alerts.append(_problem_alert("rejected", sha, group, folder or None, None, None,
                                     f"tệp «{group['file_name'].iloc[0]}»"))
    return alerts


def _problem_alert(status: str, key: str, group: pd.DataFrame, unit_code: str | None, form_code: str | None,
                   period: dt.date | None, label: str) -> Alert:
    kind = "rejected" if status == "rejected" else "warnings"
    folders = {f for f in group["folder_unit_code"].dropna() if f}
    units = [unit_code, *sorted(folders - {unit_code})]  # a mix-up is told to both units
    lines = [f"- {r.message_vi}" for r in group.head(MAX_PROBLEMS_IN_MESSAGE).itertuples()]
    more = len(group) - MAX_PROBLEMS_IN_MESSAGE
    if more > 0:
        lines.append(f"- … và {more} lỗi khác / and {more} more")
    verdict = ("bị từ chối, đề nghị sửa và gửi lại" if kind == "rejected"
               else "đã được tiếp nhận nhưng có cảnh báo cần kiểm tra")
    file_name = group["file_name"].iloc[0]
    sha = group["sha256"].iloc[0]
    feedback = feedback_path(reports_dir() / "feedback", unit_code or (sorted(folders)[0] if folders else None),
                             file_name, sha)
    attachments = (str(feedback),) if feedback.exists() else ()
    body = (f"Báo cáo {label} (tệp «{file_name}») của {_unit_label(unit_code)} {verdict}:\n"
            + "\n".join(lines)
            + (f"\n\nTệp đính kèm «{feedback.name}» là bảng của đơn vị, các ô có lỗi được tô màu và ghi chú."
               if attachments else "")
            + f"\n\n{'Rejected' if kind == 'rejected' else 'Accepted with warnings'}: "
            + f"{len(group)} problem(s) in file «{file_name}».")
    return Alert(_alert_id(kind, key), kind, unit_code, form_code, period, recipients_for(*units),
                 f"[sectorstats] {'Báo cáo bị từ chối' if kind == 'rejected' else 'Cảnh báo số liệu'}: {label}",
                 body, f"{len(group)} problem(s): " + ", ".join(sorted(set(group["rule"]))), attachments)


def smtp_conn_id() -> str:
    return os.environ.get("SECTORSTATS_SMTP_CONN_ID", "smtp_sectorstats")


def _smtp_configured(conn_id: str) -> bool:
    try:
        from airflow.sdk import BaseHook

        BaseHook.get_connection(conn_id)
        return True
    except Exception:  # no connection, or no Airflow context (CLI): record only
        return False


def send_email(alert: Alert, conn_id: str) -> None:
    """Send through Airflow's SMTP notifier. The body is escaped HTML, never a template."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    content = "<pre style='font-family:sans-serif'>" + html.escape(alert.body) + "</pre>"
    SmtpNotifier(to=list(alert.recipients), subject=alert.subject, html_content=content,
                 files=list(alert.attachments), smtp_conn_id=conn_id).notify({})


def dispatch(as_of: dt.date, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Record every new alert in ``ops.alert_log`` and send it when a channel is configured."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    conn_id = smtp_conn_id()
    can_send = _smtp_configured(conn_id)
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        known = {r[0] for r in con.execute("select alert_id from ops.alert_log").fetchall()}
        fresh = [a for a in collect_alerts(con, as_of) if a.alert_id not in known]
        rows = []
        for a in fresh:
            status, sent_at = "recorded: no smtp connection", None
            if can_send:
                try:
                    send_email(a, conn_id)
                    status, sent_at = "sent", now
                except Exception as exc:  # one failed send must not stop the others
                    log.warning("alert %s could not be sent: %s", a.alert_id, exc)
                    status = f"failed: {type(exc).__name__}"
            rows.append({"alert_id": a.alert_id, "kind": a.kind, "unit_code": a.unit_code, "form_code": a.form_code,
                         "period_start": a.period_start, "recipient": ", ".join(a.recipients),
                         "channel": "email" if can_send else "log", "subject": a.subject, "body": a.body,
                         "reason": a.reason, "created_at": now, "sent_at": sent_at, "send_status": status})
        frame = pd.DataFrame(rows, columns=["alert_id", "kind", "unit_code", "form_code", "period_start", "recipient",
                                            "channel", "subject", "body", "reason", "created_at", "sent_at",
                                            "send_status"])
        warehouse.insert_frame(con, "ops.alert_log", frame.astype({"sent_at": "datetime64[us]"}))
    counts: dict[str, int] = {}
    for a in fresh:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    log.info("alerts: %d new (%s); %s", len(fresh), counts, "sent by e-mail" if can_send else "recorded only")
    return {"new": len(fresh), **counts}
