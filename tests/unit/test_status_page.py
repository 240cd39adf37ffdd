"""ingest.tell.status_page: the reporting matrix, the last load's problems and the recent alerts as one HTML page."""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from ingest import warehouse
from ingest.catalogue import load_catalogue
from ingest.catalogue.constants import REPORT_STATES
from ingest.marts.calendar import COLUMNS
from ingest.tell import status_page
from tests.unit.calendar_rows import Got, calendar, write_calendar

CAT = load_catalogue()
EMPLOYMENT, TRAINING, WELFARE = "01/LĐVL-H", "02/GDNN-H", "03/BTXH-H"
GENERATED = dt.datetime(2024, 3, 8, 1, 30, tzinfo=dt.UTC)
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "strong",
                "span", "nav", "a", "main", "section", "table", "thead", "tbody", "tr", "th", "td", "ul", "li",
                "div", "code", "br", "footer"}


class Page(HTMLParser):
    """What a reader sees: the title, every tag with its attributes, and each table's cells (text and attributes).

    Tables are keyed by their id, the matrices by ``matrix:<form code>``."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[tuple[str, dict[str, str | None], str]]]] = {}
        self._in_title = False
        self._table: str | None = None
        self._cell: list | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "title":
            self._in_title = True
        elif tag == "table":
            self._table = f"matrix:{a['data-form']}" if a.get("class") == "matrix" else a.get("id") or "?"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = [tag, a, ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append((self._cell[0], self._cell[1], self._cell[2].strip()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell[2] += data

    def texts(self, table: str) -> list[list[str]]:
        return [[text for _, _, text in row] for row in self.tables[table]]

    def matrix(self, form: str) -> dict[str, list[tuple[str, str]]]:
        """unit code → [(state, tooltip)] per period column; state ``none`` for a blank cell."""
        out = {}
        for row in self.tables[f"matrix:{form}"][1:]:
            head, *cells = row
            out[head[2].split()[0]] = [(a["class"].removeprefix("m-"), a.get("title") or "") for _, a, _ in cells]
        return out

    def periods(self, form: str) -> list[str]:
        return [text for _, _, text in self.tables[f"matrix:{form}"][0][1:]]


def render(grid: pd.DataFrame, as_of: dt.date, **kw) -> str:
    args = {"last_load": None, "problems": None, "alerts": None, "generated_at": GENERATED} | kw
    return status_page.render_status_page(grid, as_of=as_of, catalogue=CAT, **args)


def cell_count(text: str, state: str) -> int:
    return text.count(f'<td class="m-{state}"')


def problem_rows(rows: list[tuple]) -> pd.DataFrame:
    """rows: (sha256, file_name, folder, severity, rule, sheet, cell, value_text, message_vi)."""
    return pd.DataFrame([{
        "problem_id": f"p{i}", "sha256": sha, "submission_id": None, "file_name": name, "folder_unit_code": folder,
        "stage": "validate", "severity": sev, "rule": rule, "row_code": "01", "measure": "period",
        "source_sheet": sheet, "source_cell": cell, "value_text": value, "message_vi": msg,
        "message_en": f"en: {msg}", "load_id": "load-2"}
        for i, (sha, name, folder, sev, rule, sheet, cell, value, msg) in enumerate(rows)])


SMALL_GRID = {  # what arrived for January and February 2024, as of 2024-03-08
    ("440", EMPLOYMENT, "2024-01-01"): Got("on_time", accepted_received="2024-02-10"),  # on the due day
    ("443", EMPLOYMENT, "2024-01-01"): Got("late", accepted_received="2024-02-11"),  # late by a day
    ("441", EMPLOYMENT, "2024-01-01"): Got("rejected", last_received="2024-02-05"),
    ("442", EMPLOYMENT, "2024-01-01"): Got("on_time", 2, accepted_received="2024-02-09"),  # corrected in time
    ("444", EMPLOYMENT, "2024-02-01"): Got("on_time", accepted_received="2024-03-07"),
    ("445", EMPLOYMENT, "2024-01-01"): Got("unreadable", 0, n_unreadable=2, unreadable_received="2024-02-08"),
}


def test_the_page_shows_every_state_of_a_small_grid() -> None:
    as_of = dt.date(2024, 3, 8)
    grid = calendar(as_of, [EMPLOYMENT, WELFARE], ["2024-01-01", "2024-02-01"], SMALL_GRID)
    text = render(grid, as_of)
    page = Page(text)

    assert text.startswith("<!DOCTYPE html>\n<html lang=\"vi\">")
    assert page.title == ("sectorstats — tình hình nộp báo cáo đến 08/03/2024 / reporting status as of 2024-03-08")
    assert "<strong id=\"as-of\">08/03/2024</strong>" in text
    assert "<span id=\"generated\">08/03/2024 08:30</span>" in text  # 01:30 UTC is 08:30 in Vietnam
    # one cell per report owed, each of the state's class: 13 units × Jan, Feb of the two monthly forms
    assert {s: cell_count(text, s) for s in (*status_page.STATE_ORDER, "none")} == {
        "on_time": 3, "late": 1, "rejected": 1, "unreadable": 1, "missing": 21, "due_soon": 25, "none": 0}
    assert set(status_page.STATE_ORDER) == set(REPORT_STATES)
    # the counts, per form in catalogue order and in total: on time, late, rejected, unreadable, missing, due soon,
    # owed
    assert page.texts("counts")[1:] == [
        ["01/LĐVL-H", "3", "1", "1", "1", "8", "12", "26"],
        ["02/GDNN-H", "0", "0", "0", "0", "0", "0", "0"],
        ["03/BTXH-H", "0", "0", "0", "0", "13", "13", "26"],
        ["04/TTr-H", "0", "0", "0", "0", "0", "0", "0"],
        ["Tổng / total", "3", "1", "1", "1", "21", "25", "52"],
    ]
    # the matrix: units by code with their names, periods in order, a state per cell
    assert page.periods(EMPLOYMENT) == ["T1/2024", "T2/2024"]
    matrix = page.matrix(EMPLOYMENT)
    assert list(matrix) == ["436", "437", "439", "440", "441", "442", "443", "444", "445", "446", "447", "448", "449"]
    assert page.texts(f"matrix:{EMPLOYMENT}")[7][0] == "443 Huyện Can Lộc"
    assert [s for s, _ in matrix["443"]] == ["late", "due_soon"]
    assert [s for s, _ in matrix["444"]] == ["missing", "on_time"]
    assert matrix["443"][0][1] == (
        "Huyện Can Lộc (443) — 01/LĐVL-H Tháng 1 năm 2024\n"
        "Nộp muộn / late — muộn 1 ngày / 1 day(s) late\n"
        "Hạn nộp / due: 10/02/2024\n"
        "Ngày nhận / received: 11/02/2024")
    assert matrix["441"][0][1] == (
        "Huyện Vũ Quang (441) — 01/LĐVL-H Tháng 1 năm 2024\n"
        "Bị từ chối / rejected — quá hạn 27 ngày / 27 day(s) overdue\n"
        "Hạn nộp / due: 10/02/2024\n"
        "Ngày nhận / received: 05/02/2024 (1 bản, đều bị từ chối / 1 version(s), all rejected)")
    assert matrix["445"][0][1].splitlines()[1:] == [
        "Đã nhận, không đọc được / received, could not be read — quá hạn 27 ngày / 27 day(s) overdue",
        "Hạn nộp / due: 10/02/2024",
        "Ngày nhận / received: 08/02/2024 (2 tệp không đọc được / 2 file(s) that could not be read)"]
    assert matrix["440"][0][1].splitlines()[1:] == [
        "Đúng hạn / on time", "Hạn nộp / due: 10/02/2024", "Ngày nhận / received: 10/02/2024"]
    assert matrix["436"][0][1].splitlines()[1:] == [
        "Chưa nộp / missing — quá hạn 27 ngày / 27 day(s) overdue", "Hạn nộp / due: 10/02/2024",
        "Ngày nhận / received: chưa nhận / none"]
    assert matrix["436"][1][1].splitlines()[1:] == [
        "Sắp đến hạn / due soon", "Hạn nộp / due: 10/03/2024", "Ngày nhận / received: chưa nhận / none"]
    # the quarterly forms owe nothing yet; no load, no alerts yet
    assert f"matrix:{TRAINING}" not in page.tables
    assert text.count("No report of this form is due yet.") == 2
    assert "No load yet." in text and "No problems." in text and "No alerts." in text
    # self-contained: no script, nothing fetched, only the tags of a plain page
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert not any(k in ("src", "srcset") or k.startswith("on") for _, a in page.tags for k in a)
    # links go within the page, or to its neighbours in reports/ (never elsewhere)
    assert {a["href"] for tag, a in page.tags if tag == "a" and not a["href"].startswith("#")} == {
        "indicators.html", "dbt_docs/index.html"}


def test_units_that_did_not_exist_in_a_period_leave_the_cell_blank() -> None:
    as_of = dt.date(2025, 8, 12)
    months = [f"{y}-{m:02d}-01" for y in (2024, 2025) for m in range(1, 13)]
    quarters = [f"{y}-{m:02d}-01" for y in (2024, 2025) for m in (1, 4, 7, 10)]
    grid = pd.concat([calendar(as_of, [EMPLOYMENT, WELFARE], months), calendar(as_of, [TRAINING], quarters)])
    page = Page(render(grid, as_of))
    periods = page.periods(EMPLOYMENT)
    assert len(periods) == 19 and periods[0] == "T1/2024" and periods[-1] == "T7/2025"
    matrix = page.matrix(EMPLOYMENT)
    assert len(matrix) == 13 + 69 and list(matrix)[:13] == sorted(u.code for u in CAT.units if u.level == "district")
    # Lộc Hà (448) was dissolved on 2025-01-01: 2024 is owed (and missing), 2025 is blank
    assert [s for s, _ in matrix["448"]] == ["missing"] * 12 + ["none"] * 7
    assert matrix["448"][12][1] == "Không phải nộp / not owed"
    # the other districts owe up to June 2025, the communes from July 2025
    assert [s for s, _ in matrix["436"]] == ["missing"] * 18 + ["none"]
    assert [s for s, _ in matrix["18073"]] == ["none"] * 18 + ["missing"]
    assert sum(s == "none" for row in matrix.values() for s, _ in row) == 7 + 12 * 1 + 69 * 18
    # the quarterly forms: Q1/2024–Q2/2025, the communes owe none of them yet, so they have no row there
    assert page.periods(TRAINING) == ["Q1/2024", "Q2/2024", "Q3/2024", "Q4/2024", "Q1/2025", "Q2/2025"]
    training = page.matrix(TRAINING)
    assert len(training) == 13 and [s for s, _ in training["448"]] == ["missing"] * 4 + ["none"] * 2


def test_text_from_district_files_is_escaped_never_markup() -> None:
    as_of = dt.date(2024, 3, 8)
    grid = calendar(as_of, [EMPLOYMENT], ["2024-01-01", "2024-02-01"])
    evil_name = "<script>alert(1)</script>.xlsx"
    formula = '=HYPERLINK("http://evil.example/x","Bấm vào đây")'
    problems = problem_rows([
        ("a" * 64, evil_name, '"><img src=x onerror=alert(1)>', "error", "sum-mismatch", "Bieu <01>", "F13",
         "<b>8.592</b>", formula),
        ("a" * 64, evil_name, "436", "error", "sum-mismatch", "Bieu <01>", "G13", "1", "tổng sai & lệch"),
        ("b" * 64, "bc T2.xlsx", "437", "warning", "row-unknown", "B", "B30", None, "Mã số 99 không có"),
    ])
    load = {"load_id": "load-2", "started_at": dt.datetime(2024, 3, 8, 1, 0), "finished_at": dt.datetime(
        2024, 3, 8, 1, 0, 12), "files_seen": 40, "files_new": 2, "submissions": 2, "problems": 3}
    text = render(grid, as_of, last_load=load, problems=problems)
    page = Page(text)
    assert "<script" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.xlsx" in text
    assert "=HYPERLINK(&quot;http://evil.example/x&quot;,&quot;Bấm vào đây&quot;)" in text
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert not any(k in ("src", "srcset") or k.startswith("on") for _, a in page.tags for k in a)
    # shown as text, exactly as the district wrote it
    lines = page.texts("problem-lines")
    assert lines[0] == ["Thư mục / folder", "Tệp / file", "Ô / cell", "Mức / severity", "Mã / rule",
                        "Giá trị / value", "Nội dung / message"]
    assert lines[1] == ['"><img src=x onerror=alert(1)>', evil_name, "Bieu <01>!F13", "error", "sum-mismatch",
                        "<b>8.592</b>", f"{formula}en: {formula}"]
    assert lines[2][-1] == "tổng sai & lệchen: tổng sai & lệch"
    assert lines[3][:4] == ["437", "bc T2.xlsx", "B!B30", "warning"]
    # by rule and severity: problems and files
    assert page.texts("problems-by-rule")[1:] == [["Lỗi / error", "sum-mismatch", "2", "1"],
                                                  ["Cảnh báo / warning", "row-unknown", "1", "1"]]
    assert page.texts("last-load") == [
        ["Mã lần nạp / load id", "load-2"], ["Bắt đầu / started", "08/03/2024 08:00"],
        ["Kết thúc / finished", "08/03/2024 08:00"], ["Thời gian / duration", "12 s"],
        ["Tệp trong hộp thư / files seen", "40"], ["Tệp mới / new files", "2"],
        ["Báo cáo nạp / submissions loaded", "2"], ["Vấn đề / problems", "3"]]


def test_write_status_page_reads_the_warehouse_and_replaces_the_page(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECTORSTATS_AS_OF", "2024-03-08")
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    now = dt.datetime(2024, 3, 8, 2, 0)  # naive UTC, as the warehouse keeps times
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        write_calendar(con, calendar(dt.date(2024, 3, 8), [EMPLOYMENT], ["2024-01-01", "2024-02-01"], {
            ("443", EMPLOYMENT, "2024-01-01"): Got("late", accepted_received="2024-02-11")}))
        con.exec_driver_sql("insert into raw.loads values ('load-1', ?, ?, 30, 30, 28, 1, 1), "
                            "('load-2', ?, ?, 31, 1, 1, 2, 1)",
                            (now - dt.timedelta(days=1), now - dt.timedelta(days=1), now, now))
        warehouse.insert_frame(con, "raw.problems", problem_rows([
            ("c" * 64, "<script>alert(1)</script>.xlsx", "441", "error", "file-damaged", None, None, None, "hỏng"),
            ("c" * 64, "<script>alert(1)</script>.xlsx", "441", "warning", "row-unknown", "S", "A1", "x", "lạ"),
        ]))
        warehouse.insert_frame(con, "raw.problems", problem_rows([
            ("d" * 64, "old.xlsx", "442", "error", "sum-mismatch", "S", "F13", "1", "cũ")]).assign(load_id="load-1"))
        alerts = [("a1", "overdue", now), ("a2", "overdue", now), ("a3", "escalation", now - dt.timedelta(days=2)),
                  ("a4", "reminder", now - dt.timedelta(days=8))]  # a4: older than 7 days
        for alert_id, kind, at in alerts:
            con.exec_driver_sql("""insert into ops.alert_log (alert_id, kind, recipient, channel, subject, body,
                                   reason, created_at, send_status)
                                   values (?, ?, 'x@example.org', 'email', 's', 'b', 'r', ?, 'p')""",
                                (alert_id, kind, at))
        for alert_id, channel, status in [("a1", "email", "sent"), ("a2", "email", "failed"),
                                          ("a3", "email", "sent"), ("a3", "webhook", "no_connection"),
                                          ("a4", "email", "sent")]:
            con.exec_driver_sql("""insert into ops.alert_delivery (alert_id, channel, recipient, status, attempts,
                                   created_at) values (?, ?, 'x', ?, 1, ?)""", (alert_id, channel, status, now))
    out = tmp_path / "reports" / "status.html"
    out.parent.mkdir()
    out.write_text("the previous page", encoding="utf-8")

    path = status_page.write_status_page(dt.date(2024, 3, 8), now=now)

    assert path == out
    assert os.listdir(out.parent) == ["status.html"]  # no temporary file left behind
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    html_text = out.read_text(encoding="utf-8")
    page = Page(html_text)
    assert page.texts("last-load")[0] == ["Mã lần nạp / load id", "load-2"]
    # the failed delivery is owed: the banner says so
    assert '<p id="alerts-owed" class="banner" role="alert"><strong>1</strong> thông báo chưa gửi được' in html_text
    assert page.texts("problems-by-rule")[1:] == [["Lỗi / error", "file-damaged", "1", "1"],
                                                  ["Cảnh báo / warning", "row-unknown", "1", "1"]]
    assert page.texts("alerts") == [
        ["Loại / kind", "Cảnh báo / alerts", "Đã gửi / sent", "Gửi lỗi, sẽ gửi lại / failed, to retry",
         "Chưa cấu hình kênh / no connection"],
        ["Quá hạn / overdue", "2", "1", "1", "0"],
        ["Báo cáo Sở / escalation", "1", "1", "0", "1"]]
    assert [s for s, _ in page.matrix(EMPLOYMENT)["443"]] == ["late", "due_soon"]

    # the command line writes the same page, as of SECTORSTATS_AS_OF
    from ingest.cli import main

    out.unlink()
    assert main(["status-page"]) == 0
    assert Page(out.read_text(encoding="utf-8")).title.endswith("as of 2024-03-08")


def test_a_national_grid_shows_the_worst_500_units_and_says_how_many_are_left_out() -> None:
    form = CAT.form(EMPLOYMENT)
    months = [dt.date(2024, m, 1) for m in range(1, 13)]
    rows = []
    for i in range(3300):
        code = str(10000 + i)
        for m, start in enumerate(months):
            state = ("missing" if i % 10 == 0 and m == i % 12 else "late" if i % 10 == 1 and m == 5
                     else "on_time")
            rows.append({"report_id": f"{code}|{start}", "unit_code": code, "unit_name": f"Xã Số {i}",
                         "form_code": EMPLOYMENT, "period_type": "month", "period_start": start,
                         "due_date": form.due_date(start), "state": state, "n_versions": int(state != "missing"),
                         "days_overdue": 0})
    grid = pd.DataFrame(rows, columns=COLUMNS)
    started = time.perf_counter()
    text = render(grid, dt.date(2025, 1, 31))
    elapsed = time.perf_counter() - started
    page = Page(text)
    matrix = page.matrix(EMPLOYMENT)
    assert len(matrix) == 500
    units = list(matrix)
    # the 330 units with a missing report first, then 170 of the 330 with a late one, each by code
    assert units[:330] == [str(10000 + i) for i in range(0, 3300, 10)]
    assert units[330:] == [str(10000 + i) for i in range(1, 3300, 10)][:170]
    assert "<strong>2800 đơn vị không hiển thị</strong> (160 trong số đó" in text
    assert "2800 units left out (160 of them with such reports)" in text
    assert page.texts("counts")[1] == ["01/LĐVL-H", str(39600 - 660), "330", "0", "0", "330", "0", "39600"]
    assert cell_count(text, "missing") == 330 and cell_count(text, "late") == 170
    assert elapsed < 10, f"rendering 39,600 reports took {elapsed:.1f} s"
