"""The analysts' indicator page: ``reports/indicators.html``, one self-contained HTML file drawn from the marts.

For each form (one per domain) and each row that ``indicator_page.yaml`` names, one chart for the province and a
small chart per unit (small multiples on one scale, so that units compare at a glance), over the form's periods of
one year: this period's value (bars; a stock's level is a line), the year to date, the same period last year and
the annual plan — the measures of ``forms.yaml``, with their labels. Where the 2025 reform changed a unit's
boundaries, its numbers restated on the 2025 units (``marts.fct_indicator_value_restated``) are drawn beside the
numbers it reported.

Why plain SVG written here rather than a charting library: the page must open from disk or a file share with no
server and no network (as the status page does), under a Content-Security-Policy that forbids every script; a
Vega-Lite chart needs its JavaScript runtime in the page. Every mark carries its number in ``data-*`` attributes
(the test reads them back in Chromium and compares them with the marts) and a tooltip (``<title>``) in
Vietnamese and English.

Numbers come only from the marts: the unit series from ``marts.fct_indicator_period_value`` (the form's own
periods), the province's from ``marts.mart_province_indicator`` (the same aggregation as the province's report,
never recomputed here), the restated ones from ``marts.fct_indicator_value_restated``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ingest import warehouse
from ingest.catalogue import Catalogue, Form, load_catalogue
from ingest.settings import CATALOGUE_DIR
from ingest.tell.official_forms import format_vn_number
from ingest.tell.status_page import CSS as STATUS_CSS
from ingest.tell.status_page import (
    bilingual,
    e,
    page_head,
    period_short_label,
    unit_sort_key,
    vn_time,
    write_atomically,
)
from ingest.yaml_files import read_yaml

log = logging.getLogger(__name__)

PAGE_NAME = "indicators.html"
SPEC_FILE = CATALOGUE_DIR / "indicator_page.yaml"

# the series a chart can draw: (mark, measure key of forms.yaml)
BARS, YTD, LAST_YEAR, PLAN = "period", "ytd", "ytd_prev_year", "plan_year"
VALUE_COLUMNS = {BARS: "value", YTD: "value_ytd", LAST_YEAR: "value_prev_year_ytd", PLAN: "plan_year"}
SERIES_LABELS = {"province": ("Toàn tỉnh", "province"), "reported": ("Số báo cáo", "as reported"),
                 "restated": ("Quy đổi theo địa giới 2025", "restated on the 2025 units")}
SERIES_COLUMNS = ["series", "unit_code", "form_code", "row_code", "period_start", *VALUE_COLUMNS.values()]

CSS = STATUS_CSS + """
.charts { display: flex; flex-wrap: wrap; gap: .6em 1.2em; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-size: 12px; max-width: 260px; }
figure.restated figcaption { font-style: italic; }
svg.chart { display: block; background: #fff; }
svg.chart text { font: 10px "DejaVu Sans", Arial, sans-serif; fill: #444; }
.bar { fill: #9ecae1; }
.ytd { fill: none; stroke: #08519c; stroke-width: 2; }
.ytd-dot { fill: #08519c; }
.last-year { fill: none; stroke: #e6550d; stroke-width: 1.5; stroke-dasharray: 4 3; }
.last-year-dot { fill: #e6550d; }
.plan { stroke: #31a354; stroke-width: 1.5; stroke-dasharray: 1 3; }
.axis { stroke: #999; stroke-width: 1; }
.key { display: inline-block; width: 1.8em; height: .8em; vertical-align: middle; margin-right: .3em; }
.key.bar { background: #9ecae1; }
.key.ytd { border-top: 2px solid #08519c; height: 0; }
.key.last-year { border-top: 2px dashed #e6550d; height: 0; }
.key.plan { border-top: 2px dotted #31a354; height: 0; }
"""


# -- what is drawn ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageSpec:
    """``indicator_page.yaml``: the rows drawn per form, and the most unit charts per indicator."""

    rows: dict[str, tuple[str, ...]]
    max_unit_charts: int


def read_page_spec(path: Path, cat: Catalogue) -> PageSpec:
    """The page's YAML, checked against the catalogue: an unknown form or row is an error that names it."""
    spec = read_yaml(path) or {}
    rows: dict[str, tuple[str, ...]] = {}
    for form_code, codes in (spec.get("rows") or {}).items():
        form = next((f for f in cat.forms if f.code == form_code), None)
        if form is None:
            raise ValueError(f"{path.name}: form {form_code!r} is not in forms.yaml")
        known = {r.code for r in form.rows}
        unknown = [c for c in codes if str(c) not in known]
        if unknown:
            raise ValueError(f"{path.name}: form {form_code} has no row(s) {unknown}")
        rows[form_code] = tuple(str(c) for c in codes)
    limit = int(spec.get("max_unit_charts", 120))
    if limit < 1:
        raise ValueError(f"{path.name}: max_unit_charts must be at least 1, not {limit}")
    return PageSpec(rows, limit)


@functools.cache
def page_spec() -> PageSpec:
    return read_page_spec(SPEC_FILE, load_catalogue())


# -- reading the marts -----------------------------------------------------------------------------------------------

def _pairs(spec: PageSpec) -> str:
    """The (form, row) pairs of the page as a SQL values list (codes from our own YAML, checked, never data)."""
    items = [(f, r) for f, codes in spec.rows.items() for r in codes]
    for f, r in items:
        if "'" in f or "'" in r:
            raise ValueError(f"a form or row code with a quote: {f!r} {r!r}")
    return ", ".join(f"('{f}', '{r}')" for f, r in items) or "(null, null)"


def read_series(con: warehouse.Connection, spec: PageSpec, year: int) -> pd.DataFrame:
    """Every number the page draws for ``year``: one row per series, unit, indicator and period of the form
    (``SERIES_COLUMNS``); the province's rows have no unit."""
    pairs = _pairs(spec)
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    params = {"first": first, "last": last}
    reported = warehouse.frame(con, f"""
        with page(form_code, row_code) as (values {pairs})
        select 'reported' as series, v.unit_code, v.form_code, v.row_code, v.period_start,
               v.value, v.value_ytd, v.value_prev_year_ytd, v.plan_year
        from marts.fct_indicator_period_value v
        join page using (form_code, row_code)
        where not v.is_rollup and v.period_start between :first and :last""", params)
    restated = warehouse.frame(con, f"""
        with page(form_code, row_code) as (values {pairs}),
        changed as (
            -- the 2025 units whose numbers of the year are not simply their own
            select distinct restated_unit_code from marts.fct_indicator_value_restated
            where is_restated and period_start between :first and :last
        )
        select 'restated' as series, r.restated_unit_code as unit_code, r.form_code, r.row_code, r.period_start,
               sum(r.restated_value) filter (where r.measure = 'period') as value,
               sum(r.restated_value) filter (where r.measure = 'ytd') as value_ytd,
               sum(r.restated_value) filter (where r.measure = 'ytd_prev_year') as value_prev_year_ytd,
               sum(r.restated_value) filter (where r.measure = 'plan_year') as plan_year
        from marts.fct_indicator_value_restated r
        join page using (form_code, row_code)
        join changed using (restated_unit_code)
        where r.period_start between :first and :last
        group by r.restated_unit_code, r.form_code, r.row_code, r.period_start""", params)
    province = read_province_series(con, pairs, params)
    frames = [f for f in (province, reported, restated) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[SERIES_COLUMNS]
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    return out


def read_province_series(con: warehouse.Connection, pairs: str, params: dict) -> pd.DataFrame:
    """The province's numbers, as the province's report has them (``marts.mart_province_indicator``: flows summed
    over units, stocks at the period's end, never recomputed here)."""
    return warehouse.frame(con, f"""
        with page(form_code, row_code) as (values {pairs})
        select 'province' as series, cast(null as varchar) as unit_code, p.form_code, p.row_code, p.period_start,
               p.value, p.value_ytd, p.value_prev_year_ytd, p.plan_year
        from marts.mart_province_indicator p
        join page using (form_code, row_code)
        where p.period_start between :first and :last""", params)


def latest_year(con: warehouse.Connection, as_of: dt.date) -> int:
    """The year of the latest period with a number, up to ``as_of`` (``as_of``'s year when there is none)."""
    frame = warehouse.frame(con, """select max(period_start) as latest from marts.fct_indicator_period_value
                                    where period_start <= :as_of""", {"as_of": as_of})
    latest = frame["latest"].iloc[0] if not frame.empty else None
    return as_of.year if latest is None or pd.isna(latest) else pd.Timestamp(latest).year


# -- drawing ---------------------------------------------------------------------------------------------------------

def form_periods(form: Form, year: int) -> list[dt.date]:
    """The starts of the form's reporting periods in ``year``: 12 months or 4 quarters."""
    return [dt.date(year, m, 1) for m in range(1, 13, form.months)]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at least ``value`` (an axis' top), 1 for nothing to draw."""
    if not value or value <= 0 or math.isnan(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def _num(value: object) -> float | None:
    """A number of the marts, or None for NULL (NaN, NA)."""
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _attr_number(value: float) -> str:
    """A number as a ``data-value`` attribute: exact (repr), so the test compares it with the marts."""
    return repr(float(value))


@dataclass(frozen=True)
class Chart:
    """One chart: a series of one unit (or the province) for one indicator."""

    series: str
    unit_code: str | None
    caption: str  # HTML
    label: str  # text, for screen readers
    rows: pd.DataFrame  # the series' rows, one per period


def draw(chart: Chart, form: Form, kind: str, periods: Sequence[dt.date], top: float, cat: Catalogue, *,
         width: int = 250, height: int = 120) -> str:
    """The chart as inline SVG: bars (or a line, for a stock) for the period, lines for the year to date and the
    same period last year, a dotted line for the plan; every mark with its number and a tooltip."""
    left, right, above, below = 42, 6, 8, 16
    plot_w, plot_h = width - left - right, height - above - below
    step = plot_w / len(periods)
    by_period = {p: r for p, r in zip(chart.rows["period_start"], chart.rows.to_dict("records"), strict=True)}
    unit_attr = f' data-unit="{e(chart.unit_code)}"' if chart.unit_code else ""
    indicator = f"{form.code}|{chart.rows['row_code'].iloc[0]}" if not chart.rows.empty else form.code

    def y(value: float) -> float:
        return round(above + plot_h - plot_h * value / top, 1)

    def x(i: int) -> float:
        return round(left + step * (i + 0.5), 1)

    def mark(tag: str, measure: str, period: dt.date, value: float, geometry: str) -> str:
        """One mark (``tag``: rect, circle, line) with its number as data and as a tooltip."""
        m = cat.measure(measure)
        label_vi, label_en = (m.label_vi, m.label_en) if m else (measure, measure)
        tip = (f"{period_short_label(form.period_type, period)} · {label_vi}: {format_vn_number(value)} "
               f"/ {label_en}")
        return (f'<{tag} {geometry} data-measure="{measure}" data-period="{period:%Y-%m}" '
                f'data-value="{_attr_number(value)}"><title>{e(tip)}</title></{tag}>')

    parts: list[str] = [f'<line class="axis" x1="{left}" y1="{above + plot_h}" x2="{left + plot_w}" '
                        f'y2="{above + plot_h}"/>',
                        f'<text x="{left - 3}" y="{above + 8}" text-anchor="end">{e(format_vn_number(top))}</text>',
                        f'<text x="{left - 3}" y="{above + plot_h}" text-anchor="end">0</text>']
    for i in (0, len(periods) - 1):
        label = period_short_label(form.period_type, periods[i]).split("/")[0]
        parts.append(f'<text x="{x(i)}" y="{height - 3}" text-anchor="middle">{e(label)}</text>')
    stock = kind == "stock"
    # the plan as it stands: that of the latest period that gives one (a unit may revise its plan during the year)
    planned = [(p, _num(r["plan_year"])) for p, r in sorted(by_period.items()) if _num(r["plan_year"]) is not None]
    if planned and not stock:
        last, plan = planned[-1]
        assert plan is not None
        parts.append(mark("line", PLAN, last, plan,
                          f'class="plan" x1="{left}" y1="{y(plan)}" x2="{left + plot_w}" y2="{y(plan)}"'))
    lines: dict[str, list[tuple[float, float, dt.date, float]]] = {YTD: [], LAST_YEAR: []}
    for i, period in enumerate(periods):
        row = by_period.get(period)
        if row is None:
            continue
        value = _num(row["value"])
        if value is not None and not stock:
            bar_w = max(step * 0.7, 1.0)
            top_y = y(max(value, 0.0))
            parts.append(mark("rect", BARS, period, value,
                              f'class="bar" x="{round(x(i) - bar_w / 2, 1)}" y="{top_y}" width="{round(bar_w, 1)}" '
                              f'height="{round(above + plot_h - top_y, 1)}"'))
        for measure in (YTD, LAST_YEAR):
            v = value if stock and measure == YTD else _num(row[VALUE_COLUMNS[measure]])
            if v is not None:
                lines[measure].append((x(i), y(v), period, v))
    for measure, css in ((LAST_YEAR, "last-year"), (YTD, "ytd")):
        points = lines[measure]
        if len(points) > 1:
            parts.append(f'<polyline class="{css}" points="{" ".join(f"{px},{py}" for px, py, _, _ in points)}"/>')
        shown = BARS if stock and measure == YTD else measure
        for px, py, period, v in points:
            parts.append(mark("circle", shown, period, v, f'class="{css}-dot" cx="{px}" cy="{py}" r="2"'))
    return (f'<figure class="{chart.series}"><figcaption>{chart.caption}</figcaption>'
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(chart.label)}" data-series="{chart.series}"'
            f'{unit_attr} data-indicator="{e(indicator)}">{"".join(parts)}</svg></figure>')


def _top(rows: pd.DataFrame, stock: bool) -> float:
    columns = ["value", "value_prev_year_ytd"] if stock else list(VALUE_COLUMNS.values())
    values = pd.to_numeric(rows[columns].stack(), errors="coerce") if not rows.empty else pd.Series(dtype=float)
    return nice_ceiling(float(values.max())) if not values.empty else 1.0


def _legend(cat: Catalogue) -> str:
    items = []
    for key, css in ((BARS, "bar"), (YTD, "ytd"), (LAST_YEAR, "last-year"), (PLAN, "plan")):
        m = cat.measure(key)
        if m:
            items.append(f'<li><span class="key {css}"></span>{bilingual(m.label_vi, m.label_en)}</li>')
    return (f'<ul class="legend">{"".join(items)}</ul><p class="meta">Chỉ tiêu tồn (như số đối tượng đang hưởng) là '
            'số cuối kỳ, vẽ bằng đường liền, không cộng dồn. <span class="en">A stock (people receiving a benefit) '
            'is the level at the end of the period, drawn as a line, never summed.</span></p>')


def _unit_caption(cat: Catalogue, series: str, code: str) -> tuple[str, str]:
    """``Huyện Can Lộc (443)`` as HTML and as text; a restated series says so, in both languages."""
    unit = cat.unit(code)
    name = f"{unit.name} ({code})" if unit else code
    if series == "restated":
        vi, en = SERIES_LABELS["restated"]
        return f"{e(name)} — {bilingual(vi, en)}", f"{name} — {vi} / {en}"
    return e(name), name


def _indicator_section(form: Form, row_code: str, data: pd.DataFrame, year: int, cat: Catalogue,
                       spec: PageSpec) -> str:
    row = next(r for r in form.rows if r.code == row_code)
    periods = form_periods(form, year)
    stock = row.kind == "stock"
    mine = data[(data["form_code"] == form.code) & (data["row_code"] == row_code)]
    province = mine[mine["series"] == "province"]
    units = mine[mine["series"] != "province"]
    figures = []
    if not province.empty:
        vi, en = SERIES_LABELS["province"]
        figures.append(draw(Chart("province", None, bilingual(vi, en), f"{vi} / {en}", province), form, row.kind,
                            periods, _top(province, stock), cat, width=520, height=200))
    # the largest units first when they cannot all be drawn; then by code
    sizes = units.groupby(["unit_code"])["value"].sum().to_dict() if not units.empty else {}
    codes = sorted({*units["unit_code"]}, key=unit_sort_key)
    shown = sorted(codes, key=lambda c: -sizes.get(c, 0.0))[:spec.max_unit_charts]
    shown_set = set(shown)
    top = _top(units[units["unit_code"].isin(shown_set)], stock)
    small = []
    for code in codes:
        if code not in shown_set:
            continue
        for series in ("reported", "restated"):
            rows = units[(units["unit_code"] == code) & (units["series"] == series)]
            if not rows.empty:
                chart = Chart(series, code, *_unit_caption(cat, series, code), rows.sort_values("period_start"))
                small.append(draw(chart, form, row.kind, periods, top, cat))
    left_out = len(codes) - len(shown)
    note = (f'<p class="note">{left_out} đơn vị khác không được vẽ. <span class="en">{left_out} more units are not '
            'drawn (the largest are).</span></p>') if left_out > 0 else ""
    empty = '<p class="empty">Chưa có số liệu. <span class="en">No numbers yet.</span></p>' if mine.empty else ""
    return (f'<section class="indicator" id="i-{e(form.code.replace("/", "-"))}-{e(row_code)}">'
            f'<h3>{e(row_code)}. {bilingual(row.label_vi, row.label_en)} <span class="code">({e(row.unit)})</span>'
            f'</h3>{empty}<div class="charts">{"".join(figures)}</div>'
            f'<div class="charts">{"".join(small)}</div>{note}</section>')


def render_indicator_page(data: pd.DataFrame, *, year: int, catalogue: Catalogue, spec: PageSpec,
                          generated_at: dt.datetime | None = None) -> str:
    """The indicator page as one HTML document, from :func:`read_series`' rows of ``year``."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    forms = [catalogue.form(code) for code in spec.rows]
    nav = " ".join(f'<a href="#f-{i}">{e(f.code)}</a>' for i, f in enumerate(forms, 1))
    sections = []
    for i, form in enumerate(forms, 1):
        body = "".join(_indicator_section(form, code, data, year, catalogue, spec) for code in spec.rows[form.code])
        sections.append(f'<section id="f-{i}"><h2>{e(form.code)} · {bilingual(form.title_vi, form.title_en)}</h2>'
                        f'{body}</section>')
    title = f"sectorstats — chỉ tiêu năm {year} / indicators {year}"
    return page_head(title, CSS, "ingest/tell/indicator_page.py") + f"""<header>
<h1>{e(catalogue.province_name)}: chỉ tiêu năm <span id="year">{year}</span>
 <span class="en">/ indicators of {year}</span></h1>
<p class="meta">Tạo lúc <span class="en">/ generated</span> <span id="generated">{e(vn_time(generated_at))}</span>
 (giờ Việt Nam, UTC+7) · từ các bảng marts <span class="en">/ from the marts</span>
 · <a href="status.html">Tình hình nộp báo cáo <span class="en">/ reporting status</span></a>
 · <a href="dbt_docs/index.html">Tài liệu các bảng <span class="en">/ the marts' documentation</span></a></p>
<nav>{nav}</nav>
{_legend(catalogue)}
</header>
<main>
{"".join(sections)}
</main>
<footer>sectorstats · ingest/tell/indicator_page.py · {e(catalogue.receiver)}</footer>
</body>
</html>
"""


def write_indicator_page(as_of: dt.date, path: Path | None = None, *, year: int | None = None) -> Path:
    """Draw the indicator page of ``year`` (default: the latest year with numbers up to ``as_of``) from the marts
    and write it (``reports/indicators.html``) atomically."""
    from ingest.settings import reports_dir

    cat, spec = load_catalogue(), page_spec()
    with warehouse.connect(read_only=True) as con:
        year = year or latest_year(con, as_of)
        data = read_series(con, spec, year)
    page = render_indicator_page(data, year=year, catalogue=cat, spec=spec)
    target = Path(path) if path else reports_dir() / PAGE_NAME
    write_atomically(target, page)
    log.info("indicator page of %d: %d numbers drawn → %s", year, _count(data), target)
    return target


def _count(data: pd.DataFrame) -> int:
    return int(data[list(VALUE_COLUMNS.values())].notna().sum().sum()) if not data.empty else 0
