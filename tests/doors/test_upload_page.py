"""The upload page (ingest/doors/upload/) through its HTTP interface: logins and their throttle, sessions, CSRF, the
size cap, who may see and upload what, the preview's verdict against a real warehouse snapshot (the pipeline's own
parser and Great Expectations suites), hostile files, the delivery into the inbox and the feedback workbook.

The snapshot is made as the DAGs make it: a small inbox through ``run_ingest``, then the reporting calendar built
with dbt and published (``build_calendar``), once for the module. Each test gets a data directory of its own with a
copy of that snapshot, the page's accounts and a clock it can move.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.catalogue import load_catalogue
from ingest.check.validate import Validator
from ingest.cli import main as cli
from ingest.doors.upload.accounts import PROVINCE, UNIT, AccountStore, verify_password
from ingest.doors.upload.app import CSP, PageConfig, create_app
from ingest.doors.upload.preview import Previewer
from ingest.doors.upload.source import WarehouseSource
from ingest.read.limits import MB
from tests.integration.helpers import at, consistent_values, put
from tests.unit.office_files import bomb_zip

CAT = load_catalogue()
FORM = CAT.form("01/LĐVL-H")
AS_OF = dt.date(2024, 4, 8)  # March due in 2 days: due soon
SEED = 7
MARCH = dt.date(2024, 3, 1)
PASSWORDS: dict[str, str] = {}


# -- the warehouse snapshot and the page ---------------------------------------------------------------------------

OWED_443 = [  # what Can Lộc owes as of 2024-04-08: what is still to do first, then what was received, latest first
    ["Biểu", "Kỳ báo cáo", "Hạn nộp", "Tình trạng", "Ngày nhận"],
    ["03/BTXH-H", "Tháng 1 năm 2024", "10/02/2024", "Chưa nộp, đã quá hạn", ""],
    ["03/BTXH-H", "Tháng 2 năm 2024", "10/03/2024", "Chưa nộp, đã quá hạn", ""],
    ["01/LĐVL-H", "Tháng 3 năm 2024", "10/04/2024", "Sắp đến hạn", ""],
    ["03/BTXH-H", "Tháng 3 năm 2024", "10/04/2024", "Sắp đến hạn", ""],
    ["01/LĐVL-H", "Tháng 2 năm 2024", "10/03/2024", "Đã nhận, đúng hạn", "05/03/2024"],
    ["01/LĐVL-H", "Tháng 1 năm 2024", "10/02/2024", "Đã nhận, đúng hạn", "05/02/2024"]]
RECEIVED = {("443", 1): "2024-02-05", ("443", 2): "2024-03-05", ("436", 1): "2024-02-05"}  # form 01, local days


def make_snapshot(data: Path, *, dbt: bool = False) -> Path:
    """A small inbox (Can Lộc 443: January and February 2024 of form 01; Thành phố Hà Tĩnh 436: January) through the
    pipeline, then the reporting calendar as of 2024-04-08 and the analysts' snapshot the page reads. With ``dbt``
    the calendar is dbt's own (``build_calendar``: the browser test, an integration test); else it is written as
    ``tests/unit/calendar_rows.py`` states it and published, so that these tests need no dbt."""
    from ingest import warehouse
    from ingest.marts.calendar import build_calendar
    from ingest.marts.publish import publish_snapshot
    from ingest.pipeline import run_ingest
    from tests.unit.calendar_rows import Got, calendar, write_calendar

    mp = pytest.MonkeyPatch()
    mp.setenv("SECTORSTATS_DATA_DIR", str(data))
    mp.setenv("SECTORSTATS_AS_OF", AS_OF.isoformat())
    for name in ("SECTORSTATS_WAREHOUSE", "SECTORSTATS_WAREHOUSE_URL", "SECTORSTATS_INBOX_DIR",
                 "SECTORSTATS_INBOX_URL"):
        mp.delenv(name, raising=False)
    try:
        for (unit, month), day in RECEIVED.items():
            put(data / "inbox", unit, f"bieu01_T{month}.xlsx", FORM.code, unit, dt.date(2024, month, 1),
                consistent_values(FORM, SEED, month), at(day))
        run_ingest("upload-page-snapshot")
        if dbt:
            build_calendar(AS_OF)
        else:
            got = {(unit, FORM.code, f"2024-{month:02d}-01"): Got("on_time", last_received=day, accepted_received=day)
                   for (unit, month), day in RECEIVED.items()}
            monthly = [f.code for f in CAT.forms if f.frequency == "monthly"]
            quarterly = [f.code for f in CAT.forms if f.frequency != "monthly"]
            frame = pd.concat([calendar(AS_OF, monthly, ["2024-01-01", "2024-02-01", "2024-03-01"], got),
                               calendar(AS_OF, quarterly, ["2024-01-01"], got)], ignore_index=True)
            with warehouse.connect() as con:
                write_calendar(con, frame)
            publish_snapshot()
    finally:
        mp.undo()
    return data / "analyst" / "warehouse.duckdb"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_snapshot(tmp_path_factory.mktemp("upload-page-warehouse"))


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    """One warm validator for the module, as the page keeps one for its life."""
    return Validator(CAT, results_dir=str(tmp_path_factory.mktemp("gx")))


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Door:
    data: Path
    app: FastAPI
    clock: Clock
    passwords: dict[str, str] = field(default_factory=dict)

    def client(self, **kwargs) -> TestClient:
        return TestClient(self.app, **kwargs)

    def inbox(self, unit: str) -> dict[str, bytes]:
        folder = self.data / "inbox" / unit
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}

    def every_inbox_file(self) -> list[str]:
        root = self.data / "inbox"
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.is_dir() else []

    def staged(self) -> list[str]:
        return sorted(p.name for p in (self.data / "doors" / "tmp").glob("*"))

    def log(self) -> list[dict]:
        path = self.data / "doors" / "uploads.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def open_door(data: Path, snapshot: Path | None, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Door:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(data))
    for name in ("SECTORSTATS_WAREHOUSE", "SECTORSTATS_WAREHOUSE_URL", "SECTORSTATS_INBOX_DIR", "SECTORSTATS_INBOX_URL",
                 "SECTORSTATS_UPLOAD_SECURE_COOKIES", "SECTORSTATS_UPLOAD_ORIGIN", "SECTORSTATS_MAX_FILE_MB"):
        monkeypatch.delenv(name, raising=False)
    if snapshot is not None:
        (data / "analyst").mkdir(parents=True)
        shutil.copyfile(snapshot, data / "analyst" / "warehouse.duckdb")
    clock = Clock()
    config = PageConfig(doors=data / "doors", inbox=data / "inbox", secure_cookies=False, clock=clock)
    app = create_app(config, previewer=Previewer(WarehouseSource(), data / "doors" / "gx", validator=validator),
                     warm=False)
    door = Door(data, app, clock)
    accounts = app.state.page.accounts
    for name, role, unit in (("443", UNIT, "443"), ("436", UNIT, "436"), ("province", PROVINCE, None)):
        if name not in PASSWORDS:
            _, PASSWORDS[name] = accounts.add(name, role, unit)
        else:  # the same passwords in every test: hashing them is what costs
            accounts.add(name, role, unit)
    for name in PASSWORDS:
        _set_password(accounts, name, PASSWORDS[name])
    door.passwords = PASSWORDS
    return door


def _set_password(accounts: AccountStore, name: str, password: str) -> None:
    from ingest.doors.upload.accounts import database, hash_password

    with database(accounts.path) as con:
        con.execute("update accounts set password_hash = ? where name = ?", (_HASHES.setdefault(
            password, hash_password(password)), name))


_HASHES: dict[str, str] = {}


@pytest.fixture
def door(tmp_path: Path, snapshot: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Door:
    return open_door(tmp_path / "data", snapshot, validator, monkeypatch)


# -- reading pages -------------------------------------------------------------------------------------------------

class Page(HTMLParser):
    """The text of every element with an id, and the rows of every table with an id."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._open: list[tuple[str, str | None]] = []
        self._texts: dict[str, list[str]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id")
        if tag in ("input", "meta", "link", "br"):
            return
        self._open.append((tag, ident))
        if ident:
            self._texts[ident] = []
        if tag == "table" and ident:
            self._table = ident
            self.tables[ident] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, ident = self._open.pop()
            if ident:
                self.ids[ident] = " ".join("".join(self._texts.pop(ident)).split())
            if open_tag == tag:
                break
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        for texts in self._texts.values():
            texts.append(data)
        if self._cell is not None:
            self._cell.append(data)


def csrf_of(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)


def login(client: TestClient, name: str, password: str):
    form = client.get("/login")
    return client.post("/login", data={"csrf": csrf_of(form.text), "name": name, "password": password},
                       follow_redirects=False)


def signed_in(door: Door, name: str) -> TestClient:
    client = door.client()
    assert login(client, name, door.passwords[name]).status_code == 303
    return client


def upload(client: TestClient, data: bytes, name: str, *, csrf: str | None = "page", unit: str | None = None,
           fields: dict[str, str] | None = None):
    token = csrf_of(client.get("/" + (f"?unit={unit}" if unit else "")).text) if csrf == "page" else csrf
    form = {**({"csrf": token} if token is not None else {}), **({"unit": unit} if unit else {}), **(fields or {})}
    return client.post("/upload", data=form, files={"file": (name, data, "application/octet-stream")},
                       follow_redirects=False)


def report(unit: str = "443", period: dt.date = MARCH, values: dict | None = None) -> tuple[bytes, dict]:
    """Form 01 of ``unit`` for ``period`` as the official form, filled with the module's consistent values (or
    ``values``); returns its bytes and the A1 address of each number."""
    from ingest.tell.official_forms import form_bytes

    rendered = form_bytes(FORM, CAT.unit(unit), period, values or consistent_values(FORM, SEED, period.month))
    return rendered.data, rendered.cells


def vi_number(n: float) -> str:
    return f"{n:,.0f}".replace(",", ".")


# -- logins, sessions ------------------------------------------------------------------------------------------------

def test_a_unit_logs_in_and_sees_what_it_owes_from_the_snapshot(door: Door, snapshot: Path) -> None:
    client = door.client()
    answer = login(client, "443", door.passwords["443"])
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("sectorstats-session=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback (the test's config): see test_secure_cookies
    page = client.get("/")
    assert page.status_code == 200
    dom = Page(page.text)
    assert dom.ids["unit"] == "Huyện Can Lộc (mã 443)"
    taken = dt.datetime.fromtimestamp((door.data / "analyst" / "warehouse.duckdb").stat().st_mtime, CAT.tz)
    assert dom.ids["owed-source"] == (f"Theo bản chụp kho dữ liệu lúc {taken:%d/%m/%Y %H:%M}; lịch báo cáo tính đến "
                                      "ngày 08/04/2024.")
    assert dom.tables["owed-table"] == OWED_443  # every report the calendar says the unit owes
    con = duckdb.connect(str(snapshot), read_only=True)
    assert con.execute("select count(*) from marts.fct_report_status where unit_code = '443'").fetchone()[0] == 6
    con.close()
    assert dom.tables.get("recent-table") is None and dom.ids["recent"].endswith("chưa nộp tệp nào qua trang này.")


def test_a_wrong_password_is_refused_and_gives_no_session(door: Door) -> None:
    client = door.client()
    answer = login(client, "443", "not-the-password")
    assert answer.status_code == 401
    assert Page(answer.text).ids["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert "sectorstats-session" not in client.cookies
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    unknown = login(client, "999", "whatever")  # an unknown name: the same answer
    assert (unknown.status_code, Page(unknown.text).ids["message"]) == (401, "Tên đăng nhập hoặc mật khẩu không đúng.")


def test_five_failures_lock_the_account_for_15_minutes_even_with_the_right_password(door: Door) -> None:
    client = door.client()
    for _ in range(5):
        assert login(client, "443", "guess").status_code == 401
    door.clock.advance(60)
    locked = login(client, "443", door.passwords["443"])
    assert locked.status_code == 429 and locked.headers["retry-after"] == "841"
    assert Page(locked.text).ids["message"] == "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 14 phút."
    assert "sectorstats-session" not in client.cookies
    door.clock.advance(14 * 60 - 1)
    assert login(client, "443", door.passwords["443"]).status_code == 429
    door.clock.advance(1)
    assert login(client, "443", door.passwords["443"]).status_code == 303


def test_five_failures_from_one_address_lock_it_for_every_name(door: Door) -> None:
    client = door.client()
    for name in ("a", "b", "c", "d", "e"):
        assert login(client, name, "guess").status_code == 401
    assert login(client, "436", door.passwords["436"]).status_code == 429
    door.clock.advance(15 * 60)
    assert login(client, "436", door.passwords["436"]).status_code == 303


def test_failures_older_than_15_minutes_do_not_count(door: Door) -> None:
    client = door.client()
    for _ in range(4):
        assert login(client, "443", "guess").status_code == 401
    door.clock.advance(15 * 60 + 1)
    assert login(client, "443", "guess").status_code == 401
    assert login(client, "443", door.passwords["443"]).status_code == 303


def test_guesses_sent_in_parallel_get_five_tries_and_no_more(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = AccountStore(tmp_path / "accounts.sqlite")
    _, password = store.add("443", UNIT, "443")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: store.login("443", f"guess {i}", f"10.0.0.{i}").reason, range(16)))
    assert sorted(results) == ["throttled"] * 11 + ["wrong"] * 5
    assert store.login("443", password, "10.0.1.1").reason == "throttled"


def test_a_session_ends_after_30_idle_minutes_and_after_8_hours_whatever(door: Door) -> None:
    client = signed_in(door, "443")
    door.clock.advance(29 * 60)
    assert client.get("/").status_code == 200  # within 30 minutes: still in, and the idle clock restarts
    door.clock.advance(30 * 60)
    expired = client.get("/", follow_redirects=False)
    assert (expired.status_code, expired.headers["location"]) == (303, "/login?m=expired")
    assert Page(client.get("/login?m=expired").text).ids["message"] == ("Phiên làm việc đã hết hạn. Vui lòng đăng "
                                                                        "nhập lại.")

    client = signed_in(door, "443")
    for _ in range(23):  # active every 20 minutes: 7 h 40 min
        door.clock.advance(20 * 60)
        assert client.get("/").status_code == 200
    door.clock.advance(20 * 60)  # 8 h after the login
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?m=expired"


def test_logout_ends_the_session_on_the_server(door: Door) -> None:
    client = signed_in(door, "443")
    token = client.cookies["sectorstats-session"]
    page = client.get("/")
    assert client.post("/logout", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    answer = client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?m=logged_out")
    other = door.client()
    other.cookies.set("sectorstats-session", token)  # the old cookie, kept by someone
    assert other.get("/", follow_redirects=False).headers["location"] == "/login?m=expired"


def test_a_new_password_or_a_disabled_account_ends_its_sessions(door: Door) -> None:
    client = signed_in(door, "443")
    accounts = door.app.state.page.accounts
    accounts.set_disabled("443", True)
    assert client.get("/", follow_redirects=False).status_code == 303
    disabled = login(door.client(), "443", door.passwords["443"])
    assert (disabled.status_code, Page(disabled.text).ids["message"]) == (
        401, "Tài khoản này đã bị khoá. Vui lòng liên hệ Sở.")
    accounts.set_disabled("443", False)
    client = signed_in(door, "443")
    new = accounts.new_password("443")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert login(door.client(), "443", door.passwords["443"]).status_code == 401
    assert login(door.client(), "443", new).status_code == 303


def test_secure_cookies(door: Door, monkeypatch: pytest.MonkeyPatch) -> None:
    # over HTTPS (directly, or as a trusted proxy says) the cookie is Secure and __Host- prefixed whatever the setting
    client = door.client(base_url="https://testserver")
    form = client.get("/login")
    assert form.headers["set-cookie"].startswith("__Host-sectorstats-login=")
    answer = client.post("/login", data={"csrf": csrf_of(form.text), "name": "443", "password": PASSWORDS["443"]},
                         follow_redirects=False)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-sectorstats-session=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie
    assert client.get("/").status_code == 200
    # SECTORSTATS_UPLOAD_SECURE_COOKIES, else on unless the page listens on loopback
    for value, host, secure in (("", "127.0.0.1", False), ("", "::1", False), ("", "localhost", False),
                                ("", "0.0.0.0", True), ("", "10.0.0.5", True), ("1", "127.0.0.1", True),
                                ("0", "10.0.0.5", False)):
        monkeypatch.setenv("SECTORSTATS_UPLOAD_SECURE_COOKIES", value)
        assert PageConfig.from_environment(host).secure_cookies is secure, (value, host)


def test_every_answer_carries_the_security_headers(door: Door) -> None:
    client = signed_in(door, "443")
    for path in ("/", "/login", "/nowhere"):
        answer = client.get(path, follow_redirects=False)
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
    assert CSP == ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                   "frame-ancestors 'none'; base-uri 'none'")
    assert client.get("/nowhere").status_code == 404
    assert client.get("/static/upload.css").headers["cache-control"] == "public, max-age=3600"
    for generated in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(generated).status_code == 404
    page = client.get("/").text
    assert "<script" not in page and not re.search(r"<[^>]+\son\w+=", page)  # no script at all


# -- CSRF ----------------------------------------------------------------------------------------------------------

def test_an_upload_without_the_right_csrf_token_is_refused_before_its_file_is_read(door: Door) -> None:
    client = signed_in(door, "443")
    data, _ = report()
    for token in (None, "", "forged", csrf_of(door.client().get("/login").text)):
        answer = upload(client, data, "bieu01.xlsx", csrf=token)
        assert answer.status_code == 403, token
        assert Page(answer.text).ids["error"] == ("Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang "
                                                  "rồi thử lại.")
    # the token after the file (a hand-made request): the file part began without it
    token = csrf_of(client.get("/").text)
    body, ctype = multipart([("file", "bieu01.xlsx", data), ("csrf", None, token.encode())])
    assert client.post("/upload", content=body, headers={"content-type": ctype}).status_code == 403
    # another session's token
    other = signed_in(door, "436")
    assert upload(client, data, "bieu01.xlsx", csrf=csrf_of(other.get("/").text)).status_code == 403
    assert door.every_inbox_file() == [] and door.staged() == [] and door.log() == []


def test_a_post_from_another_site_is_refused(door: Door) -> None:
    client = signed_in(door, "443")
    data, _ = report()
    token = csrf_of(client.get("/").text)
    for header, value in (("origin", "https://evil.example"), ("origin", "null"), ("referer", "https://evil.example/x")):
        answer = client.post("/upload", data={"csrf": token}, files={"file": ("b.xlsx", data)},
                             headers={header: value}, follow_redirects=False)
        assert answer.status_code == 403, (header, value)
    same = client.post("/upload", data={"csrf": token}, files={"file": ("b.xlsx", data)},
                       headers={"origin": "http://testserver"}, follow_redirects=False)
    assert same.status_code == 303
    form = door.client()
    login_page = form.get("/login")
    assert form.post("/login", data={"csrf": csrf_of(login_page.text), "name": "443", "password": PASSWORDS["443"]},
                     headers={"origin": "https://evil.example"}, follow_redirects=False).status_code == 403
    assert form.post("/login", data={"name": "443", "password": PASSWORDS["443"]},
                     follow_redirects=False).status_code == 403  # no login token


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> tuple[bytes, str]:
    out = io.BytesIO()
    for name, filename, data in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.write(f"Content-Disposition: {disposition}\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# -- the size cap ------------------------------------------------------------------------------------------------

def asgi_post(app, path: str, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes]) -> tuple[int, int]:
    """POST straight through the ASGI interface; returns the status and how many body chunks the page pulled."""
    pulled = 0
    status = 0

    async def receive():
        nonlocal pulled
        try:
            chunk = next(chunks)
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 50000),
             "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    return status, pulled


def test_an_upload_over_the_limit_is_refused_before_or_while_it_is_read(door: Door,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_MAX_FILE_MB", "1")
    client = signed_in(door, "443")
    token = csrf_of(client.get("/").text)
    cookie = (b"cookie", f"sectorstats-session={client.cookies['sectorstats-session']}".encode())
    head, ctype = multipart([("csrf", None, token.encode())])
    head = head[: -len(b"--b0undary--\r\n")] + (b'--b0undary\r\nContent-Disposition: form-data; name="file"; '
                                                b'filename="big.xlsx"\r\n\r\n')
    chunk = bytes(64 * 1024)

    def body(size: int) -> Iterator[bytes]:
        yield head
        for _ in range(size // len(chunk)):
            yield chunk

    # declared too large: 413 before a byte of the body is pulled
    status, pulled = asgi_post(door.app, "/upload", [cookie, (b"content-type", ctype.encode()),
                                                     (b"content-length", str(64 * MB).encode())], body(64 * MB))
    assert (status, pulled) == (413, 0)
    # no length declared (chunked): 413 as soon as the file passes 1 MB; the rest is never pulled
    status, pulled = asgi_post(door.app, "/upload", [cookie, (b"content-type", ctype.encode())], body(64 * MB))
    assert status == 413 and pulled == 1 + 16 + 1, pulled
    # a lying length: the same
    status, pulled = asgi_post(door.app, "/upload", [cookie, (b"content-type", ctype.encode()),
                                                     (b"content-length", b"1000")], body(64 * MB))
    assert status == 413 and pulled == 1 + 16 + 1
    assert door.every_inbox_file() == [] and door.staged() == [] and door.log() == []
    # the page says so, in words
    answer = upload(client, bytes(MB + 1), "big.xlsx")
    assert (answer.status_code, Page(answer.text).ids["error"]) == (413, "Tệp quá lớn (giới hạn 1 MB), chưa được nhận.")
    assert upload(client, report()[0], "ok.xlsx").status_code == 303  # under the limit


# -- who sees and uploads what ------------------------------------------------------------------------------------

def test_a_unit_cannot_see_or_upload_for_another_unit(door: Door) -> None:
    client = signed_in(door, "443")
    data, _ = report(unit="436")
    assert client.get("/?unit=443").status_code == 200  # its own
    for url in ("/?unit=436", "/?unit=42", "/?unit=99999"):
        answer = client.get(url)
        assert answer.status_code == 403, url
        assert Page(answer.text).ids["error"] == "Tài khoản này không được xem hoặc nộp báo cáo của đơn vị khác."
    # a unit field added to the form (form tampering): refused before the file is read, nothing stored
    answer = upload(client, data, "bieu01.xlsx", fields={"unit": "436"})
    assert answer.status_code == 403
    token = csrf_of(client.get("/").text)
    body, ctype = multipart([("csrf", None, token.encode()), ("file", "b.xlsx", data), ("unit", None, b"436")])
    assert client.post("/upload", content=body, headers={"content-type": ctype}).status_code == 403  # after the file
    assert door.every_inbox_file() == [] and door.staged() == []
    # the same file uploaded honestly lands in the account's own folder, and is the DAG's own mismatch error
    answer = upload(client, data, "bieu01.xlsx")
    verdict = Page(client.get(answer.headers["location"]).text)
    assert door.every_inbox_file() == ["443/bieu01.xlsx"]
    assert verdict.ids["verdict"] == "Không đạt: báo cáo sẽ bị từ chối. Vui lòng sửa các lỗi dưới đây rồi nộp lại."
    assert verdict.tables["problems"][1:] == [[
        "Lỗi", "Bieu 01", "", "Sheet «Bieu 01»: biểu ghi đơn vị báo cáo 436 nhưng được gửi bởi đơn vị 443 (thư mục, "
        "địa chỉ thư hoặc tài khoản của đơn vị này). Có thể gửi nhầm; vui lòng kiểm tra."]]


def test_an_upload_and_its_feedback_are_only_for_the_account_that_made_it(door: Door) -> None:
    values = consistent_values(FORM, SEED, 3)
    values[("01", "period")] += 5
    mine = signed_in(door, "443")
    answer = upload(mine, report(values=values)[0], "bieu01_T3.xlsx")
    verdict_url = answer.headers["location"]
    assert mine.get(verdict_url).status_code == 200
    workbook = mine.get(verdict_url + "/feedback")
    assert workbook.status_code == 200
    assert workbook.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert workbook.headers["content-disposition"].startswith("attachment; filename=")
    other, province = signed_in(door, "436"), signed_in(door, "province")
    for client in (other, province, door.client()):
        for url in (verdict_url, verdict_url + "/feedback"):
            got = client.get(url, follow_redirects=False)
            assert got.status_code in (404, 303), url  # 303: to the login page, for no session at all
            assert (got.status_code == 303) == (client.cookies.get("sectorstats-session") is None)
    assert other.get("/uploads/AAAAAAAAAAAAAAAA").status_code == 404
    assert other.get("/uploads/..%2F..%2Fuploads").status_code == 404
    # the other unit's recent uploads do not list it
    assert "recent-table" not in Page(other.get("/").text).tables


def test_the_province_sees_every_unit_and_uploads_for_the_one_it_picks(door: Door) -> None:
    client = signed_in(door, "province")
    chooser = Page(client.get("/").text)
    assert "unit" not in chooser.ids and "owed-table" not in chooser.tables  # no unit until one is picked
    page = Page(client.get("/?unit=436").text)
    assert page.ids["unit"] == "Thành phố Hà Tĩnh (mã 436)"
    assert ["01/LĐVL-H", "Tháng 1 năm 2024", "10/02/2024", "Đã nhận, đúng hạn", "05/02/2024"] in \
        page.tables["owed-table"]
    data, _ = report(unit="436")
    answer = upload(client, data, "bieu01_T3.xlsx", unit="436")
    verdict = Page(client.get(answer.headers["location"]).text)
    assert verdict.ids["verdict"] == "Đạt: không phát hiện vấn đề nào."
    assert verdict.ids["stored-as"] == "Đã lưu vào hộp thư đến của đơn vị 436 với tên «bieu01_T3.xlsx»."
    assert door.inbox("436") == {"bieu01_T3.xlsx": data} and door.inbox("443") == {}
    assert door.log()[0]["account"] == "province" and door.log()[0]["unit_code"] == "436"
    # a unit that does not exist, or the province itself, is no folder to upload into
    assert upload(client, data, "x.xlsx", unit="42").status_code == 404
    assert upload(client, data, "x.xlsx", unit="../443").status_code == 404
    assert client.get("/?unit=99999").status_code == 404


# -- the preview ----------------------------------------------------------------------------------------------------

def test_a_good_report_is_accepted_and_lands_in_the_units_inbox_byte_for_byte(door: Door) -> None:
    client = signed_in(door, "443")
    data, _ = report()
    answer = upload(client, data, "Báo cáo tháng 3.xlsx")
    assert answer.status_code == 303 and re.fullmatch(r"/uploads/[A-Za-z0-9_-]{16}", answer.headers["location"])
    assert set(dict(p.split(";") for p in answer.headers["server-timing"].split(", "))) == {
        "parse", "validate", "total"}
    verdict = Page(client.get(answer.headers["location"]).text)
    assert verdict.ids["verdict"] == "Đạt: không phát hiện vấn đề nào."
    assert verdict.ids["report"] == "01/LĐVL-H Tháng 3 năm 2024"
    assert verdict.ids["file-name"] == "Báo cáo tháng 3.xlsx"
    assert verdict.ids["preview-note"].startswith("Đây là kết quả kiểm tra sơ bộ. Kết quả chính thức là của lần nạp")
    assert "problems" not in verdict.tables and "feedback" not in verdict.ids and "no-history" not in verdict.ids
    assert door.inbox("443") == {"Báo cáo tháng 3.xlsx": data}
    assert door.every_inbox_file() == ["443/Báo cáo tháng 3.xlsx"] and door.staged() == []
    [entry] = door.log()
    assert {k: entry[k] for k in ("account", "unit_code", "name", "original_name", "sha256", "size", "status",
                                  "n_errors", "n_warnings")} == {
        "account": "443", "unit_code": "443", "name": "Báo cáo tháng 3.xlsx", "original_name": "Báo cáo tháng 3.xlsx",
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "status": "accepted", "n_errors": 0,
        "n_warnings": 0}
    recent = Page(client.get("/").text).tables["recent-table"]
    assert [r[1:5] for r in recent[1:]] == [["443", "Báo cáo tháng 3.xlsx", "Đạt", "chưa nạp"]]
    # the same name again: a second file beside the first, which is never overwritten
    again, _ = report(values={**consistent_values(FORM, SEED, 3), ("09", "period"): 1.0})
    upload(client, again, "Báo cáo tháng 3.xlsx")
    assert door.inbox("443") == {"Báo cáo tháng 3.xlsx": data, "Báo cáo tháng 3 (2).xlsx": again}


def test_a_wrong_report_is_rejected_with_each_cell_and_the_vietnamese_message(door: Door) -> None:
    values = consistent_values(FORM, SEED, 3)
    total, ytd = values[("01", "period")], values[("01", "ytd")]
    values[("01", "period")] = total + 5  # the total no longer the sum of rows 03 and 04, this month and to date
    values[("01", "ytd")] = ytd + 5
    data, cells = report(values=values)
    client = signed_in(door, "443")
    answer = upload(client, data, "bieu01_T3.xlsx")
    page = client.get(answer.headers["location"])
    verdict = Page(page.text)
    assert verdict.ids["verdict"] == "Không đạt: báo cáo sẽ bị từ chối. Vui lòng sửa các lỗi dưới đây rồi nộp lại."
    assert cells[("01", "period")] == "F13" and cells[("01", "ytd")] == "G13"
    assert verdict.tables["problems"] == [
        ["Mức độ", "Sheet", "Ô", "Nội dung"],
        ["Lỗi", "Bieu 01", "F13", f"Sheet «Bieu 01», ô F13 (mã số 01, cột «Thực hiện kỳ báo cáo»): tổng "
                                  f"{vi_number(total + 5)} khác tổng các mã số 03, 04 là {vi_number(total)}."],
        ["Lỗi", "Bieu 01", "G13", f"Sheet «Bieu 01», ô G13 (mã số 01, cột «Lũy kế từ đầu năm»): tổng "
                                  f"{vi_number(ytd + 5)} khác tổng các mã số 03, 04 là {vi_number(ytd)}."]]
    assert door.inbox("443") == {"bieu01_T3.xlsx": data}  # delivered all the same: the DAG's verdict is recorded
    assert door.log()[0]["status"] == "rejected" and door.log()[0]["n_errors"] == 2
    # in English, the same problems in the catalogue's English
    english = Page(client.get(answer.headers["location"] + "?lang=en").text)
    assert english.ids["verdict"] == "Rejected: please fix the errors below and upload the file again."
    assert english.tables["problems"][1] == [
        "error", "Bieu 01", "F13", f"Sheet «Bieu 01», cell F13 (row 01, «this period»): the total "
                                   f"{vi_number(total + 5)} differs from the sum of rows 03, 04, {vi_number(total)}."]
    # the feedback workbook: the district's sheet with the two cells marked, and the list
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(answer.headers["location"] + "/feedback").content))
    assert workbook.sheetnames == ["Bieu 01", "Danh sách lỗi"]
    sheet = workbook["Bieu 01"]
    assert sheet["F13"].value == total + 5 and sheet["F13"].comment.text.startswith("[sum-mismatch] Sheet «Bieu 01»")
    assert sheet["G13"].comment is not None and sheet["F14"].comment is None
    assert [r[3] for r in workbook["Danh sách lỗi"].iter_rows(min_row=2, values_only=True)] == ["F13", "G13"]


def test_the_history_of_the_unit_is_the_snapshots(door: Door) -> None:
    """March's year to date must continue February's as the snapshot holds it: the DAG's warning, in the preview."""
    values = consistent_values(FORM, SEED, 3)
    values[("09", "ytd")] += 7
    data, cells = report(values=values)
    client = signed_in(door, "443")
    verdict = Page(client.get(upload(client, data, "b.xlsx").headers["location"]).text)
    assert verdict.ids["verdict"] == "Đạt, có cảnh báo: vui lòng kiểm tra lại các ô dưới đây."
    [_, row] = verdict.tables["problems"]
    february = consistent_values(FORM, SEED, 2)[("09", "ytd")]
    march = consistent_values(FORM, SEED, 3)[("09", "period")]
    assert row[:3] == ["Cảnh báo", "Bieu 01", cells[("09", "ytd")]]
    assert vi_number(february) in row[3] and vi_number(february + march) in row[3]
    assert vi_number(february + march + 7) in row[3]


def test_without_a_snapshot_the_page_says_so_and_still_previews(tmp_path: Path, validator: Validator,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    door = open_door(tmp_path / "data", None, validator, monkeypatch)
    client = signed_in(door, "443")
    page = Page(client.get("/").text)
    assert page.ids["owed-source"] == ("Chưa có bản chụp kho dữ liệu nên chưa xem được tình hình nộp báo cáo. Vẫn "
                                       "có thể nộp tệp bên dưới.")
    assert "owed-table" not in page.tables
    verdict = Page(client.get(upload(client, report()[0], "b.xlsx").headers["location"]).text)
    assert verdict.ids["verdict"] == "Đạt: không phát hiện vấn đề nào."
    assert verdict.ids["no-history"] == ("Chưa đọc được số liệu các kỳ trước của đơn vị (chưa có bản chụp kho dữ "
                                         "liệu, hoặc lúc này không đọc được) nên tệp chưa được so sánh với các kỳ "
                                         "trước.")


# -- hostile files ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "stored", "rule"), [
    ("<script>.xlsx", b"%PDF-1.4 not a workbook", "_script_.xlsx", "file-not-spreadsheet"),
    ("<img src=x onerror=alert(1)>.xls", b"<html><script>alert(1)</script></html>",
     "_img src=x onerror=alert(1)_.xls", "file-export-empty"),  # a page with no table: read as HTML, nothing run
    ("../../x.xlsx", "bomb", "x.xlsx", "file-bomb"),
    ("..", b"", "bao-cao", "file-empty"),
    ('a"b\\..\\c.xlsx', b"PK\x03\x04 broken zip", "c.xlsx", "file-damaged"),
])
def test_a_hostile_file_is_refused_with_its_problem_and_stays_in_the_units_folder(
        door: Door, name: str, content: bytes | str, stored: str, rule: str) -> None:
    data = bomb_zip(200 * MB) if content == "bomb" else content
    client = signed_in(door, "443")
    answer = upload(client, data, name)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    verdict = Page(page.text)
    assert verdict.ids["verdict"].startswith("Không đạt")
    assert re.findall(r'data-rule="([^"]+)"', page.text) == [rule]
    assert verdict.ids["file-name"] == name  # shown as sent, as text
    assert "<script" not in page.text and "<img" not in page.text  # escaped wherever it is shown
    assert verdict.ids["stored-as"] == f"Đã lưu vào hộp thư đến của đơn vị 443 với tên «{stored}»."
    assert door.every_inbox_file() == [f"443/{stored}"]
    assert door.inbox("443")[stored] == data
    [problem] = verdict.tables["problems"][1:]
    assert problem[0] == "Lỗi" and f"«{stored}»" in problem[3]


def test_a_file_input_left_empty_is_asked_for_again(door: Door) -> None:
    client = signed_in(door, "443")
    answer = upload(client, b"", "")
    assert (answer.status_code, Page(answer.text).ids["error"]) == (400, "Vui lòng chọn một tệp để nộp.")
    assert door.every_inbox_file() == [] and door.staged() == []


def test_the_dag_takes_the_upload_and_its_recorded_verdict_shows_on_the_page(door: Door) -> None:
    """The file goes through the normal pipeline from the unit's inbox folder; once loaded and published, the page
    shows the verdict the DAG recorded beside the preview's."""
    from ingest.marts.publish import publish_snapshot
    from ingest.pipeline import run_ingest

    client = signed_in(door, "443")
    data, _ = report()
    verdict_url = upload(client, data, "bieu01_T3.xlsx").headers["location"]
    assert Page(client.get("/").text).tables["recent-table"][1][4] == "chưa nạp"
    run_ingest("after-upload")
    publish_snapshot()
    con = duckdb.connect(str(door.data / "warehouse.duckdb"), read_only=True)
    assert con.execute("select a.folder_unit_code, a.file_name, s.status, s.unit_code from raw.arrivals a "
                       "join raw.submissions s using (sha256)").fetchall() == [
        ("443", "bieu01_T3.xlsx", "accepted", "443")]
    con.close()
    assert Page(client.get("/").text).tables["recent-table"][1][3:5] == ["Đạt", "Đạt"]
    assert Page(client.get(verdict_url).text).ids["recorded"] == "Đạt"


def test_a_preview_that_fails_still_delivers_the_file(door: Door, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(door.app.state.page.previewer, "preview", broken)
    client = signed_in(door, "443")
    data, _ = report()
    verdict = Page(client.get(upload(client, data, "b.xlsx").headers["location"]).text)
    assert verdict.ids["verdict"] == ("Tệp đã được lưu vào hộp thư đến nhưng chưa kiểm tra ngay được. Kết quả sẽ "
                                      "được gửi qua thư điện tử sau lần nạp dữ liệu tiếp theo.")
    assert door.inbox("443") == {"b.xlsx": data} and door.staged() == []
    assert door.log()[0]["status"] == "failed"


@pytest.mark.parametrize(("sent", "stored"), [
    ("Báo cáo T3.xlsx", "Báo cáo T3.xlsx"),
    ("C:\\Users\\ke toan\\Desktop\\bieu01.xls", "bieu01.xls"),
    ("../../../etc/passwd", "passwd"),
    ("..", "bao-cao"),
    (".hidden.xlsx", "hidden.xlsx"),
    ("bieu01.xlsx. . ", "bieu01.xlsx"),
    ('a<b>c:d"e|f?g*h.xlsx', "a_b_c_d_e_f_g_h.xlsx"),
    ("tab\there\x00.xlsx", "tabhere.xlsx"),
    ("Bà" * 150 + ".xlsx", "Bà" * 58 + "B.xlsx"),  # 180 bytes of UTF-8 at most, the extension kept
])
def test_the_name_an_upload_is_stored_under(sent: str, stored: str) -> None:
    from ingest.doors.upload.delivery import MAX_NAME_BYTES, inbox_name

    assert inbox_name(sent) == stored
    assert len(inbox_name(sent).encode()) <= MAX_NAME_BYTES


def test_delivery_never_overwrites_with_or_without_hard_links_and_into_an_object_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from ingest.doors.upload.delivery import deliver

    staged = tmp_path / "doors" / "tmp" / "upload-1"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"new")
    inbox = tmp_path / "inbox"
    (inbox / "443").mkdir(parents=True)
    (inbox / "443" / "b.xlsx").write_bytes(b"old")
    assert deliver(staged, inbox, "443", "b.xlsx") == "b (2).xlsx"
    assert staged.exists() and (inbox / "443" / "b (2).xlsx").stat().st_ino == staged.stat().st_ino  # a link

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "no hard links here")

    with monkeypatch.context() as mp:
        mp.setattr(os, "link", no_links)
        assert deliver(staged, inbox, "443", "b.xlsx") == "b (3).xlsx"
    assert {p.name: p.read_bytes() for p in (inbox / "443").iterdir()} == {
        "b.xlsx": b"old", "b (2).xlsx": b"new", "b (3).xlsx": b"new"}
    assert sorted(p.name for p in staged.parent.iterdir()) == ["upload-1"]  # no copy left behind
    with pytest.raises(ValueError, match="not a unit code"):
        deliver(staged, inbox, "../443", "b.xlsx")

    from airflow.sdk import ObjectStoragePath

    store = ObjectStoragePath(f"file://{tmp_path / 'store'}")
    assert [deliver(staged, store, "443", "b.xlsx") for _ in range(2)] == ["b.xlsx", "b (2).xlsx"]
    assert {p.name: p.read_bytes() for p in (tmp_path / "store" / "443").iterdir()} == {
        "b.xlsx": b"new", "b (2).xlsx": b"new"}


# -- the language -----------------------------------------------------------------------------------------------------

def test_english_is_a_toggle_kept_in_a_cookie(door: Door) -> None:
    client = signed_in(door, "443")
    vietnamese = Page(client.get("/").text)
    assert vietnamese.ids["language"] == "English"
    english = client.get("/?lang=en")
    assert "lang=en" in english.headers["set-cookie"]
    page = Page(english.text)
    assert page.ids["unit"] == "Huyện Can Lộc (code 443)" and page.ids["language"] == "Tiếng Việt"
    assert page.tables["owed-table"][0] == ["Form", "Period", "Due", "Status", "Received"]
    assert ["01/LĐVL-H", "month 1/2024", "10/02/2024", "received on time", "05/02/2024"] in page.tables["owed-table"]
    assert Page(client.get("/").text).ids["unit"] == "Huyện Can Lộc (code 443)"  # remembered
    assert Page(client.get("/?lang=vi").text).ids["unit"] == "Huyện Can Lộc (mã 443)"


def test_every_text_of_the_page_is_in_both_languages() -> None:
    from ingest.doors.upload.texts import page_texts

    texts = page_texts().texts
    assert all(set(v) == {"vi", "en"} and v["vi"] and v["en"] for v in texts.values())
    from ingest.catalogue.constants import REPORT_STATES, SUBMISSION_STATUSES

    assert {f"states.{s}" for s in REPORT_STATES} <= set(texts)
    assert {f"statuses.{s}" for s in SUBMISSION_STATUSES} | {f"verdict.{s}" for s in SUBMISSION_STATUSES} <= set(texts)


# -- the command line -----------------------------------------------------------------------------------------------

def test_accounts_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    assert cli(["accounts", "add", "--unit", "443"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "account 443 (unit 443) added; its password, shown this once:"
    password = out[1]
    assert re.fullmatch(r"([a-zA-Z2-9]{4}-){4}[a-zA-Z2-9]{4}", password)
    assert cli(["accounts", "add", "--province"]) == 0
    capsys.readouterr()
    assert cli(["accounts", "add", "--unit", "443"]) == 2
    assert cli(["accounts", "add", "--unit", "999"]) == 2
    assert "no unit '999'" in capsys.readouterr().err
    assert cli(["accounts", "list"]) == 0
    assert [line.split() for line in capsys.readouterr().out.splitlines()] == [
        ["province", "province", "active"], ["443", "unit", "443", "active"]]
    store = AccountStore()
    assert store.login("443", password, "127.0.0.1").account.unit_code == "443"
    database = tmp_path / "data" / "doors" / "upload_page.sqlite"
    assert oct(database.stat().st_mode & 0o777) == "0o600"
    assert password.encode() not in database.read_bytes()
    import sqlite3

    [(stored,)] = sqlite3.connect(database).execute("select password_hash from accounts where name = '443'")
    assert stored.startswith("scrypt$32768$8$1$") and verify_password(password, stored)
    assert not verify_password(password + "x", stored)
    assert cli(["accounts", "disable", "443"]) == 0
    assert store.login("443", password, "127.0.0.2").reason == "disabled"
    assert cli(["accounts", "enable", "443"]) == 0
    assert cli(["accounts", "password", "443"]) == 0
    new = capsys.readouterr().out.splitlines()[-1]
    assert store.login("443", password, "127.0.0.3").reason == "wrong"
    assert store.login("443", new, "127.0.0.3").account is not None
