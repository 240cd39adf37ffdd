"""Uploads announced to the pipeline: the upload page tells Airflow that it has delivered a whole file into the inbox.

Without an announcement an upload waits for the ingest DAG's next scheduled scan (hourly while reports are due, every
six hours otherwise), and then for the settle rule of :mod:`ingest.archive.store` (a file younger than
``SECTORSTATS_INBOX_SETTLE_SECONDS`` may still be being written by sftp or a share). With one:

1. the page, once the file is in the inbox, updates the asset :data:`ingest.orchestration.assets.INBOX` through
   Airflow's REST API (``POST /api/v2/assets/events``); the event's ``extra`` lists the files delivered
   (:class:`Delivered`: unit folder, name, size, sha256);
2. the asset schedules ``sectorstats_ingest`` at once (its schedule is the reporting calendar's timetable *or* this
   asset), and several uploads announced while a run is busy are taken together by the next run;
3. that run's archive stage takes the announced files without waiting for them to settle: a file whose bytes have
   the announced SHA-256 is whole by definition (the page hashed every byte before delivering it). A file whose
   size or hash differs, and anything not announced, keeps the settle rule.

An announcement is a hint, never the way in: the file is in the inbox before it is announced. When Airflow cannot be
reached (or refuses), the page retries with backoff for :data:`RETRY_FOR_SECONDS`, then gives up with an error in
its log; the file waits for the scheduled scan: delayed, never dropped.

The API's address and account come from the Airflow connection ``SECTORSTATS_AIRFLOW_API_CONN_ID`` (default
``sectorstats_airflow_api``), e.g. ``AIRFLOW_CONN_SECTORSTATS_AIRFLOW_API='http://user:password@127.0.0.1:8080'``
(``https://`` for an api-server elsewhere): an Airflow user allowed to create asset events, which logs in with
``POST /auth/token`` as the API's own clients do. Without that connection the page announces nothing (said once in
its log) and uploads are taken by the schedule.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "sectorstats_airflow_api"
FILES = "files"  # the key of the event's extra that lists the files delivered
RETRY_FOR_SECONDS = 15 * 60  # then the scheduled scan takes the file
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
MAX_PENDING = 10_000  # files waiting to be announced; beyond, the oldest are left to the schedule
MAX_PER_EVENT = 500  # files listed in one event's extra
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Delivered:
    """A file the upload page delivered whole into ``inbox/<folder>/<name>``."""

    folder: str
    name: str
    size: int
    sha256: str

    @classmethod
    def from_extra(cls, item: object) -> Delivered | None:
        """One entry of an event's ``extra["files"]``; None when it is not one (an event posted by someone else)."""
        if not isinstance(item, Mapping):
            return None
        folder, name, size, sha256 = (item.get(k) for k in ("folder", "name", "size", "sha256"))
        if not (isinstance(folder, str) and isinstance(name, str) and name and isinstance(sha256, str)
                and len(sha256) == 64 and isinstance(size, int) and not isinstance(size, bool) and size >= 0):
            return None
        return cls(folder, name, size, sha256.lower())


def announced_files(extras: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Delivered]:
    """The files announced by the events' extras, by (folder, name); a later announcement of a name wins."""
    out: dict[tuple[str, str], Delivered] = {}
    ignored = 0
    for extra in extras:
        items = extra.get(FILES)
        for item in items if isinstance(items, list) else []:
            d = Delivered.from_extra(item)
            if d is None:
                ignored += 1
                continue
            out[(d.folder, d.name)] = d
    if ignored:
        log.warning("%d announced file entries were not of the upload page's form and were ignored", ignored)
    return out


# -- the REST API ----------------------------------------------------------------------------------------------------

class ApiError(RuntimeError):
    """Airflow's API answered with an error (``status``), or could not be reached (``status`` 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status or 'unreachable'}: {message}")
        self.status = status


@dataclass(frozen=True)
class ApiConfig:
    base_url: str
    login: str
    password: str = field(repr=False)


def api_conn_id() -> str:
    return os.environ.get("SECTORSTATS_AIRFLOW_API_CONN_ID", DEFAULT_CONN_ID).strip() or DEFAULT_CONN_ID


def api_config(conn_id: str | None = None) -> ApiConfig | None:
    """The API of the Airflow connection, or None when there is no such connection (nothing is announced)."""
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id or api_conn_id())
    except Exception:
        return None
    host = (conn.host or "").strip()
    if "://" in host:  # a host given as a whole address
        base = host.rstrip("/")
    else:
        scheme = conn.conn_type if conn.conn_type in ("http", "https") else "http"
        base = f"{scheme}://{host or '127.0.0.1'}" + (f":{conn.port}" if conn.port else "")
        if conn.schema:
            base += "/" + conn.schema.strip("/")
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        raise ValueError(f"connection {conn_id or api_conn_id()}: Airflow's API must be an http:// or https:// "
                         f"address, not {base!r}")
    return ApiConfig(base_url=base, login=conn.login or "", password=conn.password or "")


class AirflowApi:
    """The three calls the announcements need, over ``urllib``: log in, find the asset's id, post an event."""

    def __init__(self, config: ApiConfig, timeout: float = TIMEOUT_SECONDS) -> None:
        self.config, self.timeout = config, timeout
        self._token: str | None = None
        self._asset_ids: dict[str, int] = {}

    def _call(self, method: str, path: str, body: object | None = None, *, auth: bool = True) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        req = urllib.request.Request(self.config.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            if exc.code == 401:
                self._token = None  # expired or revoked: log in again next time
            raise ApiError(exc.code, f"{method} {path}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(0, f"{method} {self.config.base_url}{path}: {exc}") from None
        return json.loads(payload) if payload else None

    def token(self) -> str:
        if self._token is None:
            got = self._call("POST", "/auth/token", {"username": self.config.login,
                                                     "password": self.config.password}, auth=False)
            self._token = str(got["access_token"])
        return self._token

    def asset_id(self, uri: str) -> int:
        """The id of the asset ``uri``: a 404 until the dag-processor has parsed a DAG that uses it."""
        if uri not in self._asset_ids:
            got = self._call("GET", "/api/v2/assets?" + urllib.parse.urlencode({"uri_pattern": uri, "limit": 100}))
            ids = [a["id"] for a in got.get("assets", []) if a.get("uri") == uri]
            if not ids:
                raise ApiError(404, f"no asset {uri} yet (is the ingest DAG parsed?)")
            self._asset_ids[uri] = int(ids[0])
        return self._asset_ids[uri]

    def post_event(self, uri: str, extra: dict[str, Any]) -> dict[str, Any]:
        body = {"asset_id": self.asset_id(uri), "extra": extra}
        try:
            return self._call("POST", "/api/v2/assets/events", body)
        except ApiError as exc:
            if exc.status != 401:
                raise
            return self._call("POST", "/api/v2/assets/events", body)  # a new token, once


# -- the page's announcer --------------------------------------------------------------------------------------------

class Announcer:
    """Announces delivered files from a thread of its own, so an upload's answer never waits for Airflow.

    Files delivered while an announcement is under way are listed together in the next event. A failed event is
    retried with backoff (1 s, doubling to 60 s); a file still unannounced after ``retry_for`` seconds is given up,
    with an error in the log (the scheduled scan takes it)."""

    def __init__(self, api: AirflowApi, uri: str, *, retry_for: float = RETRY_FOR_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.api, self.uri, self.retry_for, self.clock = api, uri, retry_for, clock
        self._pending: list[tuple[float, Delivered]] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.sent = self.given_up = 0

    @classmethod
    def from_environment(cls) -> Announcer | None:
        from ingest.orchestration.assets import INBOX

        config = api_config()
        if config is None:
            log.info("upload page: no Airflow connection %r: uploads are not announced, the ingest DAG's schedule "
                     "takes them", api_conn_id())
            return None
        log.info("upload page: uploads are announced to Airflow at %s (asset %s)", config.base_url, INBOX.uri)
        return cls(AirflowApi(config), INBOX.uri)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
            self._thread.start()

    def announce(self, delivered: Delivered) -> None:
        with self._cond:
            self._pending.append((self.clock(), delivered))
            if len(self._pending) > MAX_PENDING:
                dropped = self._pending[: len(self._pending) - MAX_PENDING]
                del self._pending[: len(dropped)]
                self._give_up(dropped, "too many announcements waiting")
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the announcement under way (what is still waiting is left to the schedule)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._cond:
            if self._pending:
                self._give_up(self._pending, "the upload page stopped")
                self._pending = []

    def _give_up(self, items: list[tuple[float, Delivered]], why: str) -> None:
        self.given_up += len(items)
        log.error("upload page: %d upload(s) not announced to Airflow (%s): %s; the ingest DAG's next scheduled "
                  "scan takes them", len(items), why, ", ".join(f"{d.folder}/{d.name}" for _, d in items[:10]))

    def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                batch = self._pending[:MAX_PER_EVENT]
            try:
                self.api.post_event(self.uri, {FILES: [asdict(d) for _, d in batch]})
            except (ApiError, ValueError, KeyError) as exc:
                now = self.clock()
                with self._cond:
                    expired = [p for p in self._pending if now - p[0] >= self.retry_for]
                    if expired:
                        self._pending = [p for p in self._pending if now - p[0] < self.retry_for]
                        self._give_up(expired, f"Airflow's API: {exc}")
                    if self._pending:
                        log.warning("upload page: announcing %d upload(s) to Airflow failed (%s); retrying in %.0f s",
                                    len(self._pending), exc, backoff)
                        self._cond.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS) if self._pending else FIRST_BACKOFF_SECONDS
                continue
            backoff = FIRST_BACKOFF_SECONDS
            with self._cond:
                done = {id(p) for p in batch}
                self._pending = [p for p in self._pending if id(p) not in done]
                self.sent += len(batch)
            log.info("upload page: %d upload(s) announced to Airflow: %s", len(batch),
                     ", ".join(f"{d.folder}/{d.name}" for _, d in batch[:10]))
