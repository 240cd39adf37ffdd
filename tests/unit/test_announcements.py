"""ingest.doors.announcements: what an announcement says, where the page finds Airflow's API, and an outage.

The announcement reaching a real Airflow, and the ingest run it starts, is tested in
tests/integration/test_airflow_api.py.
"""

from __future__ import annotations

import logging
import time

import pytest

from ingest.doors.announcements import (
    FILES,
    AirflowApi,
    Announcer,
    ApiConfig,
    ApiError,
    Delivered,
    announced_files,
    api_config,
)
from ingest.orchestration.assets import INBOX, event_extras
from tests.integration.helpers import free_port

SHA = "ab" * 32


def test_announced_files_keep_the_page_s_entries_and_ignore_anything_else(caplog: pytest.LogCaptureFixture) -> None:
    good = {"folder": "443", "name": "bao cao.xlsx", "size": 10, "sha256": SHA.upper()}
    extras = [
        {FILES: [good, {"folder": "436", "name": "x.xlsx", "size": True, "sha256": SHA},  # a bool is not a size
                 {"folder": "436", "name": "", "size": 1, "sha256": SHA}, "443/x.xlsx",
                 {"folder": "436", "name": "y.xlsx", "size": 1, "sha256": "abc"}]},
        {"from_rest_api": True},  # an event posted by hand, without files
        {FILES: "not a list"},
        {FILES: [{**good, "size": 12}]},  # the same name delivered again later: the later one counts
    ]
    with caplog.at_level(logging.WARNING, logger="ingest.doors.announcements"):
        assert announced_files(extras) == {("443", "bao cao.xlsx"): Delivered("443", "bao cao.xlsx", 12, SHA)}
    assert "4 announced file entries were not of the upload page's form and were ignored" in caplog.text


def test_event_extras_are_those_of_the_inbox_asset() -> None:
    class Event:
        def __init__(self, extra: object) -> None:
            self.extra = extra

    assert event_extras(None, INBOX) == []
    assert event_extras({}, INBOX) == []
    assert event_extras({INBOX: [Event({FILES: []}), Event(None)]}, INBOX) == [{FILES: []}]


@pytest.mark.parametrize(("uri", "expected"), [
    ("http://announcer:s3cr%2Ft@127.0.0.1:8080", ApiConfig("http://127.0.0.1:8080", "announcer", "s3cr/t")),
    ("https://announcer:pw@airflow.example.vn", ApiConfig("https://airflow.example.vn", "announcer", "pw")),
    ("http://announcer:pw@10.0.0.5:8080/airflow", ApiConfig("http://10.0.0.5:8080/airflow", "announcer", "pw")),
])
def test_the_api_comes_from_the_airflow_connection(monkeypatch: pytest.MonkeyPatch, uri: str,
                                                   expected: ApiConfig) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SECTORSTATS_AIRFLOW_API", uri)
    assert api_config() == expected
    assert "pw" not in repr(api_config()) and "s3cr" not in repr(api_config())


def test_another_connection_id_and_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SECTORSTATS_AIRFLOW_API", raising=False)
    assert api_config() is None and Announcer.from_environment() is None
    monkeypatch.setenv("SECTORSTATS_AIRFLOW_API_CONN_ID", "airflow_here")
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_HERE", "http://a:b@127.0.0.1:9")
    assert api_config() == ApiConfig("http://127.0.0.1:9", "a", "b")


def test_an_api_address_that_is_not_http_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SECTORSTATS_AIRFLOW_API", '{"conn_type": "http", "host": "file:///etc/passwd"}')
    with pytest.raises(ValueError, match=r"sectorstats_airflow_api: Airflow's API must be an http:// or https:// "
                                         r"address, not 'file:///etc/passwd'"):
        api_config()


def test_an_unreachable_api_is_retried_then_left_to_the_schedule(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens on the port: the announcement is retried with backoff, and given up after ``retry_for``
    (the file is in the inbox all the same; the scheduled scan takes it)."""
    api = AirflowApi(ApiConfig(f"http://127.0.0.1:{free_port()}", "a", "b"), timeout=2)
    with pytest.raises(ApiError, match=r"^unreachable: POST http://127\.0\.0\.1:\d+/auth/token: ") as exc:
        api.token()
    assert exc.value.status == 0
    announcer = Announcer(api, INBOX.uri, retry_for=2.5)
    caplog.set_level(logging.INFO, logger="ingest.doors.announcements")
    announcer.start()
    try:
        announcer.announce(Delivered("443", "bao cao.xlsx", 10, SHA))
        deadline = time.monotonic() + 30
        while announcer.given_up == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        announcer.close()
    assert (announcer.sent, announcer.given_up) == (0, 1)
    failures = [r.getMessage() for r in caplog.records if "announcing 1 upload(s) to Airflow failed" in r.getMessage()]
    assert [m.rsplit("retrying in ", 1)[1] for m in failures] == ["1 s", "2 s"]  # backoff doubles: 0, 1, 3 s
    assert ("upload page: 1 upload(s) not announced to Airflow (Airflow's API: unreachable: POST "
            in caplog.text)
    assert ("): 443/bao cao.xlsx; the ingest DAG's next scheduled scan takes them" in caplog.text)


def test_what_is_still_waiting_when_the_page_stops_is_said(caplog: pytest.LogCaptureFixture) -> None:
    announcer = Announcer(AirflowApi(ApiConfig(f"http://127.0.0.1:{free_port()}", "a", "b")), INBOX.uri)
    announcer.announce(Delivered("443", "a.xlsx", 1, SHA))  # never started: nothing sent
    with caplog.at_level(logging.ERROR, logger="ingest.doors.announcements"):
        announcer.close()
    assert announcer.given_up == 1
    assert ("1 upload(s) not announced to Airflow (the upload page stopped): 443/a.xlsx; the ingest DAG's next "
            "scheduled scan takes them") in caplog.text
