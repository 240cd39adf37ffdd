"""The data engineer's status page: ``reports/status.html``, one self-contained HTML file rebuilt every run.

What it shows, as of a day (the same reporting calendar as :mod:`ingest.marts.calendar`):

- the number of reports in each state (on time, late, rejected, missing, due soon), overall and per form;
- for each form, a matrix of units × periods, each cell coloured by the report's state, with a tooltip (state in
  Vietnamese and English, due date, date received); a unit that did not exist in a period owes nothing there and
  its cell is blank;
- the last load (``raw.loads``) and its problems by rule and severity, with the problem lines themselves;
- the alerts recorded in the last 7 days by kind and delivery status (``ops.alert_log``, ``ops.alert_delivery``).

The page is opened from disk or a file share: inline CSS, no JavaScript, nothing fetched (a Content-Security-Policy
forbids scripts even if one slipped in). Every value is HTML-escaped; file names, cell values and messages come
from the districts' files and are shown as text, never as markup. At national scale (thousands of units) each
matrix shows at most ``MAX_MATRIX_ROWS`` units, those with reports missing, rejected or late first, and says how
many were left out.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from ingest import warehouse
from ingest.catalogue import Catalogue, Form, load_catalogue

log = logging.getLogger(__name__)

MAX_MATRIX_ROWS = 500
MAX_PROBLEM_LINES = 200
ALERT_DAYS = 7
PAGE_NAME = "status.html"

# display order: the good news first, the bad news after, what is not due yet last
STATE_ORDER = ("on_time", "late", "rejected", "unreadable", "missing", "due_soon")  # REPORT_STATES, as shown
STATE_LABELS: dict[str, tuple[str, str]] = {
    "on_time": ("Đúng hạn", "on time"),
    "late": ("Nộp muộn", "late"),
    "rejected": ("Bị từ chối", "rejected"),
    "unreadable": ("Đã nhận, không đọc được", "received, could not be read"),
    "missing": ("Chưa nộp", "missing"),
    "due_soon": ("Sắp đến hạn", "due soon"),
    "none": ("Không phải nộp", "not owed"),
}
STATE_MARKS = {"on_time": "✓", "late": "!", "rejected": "✗", "unreadable": "?", "missing": "–", "due_soon": "…",
               "none": ""}
PROBLEM_STATES = ("missing", "unreadable", "rejected", "late")
SEVERITY_LABELS = {"error": ("Lỗi", "error"), "warning": ("Cảnh báo", "warning")}
ALERT_KIND_LABELS = {
    "reminder": ("Nhắc hạn", "reminder"),
    "overdue": ("Quá hạn", "overdue"),
    "escalation": ("Báo cáo Sở", "escalation"),
    "rejected": ("Từ chối", "rejected"),
    "warnings": ("Cảnh báo", "warnings"),
    "receipt": ("Xác nhận nhận thư", "e-mail receipt"),
}
DELIVERY_LABELS = {
    "sent": ("Đã gửi", "sent"),
    "pending": ("Chờ gửi", "pending"),
    "sending": ("Đang gửi", "sending"),
    "failed": ("Gửi lỗi, sẽ gửi lại", "failed, to retry"),
    "withdrawn": ("Đã rút (không còn đúng)", "withdrawn (no longer true)"),
    "no_connection": ("Chưa cấu hình kênh", "no connection"),
    "no_recipient": ("Không có người nhận", "no recipient"),
    "no_delivery": ("Không có lượt gửi", "no delivery"),
}

CSS = """
:root { --on_time: #2e7d32; --late: #f9a825; --rejected: #7f0000; --unreadable: #6a1b9a; --missing: #e53935;
        --due_soon: #78909c; }
* { box-sizing: border-box; }
body { font: 14px/1.4 "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #1a1a1a; margin: 0 1.5em 2em; }
header { border-bottom: 2px solid #1a1a1a; margin-bottom: 1em; }
h1 { font-size: 1.5em; margin: .6em 0 .2em; }
h2 { font-size: 1.2em; margin: 1.6em 0 .4em; }
h3 { font-size: 1em; margin: 1.2em 0 .3em; }
.en { color: #555; font-weight: normal; }
.meta { margin: .2em 0 .8em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 6px; }
th { background: #f2f2f2; text-align: left; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; max-width: 100%; }
table.matrix th, table.matrix td { padding: 0; }
table.matrix thead th { font-size: 11px; text-align: center; padding: 2px 3px; white-space: nowrap; }
table.matrix tbody th { font-weight: normal; white-space: nowrap; padding: 0 6px; position: sticky; left: 0;
                        background: #fff; z-index: 1; }
table.matrix td { width: 3.2em; min-width: 3.2em; height: 1.6em; text-align: center; font-size: 12px;
                  font-weight: bold; color: #fff; }
table.matrix td.m-late { color: #1a1a1a; }
table.matrix td.m-none { background: #fff; }
.code { color: #666; font-variant-numeric: tabular-nums; }
.m-on_time, .k-on_time { background: var(--on_time); }
.m-late, .k-late { background: var(--late); }
.m-rejected, .k-rejected { background: var(--rejected); }
.m-unreadable, .k-unreadable { background: var(--unreadable); }
.m-missing, .k-missing { background: var(--missing); }
.m-due_soon, .k-due_soon { background: var(--due_soon); }
.k-none { background: #fff; border: 1px solid #999; }
th.k-on_time, th.k-rejected, th.k-unreadable, th.k-missing, th.k-due_soon { color: #fff; }
th[class^="k-"] .en { color: inherit; font-weight: normal; }
.legend { display: flex; flex-wrap: wrap; gap: .4em 1.4em; margin: .5em 0; padding: 0; list-style: none; }
.legend li { display: flex; align-items: center; gap: .4em; }
.swatch { display: inline-block; width: 1.6em; height: 1.2em; text-align: center; color: #fff;
          font-weight: bold; font-size: 12px; }
.k-late.swatch, .k-none.swatch { color: #1a1a1a; }
.note { background: #fff8e1; border-left: 4px solid var(--late); padding: .3em .8em; margin: .4em 0; }
.empty { color: #666; font-style: italic; }
.banner { background: #fde2e1; border: 2px solid #c00000; padding: .5em .8em; }
td.msg { max-width: 60em; }
.nowrap { white-space: nowrap; }
footer { margin-top: 2em; color: #666; font-size: 12px; }
@media print { .scroll { overflow: visible; } }
"""


def _null(value: object) -> bool:
    """``None``, NaN, NaT or pandas' NA."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def e(value: object) -> str:
    """Any value as escaped HTML text (``None``/NaN as an empty string)."""
    if _null(value):
        return ""
    return html.escape(str(value), quote=True)


def bilingual(vi: str, en: str) -> str:
    return f'{e(vi)} <span class="en">/ {e(en)}</span>'


def period_short_label(period_type: str, start: dt.date) -> str:
    """``T1/2024`` for a month, ``Q1/2024`` for a quarter."""
    if period_type == "quarter":
        return f"Q{(start.month - 1) // 3 + 1}/{start.year}"
    return f"T{start.month}/{start.year}"


def unit_sort_key(code: str) -> tuple[int, str]:
    """Units by code, the shorter codes (district level) before the longer (commune level)."""
    return len(code), code


def _date(value: object) -> dt.date | None:
    if _null(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    return value  # type: ignore[return-value]


def vn_date(value: object) -> str:
    day = _date(value)
    return f"{day:%d/%m/%Y}" if day else ""


def vn_time(value: object) -> str:
    """A naive UTC timestamp (as the warehouse stores them) or an aware one, in Vietnam time."""
    if _null(value):
        return ""
    moment = pd.Timestamp(value).to_pydatetime()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(load_catalogue().tz):%d/%m/%Y %H:%M}"


def cell_title(row: Mapping[str, object], form: Form) -> str:
    """The tooltip of a matrix cell (plain text; escaped where it is written)."""
    state = str(row["state"])
    vi, en = STATE_LABELS[state]
    line = f"{vi} / {en}"
    due = _date(row["due_date"])
    accepted = _date(row.get("accepted_received_date"))
    last = _date(row.get("last_received_date"))
    n_versions = int(row.get("n_versions") or 0)
    if state == "late" and accepted and due:
        days = (accepted - due).days
        line += f" — muộn {days} ngày / {days} day(s) late"
    elif state in ("missing", "rejected", "unreadable") and int(row.get("days_overdue") or 0) > 0:
        days = int(row["days_overdue"])  # type: ignore[arg-type]
        line += f" — quá hạn {days} ngày / {days} day(s) overdue"
    unreadable = _date(row.get("unreadable_received_date"))
    if accepted:
        received = f"Ngày nhận / received: {vn_date(accepted)}"
    elif state == "unreadable" and unreadable:
        n = int(row.get("n_unreadable") or 0)
        received = (f"Ngày nhận / received: {vn_date(unreadable)} ({n} tệp không đọc được / {n} file(s) that could "
                    "not be read)")
    elif last:
        received = (f"Ngày nhận / received: {vn_date(last)} ({n_versions} bản, đều bị từ chối / "
                    f"{n_versions} version(s), all rejected)")
    else:
        received = "Ngày nhận / received: chưa nhận / none"
    return "\n".join([
        f"{row['unit_name']} ({row['unit_code']}) — {form.code} {form.period_label_vi(_date(row['period_start']))}",
        line,
        f"Hạn nộp / due: {vn_date(due)}",
        received,
    ])


# -- sections ---------------------------------------------------------------------------------------------------

def _counts_table(grid: pd.DataFrame, forms: Iterable[Form]) -> str:
    counts = Counter(zip(grid["form_code"], grid["state"], strict=True)) if not grid.empty else Counter()
    head = "".join(f'<th class="k-{s}">{bilingual(*STATE_LABELS[s])}</th>' for s in STATE_ORDER)
    rows = []
    totals = Counter()
    for form in forms:
        values = [counts.get((form.code, s), 0) for s in STATE_ORDER]
        totals.update(dict(zip(STATE_ORDER, values, strict=True)))
        rows.append(f'<tr><th scope="row">{e(form.code)}</th>'
                    + "".join(f'<td class="n">{v}</td>' for v in values)
                    + f'<td class="n">{sum(values)}</td></tr>')
    values = [totals[s] for s in STATE_ORDER]
    rows.append('<tr class="total"><th scope="row">Tổng <span class="en">/ total</span></th>'
                + "".join(f'<td class="n">{v}</td>' for v in values) + f'<td class="n">{sum(values)}</td></tr>')
    return (f'<table id="counts"><thead><tr><th>Biểu <span class="en">/ form</span></th>{head}'
            f'<th>Phải nộp <span class="en">/ owed</span></th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _legend() -> str:
    items = "".join(f'<li><span class="swatch k-{s}">{STATE_MARKS[s]}</span>{bilingual(*STATE_LABELS[s])}</li>'
                    for s in (*STATE_ORDER, "none"))
    return f'<ul class="legend">{items}</ul>'


def _select_units(units: list[str], states: dict[str, Counter]) -> tuple[list[str], str]:
    """The units a matrix shows (all, or the first MAX_MATRIX_ROWS, worst first) and a note on what was left out."""
    if len(units) <= MAX_MATRIX_ROWS:
        return units, ""

    def badness(code: str) -> tuple:
        c = states[code]
        return (-(c["missing"] + c["rejected"] + c["unreadable"]), -c["late"], unit_sort_key(code))

    ranked = sorted(units, key=badness)
    shown, left = ranked[:MAX_MATRIX_ROWS], ranked[MAX_MATRIX_ROWS:]
    left_bad = sum(1 for u in left if any(states[u][s] for s in PROBLEM_STATES))
    note = (f'<p class="note">Hiển thị {len(shown)}/{len(units)} đơn vị: đơn vị có báo cáo chưa nộp, bị từ chối '
            f'hoặc nộp muộn trước (nhiều nhất trước); <strong>{len(left)} đơn vị không hiển thị</strong> '
            f'({left_bad} trong số đó có báo cáo chưa nộp, bị từ chối hoặc muộn). '
            f'<span class="en">Showing {len(shown)} of {len(units)} units, those with reports missing, rejected or '
            f'late first; {len(left)} units left out ({left_bad} of them with such reports).</span></p>')
    return shown, note


def _matrix(form: Form, rows: pd.DataFrame, index: int) -> str:
    title = (f'<h2 id="form-{index}">{e(form.code)} — {e(form.title_vi)} '
             f'<span class="en">/ {e(form.title_en)}</span></h2>')
    if rows.empty:
        return (f'<section class="form">{title}<p class="empty">Chưa có báo cáo nào đến hạn. '
                f'<span class="en">No report of this form is due yet.</span></p></section>')
    periods = sorted({(p, t, form.period_label_vi(p)) for p, t in zip(rows["period_start"], rows["period_type"],
                                                                       strict=True)})
    cells: dict[tuple[str, dt.date], dict] = {}
    names: dict[str, str] = {}
    states: dict[str, Counter] = {}
    for r in rows.to_dict("records"):
        cells[(r["unit_code"], r["period_start"])] = r
        names[r["unit_code"]] = r["unit_name"]
        states.setdefault(r["unit_code"], Counter())[r["state"]] += 1
    units = sorted(names, key=unit_sort_key)
    shown, note = _select_units(units, states)
    head = "".join(f'<th scope="col" title="{e(lbl)}">{e(period_short_label(t, p))}</th>' for p, t, lbl in periods)
    body = []
    blank = f'<td class="m-none" title="{e(" / ".join(STATE_LABELS["none"]))}"></td>'
    for code in shown:
        out = [f'<tr><th scope="row"><span class="code">{e(code)}</span> {e(names[code])}</th>']
        for p, _, _ in periods:
            r = cells.get((code, p))
            if r is None:
                out.append(blank)
            else:
                out.append(f'<td class="m-{e(r["state"])}" title="{e(cell_title(r, form))}">'
                           f'{STATE_MARKS[r["state"]]}</td>')
        out.append("</tr>")
        body.append("".join(out))
    freq = ("hằng tháng", "monthly") if form.frequency == "monthly" else ("hằng quý", "quarterly")
    meta = (f'<p class="meta">{bilingual(*freq)} · {len(units)} đơn vị <span class="en">/ units</span> · '
            f'{len(periods)} kỳ <span class="en">/ periods</span> · {len(rows)} báo cáo phải nộp '
            f'<span class="en">/ reports owed</span></p>')
    return (f'<section class="form" data-form="{e(form.code)}">{title}{meta}{note}<div class="scroll">'
            f'<table class="matrix" data-form="{e(form.code)}"><thead><tr><th>Đơn vị <span class="en">/ unit'
            f'</span></th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div></section>')


def _last_load(load: Mapping[str, object] | None) -> str:
    if not load:
        return '<p class="empty">Chưa có lần nạp nào. <span class="en">No load yet.</span></p>'
    started, finished = load.get("started_at"), load.get("finished_at")
    if _null(finished):
        finished_text = "chưa xong (đang chạy hoặc bị lỗi) / not finished (running or failed)"
        duration = ""
    else:
        finished_text = vn_time(finished)
        seconds = (pd.Timestamp(finished) - pd.Timestamp(started)).total_seconds()  # type: ignore[arg-type]
        duration = f"{seconds:.0f} s"
    items = [
        (("Mã lần nạp", "load id"), e(load.get("load_id"))),
        (("Bắt đầu", "started"), e(vn_time(started))),
        (("Kết thúc", "finished"), e(finished_text)),
        (("Thời gian", "duration"), e(duration)),
        (("Tệp trong hộp thư", "files seen"), e(load.get("files_seen"))),
        (("Tệp mới", "new files"), e(load.get("files_new"))),
        (("Báo cáo nạp", "submissions loaded"), e(load.get("submissions"))),
        (("Vấn đề", "problems"), e(load.get("problems"))),
    ]
    rows = "".join(f'<tr><th scope="row">{bilingual(*label)}</th><td>{value}</td></tr>' for label, value in items)
    return f'<table id="last-load"><tbody>{rows}</tbody></table>'


def _problems(problems: pd.DataFrame) -> str:
    if problems is None or problems.empty:
        return '<p class="empty">Không có vấn đề nào. <span class="en">No problems.</span></p>'
    by_rule = (problems.groupby(["severity", "rule"], dropna=False)
               .agg(problems=("rule", "size"), files=("sha256", "nunique")).reset_index())
    by_rule["order"] = by_rule["severity"].map({"error": 0, "warning": 1}).fillna(2)
    by_rule = by_rule.sort_values(["order", "problems", "rule"], ascending=[True, False, True])
    summary = "".join(
        f'<tr><td>{bilingual(*SEVERITY_LABELS.get(r.severity, (r.severity, r.severity)))}</td>'
        f'<td><code>{e(r.rule)}</code></td><td class="n">{r.problems}</td><td class="n">{r.files}</td></tr>'
        for r in by_rule.itertuples(index=False))
    table = (f'<table id="problems-by-rule"><thead><tr><th>Mức <span class="en">/ severity</span></th>'
             f'<th>Mã vấn đề <span class="en">/ rule</span></th><th>Số vấn đề <span class="en">/ problems</span></th>'
             f'<th>Số tệp <span class="en">/ files</span></th></tr></thead><tbody>{summary}</tbody></table>')
    lines = problems.assign(order=problems["severity"].map({"error": 0, "warning": 1}).fillna(2))
    lines = lines.sort_values(["order", "folder_unit_code", "file_name", "rule"], kind="stable")
    shown = lines.head(MAX_PROBLEM_LINES)
    detail = "".join(
        f'<tr><td>{e(r.folder_unit_code)}</td><td>{e(r.file_name)}</td>'
        f'<td class="nowrap">{e(_cell_ref(r.source_sheet, r.source_cell))}</td><td>{e(r.severity)}</td>'
        f'<td class="nowrap">{e(r.rule)}</td>'
        f'<td>{e(r.value_text)}</td><td class="msg">{e(r.message_vi)}<br><span class="en">{e(r.message_en)}'
        f'</span></td></tr>'
        for r in shown.itertuples(index=False))
    more = ""
    if len(lines) > len(shown):
        more = (f'<p class="note">{len(lines) - len(shown)} vấn đề không hiển thị. <span class="en">'
                f'{len(lines) - len(shown)} more problems not shown.</span></p>')
    head = "".join(f"<th>{bilingual(vi, en)}</th>" for vi, en in (
        ("Thư mục", "folder"), ("Tệp", "file"), ("Ô", "cell"), ("Mức", "severity"), ("Mã", "rule"),
        ("Giá trị", "value"), ("Nội dung", "message")))
    return (f'{table}<h3>Chi tiết <span class="en">/ details</span></h3>{more}<div class="scroll">'
            f'<table id="problem-lines"><thead><tr>{head}</tr></thead><tbody>{detail}</tbody></table></div>')


def _cell_ref(sheet: object, cell: object) -> str:
    """``Bieu 01!F13`` (plain text; escaped where it is written)."""
    parts = [str(v) for v in (sheet, cell) if not _null(v) and v != ""]
    return "!".join(parts)


def _alerts(alerts: pd.DataFrame) -> str:
    if alerts is None or alerts.empty:
        return '<p class="empty">Không có cảnh báo nào. <span class="en">No alerts.</span></p>'
    frame = alerts.assign(status=alerts["status"].fillna("no_delivery"))
    statuses = [s for s in DELIVERY_LABELS if s in set(frame["status"])]
    statuses += sorted(set(frame["status"]) - set(statuses))
    kinds = [k for k in ALERT_KIND_LABELS if k in set(frame["kind"])]
    kinds += sorted(set(frame["kind"]) - set(kinds))
    counts = Counter(zip(frame["kind"], frame["status"], strict=True))
    n_alerts = frame.groupby("kind")["alert_id"].nunique()
    head = "".join(f"<th>{bilingual(*DELIVERY_LABELS.get(s, (s, s)))}</th>" for s in statuses)
    body = "".join(
        f'<tr><th scope="row">{bilingual(*ALERT_KIND_LABELS.get(k, (k, k)))}</th>'
        f'<td class="n">{int(n_alerts.get(k, 0))}</td>'
        + "".join(f'<td class="n">{counts.get((k, s), 0)}</td>' for s in statuses) + "</tr>"
        for k in kinds)
    return (f'<table id="alerts"><thead><tr><th>Loại <span class="en">/ kind</span></th>'
            f'<th>Cảnh báo <span class="en">/ alerts</span></th>{head}</tr>'
            f'</thead><tbody>{body}</tbody></table>'
            f'<p class="meta">Các cột trạng thái đếm lượt gửi (mỗi kênh một lượt). <span class="en">Status columns '
            f'count deliveries (one per channel).</span></p>')


def _quarantine(held: pd.DataFrame | None) -> str:
    """The e-mails the mailbox door held back (unknown or unauthenticated sender, unreadable): never loaded, kept in
    the mailbox's quarantine folder for the department to look at."""
    if held is None or held.empty:
        return ('<p class="empty">Không có thư nào bị giữ lại. <span class="en">No e-mail held back.</span></p>')
    rows = "".join(
        f"<tr><td>{e(vn_time(pd.Timestamp(r.received_at).to_pydatetime()))}</td><td>{e(r.sender or '?')}</td>"
        f"<td>{e(r.subject or '')}</td><td><code>{e(r.reason or '')}</code></td></tr>"
        for r in held.itertuples(index=False))
    return (f'<table id="quarantine"><thead><tr><th>Nhận lúc <span class="en">/ received</span></th>'
            f'<th>Người gửi <span class="en">/ sender</span></th><th>Tiêu đề <span class="en">/ subject</span></th>'
            f'<th>Lý do <span class="en">/ reason</span></th></tr></thead><tbody>{rows}</tbody></table>'
            '<p class="meta">Thư nằm trong thư mục cách ly của hộp thư, không được nạp. Nếu người gửi là cán bộ của '
            'đơn vị: thêm địa chỉ vào <code>recipients.yaml</code> rồi chuyển thư về hộp thư đến. <span class="en">'
            'The messages stay in the mailbox\'s quarantine folder and are never loaded. If the sender is a unit\'s '
            'officer: add the address to <code>recipients.yaml</code>, then move the message back to the inbox.'
            '</span></p>')


# -- the page ---------------------------------------------------------------------------------------------------

def _owed_banner(owed: pd.DataFrame | None) -> str:
    """A warning while alert deliveries are owed (a mail or chat outage): how many, and since when."""
    if owed is None or owed.empty:
        return ""
    oldest = vn_time(pd.Timestamp(owed["created_at"].min()).to_pydatetime())
    return (f'<p id="alerts-owed" class="banner" role="alert"><strong>{len(owed)}</strong> thông báo chưa gửi được, '
            f'cũ nhất từ {e(oldest)}; sẽ được gửi lại. <span class="en">/ {len(owed)} alert deliveries owed, the '
            f'oldest since {e(oldest)}; they are being retried (<code>python -m ingest alerts --pending</code>).'
            '</span></p>')


def page_head(title: str, css: str, generator: str) -> str:
    """The start of a self-contained report page, up to ``<body>``: UTF-8, and a Content-Security-Policy that lets
    nothing load and no script run, only the inline style (the pages are opened from disk or a file share)."""
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sectorstats {e(generator)}">
<title>{e(title)}</title>
<style>{css}</style>
</head>
<body>
"""


def render_status_page(grid: pd.DataFrame, *, as_of: dt.date, catalogue: Catalogue,
                       last_load: Mapping[str, object] | None, problems: pd.DataFrame | None,
                       alerts: pd.DataFrame | None, generated_at: dt.datetime | None = None,
                       owed: pd.DataFrame | None = None, held: pd.DataFrame | None = None) -> str:
    """The status page as one HTML document.

    ``grid``: the reporting calendar (:func:`ingest.marts.calendar.read_calendar`); ``last_load``: the
    ``raw.loads`` row of the last load (or ``None``); ``problems``: that load's ``raw.problems`` rows; ``alerts``:
    one row per delivery of the alerts recorded in the last days (``kind``, ``alert_id``, ``channel``,
    ``status``); ``generated_at``: now unless given (an aware time, or naive UTC); ``owed``: the deliveries still
    owed (:func:`ingest.tell.alerts.owed`), shown as a banner when there are any; ``held``: the e-mails in
    quarantine (:func:`read_quarantine`)."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    forms = list(catalogue.forms)
    known = {f.code for f in forms}
    if not grid.empty and not set(grid["form_code"]) <= known:
        raise ValueError(f"forms not in the catalogue: {sorted(set(grid['form_code']) - known)}")
    by_form = {code: frame for code, frame in grid.groupby("form_code")} if not grid.empty else {}
    nav = " ".join(f'<a href="#form-{i}">{e(f.code)}</a>' for i, f in enumerate(forms, 1))
    matrices = "".join(_matrix(f, by_form.get(f.code, grid.iloc[0:0]), i) for i, f in enumerate(forms, 1))
    n_problems = 0 if problems is None else len(problems)
    title = f"sectorstats — tình hình nộp báo cáo đến {as_of:%d/%m/%Y} / reporting status as of {as_of:%Y-%m-%d}"
    return page_head(title, CSS, "ingest/tell/status_page.py") + f"""<header>
<h1>{e(catalogue.province_name)}: tình hình nộp báo cáo <span class="en">/ reporting status</span></h1>
<p class="meta">Tính đến ngày <span class="en">/ as of</span> <strong id="as-of">{as_of:%d/%m/%Y}</strong>
 · Tạo lúc <span class="en">/ generated</span> <span id="generated">{e(vn_time(generated_at))}</span>
 (giờ Việt Nam, UTC+7)
 · {len(grid)} báo cáo phải nộp <span class="en">/ reports owed</span></p>
<nav>{nav} <a href="#load">Lần nạp cuối / last load</a> <a href="#mail-quarantine">Thư bị giữ / held e-mails</a>
 <a href="#recent-alerts">Cảnh báo / alerts</a> · <a id="indicators" href="indicators.html">Chỉ tiêu / indicators</a>
 <a href="dbt_docs/index.html">Tài liệu các bảng / the marts' documentation</a></nav>
{_owed_banner(owed)}
</header>
<main>
<section id="states">
<h2>Số báo cáo theo trạng thái <span class="en">/ reports by state</span></h2>
{_counts_table(grid, forms)}
<p class="meta">Báo cáo đến hạn trong {catalogue.reminder_days_before} ngày tới được tính là sắp đến hạn.
<span class="en">Reports due within the next {catalogue.reminder_days_before} days count as due soon.</span></p>
</section>
<section id="legend">
<h2>Chú giải <span class="en">/ legend</span></h2>
{_legend()}
<p class="meta">Di chuột lên một ô để xem hạn nộp và ngày nhận.
<span class="en">Hover over a cell for its due date and the date received.</span></p>
</section>
{matrices}
<section id="load">
<h2>Lần nạp cuối <span class="en">/ last load</span></h2>
{_last_load(last_load)}
<h3>Vấn đề của lần nạp này <span class="en">/ problems found in this load</span> ({n_problems})</h3>
{_problems(problems)}
</section>
<section id="mail-quarantine">
<h2>Thư bị giữ lại <span class="en">/ e-mails held back</span> ({0 if held is None else len(held)})</h2>
{_quarantine(held)}
</section>
<section id="recent-alerts">
<h2>Cảnh báo {ALERT_DAYS} ngày qua <span class="en">/ alerts of the last {ALERT_DAYS} days</span></h2>
{_alerts(alerts)}
</section>
</main>
<footer>sectorstats · ingest/tell/status_page.py · {e(catalogue.receiver)}</footer>
</body>
</html>
"""


# -- reading the warehouse and writing the file ----------------------------------------------------------------

def read_last_load(con: warehouse.Connection) -> dict[str, object] | None:
    """The ``raw.loads`` row of the latest load (by start time), or ``None``."""
    frame = warehouse.frame(con, "select * from raw.loads order by started_at desc, load_id desc limit 1")
    if frame.empty:
        return None
    return {k: (None if _null(v) else v) for k, v in frame.iloc[0].items()}


def read_problems(con: warehouse.Connection, load_id: str | None) -> pd.DataFrame:
    return warehouse.frame(con, "select * from raw.problems where load_id = :load_id", {"load_id": load_id})


def read_recent_alerts(con: warehouse.Connection, since: dt.datetime) -> pd.DataFrame:
    """One row per delivery of the alerts recorded since ``since`` (naive UTC)."""
    if not (warehouse.has_table(con, "ops", "alert_log") and warehouse.has_table(con, "ops", "alert_delivery")):
        return pd.DataFrame(columns=["alert_id", "kind", "created_at", "channel", "status"])
    return warehouse.frame(con, """
        select l.alert_id, l.kind, l.created_at, d.channel, d.status
        from ops.alert_log l left join ops.alert_delivery d on d.alert_id = l.alert_id
        where l.created_at >= :since
        order by l.created_at, l.alert_id, d.channel""", {"since": since})


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the page is read from a file share
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_quarantine(con: warehouse.Connection) -> pd.DataFrame:
    """The e-mails the mailbox door quarantined, newest first (empty before the table exists)."""
    if not warehouse.has_table(con, "raw", "mail_messages"):
        return pd.DataFrame(columns=["received_at", "sender", "subject", "reason"])
    return warehouse.frame(con, """select received_at, sender, subject, reason from raw.mail_messages
                                   where outcome = 'quarantined' order by received_at desc, message_key""")


def write_status_page(as_of: dt.date, path: Path | None = None, *, now: dt.datetime | None = None) -> Path:
    """Build the status page from the warehouse and write it (``reports/status.html``): the reporting calendar as
    of the day it was built for (``as_of`` when there is none yet), the last load, the recent alerts."""
    from ingest.catalogue import load_catalogue
    from ingest.marts.calendar import read_calendar
    from ingest.settings import reports_dir
    from ingest.tell.alerts import owed

    now = now or dt.datetime.now(dt.UTC)
    now_utc = now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now
    cat = load_catalogue()
    with warehouse.connect(read_only=True) as con:
        grid = read_calendar(con)
        if not grid.empty and grid["as_of"].iloc[0] != as_of:
            log.warning("status page: the reporting calendar is as of %s, not %s", grid["as_of"].iloc[0], as_of)
            as_of = grid["as_of"].iloc[0]
        last_load = read_last_load(con)
        problems = read_problems(con, last_load["load_id"] if last_load else None)
        alerts = read_recent_alerts(con, now_utc - dt.timedelta(days=ALERT_DAYS))
        owed_now = owed(con)
        held = read_quarantine(con)
    page = render_status_page(grid, as_of=as_of, catalogue=cat, last_load=last_load, problems=problems,
                              alerts=alerts, generated_at=now, owed=owed_now, held=held)
    target = Path(path) if path else reports_dir() / PAGE_NAME
    write_atomically(target, page)
    log.info("status page as of %s: %d reports owed, last load %s with %d problems, %d alert deliveries → %s",
             as_of, len(grid), last_load["load_id"] if last_load else None, len(problems), len(alerts), target)
    return target
