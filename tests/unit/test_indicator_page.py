"""ingest/tell/indicator_page.py: what the page draws, from rows given here (Chromium and the marts:
tests/integration/test_indicator_page_browser.py)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from ingest.catalogue import load_catalogue
from ingest.tell.indicator_page import (
    SERIES_COLUMNS,
    PageSpec,
    form_periods,
    nice_ceiling,
    page_spec,
    read_page_spec,
    render_indicator_page,
)

CAT = load_catalogue()
MARK = re.compile(r'<(rect|circle|line) [^>]*data-measure="([a-z_]+)" data-period="([0-9-]+)" '
                  r'data-value="([^"]+)"><title>([^<]*)</title>')


def rows(series: str, unit: str | None, form: str, row: str, values: dict[int, tuple]) -> pd.DataFrame:
    """``values``: month → (value, ytd, last year's ytd, plan)."""
    return pd.DataFrame([[series, unit, form, row, dt.date(2024, m, 1), *v] for m, v in values.items()],
                        columns=SERIES_COLUMNS)


def marks(page: str) -> list[tuple[str, str, str, float]]:
    return [(tag, measure, period, float(value)) for tag, measure, period, value, _ in MARK.findall(page)]


def test_the_shipped_page_names_rows_of_the_catalogue() -> None:
    spec = page_spec()
    assert list(spec.rows) == [f.code for f in CAT.forms]
    assert spec.rows["01/LĐVL-H"] == ("01", "04", "11") and spec.max_unit_charts == 120


@pytest.mark.parametrize(("text", "error"), [
    ('rows: {"09/XX-H": ["01"]}', "page.yaml: form '09/XX-H' is not in forms.yaml"),
    ('rows: {"01/LĐVL-H": ["01", "99"]}', "page.yaml: form 01/LĐVL-H has no row(s) ['99']"),
    ('rows: {"01/LĐVL-H": ["01"]}\nmax_unit_charts: 0', "page.yaml: max_unit_charts must be at least 1, not 0"),
])
def test_a_page_spec_naming_what_does_not_exist_is_refused(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "page.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        read_page_spec(path, CAT)
    assert str(raised.value) == error


def test_axis_tops_and_periods() -> None:
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 12, 240, 1877, 5001)] == [1, 0.5, 1, 10, 20, 250, 2000, 10000]
    assert form_periods(CAT.form("01/LĐVL-H"), 2024) == [dt.date(2024, m, 1) for m in range(1, 13)]
    assert form_periods(CAT.form("02/GDNN-H"), 2024) == [dt.date(2024, m, 1) for m in (1, 4, 7, 10)]


def test_a_flow_is_bars_year_to_date_last_year_and_the_latest_plan() -> None:
    spec = PageSpec({"01/LĐVL-H": ("01",)}, 10)
    data = rows("reported", "443", "01/LĐVL-H", "01", {1: (144.0, 144.0, 141.0, 1877.0),
                                                       2: (84.5, 228.5, None, 1877.0),
                                                       3: (173.0, 401.5, 359.0, 1900.0)})
    page = render_indicator_page(data, year=2024, catalogue=CAT, spec=spec,
                                 generated_at=dt.datetime(2025, 1, 31, 1, 0, tzinfo=dt.UTC))
    assert marks(page) == [
        ("line", "plan_year", "2024-03", 1900.0),  # the plan revised in March is the plan
        ("rect", "period", "2024-01", 144.0), ("rect", "period", "2024-02", 84.5), ("rect", "period", "2024-03", 173.0),
        ("circle", "ytd_prev_year", "2024-01", 141.0), ("circle", "ytd_prev_year", "2024-03", 359.0),
        ("circle", "ytd", "2024-01", 144.0), ("circle", "ytd", "2024-02", 228.5), ("circle", "ytd", "2024-03", 401.5),
    ]
    tips = [t for *_, t in MARK.findall(page)]
    assert tips[2] == "T2/2024 · Thực hiện kỳ báo cáo: 84,5 / this period"
    assert tips[-1] == "T3/2024 · Lũy kế từ đầu năm: 401,5 / year to date"
    assert 'data-series="reported" data-unit="443" data-indicator="01/LĐVL-H|01"' in page
    assert "<figcaption>Huyện Can Lộc (443)</figcaption>" in page
    assert "<script" not in page and "default-src 'none'" in page
    assert '<span id="generated">31/01/2025 08:00</span>' in page


def test_a_stock_is_a_line_of_levels_with_no_plan_and_no_sum() -> None:
    spec = PageSpec({"03/BTXH-H": ("01",)}, 10)
    data = rows("reported", "443", "03/BTXH-H", "01", {1: (1200.0, 1200.0, 1150.0, None),
                                                       2: (1210.0, 1210.0, 1160.0, 99.0)})
    assert marks(render_indicator_page(data, year=2024, catalogue=CAT, spec=spec)) == [
        ("circle", "ytd_prev_year", "2024-01", 1150.0), ("circle", "ytd_prev_year", "2024-02", 1160.0),
        ("circle", "period", "2024-01", 1200.0), ("circle", "period", "2024-02", 1210.0),
    ]


def test_restated_beside_reported_and_the_largest_units_when_not_all_fit() -> None:
    spec = PageSpec({"01/LĐVL-H": ("01",)}, 2)
    data = pd.concat([rows("reported", "443", "01/LĐVL-H", "01", {1: (500.0, 500.0, None, None)}),
                      rows("reported", "441", "01/LĐVL-H", "01", {1: (10.0, 10.0, None, None)}),
                      rows("reported", "436", "01/LĐVL-H", "01", {1: (300.0, 300.0, None, None)}),
                      rows("restated", "436", "01/LĐVL-H", "01", {1: (325.0, 325.0, None, None)}),
                      rows("province", None, "01/LĐVL-H", "01", {1: (810.0, 810.0, None, None)})])
    page = render_indicator_page(data, year=2024, catalogue=CAT, spec=spec)
    charts = re.findall(r'data-series="(\w+)"(?: data-unit="(\w+)")?', page)
    assert charts == [("province", ""), ("reported", "436"), ("restated", "436"), ("reported", "443")]
    assert ('Thành phố Hà Tĩnh (436) — Quy đổi theo địa giới 2025 <span class="en">/ restated on the 2025 units'
            in page)
    assert '<p class="note">1 đơn vị khác không được vẽ.' in page


def test_no_numbers_yet_says_so() -> None:
    page = render_indicator_page(pd.DataFrame(columns=SERIES_COLUMNS), year=2025, catalogue=CAT, spec=page_spec())
    assert page.count("Chưa có số liệu.") == sum(len(r) for r in page_spec().rows.values())
    assert "<svg" not in page
