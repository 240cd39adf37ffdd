"""The number facts are built incrementally, one report year at a time (dbt_project/macros/
incremental_report_years.sql): after new reports, a correction, a reprocessed period and a report that no longer
counts, the incremental build gives exactly the tables a build from scratch gives, and it rewrote only the report
years that changed.

Real pipeline (the ingest stages in one process, as `make ingest` runs them) and real dbt on DuckDB."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from devtools.demo import generate_demo
from ingest.catalogue import load_catalogue
from ingest.marts.dbt import build_marts, run_dbt
from ingest.pipeline import run_ingest
from tests.integration.helpers import at, consistent_values, put

pytestmark = pytest.mark.integration

AS_OF = dt.date(2025, 1, 31)
INCREMENTAL = ("marts.fct_indicator_value", "intermediate.int_indicator_values_periodic",
               "marts.fct_indicator_period_value", "marts.mart_province_indicator_source")
JOBS = "01/LĐVL-H"


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """Every row, in a fixed order (doubles compared exactly: the same sums in the same order)."""
    columns = [c[0] for c in con.execute(f"select * from {table} limit 0").description]
    return con.execute(f"select * from {table} order by {', '.join(map(str, range(1, len(columns) + 1)))}").fetchall()


def _report_years(con: duckdb.DuckDBPyConnection, model: str) -> set[tuple[str, str, int]]:
    return set(con.execute("select unit_code, form_code, year from intermediate.incremental_report_years "
                           "where model_name = ?", [model]).fetchall())


def _use(data: Path, mp: pytest.MonkeyPatch) -> None:
    """Run on ``data``'s inbox and embedded DuckDB warehouse."""
    mp.setenv("SECTORSTATS_DATA_DIR", str(data))
    mp.setenv("SECTORSTATS_INBOX_DIR", str(data / "inbox"))
    mp.delenv("SECTORSTATS_WAREHOUSE_URL", raising=False)
    mp.delenv("SECTORSTATS_WAREHOUSE", raising=False)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three units' 2024 loaded and the marts built once (from scratch: no table yet), then, in one later load:
    a new report, a correction of a month already in the marts, and the first report of a new year."""
    data = tmp_path_factory.mktemp("incremental")
    inbox = data / "inbox"
    generate_demo(inbox, year=2024, seed=11, unit_codes=["436", "443", "448"])
    with pytest.MonkeyPatch.context() as mp:
        _use(data, mp)
        run_ingest("first")
        build_marts(AS_OF)
    return data


@pytest.fixture
def env(loaded: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _use(loaded, monkeypatch)
    return loaded


def test_incremental_builds_equal_a_build_from_scratch_and_rewrite_only_what_changed(env: Path) -> None:
    data = env
    warehouse = data / "warehouse.duckdb"
    form = load_catalogue().form(JOBS)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        years_before = _report_years(con, "fct_indicator_value")
        untouched_before = {t: con.execute(f"select count(*) from {t} where unit_code = '443'").fetchone()[0]
                            for t in INCREMENTAL}
    assert ("436", JOBS, 2024) in years_before and not any(y == 2025 for _, _, y in years_before)

    # 1. new reports, a correction, a new year; 443 and 448 send nothing
    put(data / "inbox", "436", "LDVL 2025-01.xlsx", JOBS, "436", dt.date(2025, 1, 1),
        consistent_values(form, 5, 1), at("2025-02-05"))
    put(data / "inbox", "436", "LDVL 2024-03 sua.xlsx", JOBS, "436", dt.date(2024, 3, 1),
        consistent_values(form, 99, 3), at("2025-01-20"))
    loaded = run_ingest("second")
    assert loaded["load"]["submissions"] == 2

    # 2. a report that no longer counts: 448's June jobs report rejected on a second look (what a stricter rule
    #    on reprocessing does), and the whole of 448's March reprocessed (new loads, the same numbers)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update raw.submissions set status = 'rejected', is_latest_accepted = false "
                    "where unit_code = '448' and form_code = ? and period_start = '2024-06-01'", [JOBS])
    run_ingest("third", reprocess=True, periods=(dt.date(2024, 3, 1), dt.date(2024, 3, 1)))

    build_marts(AS_OF)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        incremental = {t: _rows(con, t) for t in INCREMENTAL}
        assert ("436", JOBS, 2025) in _report_years(con, "fct_indicator_value")
        assert con.execute("select count(*) from marts.fct_indicator_value where unit_code = '448' "
                           "and form_code = ? and period_start = '2024-06-01'", [JOBS]).fetchone()[0] == 0
        assert con.execute("select max(version) from marts.fct_indicator_value where unit_code = '436' "
                           "and form_code = ? and period_start = '2024-03-01'", [JOBS]).fetchone()[0] == 2
        assert {t: con.execute(f"select count(*) from {t} where unit_code = '443'").fetchone()[0]
                for t in INCREMENTAL} == untouched_before

    scratch = data / "scratch.duckdb"
    shutil.copy(warehouse, scratch)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECTORSTATS_WAREHOUSE_URL", f"duckdb:///{scratch}")
        run_dbt("build", as_of=AS_OF, extra=["--exclude-resource-type", "unit_test", "--full-refresh"],
                target="calendar")
    with duckdb.connect(str(scratch), read_only=True) as con:
        for table in INCREMENTAL:
            assert _rows(con, table) == incremental[table], table


def test_a_build_with_nothing_new_rewrites_nothing(env: Path) -> None:
    """Rows of report years that did not change are kept as they are: a mark put on one unit's rows survives the
    next build, while a changed report year's rows are written again."""
    warehouse = env / "warehouse.duckdb"
    build_marts(AS_OF)  # whatever an earlier test left, the marts are up to date
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.fct_indicator_value set source_sheet = 'untouched' where unit_code in ('443', '448')")
        marked = con.execute("select count(*) from marts.fct_indicator_value where source_sheet = 'untouched'"
                             ).fetchone()[0]
        con.execute("update marts.fct_indicator_value set source_sheet = 'stale' where unit_code = '436'")
        # 436's 2024 jobs report year is made to look changed: its recorded fingerprint no longer matches
        con.execute("update intermediate.incremental_report_years set fingerprint = 'old' "
                    "where model_name = 'fct_indicator_value' and unit_code = '436' and year = 2024 "
                    "and form_code = ?", [JOBS])
    build_marts(AS_OF)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_indicator_value where source_sheet = 'untouched'"
                           ).fetchone()[0] == marked > 0
        stale = dict(con.execute("""select form_code || '|' || cast(year(period_start) as varchar), count(*)
                                    from marts.fct_indicator_value where source_sheet = 'stale'
                                    group by 1""").fetchall())
    # the rows of the one report year made to look changed were written again; 436's others were not
    assert f"{JOBS}|2024" not in stale and stale

