"""The status page of a realistic run, opened in a real headless browser (Chromium from Debian's ``chromium``).

Demo submissions of a few units for all of 2024 go through ingest (no Airflow, no dbt: the page reads the raw
tables and the reporting calendar), ``write_status_page`` writes ``reports/status.html``, and Chromium loads it
from disk: the DOM it builds must hold the matrix cells of the grid, their tooltips, and a hostile file name as
text only; the screenshot must be a real page. CI installs Chromium (``.ci/run``); without it this test fails.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import subprocess
from pathlib import Path

import pytest

from ingest.catalogue import load_catalogue
from ingest.tell.status_page import period_short_label
from tests.unit.test_status_page import ALLOWED_TAGS, Page

pytestmark = pytest.mark.integration

CHROMIUM = Path(os.environ.get("SECTORSTATS_CHROMIUM", "/usr/bin/chromium"))
AS_OF = dt.date(2025, 1, 31)
UNITS = ["436", "441", "443", "448", "449"]
HOSTILE_NAME = "<img src=x onerror=alert(1)>.xlsx"  # a file name cannot hold "/", so no </script> here


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is needed to check the status page in a real browser and {CHROMIUM} is missing: "
                    "install the Debian package (apt-get install -y chromium) or set SECTORSTATS_CHROMIUM",
                    pytrace=False)
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", f"--user-data-dir={profile}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("status-page")
    mp = pytest.MonkeyPatch()
    mp.setenv("SECTORSTATS_DATA_DIR", str(data))
    mp.setenv("SECTORSTATS_AS_OF", AS_OF.isoformat())
    mp.setenv("SECTORSTATS_PARSE_WORKERS", "1")
    mp.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    mp.delenv("SECTORSTATS_INBOX_DIR", raising=False)
    from devtools.demo import generate_demo
    from ingest import warehouse
    from ingest.marts.calendar import build_calendar, read_calendar
    from ingest.pipeline import run_ingest
    from ingest.tell.status_page import write_status_page

    manifest = generate_demo(data / "inbox", year=2024, seed=2024, unit_codes=UNITS)
    (data / "inbox" / "443" / HOSTILE_NAME).write_text("not a spreadsheet", encoding="utf-8")
    run_ingest("status-page-load")
    build_calendar(AS_OF)
    path = write_status_page(AS_OF)
    with warehouse.connect(read_only=True) as con:
        grid = read_calendar(con, AS_OF)
    yield path, grid, manifest
    mp.undo()


def test_chromium_renders_the_status_page(demo_page, tmp_path: Path) -> None:
    path, grid, manifest = demo_page
    assert path == Path(os.environ["SECTORSTATS_DATA_DIR"]).resolve() / "reports" / "status.html"
    dom = chromium("--dump-dom", path.as_uri(), profile=tmp_path / "profile").stdout
    page = Page(dom)

    assert page.title == "sectorstats — tình hình nộp báo cáo đến 31/01/2025 / reporting status as of 2025-01-31"
    # the browser built one cell per report owed, of the report's state, and blank cells where nothing is owed
    cat = load_catalogue()
    cells: dict[str, int] = {}
    blank_expected = 0
    for form in cat.forms:
        matrix = page.matrix(form.code)
        rows = grid[grid.form_code == form.code]
        assert list(matrix) == sorted(set(rows.unit_code), key=lambda c: (len(c), c))
        assert len(page.periods(form.code)) == rows.period_start.nunique()
        blank_expected += len(matrix) * rows.period_start.nunique() - len(rows)
        for row in matrix.values():
            for state, _ in row:
                cells[state] = cells.get(state, 0) + 1
    expected = grid.state.value_counts().to_dict()
    assert {s: n for s, n in cells.items() if s != "none"} == expected
    assert cells.get("none", 0) == blank_expected == 0  # as of 2025-01-31, all 13 units owe every 2024 period
    assert expected["on_time"] > 100 and expected["missing"] >= 8 * 32  # 8 units sent nothing: all missing

    # a report the demo planted late: its tooltip names the state, the due date and the day it arrived
    late = next(f for f in manifest.by_scenario("late")
                if sum((g.unit_code, g.form_code, g.period_start) == (f.unit_code, f.form_code, f.period_start)
                       for g in manifest.files) == 1)
    form = cat.form(late.form_code)
    due = form.due_date(late.period_start)
    received = (late.received_at + dt.timedelta(hours=7)).date()
    column = page.periods(form.code).index(period_short_label(form.period_type, late.period_start))
    state, title = page.matrix(form.code)[late.unit_code][column]
    unit = cat.unit(late.unit_code)
    assert state == "late"
    assert title == (f"{unit.name} ({unit.code}) — {form.code} {form.period_label_vi(late.period_start)}\n"
                     f"Nộp muộn / late — muộn {(received - due).days} ngày / {(received - due).days} day(s) late\n"
                     f"Hạn nộp / due: {due:%d/%m/%Y}\n"
                     f"Ngày nhận / received: {received:%d/%m/%Y}")

    # the last load and its problems, the hostile file name as text, nothing the district wrote as markup
    assert page.texts("last-load")[0] == ["Mã lần nạp / load id", "status-page-load"]
    assert ["Lỗi / error", "file-not-spreadsheet"] in [r[:2] for r in page.texts("problems-by-rule")]
    assert ["443", HOSTILE_NAME] in [r[:2] for r in page.texts("problem-lines")]
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert not any(k.startswith("on") or k == "src" for _, a in page.tags for k in a)

    # and it looks like a page: a full-size PNG of a long, coloured document
    shot = tmp_path / "status.png"
    chromium(f"--screenshot={shot}", "--window-size=1400,2400", "--hide-scrollbars", path.as_uri(),
             profile=tmp_path / "profile")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1400, 2400)
    assert len(png) > 100_000, f"screenshot of {len(png)} bytes: is the page blank?"
