"""ingest.alerts: who is told, and what, for units with and without configured recipients.

From 2025-07-01 the 69 commune-level units report; recipients.yaml lists only the district-level units, so
a commune's alerts go to the province alone (and a commune listed with no address is the same), never a crash.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from ingest import alerts

PROVINCE = "thongke@soldtbxh.example.invalid"
DUC_THO = "phongldtbxh.ductho@example.invalid"


def test_a_district_is_told_and_so_is_the_province() -> None:
    assert alerts.recipients_for("440") == (DUC_THO, PROVINCE)


def test_a_mix_up_is_told_to_both_units_once_and_the_province() -> None:
    assert alerts.recipients_for("440", "443", "440") == (DUC_THO, "phongldtbxh.canloc@example.invalid", PROVINCE)


@pytest.mark.parametrize("codes", [("18685",), ("18685", None), (None,), ("",), ()])
def test_a_unit_without_recipients_still_tells_the_province(codes: tuple) -> None:
    assert alerts.recipients_for(*codes) == (PROVINCE,)


@pytest.mark.parametrize(
    "spec",
    [
        {"province": [PROVINCE], "units": {"18685": None}},  # listed with no address
        {"province": [PROVINCE], "units": None},  # `units:` left empty
        {"province": [PROVINCE]},  # no units at all
    ],
)
def test_recipients_yaml_with_empty_entries(monkeypatch: pytest.MonkeyPatch, spec: dict) -> None:
    monkeypatch.setattr(alerts, "recipients", lambda: spec)
    assert alerts.recipients_for("18685", "440") == (PROVINCE,)


def test_no_province_configured_gives_the_units_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "recipients", lambda: {"province": None, "units": {"440": [DUC_THO]}})
    assert alerts.recipients_for("440", "18685") == (DUC_THO,)


@pytest.fixture
def marts(tmp_path, monkeypatch: pytest.MonkeyPatch) -> duckdb.DuckDBPyConnection:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("""create table marts.fct_submission (unit_code varchar, form_code varchar, period_start date,
                   due_date date, status varchar, received_at timestamp, on_time boolean, submission_id varchar)""")
    con.execute("""create table marts.fct_problem (submission_id varchar, sha256 varchar, file_name varchar,
                   folder_unit_code varchar, severity varchar, rule varchar, source_sheet varchar,
                   source_cell varchar, message_vi varchar, message_en varchar, unit_code varchar)""")
    return con


def test_alerts_of_a_commune_without_recipients(marts: duckdb.DuckDBPyConnection) -> None:
    """A commune's missing report, its late one and its rejected file: each told to the province, named."""
    marts.execute("""insert into marts.fct_submission values
        ('18685', '01/LĐVL-H', date '2025-08-01', date '2025-09-10', 'missing', null, null, null),
        ('18685', '01/LĐVL-H', date '2025-07-01', date '2025-08-10', 'accepted', timestamp '2025-08-12 03:00', false,
         's-late'),
        ('18073', '03/BTXH-H', date '2025-07-01', date '2025-08-10', 'rejected', timestamp '2025-08-05 03:00', true,
         's-bad'),
        ('440', '01/LĐVL-H', date '2025-06-01', date '2025-07-10', 'missing', null, null, null)""")
    marts.execute("""insert into marts.fct_problem values
        ('s-bad', 'abc123', 'bc thang 7.xlsx', '18073', 'error', 'negative-value', 'Bieu 03', 'F14',
         'Ô F14: số âm', 'F14: negative', '18073')""")
    got = {(a.kind, a.unit_code): a for a in alerts.collect_alerts(marts, dt.date(2025, 9, 30))}
    assert set(got) == {("missing", "18685"), ("late", "18685"), ("rejected", "18073"), ("missing", "440")}
    missing = got[("missing", "18685")]
    assert missing.recipients == (PROVINCE,)
    assert missing.subject == "[sectorstats] Chưa nhận báo cáo 01/LĐVL-H Tháng 8 năm 2025 — Xã Cẩm Bình (mã 18685)"
    assert got[("late", "18685")].recipients == (PROVINCE,)
    rejected = got[("rejected", "18073")]
    assert rejected.recipients == (PROVINCE,)
    assert "của Phường Thành Sen (mã 18073) bị từ chối" in rejected.body
    assert got[("missing", "440")].recipients == (DUC_THO, PROVINCE)
