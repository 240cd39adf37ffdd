"""The upload page's web application: FastAPI, served by uvicorn (``python -m ingest upload-page``).

Pages, all server-rendered HTML (Jinja2 with autoescape; no script), Vietnamese first, English with ``?lang=en``
(remembered in a cookie):

- ``GET /login``, ``POST /login``, ``POST /logout``;
- ``GET /``: the unit's page, what it owes (the reporting calendar), the upload form and the account's recent
  uploads; the province's account picks the unit (``?unit=443``);
- ``POST /upload`` → ``303 /uploads/<id>``: the file received, delivered to the inbox, previewed (:mod:`.preview`)
  and announced to Airflow, whose ingest DAG then takes it at once (:mod:`ingest.doors.announcements`);
- ``GET /uploads/<id>``: the preview's verdict with every problem's sheet, cell and message, and
  ``GET /uploads/<id>/feedback``: its feedback workbook. Both only for the account that uploaded it (404 for any
  other: an upload id says nothing about whether it exists);
- ``GET /static/…`` (the style sheet), ``GET /healthz`` (for the reverse proxy's checks).

Security, and why:

- **authorisation**: a unit's account sees and uploads only its own unit's reports; the unit comes from the account,
  never from the form or the URL (``?unit=`` or a ``unit`` field naming another unit is a 403). The province's
  account names the unit it uploads for; the preview then takes that unit as the file's folder, as the DAG does;
- **sessions** (:mod:`.sessions`): the cookie is ``HttpOnly`` and ``SameSite=Strict``, and ``Secure`` (with the
  ``__Host-`` prefix, so no other host or path can set it) whenever the request came over HTTPS or
  ``SECTORSTATS_UPLOAD_SECURE_COOKIES=1``; unset, that is on unless the page listens on a loopback address. Behind
  a reverse proxy terminating TLS on the same machine the page listens on loopback: set the variable to 1 (or let
  uvicorn trust the proxy's ``X-Forwarded-Proto``, ``SECTORSTATS_UPLOAD_TRUSTED_PROXIES``);
- **CSRF**: every form carries the session's token (the login form a token tied to a cookie of its own), checked on
  every POST before anything is done, the upload's before its file is read; a POST whose ``Origin`` (or, without
  one, ``Referer``) names another site is refused too (``SECTORSTATS_UPLOAD_ORIGIN``: the public origin, when a
  proxy rewrites the Host header);
- **headers**: a Content-Security-Policy allowing nothing but this site's style sheet and icon (no script at all,
  no framing, forms posting only here), ``X-Frame-Options: DENY``, ``nosniff``, ``Referrer-Policy: same-origin``,
  and ``Cache-Control: no-store`` on everything but the style sheet;
- **resources**: an upload's body is capped (:mod:`.receive`), at most :attr:`PageConfig.previews` previews run at
  a time (each a worker process under the reading limits) and at most :attr:`PageConfig.waiting` wait; beyond,
  503. FastAPI's generated API documentation is switched off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import ipaddress
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.background import BackgroundTask
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.catalogue import ROMAN_QUARTERS, Unit, load_catalogue
from ingest.doors.announcements import Announcer, Delivered
from ingest.doors.upload.accounts import Account, AccountStore, Clock, doors_dir
from ingest.doors.upload.delivery import (
    UploadLog,
    deliver,
    inbox_name,
    is_upload_id,
    new_upload_id,
    staging_dir,
    sweep_staging,
)
from ingest.doors.upload.preview import Preview, Previewer, write_feedback
from ingest.doors.upload.receive import Refused, receive
from ingest.doors.upload.sessions import Session, SessionStore, csrf_token, same_token
from ingest.doors.upload.source import NO_CALENDAR, NO_SNAPSHOT, OK, UNAVAILABLE, WarehouseSource
from ingest.doors.upload.texts import DEFAULT_LANGUAGE, LANGUAGES, page_texts
from ingest.read.limits import current_limits, human_bytes
from ingest.settings import inbox_location

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE, LOGIN_COOKIE, LANGUAGE_COOKIE = "sectorstats-session", "sectorstats-login", "lang"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OUTSTANDING = ("missing", "rejected", "unreadable", "due_soon")  # what a unit still has to do, shown first
RECEIVED_SHOWN = 24  # reports already received shown under the outstanding ones, the latest first
SMALL_FORM_BYTES = 8 * 1024  # the login and logout forms
FEEDBACK_WAIT = 20.0  # seconds a download waits for a workbook still being written


def _flag(name: str) -> bool | None:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: use 1 or 0")


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass
class PageConfig:
    doors: Path  # the page's own files (doors_dir())
    inbox: Any  # where uploads are delivered (inbox_location())
    secure_cookies: bool  # Secure cookies even on plain HTTP requests (HTTPS ones always get them)
    public_origin: str = ""  # scheme://host[:port] districts reach the page at, for the Origin check ("" = Host)
    clock: Clock = time.time
    previews: int = 2  # previews running at once (the CPUs of the 2-core machine)
    waiting: int = 16  # uploads waiting for a preview before the page answers 503

    @classmethod
    def from_environment(cls, host: str = "127.0.0.1") -> PageConfig:
        """``SECTORSTATS_UPLOAD_SECURE_COOKIES`` (1/0; unset: on unless ``host`` is a loopback address),
        ``SECTORSTATS_UPLOAD_ORIGIN``, and the data directory's inbox and ``doors/``."""
        secure = _flag("SECTORSTATS_UPLOAD_SECURE_COOKIES")
        return cls(doors=doors_dir(), inbox=inbox_location(),
                   secure_cookies=(not is_loopback(host)) if secure is None else secure,
                   public_origin=os.environ.get("SECTORSTATS_UPLOAD_ORIGIN", "").strip().rstrip("/"))


class PageError(Exception):
    """An answer other than the page asked for: an HTTP status and the text (key of ``upload_page.yaml``)."""

    def __init__(self, status: int, key: str, headers: dict[str, str] | None = None, **values: object) -> None:
        super().__init__(f"{status} {key}")
        self.status, self.key, self.headers, self.values = status, key, headers or {}, values


class SignIn(Exception):
    """No live session: to the login page (saying the session ended, when the browser had one)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("sign in")
        self.expired = expired


class SecurityHeaders:
    """The headers of every answer (see the module's text), set on the way out."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Cross-Origin-Resource-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                headers["Cache-Control"] = "public, max-age=3600" if static else "no-store"
                if self.hsts and scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, with_headers)


class UploadPage:
    """What the routes share: the stores, the warm previewer, the texts and templates."""

    def __init__(self, config: PageConfig, previewer: Previewer | None = None,
                 source: WarehouseSource | None = None, announcer: Announcer | None = None) -> None:
        self.config = config
        self.announcer = announcer
        database = config.doors / "upload_page.sqlite"
        self.accounts = AccountStore(database, config.clock)
        self.sessions = SessionStore(database, config.clock)
        self.log = UploadLog(config.doors)
        self.source = source or WarehouseSource()
        self.previewer = previewer or Previewer(self.source, config.doors / "gx")
        self.texts = page_texts()
        self.catalogue = load_catalogue()
        self.staging = staging_dir(config.inbox, config.doors)
        sweep_staging(self.staging)
        self.limiter = anyio.CapacityLimiter(config.previews)
        self.waiting = 0
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"), undefined=StrictUndefined,
                                     autoescape=select_autoescape(["html"]))
        units = sorted((u for u in self.catalogue.units if u.code != self.catalogue.province_code),
                       key=lambda u: (len(u.code), u.code))
        self.units: list[Unit] = units

    # -- requests ----------------------------------------------------------------------------------------------

    def secure(self, request: Request) -> bool:
        return self.config.secure_cookies or request.url.scheme == "https"

    def cookie(self, base: str, request: Request) -> str:
        return f"__Host-{base}" if self.secure(request) else base

    def set_cookie(self, response: Response, base: str, value: str, request: Request,
                   max_age: int | None = None) -> None:
        response.set_cookie(self.cookie(base, request), value, max_age=max_age, path="/",
                            secure=self.secure(request), httponly=True, samesite="strict")

    def session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(self.cookie(SESSION_COOKIE, request)))

    def require(self, request: Request) -> Session:
        session = self.session(request)
        if session is None:
            raise SignIn(expired=self.cookie(SESSION_COOKIE, request) in request.cookies)
        return session

    def check_origin(self, request: Request) -> None:
        """A POST from another site is refused (the CSRF token is checked as well)."""
        allowed = {request.headers.get("host", "").lower()}
        if self.config.public_origin:
            allowed.add(urlsplit(self.config.public_origin).netloc.lower())
        origin = request.headers.get("origin")
        source = origin if origin is not None else request.headers.get("referer")
        if source is None:
            return
        if source == "null" or urlsplit(source).netloc.lower() not in allowed:
            log.warning("upload page: %s %s from origin %r refused", request.method, request.url.path, source)
            raise PageError(403, "errors.csrf")

    def lang(self, request: Request) -> str:
        asked = request.query_params.get("lang")
        if asked in LANGUAGES:
            return asked
        kept = request.cookies.get(LANGUAGE_COOKIE)
        return kept if kept in LANGUAGES else DEFAULT_LANGUAGE

    async def small_form(self, request: Request) -> dict[str, str]:
        """A login or logout form: urlencoded, a few KB at most, read under that cap."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != \
                "application/x-www-form-urlencoded":
            raise PageError(400, "errors.bad_request")
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > SMALL_FORM_BYTES:
            raise PageError(413, "errors.bad_request")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > SMALL_FORM_BYTES:
                raise PageError(413, "errors.bad_request")
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=8)
        return {k: v[0] for k, v in fields.items()}

    # -- rendering ---------------------------------------------------------------------------------------------

    def render(self, request: Request, template: str, *, status: int = 200, session: Session | None = None,
               title_key: str, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        lang = self.lang(request)
        other = "en" if lang == "vi" else "vi"
        query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "m")]

        def t(key: str, **values: object) -> str:
            return self.texts.say(key, lang, **values)

        html = self.templates.get_template(template).render(
            lang=lang, other_lang=other, t=t, title=t(title_key), session=session,
            other_language_url=f"{request.url.path}?{urlencode([*query, ('lang', other)])}", **context)
        response = HTMLResponse(html, status_code=status, headers=headers)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, path="/", secure=self.secure(request),
                                httponly=True, samesite="lax")
        return response

    def error(self, request: Request, exc: PageError) -> HTMLResponse:
        lang = self.lang(request)
        session = self.session(request) if exc.status != 401 else None
        return self.render(request, "error.html", status=exc.status, session=session, title_key="errors.title",
                           headers=exc.headers, message=self.texts.say(exc.key, lang, **exc.values))

    def local_time(self, moment: dt.datetime | str | None) -> str:
        if moment is None:
            return ""
        if isinstance(moment, str):
            moment = dt.datetime.fromisoformat(moment)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return f"{moment.astimezone(self.catalogue.tz):%d/%m/%Y %H:%M}"

    @staticmethod
    def day(value: object) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        return f"{pd.Timestamp(value):%d/%m/%Y}"

    def period(self, period_type: str | None, start: object, lang: str) -> str:
        if period_type is None or start is None:
            return ""
        start = pd.Timestamp(start)
        if period_type == "quarter":
            q = (start.month - 1) // 3 + 1
            return self.texts.say("period.quarter", lang, roman=ROMAN_QUARTERS[q], quarter=q, year=start.year)
        return self.texts.say("period.month", lang, month=start.month, year=start.year)

    def unit_choices(self, lang: str) -> list[dict[str, str]]:
        out = []
        for u in self.units:
            until = f" {self.texts.say('unit.until', lang, date=self.day(u.valid_to))}" if u.valid_to else ""
            out.append({"code": u.code, "label": f"{u.code} — {u.name}{until}"})
        return out

    def unit_for(self, account: Account, asked: str | None) -> Unit | None:
        """The unit a request is about: the account's own, or for the province the one it names. Naming another
        unit from a unit's account is refused."""
        if asked:
            if not account.may_see(asked):
                log.warning("upload page: account %s asked for unit %r: refused", account.name, asked)
                raise PageError(403, "errors.forbidden")
            unit = self.catalogue.unit(asked)
            if unit is None or asked == self.catalogue.province_code:
                raise PageError(404, "errors.unknown_unit", unit=asked)
            return unit
        if account.is_province:
            return None
        return self.catalogue.unit(account.unit_code or "")

    # -- the unit's page ---------------------------------------------------------------------------------------

    def owed(self, unit: Unit, lang: str) -> dict[str, Any]:
        owed = self.source.owed(unit.code)
        say = self.texts.say
        if owed.status == OK:
            as_of = self.day(owed.as_of) or "—"
            source = (say("owed.live", lang, as_of=as_of) if owed.taken_at is None else
                      say("owed.snapshot", lang, taken=self.local_time(owed.taken_at), as_of=as_of))
        else:
            source = say({NO_SNAPSHOT: "owed.no_snapshot", NO_CALENDAR: "owed.no_calendar",
                          UNAVAILABLE: "owed.unavailable"}[owed.status], lang)
        frame = owed.rows
        todo = frame[frame["state"].isin(OUTSTANDING)].sort_values(["due_date", "form_code"])
        done = frame[~frame["state"].isin(OUTSTANDING)].sort_values(["due_date", "form_code"], ascending=False)
        rows = []
        for r in [*todo.to_dict("records"), *done.head(RECEIVED_SHOWN).to_dict("records")]:
            received = r["last_received_date"] or r["accepted_received_date"] or r["unreadable_received_date"]
            rows.append({"report_id": r["report_id"], "form": r["form_code"],
                         "period": self.period(r["period_type"], r["period_start"], lang),
                         "due": self.day(r["due_date"]), "state": r["state"],
                         "state_label": say(f"states.{r['state']}", lang), "received": self.day(received)})
        return {"owed_source": source, "owed_status": owed.status, "owed_rows": rows,
                "owed_more": max(0, len(done) - RECEIVED_SHOWN)}

    def recent(self, account: Account, lang: str) -> list[dict[str, str]]:
        entries = self.log.recent(account.name)
        recorded = self.source.recorded(sorted({e["sha256"] for e in entries}))
        say = self.texts.say
        return [{"id": e["id"], "when": self.local_time(e["at"]), "unit": e["unit_code"], "name": e["name"],
                 "status": e["status"], "status_label": say(f"statuses.{e['status']}", lang),
                 "recorded": say(f"statuses.{recorded[e['sha256']]}", lang) if e["sha256"] in recorded else
                 say("recent.not_loaded", lang)} for e in entries]

    def home(self, request: Request, session: Session) -> HTMLResponse:
        lang = self.lang(request)
        unit = self.unit_for(session.account, request.query_params.get("unit"))
        context: dict[str, Any] = {"unit": unit, "units": self.unit_choices(lang),
                                   "limit": human_bytes(current_limits().max_file_bytes),
                                   "recent": self.recent(session.account, lang)}
        if unit is not None:
            context.update(self.owed(unit, lang))
        return self.render(request, "unit.html", session=session, title_key="upload.heading", **context)

    # -- an upload ---------------------------------------------------------------------------------------------

    def check_fields(self, session: Session, fields: dict[str, str]) -> None:
        """The form's fields, before the file is read: the CSRF token, and the unit (a unit's account may name
        its own only; the province's must name one)."""
        if not same_token(fields.get("csrf"), session.csrf):
            raise Refused(403, "csrf")
        asked = fields.get("unit")
        account = session.account
        if account.is_province:
            if not asked:
                raise Refused(400, "bad_request")
        elif asked is not None and asked != account.unit_code:
            log.warning("upload page: account %s tried to upload as unit %r: refused", account.name, asked)
            raise Refused(403, "forbidden")

    def process(self, session: Session, unit_code: str, staged: Path, original: str, sha256: str,
                size: int) -> tuple[dict[str, Any], Preview]:
        """Deliver the upload, then preview it (in a thread: the preview blocks on its worker and the rules)."""
        received = dt.datetime.now(dt.UTC)
        name = inbox_name(original)
        try:
            stored = deliver(staged, self.config.inbox, unit_code, name)
        except Exception:
            log.exception("upload page: %s from %s could not be delivered into %s", name, session.account.name,
                          unit_code)
            raise PageError(500, "errors.not_stored") from None
        if self.announcer is not None:
            self.announcer.announce(Delivered(unit_code, stored, size, sha256))
        try:
            preview = self.previewer.preview(staged, sha256=sha256, file_name=stored, folder_unit_code=unit_code,
                                             received_at=received.replace(tzinfo=None))
        except Exception:  # a bug of ours: the file is delivered all the same, the DAG's verdict follows
            log.exception("upload page: the preview of %s (%s) failed", stored, sha256[:12])
            preview = Preview("failed", 0, 0, None, None, None, None, [], False)
        entry = {"id": new_upload_id(), "at": received.isoformat(timespec="seconds"),
                 "account": session.account.name, "unit_code": unit_code, "name": stored, "original_name": original,
                 "sha256": sha256, "size": size, "status": preview.status, "n_errors": preview.n_errors,
                 "n_warnings": preview.n_warnings}
        self.log.record(entry, preview.to_json())
        log.info("upload page: %s uploaded %r for unit %s as %r (%s, %d bytes): preview %s", session.account.name,
                 original, unit_code, stored, sha256[:12], size, preview.status)
        return entry, preview

    def finish(self, upload_id: str, preview: Preview, staged: Path) -> None:
        """After the answer: the feedback workbook (a worker reads the file), then the staged copy goes."""
        try:
            if preview.problems:
                write_feedback(preview, staged, self.log.feedback_dir(upload_id))
        except Exception:
            log.exception("upload page: the feedback workbook of upload %s was not written", upload_id)
        finally:
            staged.unlink(missing_ok=True)

    async def upload(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:  # answered before a byte of the body is read
            raise SignIn(expired=True)
        self.check_origin(request)
        limit = current_limits().max_file_bytes
        try:
            up = await receive({k.lower(): v for k, v in request.headers.items()}, request.stream(), limit=limit,
                               tmp_dir=self.staging, check=lambda fields: self.check_fields(session, fields))
        except Refused as exc:
            headers = {"Connection": "close"} if exc.status == 413 else None
            raise PageError(exc.status, f"errors.{exc.reason}", headers, limit=human_bytes(limit)) from None
        if not up.file_name or up.path is None:
            up.discard()
            raise PageError(400, "upload.no_file")
        unit_code = up.fields.get("unit") if session.account.is_province else session.account.unit_code
        try:
            unit = self.unit_for(session.account, unit_code)
        except PageError:
            up.discard()
            raise
        if unit is None:
            up.discard()
            raise PageError(400, "errors.bad_request")
        if self.waiting >= self.config.waiting:
            up.discard()
            raise PageError(503, "errors.busy", {"Retry-After": "60"})
        self.waiting += 1
        try:
            async with self.limiter:
                entry, preview = await anyio.to_thread.run_sync(
                    self.process, session, unit.code, up.path, up.file_name, up.sha256, up.size)
        except BaseException:
            up.discard()
            raise
        finally:
            self.waiting -= 1
        timing = ", ".join(f"{k};dur={v * 1000:.0f}" for k, v in preview.timings.items())
        return RedirectResponse(f"/uploads/{entry['id']}", status_code=303,
                                headers={"Server-Timing": timing} if timing else None,
                                background=BackgroundTask(self.finish, entry["id"], preview, up.path))

    def owned(self, session: Session, upload_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """An upload of this account; any other (another account's, or none) is the same 404."""
        found = self.log.get(upload_id) if is_upload_id(upload_id) else None
        if found is None or found[0]["account"] != session.account.name:
            if found is not None:
                log.warning("upload page: account %s asked for upload %s of %s: refused", session.account.name,
                            upload_id, found[0]["account"])
            raise PageError(404, "errors.not_found")
        return found

    def verdict(self, request: Request, session: Session, upload_id: str) -> HTMLResponse:
        entry, preview = self.owned(session, upload_id)
        lang = self.lang(request)
        say = self.texts.say
        report = ""
        if preview["form_code"]:
            report = f"{preview['form_code']} {self.period(preview['period_type'], preview['period_start'], lang)}"
        problems = [{"severity": p["severity"], "rule": p["rule"], "severity_label": say(f"severities.{p['severity']}",
                                                                                          lang),
                     "sheet": p["source_sheet"] or "", "cell": p["source_cell"] or "",
                     "message": p["message_vi"] if lang == "vi" else p["message_en"]} for p in preview["problems"]]
        recorded = self.source.recorded([entry["sha256"]]).get(entry["sha256"])
        back = "/" if not session.account.is_province else f"/?{urlencode({'unit': entry['unit_code']})}"
        seconds = f"{preview.get('timings', {}).get('total', 0):.1f}"
        return self.render(request, "verdict.html", session=session, title_key="verdict.title", upload=entry,
                           preview=preview, report=report, problems=problems, back_url=back,
                           recorded=say(f"statuses.{recorded}", lang) if recorded else "",
                           seconds=seconds.replace(".", ",") if lang == "vi" else seconds)

    async def feedback(self, request: Request, session: Session, upload_id: str) -> Response:
        _, preview = self.owned(session, upload_id)
        if not preview["problems"]:
            raise PageError(404, "errors.not_found")
        folder = self.log.feedback_dir(upload_id)
        deadline = time.monotonic() + FEEDBACK_WAIT
        while not (found := sorted(folder.rglob("*.xlsx"))):
            if time.monotonic() > deadline:
                raise PageError(503, "errors.feedback_pending", {"Retry-After": "5"})
            await anyio.sleep(0.2)
        return FileResponse(found[0], media_type=XLSX, filename=f"phan-hoi_{found[0].name}")


def create_app(config: PageConfig | None = None, *, previewer: Previewer | None = None,
               source: WarehouseSource | None = None, warm: bool = True,
               announcer: Announcer | None = None) -> FastAPI:
    """The application. ``previewer`` and ``source`` let tests share a warm validator; ``warm`` creates the
    validator at start-up (seconds) rather than at the first upload. ``announcer``: how deliveries are announced to
    Airflow (default: the connection of :func:`ingest.doors.announcements.api_config`, none without it)."""
    config = config or PageConfig.from_environment()
    page = UploadPage(config, previewer, source, announcer or Announcer.from_environment())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if page.announcer is not None:
            page.announcer.start()
        if warm:
            await anyio.to_thread.run_sync(page.previewer.warm)
        try:
            yield
        finally:
            if page.announcer is not None:
                await anyio.to_thread.run_sync(page.announcer.close)

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.page = page
    app.add_middleware(SecurityHeaders, hsts=config.secure_cookies)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return await run_in_threadpool(page.error, request, exc)

    @app.exception_handler(SignIn)
    async def sign_in(request: Request, exc: SignIn) -> Response:
        response = RedirectResponse("/login?m=expired" if exc.expired else "/login", status_code=303)
        response.delete_cookie(page.cookie(SESSION_COOKIE, request), path="/")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        key = "errors.not_found" if exc.status_code == 404 else "errors.bad_request"
        return await run_in_threadpool(page.error, request, PageError(exc.status_code, key))

    @app.get("/healthz")
    def healthz() -> Response:
        return PlainTextResponse("ok")

    @app.get("/login")
    def login_page(request: Request) -> Response:
        if page.session(request) is not None:
            return RedirectResponse("/", status_code=303)
        message = {"expired": "login.expired", "logged_out": "login.logged_out"}.get(request.query_params.get("m", ""))
        return login_form(request, message and page.texts.say(message, page.lang(request)), "info")

    def login_form(request: Request, message: str | None, kind: str, status: int = 200, name: str = "",
                   headers: dict[str, str] | None = None) -> Response:
        token = secrets.token_urlsafe(32)
        response = page.render(request, "login.html", status=status, title_key="login.title", headers=headers,
                               login_csrf=csrf_token(token), message=message or "", message_kind=kind, name=name)
        page.set_cookie(response, LOGIN_COOKIE, token, request, max_age=3600)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        page.check_origin(request)
        form = await page.small_form(request)
        token = request.cookies.get(page.cookie(LOGIN_COOKIE, request))
        if not token or not same_token(form.get("csrf"), csrf_token(token)):
            raise PageError(403, "errors.csrf")
        address = request.client.host if request.client else "unknown"
        name = form.get("name", "")[:64]
        result = await run_in_threadpool(page.accounts.login, name, form.get("password", "")[:200], address)
        lang = page.lang(request)
        if result.account is None:
            if result.reason == "throttled":
                minutes = max(1, int(-(-result.retry_after // 60)))
                return login_form(request, page.texts.say("login.throttled", lang, minutes=minutes), "bad", 429,
                                  name, {"Retry-After": str(int(result.retry_after) + 1)})
            return login_form(request, page.texts.say(f"login.{result.reason}", lang), "bad", 401, name)
        session = await run_in_threadpool(page.sessions.create, result.account)
        response = RedirectResponse("/", status_code=303)
        page.set_cookie(response, SESSION_COOKIE, session.token, request)
        response.delete_cookie(page.cookie(LOGIN_COOKIE, request), path="/")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = await run_in_threadpool(page.require, request)
        page.check_origin(request)
        form = await page.small_form(request)
        if not same_token(form.get("csrf"), session.csrf):
            raise PageError(403, "errors.csrf")
        await run_in_threadpool(page.sessions.end, session.token)
        response = RedirectResponse("/login?m=logged_out", status_code=303)
        response.delete_cookie(page.cookie(SESSION_COOKIE, request), path="/")
        return response

    @app.get("/")
    def home(request: Request) -> Response:
        return page.home(request, page.require(request))

    @app.post("/upload")
    async def upload(request: Request) -> Response:
        return await page.upload(request)

    @app.get("/uploads/{upload_id}")
    def verdict(request: Request, upload_id: str) -> Response:
        return page.verdict(request, page.require(request), upload_id)

    @app.get("/uploads/{upload_id}/feedback")
    async def feedback(request: Request, upload_id: str) -> Response:
        session = await run_in_threadpool(page.require, request)
        return await page.feedback(request, session, upload_id)

    return app


def serve(host: str = "127.0.0.1", port: int = 8090) -> None:
    """Run the page with uvicorn until interrupted. Client addresses (for the login throttle) are taken from
    ``X-Forwarded-For`` only when the request comes from ``SECTORSTATS_UPLOAD_TRUSTED_PROXIES`` (default
    ``127.0.0.1``: a reverse proxy on this machine)."""
    import uvicorn

    config = PageConfig.from_environment(host)
    app = create_app(config)
    log.info("upload page on http://%s:%d (secure cookies: %s; inbox %s)", host, port,
             "always" if config.secure_cookies else "over HTTPS only", config.inbox)
    uvicorn.run(app, host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=os.environ.get("SECTORSTATS_UPLOAD_TRUSTED_PROXIES", "127.0.0.1"),
                server_header=False, timeout_keep_alive=5, limit_concurrency=200, log_level="info")
