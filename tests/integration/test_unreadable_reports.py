"""A unit that sent a file nobody could read is told so, and the calendar says it sent something.

Two units' January 2024 employment reports arrive unreadable: Can Lộc's damaged (the first bytes of the form, named
`bieu01_T1.xlsx`), Đức Thọ's holding the form on two sheets (January's and February's, named `BC LĐVL thang 1`).
Through the ingest, the calendar the monitoring DAG builds, the status page and the deadline alerts, both
reports are "received, could not be read" — not missing — while the other units' reports are missing.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
import xlsxwriter

from ingest.catalogue import load_catalogue
from ingest.tell.official_forms import form_bytes
from tests.integration.helpers import query

pytestmark = pytest.mark.integration

AS_OF = dt.date(2024, 2, 20)
EMPLOYMENT = "01/LĐVL-H"


def _two_sheets(jan: bytes, feb: bytes) -> bytes:
    """A workbook holding the two months' forms on two sheets, as copied cell by cell from their files."""
    from ingest.read.reader import read_workbook

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    for name, data in (("T1", jan), ("T2", feb)):
        ws = wb.add_worksheet(name)
        (sheet,) = read_workbook(data)
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if value not in ("", None):
                    ws.write(r, c, value)
    wb.close()
    return out.getvalue()


def _put(inbox: Path, folder: str, name: str, data: bytes, when: dt.datetime) -> None:
    path = inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (when.timestamp(), when.timestamp()))


def test_unreadable_files_are_received_not_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cat = load_catalogue()
    form = cat.form(EMPLOYMENT)
    jan, feb = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
    inbox = tmp_path / "data" / "inbox"
    sent = dt.datetime(2024, 2, 8, 2, 0, tzinfo=dt.UTC)
    whole = form_bytes(form, cat.unit("443"), jan).data
    _put(inbox, "443", "bieu01_T1.xlsx", whole[: len(whole) // 2], sent)
    _put(inbox, "440", "BC LĐVL thang 1.xlsx", _two_sheets(form_bytes(form, cat.unit("440"), jan).data,
                                                         form_bytes(form, cat.unit("440"), feb).data), sent)
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECTORSTATS_AS_OF", AS_OF.isoformat())
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    monkeypatch.delenv("SECTORSTATS_INBOX_DIR", raising=False)
    from ingest.marts.calendar import build_calendar
    from ingest.marts.dbt import run_dbt
    from ingest.pipeline import run_ingest
    from ingest.tell.alerts import dispatch
    from ingest.tell.status_page import write_status_page

    run_ingest("l1")
    data = tmp_path / "data"
    rules = dict(query(data, "select file_name, rule from raw.problems where severity = 'error'"))
    assert rules == {"bieu01_T1.xlsx": "file-damaged", "BC LĐVL thang 1.xlsx": "form-on-several-sheets"}
    run_dbt("build", as_of=AS_OF)
    assert build_calendar(AS_OF)["unreadable"] == 2
    states = dict(query(data, """select unit_code, state from marts.fct_report_status
                                 where form_code = ? and period_start = ?""", [EMPLOYMENT, jan]))
    assert states["443"] == states["440"] == "unreadable"
    assert {s for u, s in states.items() if u not in ("443", "440")} == {"missing"}
    # the marts hold no number of theirs, and DHIS2's rates count them as not reported
    assert query(data, "select count(*) from marts.fct_indicator_value") == [(0,)]
    assert query(data, "select status from marts.fct_submission where unit_code = '443' and form_code = ? "
                       "and period_start = ?", [EMPLOYMENT, jan]) == [("missing",)]

    dispatch(AS_OF, families=("deadlines",), configured={"email": False, "webhook": False})
    bodies = dict(query(data, "select unit_code, body from ops.alert_log where kind = 'overdue' "
                              "and form_code = ? and period_start = ?", [EMPLOYMENT, jan]))
    assert "; tệp gửi ngày 08/02/2024 không đọc được" in bodies["443"]
    assert "không đọc được" not in bodies["436"] and "the file received on" not in bodies["436"]

    page = write_status_page(AS_OF).read_text(encoding="utf-8")
    assert page.count('<td class="m-unreadable"') == 2
