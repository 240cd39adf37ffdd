"""The upload page in a real browser: headless Chromium (Debian's ``chromium``) driven over the DevTools protocol
(``tests/doors/browser.py``) against the page served by uvicorn on loopback, as a district uses it: log in, see what
the unit owes, upload a good report, a wrong one and a hostile one, switch to English, try another unit's page.
Whatever the page logs as an error in the browser (console, exceptions, a resource refused by the
Content-Security-Policy, a failed load) fails the test, but the one refusal asked for.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from ingest.doors.upload.accounts import UNIT, AccountStore
from ingest.doors.upload.app import PageConfig, create_app
from tests.doors.browser import Chromium, Tab
from tests.doors.test_upload_page import FORM, OWED_443, SEED, make_snapshot, report, vi_number
from tests.integration.helpers import consistent_values, free_port

pytestmark = pytest.mark.integration


@dataclass
class Site:
    url: str
    data: Path
    password: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The page on a free loopback port (uvicorn in a thread), with the snapshot of the HTTP tests and an account
    for Can Lộc (443); the validator is warmed at start, as in production."""
    data = tmp_path_factory.mktemp("upload-page-browser")
    make_snapshot(data, dbt=True)  # the reporting calendar as dbt builds it
    mp = pytest.MonkeyPatch()
    mp.setenv("SECTORSTATS_DATA_DIR", str(data))
    for name in ("SECTORSTATS_WAREHOUSE", "SECTORSTATS_WAREHOUSE_URL", "SECTORSTATS_INBOX_DIR", "SECTORSTATS_INBOX_URL",
                 "SECTORSTATS_UPLOAD_SECURE_COOKIES", "SECTORSTATS_MAX_FILE_MB"):
        mp.delenv(name, raising=False)
    _, password = AccountStore().add("443", UNIT, "443")
    AccountStore().add("436", UNIT, "436")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(PageConfig.from_environment("127.0.0.1")), host="127.0.0.1",
                                           port=port, log_level="warning", server_header=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the upload page did not start"
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", data, password)
    finally:
        server.should_exit = True
        thread.join(30)
        mp.undo()


@pytest.fixture(scope="module")
def tab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tab]:
    browser = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield browser.new_tab()
    finally:
        browser.close()


def upload(tab: Tab, site: Site, path: Path) -> None:
    tab.open(site.url + "/")
    tab.attach("#file", path)
    tab.submit("#upload-form")


def test_a_district_uses_the_upload_page_in_chromium(site: Site, tab: Tab, tmp_path: Path) -> None:
    # log in
    tab.open(site.url + "/")
    assert tab.url == site.url + "/login"
    tab.fill({"#name": "443", "#password": site.password})
    tab.submit("#login")
    assert tab.url == site.url + "/"
    assert tab.text("#unit") == "Huyện Can Lộc (mã 443)"
    # what the unit owes, from the snapshot
    assert tab.rows("#owed-table") == OWED_443  # dbt's calendar, as the HTTP tests state it
    assert tab.evaluate("document.scripts.length") == 0
    assert tab.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == "rgb(18, 58, 99)"
    assert tab.errors() == []

    # a good report: accepted, and in the unit's inbox byte for byte
    good = tmp_path / "Báo cáo tháng 3.xlsx"
    good.write_bytes(report()[0])
    started = time.perf_counter()
    upload(tab, site, good)
    seconds = time.perf_counter() - started
    assert tab.url.startswith(site.url + "/uploads/")
    assert tab.evaluate("document.querySelector('#verdict').dataset.status") == "accepted"
    assert tab.text("#verdict") == "Đạt: không phát hiện vấn đề nào."
    assert tab.text("#report") == "01/LĐVL-H Tháng 3 năm 2024"
    assert (site.data / "inbox" / "443" / good.name).read_bytes() == good.read_bytes()
    assert seconds < 10, f"{seconds:.1f} s from the click to the verdict"
    assert tab.errors() == []

    # a wrong one: rejected, each problem with its sheet and cell
    values = consistent_values(FORM, SEED, 3)
    total = values[("01", "period")]
    values[("01", "period")] = total + 5
    values[("01", "ytd")] += 5
    wrong = tmp_path / "bieu01_T3_sai.xlsx"
    wrong.write_bytes(report(values=values)[0])
    upload(tab, site, wrong)
    assert tab.evaluate("document.querySelector('#verdict').dataset.status") == "rejected"
    problems = tab.rows("#problems")
    assert [row[:3] for row in problems] == [["Mức độ", "Sheet", "Ô"], ["Lỗi", "Bieu 01", "F13"],
                                             ["Lỗi", "Bieu 01", "G13"]]
    assert problems[1][3] == (f"Sheet «Bieu 01», ô F13 (mã số 01, cột «Thực hiện kỳ báo cáo»): tổng "
                              f"{vi_number(total + 5)} khác tổng các mã số 03, 04 là {vi_number(total)}.")
    assert tab.evaluate("document.querySelector('#feedback').getAttribute('href')").endswith("/feedback")
    assert tab.errors() == []

    # a hostile one: refused with its message, its name shown as text
    hostile = tmp_path / "<img src=x onerror=alert(1)>.xlsx"
    hostile.write_bytes(b"<html><script>alert(1)</script></html>")
    upload(tab, site, hostile)
    assert tab.evaluate("document.querySelector('#verdict').dataset.status") == "rejected"
    assert tab.text("#file-name") == hostile.name
    assert tab.evaluate("document.images.length + document.scripts.length") == 0
    assert tab.rows("#problems")[1] == [
        "Lỗi", "", "", "Tệp «_img src=x onerror=alert(1)_.xlsx» là trang web (HTML) nhưng không chứa bảng số liệu nào. "
        "Vui lòng xuất lại biểu báo cáo từ phần mềm (Xuất ra Excel) hoặc gửi tệp Excel (.xlsx)."]
    assert (site.data / "inbox" / "443" / "_img src=x onerror=alert(1)_.xlsx").exists()
    assert tab.errors() == []

    # the recent uploads, newest first
    tab.open(site.url + "/")
    recent = tab.rows("#recent-table")
    assert [row[2:4] for row in recent[1:]] == [["_img src=x onerror=alert(1)_.xlsx", "Không đạt"],
                                                ["bieu01_T3_sai.xlsx", "Không đạt"], [good.name, "Đạt"]]

    # English
    tab.evaluate("document.querySelector('#language').click()")
    tab.browser.next_event(tab.session, {"Page.loadEventFired"})
    assert tab.text("#unit") == "Huyện Can Lộc (code 443)"
    assert tab.rows("#owed-table")[-1] == ["01/LĐVL-H", "month 1/2024", "10/02/2024", "received on time", "05/02/2024"]
    tab.open(site.url + "/")  # remembered
    assert tab.text("#upload h2") == "Upload a report"
    assert tab.errors() == []

    # another unit's page: refused
    tab.open(site.url + "/?unit=436")
    assert tab.text("#error") == "This account may not see or upload another unit's reports."
    assert tab.text("h1") == "Not done"
    assert tab.errors() == [  # the browser notes the refusal, and nothing else
        f"log (network): Failed to load resource: the server responded with a status of 403 (Forbidden) "
        f"{site.url}/?unit=436"]

    # and out
    tab.open(site.url + "/")
    tab.submit("#logout")
    assert tab.url == site.url + "/login?m=logged_out"
    assert tab.text("#message") == "Signed out."
    assert tab.errors() == []


def test_the_server_refuses_an_upload_declared_too_large_without_waiting_for_it(site: Site) -> None:
    """Through uvicorn itself: the page answers 413 on the headers of a 2 GB upload, reads none of it, and closes
    the connection."""
    with httpx.Client(base_url=site.url) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"csrf": token, "name": "443", "password": site.password})
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
        cookie = client.cookies["sectorstats-session"]
    host, port = site.url.removeprefix("http://").split(":")
    start = (f"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--b\r\n"
             'Content-Disposition: form-data; name="file"; filename="big.xlsx"\r\n\r\n').encode()
    head = (f"POST /upload HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: sectorstats-session={cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {2 * 1024**3}\r\n\r\n").encode()
    staged = set((site.data / "doors" / "tmp").glob("upload-*"))  # (another test's may still be there)
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + start + bytes(64 * 1024))
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"connection: close" in answer.lower()
    assert "Tệp quá lớn (giới hạn 20 MB), chưa được nhận.".encode() in answer
    assert time.monotonic() - started < 5
    assert set((site.data / "doors" / "tmp").glob("upload-*")) <= staged  # nothing of it was written
