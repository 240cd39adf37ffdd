"""Alerts: reminders, overdue notices, escalations and bad-data notices, each told once.

What is said, to whom and on which channel is data: ``ingest/catalogue/alerts.yaml`` (kinds, recipients,
channels, Vietnamese and English text) and ``recipients.yaml`` (addresses). Two families:

- **deadline alerts** (``reminder``, ``overdue``, ``escalation``) come from the reporting calendar of
  :mod:`ingest.marts.calendar` as of a day: a reminder ``reminder_days_before`` the due date to a unit that has sent
  nothing, an overdue notice from the day after the due date while no accepted report is in, an escalation to
  the province ``escalate_days_after`` days after it. A unit that did not exist in the period owes nothing and
  is told nothing.
- **problem alerts** (``rejected``, ``warnings``) come from the files loaded (``marts.fct_submission``,
  ``marts.fct_problem``), with the feedback workbook attached.

Told once: every alert has a stable id built from what it is about (kind, unit, form, period, or the file),
and is written to ``ops.alert_log`` with one ``ops.alert_delivery`` row per channel *before* anything is sent
(an outbox), each delivery with its message id (the e-mail's ``Message-ID``, the webhook's
``Idempotency-Key``). Sending then works through the deliveries owed, committing each step as soon as it is
known: ``sending`` (with the attempt counted) before the message leaves, ``sent`` or ``failed`` after; so a
second run, a retried task or a restarted worker sends nothing that was sent.

Owed until delivered or no longer true: a failed delivery is tried again from ``next_attempt_at``, backing off
from ``RETRY_FIRST`` to ``RETRY_MAX`` (or later, when a webhook answers 429/503 with ``Retry-After``), however
long the outage; after ``OUTAGE_AFTER`` failures in a row a channel is left alone for the rest of the run (its
other deliveries keep their turn). An owed alert that is no longer true when a run collects its family (the
unit has sent the report, a corrected version replaced the rejected one) is ``withdrawn``, never sent late. A
problem notice carries its feedback workbook: one missing (the feedback step was killed before writing it) is
written again first, and the e-mail waits, ``pending``, while the workbook is not there. ``owed()`` lists what is
owed (``python -m ingest alerts --pending``, the status page's banner), and :func:`raise_if_undelivered` fails
the Airflow task of a run in which nothing could be delivered.

At least once, not exactly once, in one place: a process killed after the receiver took a message and before
its ``sent`` was committed leaves the delivery ``sending``; the next run sends it again, with the same
``Message-ID``/``Idempotency-Key``, so a mail client or a chat receiver that honours them shows it once.

Channels go through Airflow notifiers and connections, never secrets in code: e-mail through the SMTP
connection ``SECTORSTATS_SMTP_CONN_ID`` (default ``smtp_sectorstats``), the webhook (a chat room) through the
HTTP connection ``SECTORSTATS_WEBHOOK_CONN_ID`` (default ``webhook_sectorstats``). A channel whose connection
does not exist when an alert is created records it as ``no_connection`` and sends nothing.

Text from district files (file names, cell values) goes into messages as data: templates are filled with
``str.format_map`` from values we computed, and a value is never rendered as a template.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import pandas as pd

from ingest import warehouse
from ingest.catalogue import Catalogue, load_catalogue
from ingest.catalogue.constants import ACCEPTED_WITH_WARNINGS, REJECTED
from ingest.settings import CATALOGUE_DIR, reports_dir
from ingest.tell.feedback import feedback_path
from ingest.warehouse.tables import table
from ingest.yaml_files import read_yaml

log = logging.getLogger(__name__)

MAX_PROBLEMS_IN_MESSAGE = 30
RETRY_FIRST = dt.timedelta(minutes=5)  # the wait after a first failed attempt, doubled after each further one …
RETRY_MAX = dt.timedelta(hours=6)  # … up to this
OUTAGE_AFTER = 3  # failures in a row on a channel after which the run leaves that channel alone
OWED = ("pending", "sending", "failed")  # delivery statuses of an alert still to be delivered
DEADLINE_KINDS = ("reminder", "overdue", "escalation")
PROBLEM_KINDS = ("rejected", "warnings")
RECEIPT = "receipt"  # the reply to an e-mail the mailbox door took (ingest/doors/receipts.py)
CHANNELS = ("email", "webhook")


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: str  # reminder | overdue | escalation | rejected | warnings
    unit_code: str | None
    form_code: str | None
    period_start: dt.date | None
    recipients: tuple[str, ...]  # e-mail addresses
    subject: str
    body: str
    reason: str
    attachments: tuple[str, ...] = ()  # the feedback workbook, when there is one
    source_sha256: str | None = None  # the file a problem notice is about (not stored: to rebuild its workbook)
    in_reply_to: str | None = None  # a receipt: the Message-ID of the e-mail it answers

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(alert_kinds()[self.kind]["channels"])


# -- configuration ---------------------------------------------------------------------------------------------

@cache
def recipients() -> dict:
    return read_yaml(CATALOGUE_DIR / "recipients.yaml")


@cache
def received_notes() -> dict[str, dict[str, str]]:
    """What an overdue notice or an escalation says of what was received, by state (``alerts.yaml``,
    ``received``)."""
    return read_yaml(CATALOGUE_DIR / "alerts.yaml").get("received") or {}


@cache
def alert_kinds() -> dict[str, dict]:
    """The kinds of ``alerts.yaml``, checked: known recipients and channels, every kind present."""
    kinds = read_yaml(CATALOGUE_DIR / "alerts.yaml")["kinds"]
    missing = set(DEADLINE_KINDS + PROBLEM_KINDS + (RECEIPT,)) - set(kinds)
    if missing:
        raise ValueError(f"alerts.yaml: no text for alert kind(s) {sorted(missing)}")
    for name, spec in kinds.items():
        allowed = {"sender"} if name == RECEIPT else {"unit", "province"}
        if not set(spec["to"]) <= allowed or not spec["to"]:
            raise ValueError(f"alerts.yaml: kind {name}: `to` must list {' and/or '.join(sorted(allowed))}, "
                             f"not {spec['to']}")
        if not set(spec["channels"]) <= set(CHANNELS) or not spec["channels"]:
            raise ValueError(f"alerts.yaml: kind {name}: unknown channel in {spec['channels']}")
    return kinds


def recipients_for(*unit_codes: str | None, to: Iterable[str] = ("unit", "province")) -> tuple[str, ...]:
    """The addresses of these units and/or the province, in the order of ``to``, each once. A unit with no
    address configured (e.g. a commune-level unit from 2025-07-01 not yet in recipients.yaml) adds none."""
    spec = recipients() or {}
    units = spec.get("units") or {}
    out: list[str] = []
    for who in to:
        if who == "unit":
            addresses = [a for code in unit_codes if code for a in (units.get(str(code)) or [])]
        else:
            addresses = list(spec.get("province") or [])
        out.extend(a for a in addresses if a not in out)
    return tuple(out)


def smtp_conn_id() -> str:
    return os.environ.get("SECTORSTATS_SMTP_CONN_ID", "smtp_sectorstats")


def webhook_conn_id() -> str:
    return os.environ.get("SECTORSTATS_WEBHOOK_CONN_ID", "webhook_sectorstats")


def channel_conn_id(channel: str) -> str:
    return smtp_conn_id() if channel == "email" else webhook_conn_id()


# -- building alerts -------------------------------------------------------------------------------------------

def alert_id_for(*parts: object) -> str:
    """The id of the alert that ``parts`` (its kind, then what it is about) call for: the same parts, the same id,
    which is what makes an alert recorded and sent once however often a run asks for it."""
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:20]


def _unit_label(code: str | None) -> str:
    unit = load_catalogue().unit(code) if code else None
    return f"{unit.name} (mã {code})" if unit else f"mã {code or '?'}"


def _date(value: object) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def render_alert(kind: str, **params: object) -> tuple[str, str]:
    """Subject and body of ``kind`` with ``params`` filled in (values as plain text, never templates)."""
    spec = alert_kinds()[kind]
    values = {k: "" if v is None else str(v) for k, v in params.items()}
    return spec["subject"].format_map(values).strip(), spec["body"].format_map(values).rstrip()


def _report_params(cat: Catalogue, unit_code: str | None, form_code: str | None,
                   period: dt.date | None) -> dict[str, object]:
    form = cat.form(form_code) if form_code else None
    label = form.period_label_vi(period) if form and period else "?"
    period_en = "?" if period is None else (form.period_id(period) if form else f"{period:%Y-%m}")
    return {"report": f"{form_code} {label}" if form_code else "không xác định", "form_code": form_code or "?",
            "period": label, "period_en": period_en, "unit": _unit_label(unit_code)}


def _deadline_alert(cat: Catalogue, kind: str, r: pd.Series, as_of: dt.date) -> Alert:
    period, due = _date(r.period_start), _date(r.due_date)
    assert period is not None and due is not None
    status_vi = status_en = ""
    note = received_notes().get(r.state)
    if note:
        received = _date(r.last_received_date if r.state == "rejected" else r.unreadable_received_date)
        assert received is not None
        values = {"received": f"{received:%d/%m/%Y}", "received_iso": received.isoformat()}
        status_vi, status_en = note["vi"].format_map(values), note["en"].format_map(values)
    subject, body = render_alert(
        kind, **_report_params(cat, r.unit_code, r.form_code, period), due=f"{due:%d/%m/%Y}", due_iso=due.isoformat(),
        days_left=(due - as_of).days, days_overdue=(as_of - due).days, status_vi=status_vi, status_en=status_en)
    reason = {"reminder": f"due on {due.isoformat()}, nothing received",
              "overdue": f"no accepted report by the due date {due.isoformat()}",
              "escalation": f"no accepted report {(as_of - due).days} days after the due date {due.isoformat()}",
              }[kind]
    return Alert(alert_id_for(kind, r.unit_code, r.form_code, period), kind, r.unit_code, r.form_code, period,
                 recipients_for(r.unit_code, to=alert_kinds()[kind]["to"]), subject, body, reason)


def collect_deadline_alerts(grid: pd.DataFrame, cat: Catalogue, as_of: dt.date) -> list[Alert]:
    """The reminders, overdue notices and escalations the reporting calendar (``marts.fct_report_status``, see
    :mod:`ingest.marts.calendar`) calls for as of ``as_of``."""
    out: list[Alert] = []
    for r in grid.itertuples(index=False):
        due = _date(r.due_date)
        assert due is not None
        waiting = r.state in ("due_soon", "rejected", "unreadable", "missing")
        nothing_received = r.n_versions == 0 and r.n_unreadable == 0
        if r.state == "due_soon" and nothing_received:  # the calendar holds what is due within the reminder days
            out.append(_deadline_alert(cat, "reminder", r, as_of))
        if waiting and as_of > due:
            out.append(_deadline_alert(cat, "overdue", r, as_of))
        if waiting and (as_of - due).days >= cat.escalate_days_after:
            out.append(_deadline_alert(cat, "escalation", r, as_of))
    return out


def collect_problem_alerts(con: warehouse.Connection) -> list[Alert]:
    """A notice for every rejected report and every report accepted with warnings (the version that counts),
    and for every file that could not be identified, with its problems and the feedback workbook."""
    cat = load_catalogue()
    subs = warehouse.frame(con, """
        select unit_code, form_code, period_start, status, submission_id
        from marts.fct_submission
        where status in (:rejected, :accepted_with_warnings)
        order by unit_code, form_code, period_start""",
        {"rejected": REJECTED, "accepted_with_warnings": ACCEPTED_WITH_WARNINGS})
    problems = warehouse.frame(con, """
        select submission_id, sha256, file_name, folder_unit_code, stage, severity, rule, row_code, measure,
               source_sheet, source_cell, value_text, message_vi, message_en, unit_code
        from marts.fct_problem order by sha256, severity, source_cell""")
    _write_missing_feedback(problems)
    # plain records, grouped once: pandas row access per alert cost 50 s for a national year's 11,000 notices
    by_sub: dict[str, list[dict]] = {}
    by_file: dict[str, list[dict]] = {}
    for p in problems.to_dict("records"):
        by_sub.setdefault(p["submission_id"], []).append(p)
        if p["submission_id"] == p["sha256"]:  # a file that could not be identified as any submission
            by_file.setdefault(p["sha256"], []).append(p)
    alerts = [
        _problem_alert(cat, s.status, s.submission_id, by_sub[s.submission_id], s.unit_code, s.form_code,
                       _date(s.period_start))
        for s in subs.itertuples(index=False) if s.submission_id in by_sub
    ]
    for sha in sorted(by_file):  # unidentified files: told to whoever uploaded them
        group = by_file[sha]
        alerts.append(_problem_alert(cat, "rejected", sha, group, group[0]["folder_unit_code"] or None, None, None))
    return alerts


def _problem_alert(cat: Catalogue, status: str, key: str, group: list[dict], unit_code: str | None,
                   form_code: str | None, period: dt.date | None) -> Alert:
    kind = "rejected" if status == REJECTED else "warnings"
    folders = {f for f in (p["folder_unit_code"] for p in group) if isinstance(f, str) and f}
    units = [unit_code, *sorted(folders - {unit_code})]  # a mix-up is told to both units
    lines = [f"- {p['message_vi']}" for p in group[:MAX_PROBLEMS_IN_MESSAGE]]
    more = len(group) - MAX_PROBLEMS_IN_MESSAGE
    if more > 0:
        lines.append(f"- … và {more} lỗi khác / and {more} more")
    file_name = group[0]["file_name"]
    sha = group[0]["sha256"]
    feedback = feedback_path(reports_dir() / "feedback", unit_code or (sorted(folders)[0] if folders else None),
                             file_name, sha)
    attachments = (str(feedback),)  # every file with problems has one; the e-mail waits for it if it is missing
    note = f"\n\nTệp đính kèm «{feedback.name}» là bảng của đơn vị, các ô có lỗi được tô màu và ghi chú."
    subject, body = render_alert(kind, **_report_params(cat, unit_code, form_code, period), file=file_name,
                            problems="\n".join(lines), n_problems=len(group), attachment_note=note)
    return Alert(alert_id_for(kind, key), kind, unit_code, form_code, period,
                 recipients_for(*units, to=alert_kinds()[kind]["to"]), subject, body,
                 f"{len(group)} problem(s): " + ", ".join(sorted({p["rule"] for p in group})), attachments, sha)


def _write_missing_feedback(problems: pd.DataFrame) -> None:
    """Write the feedback workbooks of the files whose workbook is missing (the feedback step was killed, or its
    files were lost), so that their notices carry them; a workbook that cannot be written is logged and its
    e-mail waits."""
    from ingest.archive.store import read_archived
    from ingest.read.workers import default_workers
    from ingest.settings import data_dir
    from ingest.tell.feedback import write_feedback_files

    if problems.empty:
        return
    root = reports_dir() / "feedback"
    firsts = problems.drop_duplicates("sha256")
    missing = [sha for sha, unit, folder, name in zip(firsts["sha256"], firsts["unit_code"],
                                                      firsts["folder_unit_code"], firsts["file_name"], strict=True)
               if not feedback_path(root, unit if isinstance(unit, str) else folder, name, sha).exists()]
    if missing:
        log.warning("alerts: %d feedback workbook(s) missing; writing them again", len(missing))
        write_feedback_files(problems, functools.partial(read_archived, data_dir=data_dir()), root,
                             only_sha256=missing, workers=default_workers())


# -- sending ---------------------------------------------------------------------------------------------------

def connection_exists(conn_id: str) -> bool:
    """Whether Airflow knows the connection (UI, CLI, environment variable or secrets backend)."""
    try:
        from airflow.sdk import BaseHook

        BaseHook.get_connection(conn_id)
        return True
    except Exception:  # no such connection, or no Airflow context (plain CLI): nothing to send through
        return False


def send_email(alert: Alert, conn_id: str, message_id: str) -> None:
    """Send through Airflow's SMTP notifier, with the delivery's own Message-ID. The body is escaped HTML, never
    a template."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    content = "<pre style='font-family:sans-serif'>" + html.escape(alert.body) + "</pre>"
    headers = {"Message-ID": message_id, "Auto-Submitted": "auto-replied" if alert.in_reply_to else "auto-generated"}
    if alert.in_reply_to:  # a receipt: threaded under the district's own message
        headers.update({"In-Reply-To": alert.in_reply_to, "References": alert.in_reply_to})
    SmtpNotifier(to=list(alert.recipients), subject=alert.subject, html_content=content,
                 files=list(alert.attachments), smtp_conn_id=conn_id, custom_headers=headers).notify({})


def send_webhook(alert: Alert, conn_id: str, message_id: str) -> None:
    """Post the alert to the chat room behind the HTTP connection (see :mod:`ingest.tell.notifiers`), with the
    delivery's message id as its ``Idempotency-Key``."""
    from ingest.tell.notifiers import WebhookNotifier

    WebhookNotifier(conn_id=conn_id, payload=webhook_payload(alert), idempotency_key=message_id).notify({})


def message_id(alert_id: str, channel: str) -> str:
    """The id every attempt of one delivery carries (an RFC 5322 Message-ID; the webhook's Idempotency-Key)."""
    return f"<{alert_id}.{channel}@sectorstats.invalid>"


def webhook_payload(alert: Alert) -> dict[str, object]:
    """JSON for a chat webhook: ``text`` (what Slack, Mattermost, Rocket.Chat and Google Chat display) plus the
    alert's fields for machines."""
    return {"text": f"{alert.subject}\n{alert.body}", "alert_id": alert.alert_id, "kind": alert.kind,
            "unit_code": alert.unit_code, "form_code": alert.form_code,
            "period_start": alert.period_start.isoformat() if alert.period_start else None,
            "recipients": list(alert.recipients)}


Sender = Callable[[Alert, str, str], None]  # (alert, connection id, message id); raises when not delivered
DEFAULT_SENDERS: dict[str, Sender] = {"email": send_email, "webhook": send_webhook}




def _log_row(a: Alert, now: dt.datetime) -> dict[str, object]:
    return {"alert_id": a.alert_id, "kind": a.kind, "unit_code": a.unit_code, "form_code": a.form_code,
            "period_start": a.period_start, "recipient": ", ".join(a.recipients), "channel": ",".join(a.channels),
            "subject": a.subject, "body": a.body, "reason": a.reason, "attachments": "\n".join(a.attachments),
            "created_at": now, "sent_at": None, "send_status": "pending", "in_reply_to": a.in_reply_to}


def _delivery_rows(a: Alert, now: dt.datetime, configured: dict[str, bool]) -> list[dict[str, object]]:
    rows = []
    for channel in a.channels:
        target = ", ".join(a.recipients) if channel == "email" else channel_conn_id(channel)
        status = ("no_connection" if not configured[channel]
                  else "no_recipient" if not target else "pending")
        rows.append({"alert_id": a.alert_id, "channel": channel, "recipient": target, "status": status,
                     "attempts": 0, "created_at": now, "last_attempt_at": None, "sent_at": None, "last_error": None,
                     "next_attempt_at": None, "message_id": message_id(a.alert_id, channel)})
    return rows


def record(con: warehouse.Connection, candidates: list[Alert], now: dt.datetime,
           configured: dict[str, bool]) -> list[Alert]:
    """Write the alerts not yet in ``ops.alert_log``, with their deliveries, and commit them together (the
    outbox). Returns the new ones."""
    known = {r[0] for r in warehouse.execute(con, "select alert_id from ops.alert_log").fetchall()}
    fresh, seen = [], set(known)
    for a in candidates:
        if a.alert_id not in seen:
            fresh.append(a)
            seen.add(a.alert_id)
    logs = pd.DataFrame([_log_row(a, now) for a in fresh], columns=table("ops.alert_log").names)
    deliveries = pd.DataFrame([d for a in fresh for d in _delivery_rows(a, now, configured)],
                              columns=table("ops.alert_delivery").names)
    warehouse.insert_frame(con, "ops.alert_log", logs.astype({"sent_at": "datetime64[us]"}))
    warehouse.insert_frame(con, "ops.alert_delivery", deliveries.astype(
        {"last_attempt_at": "datetime64[us]", "sent_at": "datetime64[us]", "next_attempt_at": "datetime64[us]",
         "attempts": "int32"}))
    _summarise(con, [a.alert_id for a in fresh])
    con.commit()
    return fresh


def _stored_alert(con: warehouse.Connection, alert_id: str) -> Alert:
    """The alert as recorded: what is sent is what the outbox holds, whichever run sends it."""
    row = warehouse.execute(con, """
        select alert_id, kind, unit_code, form_code, period_start, recipient, subject, body, reason, attachments,
               in_reply_to
        from ops.alert_log where alert_id = :alert_id""", {"alert_id": alert_id}).fetchone()
    assert row is not None
    recipients_ = tuple(a for a in (row[5] or "").split(", ") if a)
    attachments = tuple(a for a in (row[9] or "").split("\n") if a)
    return Alert(row[0], row[1], row[2], row[3], _date(row[4]), recipients_, row[6], row[7], row[8], attachments,
                 in_reply_to=row[10])


def retry_delay(attempts: int) -> dt.timedelta:
    """How long an owed delivery waits after its ``attempts``-th failed attempt: from minutes to hours."""
    return min(RETRY_MAX, RETRY_FIRST * 2 ** min(max(attempts - 1, 0), 16))


def deliver(con: warehouse.Connection, now: dt.datetime,
            senders: dict[str, Sender] | None = None, kinds: Iterable[str] | None = None) -> dict[str, int]:
    """Try every delivery owed and due (``pending``, ``sending``, or ``failed`` with ``next_attempt_at`` passed),
    of the alerts of ``kinds`` (default: every kind), committing each step at once. Returns how many were sent,
    failed, and wait for their feedback workbook."""
    from ingest.tell.notifiers import RetryLater

    senders = senders or DEFAULT_SENDERS
    todo = warehouse.execute(con, """
        select d.alert_id, d.channel, d.status, d.attempts, d.message_id
        from ops.alert_delivery d join ops.alert_log l on l.alert_id = d.alert_id
        where d.status in ('pending', 'sending', 'failed') and (d.next_attempt_at is null or d.next_attempt_at <= :now)
          and (:all_kinds or l.kind in (select unnest(cast(:kinds as varchar[]))))
        order by d.created_at, d.alert_id, d.channel""",
        {"now": now, "all_kinds": kinds is None, "kinds": list(kinds or [])}).fetchall()
    sent = failed = waiting = 0
    in_a_row: dict[str, int] = {}
    where = "where alert_id = :alert_id and channel = :channel"
    for alert_id, channel, status, attempts, key in todo:
        if in_a_row.get(channel, 0) >= OUTAGE_AFTER:
            continue  # the channel is down: its deliveries keep their turn for the next run
        keys = {"alert_id": alert_id, "channel": channel, "now": now}
        alert = _stored_alert(con, alert_id)
        missing = [a for a in alert.attachments if not os.path.exists(a)] if channel == "email" else []
        if missing:
            warehouse.execute(con, f"update ops.alert_delivery set last_error = :why {where}",
                              {**keys, "why": f"waiting for its feedback workbook {os.path.basename(missing[0])}"})
            con.commit()
            waiting += 1
            continue
        if status == "sending":
            log.warning("alert %s (%s): an earlier attempt was cut off; sending again as %s", alert_id, channel, key)
        warehouse.execute(con, f"""update ops.alert_delivery set status = 'sending', attempts = attempts + 1,
                                   last_attempt_at = :now {where}""", keys)
        con.commit()  # the attempt is on record before the message leaves
        try:
            senders[channel](alert, channel_conn_id(channel), key or message_id(alert_id, channel))
        except Exception as exc:  # one failed send must not stop the others; owed until delivered
            wait = retry_delay(attempts + 1)
            if isinstance(exc, RetryLater) and exc.seconds is not None:
                wait = max(wait, dt.timedelta(seconds=exc.seconds))
            log.warning("alert %s (%s) could not be sent (attempt %d, next in %s): %s", alert_id, channel,
                        attempts + 1, wait, exc)
            warehouse.execute(con, f"""
                update ops.alert_delivery set status = 'failed', last_error = :error, next_attempt_at = :next
                {where}""", {**keys, "error": f"{type(exc).__name__}: {exc}"[:500], "next": now + wait})
            failed += 1
            in_a_row[channel] = in_a_row.get(channel, 0) + 1
        else:
            warehouse.execute(con, f"""
                update ops.alert_delivery set status = 'sent', sent_at = :now, last_error = null,
                       next_attempt_at = null {where}""", keys)
            sent += 1
            in_a_row[channel] = 0
        _summarise(con, [alert_id])
        con.commit()  # each result at once: a crash later in the run never sends this one again
    return {"sent": sent, "failed": failed, "waiting": waiting}


def withdraw(con: warehouse.Connection, kinds: Iterable[str], true_ids: set[str], now: dt.datetime) -> int:
    """Withdraw the owed deliveries of alerts of these ``kinds`` that are not among the alerts still true
    (``true_ids``, collected just now): a reminder to a unit that has since reported, an overdue notice turned
    into an escalation's day, a notice about a report a corrected version has replaced."""
    kinds = list(kinds)
    owed_now = warehouse.execute(con, """
        select distinct d.alert_id from ops.alert_delivery d join ops.alert_log l on l.alert_id = d.alert_id
        where d.status in ('pending', 'sending', 'failed') and l.kind in (select unnest(cast(:kinds as varchar[])))""",
                                 {"kinds": kinds}).fetchall()
    gone = [a for (a,) in owed_now if a not in true_ids]
    if gone:
        warehouse.execute(con, """
            update ops.alert_delivery set status = 'withdrawn', next_attempt_at = null,
                   last_error = 'no longer true: withdrawn before it could be delivered'
            where status in ('pending', 'sending', 'failed')
              and alert_id in (select unnest(cast(:ids as varchar[])))""", {"ids": gone})
        _summarise(con, gone)
        con.commit()
        log.info("alerts: %d owed alert(s) no longer true, withdrawn", len(gone))
    return len(gone)


def owed(con: warehouse.Connection) -> pd.DataFrame:
    """Every delivery still owed, oldest first: what an outage has held back."""
    if not warehouse.has_table(con, "ops", "alert_delivery"):
        return pd.DataFrame(columns=["alert_id", "kind", "channel", "recipient", "status", "attempts", "created_at",
                                     "next_attempt_at", "last_error", "message_id"])
    return warehouse.frame(con, """
        select d.alert_id, l.kind, d.channel, d.recipient, d.status, d.attempts, d.created_at, d.next_attempt_at,
               d.last_error, d.message_id
        from ops.alert_delivery d join ops.alert_log l on l.alert_id = d.alert_id
        where d.status in ('pending', 'sending', 'failed')
        order by d.created_at, d.alert_id, d.channel""")


class AlertsUndelivered(RuntimeError):
    """A run tried to deliver alerts and delivered none: a mail or chat outage (the alerts stay owed)."""


def raise_if_undelivered(result: dict[str, object]) -> None:
    """Fail loudly (the Airflow task turns red) when deliveries were tried and none went out."""
    if int(result.get("failed", 0)) and not int(result.get("sent", 0)):
        raise AlertsUndelivered(
            f"no alert could be delivered: {result['failed']} attempt(s) failed; {result['owed']} deliveries owed, "
            f"the oldest since {result['oldest_owed']} (UTC); they are retried on the next runs "
            f"(python -m ingest alerts --pending lists them)")


def _summarise(con: warehouse.Connection, alert_ids: list[str]) -> None:
    """Keep ``ops.alert_log.send_status``/``sent_at`` of these alerts in step with their deliveries (one
    statement for any number of alerts): ``sent`` when every delivery was sent, ``partly sent`` when some
    were, ``failed``/``pending`` while one waits for a (re)try, else ``recorded: <why not sent>``."""
    if not alert_ids:
        return
    warehouse.execute(con, """
            update ops.alert_log set send_status = s.summary, sent_at = s.sent_at
            from (
                select a.alert_id,
                       case when count(d.status) = count(*) filter (where d.status = 'sent') then 'sent'
                            when bool_or(d.status = 'sent') then 'partly sent'
                            when bool_or(d.status = 'failed') then 'failed'
                            when bool_or(d.status = 'pending') then 'pending'
                            else 'recorded: ' || string_agg(distinct d.status, ', ' order by d.status)
                       end as summary,
                       max(d.sent_at) as sent_at
                from (select distinct unnest(cast(:alert_ids as varchar[])) as alert_id) a
                left join ops.alert_delivery d on d.alert_id = a.alert_id
                group by a.alert_id
            ) s
            where ops.alert_log.alert_id = s.alert_id""", {"alert_ids": alert_ids})


def dispatch(as_of: dt.date, families: Iterable[str] = ("problems", "deadlines"), *,
             now: dt.datetime | None = None, senders: dict[str, Sender] | None = None,
             configured: dict[str, bool] | None = None) -> dict[str, int]:
    """Record the new alerts of ``families`` (``problems``: rejected and warnings from the marts;
    ``deadlines``: the reporting calendar as of ``as_of``) and send every delivery due. Returns counts of new
    alerts per kind, and of deliveries sent and failed."""
    from ingest.marts.calendar import read_calendar

    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    configured = configured or {c: connection_exists(channel_conn_id(c)) for c in CHANNELS}
    families = set(families)
    cat = load_catalogue()
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        candidates: list[Alert] = []
        if "problems" in families:
            candidates += collect_problem_alerts(con)
        if "deadlines" in families:
            candidates += collect_deadline_alerts(read_calendar(con, as_of), cat, as_of)
        fresh = record(con, candidates, now, configured)
        kinds = (PROBLEM_KINDS if "problems" in families else ()) + (DEADLINE_KINDS if "deadlines" in families
                                                                     else ())
        withdrawn = withdraw(con, kinds, {a.alert_id for a in candidates}, now)
        result = deliver(con, now, senders)
        still = owed(con)
    counts: dict[str, int] = {}
    for a in fresh:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    oldest = still["created_at"].min() if not still.empty else None
    outcome = {"new": len(fresh), **counts, **result, "withdrawn": withdrawn, "owed": len(still),
               "oldest_owed": None if oldest is None else pd.Timestamp(oldest).isoformat(sep=" ")}
    log.info("alerts: %d new (%s); deliveries %s", len(fresh), counts, outcome)
    if len(still):
        log.warning("alerts: %d deliveries owed, the oldest since %s (UTC)", len(still), outcome["oldest_owed"])
    return outcome
