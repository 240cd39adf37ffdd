"""The province's own report: the official form filled in for the whole province, from the marts.

``write_province_reports([(form_code, period)])`` writes, per form and period,
``<reports>/province/<period>/<form>_toan_tinh.xlsx`` and the ``.txt`` paragraph beside it:

- the form's sheet, laid out by the same writer as the districts' templates (``official_forms``), so its rows,
  codes and columns are the district form's; the reporting unit is the department (``province_report.yaml``),
  the numbers those of ``marts.mart_province_indicator`` (aggregated there by kind: see docs/marts.md);
- an annex sheet: the period value of every row, one column per unit counted, and the province's;
- a coverage sheet: which units' reports are in it, which are missing or rejected (not counted), and the date the
  figures were taken (``marts.mart_province_report_coverage``);
- a lineage sheet: for every number of the form, the units' numbers it is the sum of and the submission, file,
  sheet and cell each was read from (``marts.mart_province_indicator_source``).

The annex and the lineage sheet are written up to a size (``sheet_limits``, within Excel's own): at national scale
they would be thousands of columns and hundreds of thousands of rows a report; over it, the sheet holds a note with
the mart's query instead. Several reports are written side by side by the parse workers, each reading only its own
figures.

Every cell holds a value: numbers as numbers, any text as a string (``feedback.write_cell``), never a formula.
The project's parser reads the form's sheet back (``parse_sheets(..., province=True)``): the extra sheets name
neither the form's code nor its title, nor have a ``Mã số`` header, so they are never taken for a second form.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ingest import warehouse
from ingest.catalogue import Form, load_catalogue
from ingest.catalogue.problems import Problem
from ingest.read import workers as parallel
from ingest.read.limits import EXCEL_COLUMNS, EXCEL_ROWS
from ingest.settings import CATALOGUE_DIR, reports_dir
from ingest.tell.feedback import write_cell
from ingest.tell.narrative import ProvinceNumbers, Rate, format_number, paragraph
from ingest.tell.official_forms import MEASURES, Values, form_bytes, template_file_name
from ingest.yaml_files import read_yaml

log = logging.getLogger(__name__)

CONFIG_PATH = CATALOGUE_DIR / "province_report.yaml"
#: beside the reports: the signature of the figures each was last written from (write_changed_province_reports)
WRITTEN_STATE = ".written.json"
_MONTH_ID = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER_ID = re.compile(r"^(\d{4})-Q([1-4])$")
#: mart_province_indicator's column of each measure of the form (official_forms.MEASURES)
MEASURE_COLUMNS = {"plan_year": "plan_year", "period": "value", "ytd": "value_ytd",
                   "ytd_prev_year": "value_prev_year_ytd"}


class ProvinceReportError(ValueError):
    """A province report that cannot be made: an unknown form, a malformed period, or no figures for it."""


@dataclass(frozen=True)
class ProvinceOffice:
    """The department as the reporting unit of the province's forms (an ``official_forms.Issuer``)."""

    code: str
    short_name: str
    issuing_body: str
    office_line: str
    office_name: str
    head_title: str


@dataclass(frozen=True)
class DomainNarrative:
    sentences: tuple[str, ...]
    rates: dict[str, Rate] = field(default_factory=dict)


@dataclass(frozen=True)
class SheetLimits:
    """How large the annex (units) and the lineage sheet (rows) may be before a note replaces them
    (``province_report.yaml`` ``sheet_limits``)."""

    annex_units: int
    lineage_rows: int
    annex_note: str
    lineage_note: str


@dataclass(frozen=True)
class ProvinceReportConfig:
    office: ProvinceOffice
    signers: tuple[str, str]
    file_suffix: str
    sheets: dict[str, str]
    coverage_labels: dict[str, str]
    status_labels: dict[str, str]
    narratives: dict[str, DomainNarrative]
    limits: SheetLimits
    closing_sentences: tuple[str, ...] = ()


def load_config(path: Path = CONFIG_PATH) -> ProvinceReportConfig:
    """``province_report.yaml``, with the province code of the catalogue."""
    spec = read_yaml(path)
    office = spec["office"]
    signers = tuple(office.get("signers") or ("", ""))
    narratives = {
        domain: DomainNarrative(tuple(d["sentences"]), {name: Rate(**r) for name, r in (d.get("rates") or {}).items()})
        for domain, d in spec["narratives"].items()
    }
    return ProvinceReportConfig(
        office=ProvinceOffice(code=load_catalogue().province_code, short_name=office["short_name"],
                              issuing_body=office["issuing_body"], office_line=office["office_line"],
                              office_name=office["office_name"], head_title=office["head_title"]),
        signers=(signers[0], signers[1]),
        file_suffix=spec["file_suffix"],
        sheets=dict(spec["sheets"]),
        coverage_labels=dict(spec["coverage"]),
        status_labels=dict(spec["statuses"]),
        narratives=narratives,
        limits=SheetLimits(**spec["sheet_limits"]),
        closing_sentences=tuple(spec.get("closing_sentences") or ()),
    )


def period_start(form: Form, period: str) -> dt.date:
    """The first day of ``period`` (``2024-12`` for a monthly form, ``2024-Q4`` for a quarterly one), which must
    be a period of the form's own frequency (the marts' ``period_id``)."""
    m = _MONTH_ID.match(period)
    if m and form.frequency == "monthly":
        return dt.date(int(m.group(1)), int(m.group(2)), 1)
    q = _QUARTER_ID.match(period)
    if q and form.frequency == "quarterly":
        return dt.date(int(q.group(1)), 3 * (int(q.group(2)) - 1) + 1, 1)
    example = "YYYY-MM, e.g. 2024-12" if form.frequency == "monthly" else "YYYY-Qn, e.g. 2024-Q4"
    raise ProvinceReportError(f"{form.code} is a {form.frequency} form: its periods are written {example}, "
                              f"not {period!r}")


def form_period(form: Form, month: dt.date) -> str:
    """The ``period_id`` of the form's own period that contains ``month``: ``2024-12``, or ``2024-Q4`` for a
    quarterly form."""
    return form.period_id(form.period_containing(month))


@dataclass(frozen=True)
class ProvinceFigures:
    """What the marts say about one form and period: the province's rows, their sources, the units' coverage.

    ``sources`` holds what the report's sheets write, never more: every source when the lineage sheet is within its
    limit, else only the period values the annex needs (or none when the annex is over its own); ``n_sources`` and
    ``n_units`` are the sizes the sheets would have had."""

    indicators: pd.DataFrame
    sources: pd.DataFrame
    coverage: pd.DataFrame
    n_sources: int = 0
    n_units: int = 0

    @property
    def figures_as_of(self) -> dt.date | None:
        if self.coverage.empty:
            return None
        return pd.Timestamp(self.coverage["figures_as_of"].iloc[0]).date()


def annex_limit(limits: SheetLimits) -> int:
    """Units the annex may have columns for: the setting, within Excel's columns (the form's three and the
    province's beside them)."""
    return min(limits.annex_units, EXCEL_COLUMNS - 4)


def lineage_limit(limits: SheetLimits) -> int:
    """Sources the lineage sheet may have rows for: the setting, within Excel's rows (title and header above)."""
    return min(limits.lineage_rows, EXCEL_ROWS - 4)


def read_figures(con: warehouse.Connection, form_code: str, period: str,
                 limits: SheetLimits | None = None) -> ProvinceFigures:
    """The figures of one report, reading no more sources than its sheets will write (``limits``: the config's)."""
    limits = limits or load_config().limits
    params = {"form": form_code, "period": period}
    indicators = warehouse.frame(con, """
        select row_code, indicator_name, kind, plan_year, value, value_ytd, value_prev_year_ytd, pct_of_plan,
               change_vs_prev_year, n_units
        from marts.mart_province_indicator where form_code = :form and period_id = :period
        order by sort_order, row_code""", params)
    sizes = warehouse.frame(con, """
        select count(*) as n_sources, count(distinct case when measure = 'period' then unit_code end) as n_units
        from marts.mart_province_indicator_source where form_code = :form and period_id = :period""", params)
    n_sources, n_units = int(sizes["n_sources"].iloc[0]), int(sizes["n_units"].iloc[0])
    wanted = ("" if n_sources <= lineage_limit(limits) else
              "and measure = 'period'" if n_units <= annex_limit(limits) else "and false")
    sources = warehouse.frame(con, f"""
        select row_code, measure, unit_code, value, submission_id, source_file, source_sheet, source_cell,
               is_derived
        from marts.mart_province_indicator_source where form_code = :form and period_id = :period {wanted}
        order by row_code, measure, unit_code""", params)
    coverage = warehouse.frame(con, """
        select unit_code, unit_name, coverage, status, submission_id, source_file, received_date, figures_as_of
        from marts.mart_province_report_coverage where form_code = :form and period_id = :period
        order by unit_code""", params)
    return ProvinceFigures(indicators, sources, coverage, n_sources, n_units)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def form_values(indicators: pd.DataFrame) -> Values:
    """The numbers of the form's sheet, by ``(row_code, measure)``: the province's, as the mart has them."""
    values: Values = {}
    for r in indicators.itertuples(index=False):
        for measure in MEASURES:
            v = _number(getattr(r, MEASURE_COLUMNS[measure]))
            if v is not None:
                values[(r.row_code, measure)] = v
    return values


def province_numbers(indicators: pd.DataFrame) -> dict[str, ProvinceNumbers]:
    """The province's rows for the narrative, by row code."""
    return {r.row_code: ProvinceNumbers(*(_number(getattr(r, c)) for c in (
        "plan_year", "value", "value_ytd", "value_prev_year_ytd", "pct_of_plan", "change_vs_prev_year")))
        for r in indicators.itertuples(index=False)}


def narrative(form: Form, start: dt.date, figures: ProvinceFigures, config: ProvinceReportConfig) -> str:
    """The Vietnamese paragraph of the form's domain."""
    domain = config.narratives.get(form.domain)
    if domain is None:
        log.warning("province_report.yaml has no narrative for domain %s (%s)", form.domain, form.code)
        return ""
    coverage = figures.coverage["coverage"]
    texts = {"units_counted": str(int((coverage == "counted").sum())), "units_owed": str(len(coverage))}
    return paragraph([*domain.sentences, *config.closing_sentences], form.period_label_vi(start),
                     province_numbers(figures.indicators), domain.rates, texts)


def _date_vi(day: Any) -> str:
    if day is None or pd.isna(day):
        return ""
    return pd.Timestamp(day).strftime("%d/%m/%Y")


class _Sheets:
    """The annex, coverage and lineage sheets, added after the form's (``official_forms.ExtraSheets``)."""

    def __init__(self, form: Form, start: dt.date, figures: ProvinceFigures, config: ProvinceReportConfig) -> None:
        self.form, self.start, self.figures, self.config = form, start, figures, config
        self.units = dict(zip(figures.coverage["unit_code"], figures.coverage["unit_name"], strict=True))

    def __call__(self, wb: Any, form_sheet: Any, cells: dict[tuple[str, str], str]) -> None:
        head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "border": 1, "bg_color": "#D9E1F2"})
        title = wb.add_format({"bold": True, "font_size": 13})
        self._annex(wb.add_worksheet(self.config.sheets["annex"]), head, title)
        self._coverage(wb.add_worksheet(self.config.sheets["coverage"]), head, title)
        self._lineage(wb.add_worksheet(self.config.sheets["lineage"]), head, title, cells)
        form_sheet.activate()

    def _title(self, ws: Any, fmt: Any, text: str) -> None:
        write_cell(ws, 0, 0, f"{text} — {self.form.period_label_vi(self.start)}", fmt)
        write_cell(ws, 1, 0, f"Số liệu lấy ngày {_date_vi(self.figures.figures_as_of)} "
                             f"(các báo cáo nhận được đến ngày này)")

    def _too_large(self, ws: Any, rows: int, limit: int, note: str) -> bool:
        """Whether a sheet of ``rows`` rows (or unit columns) is over ``limit``; if so, the note under its title says
        where the numbers are instead."""
        if rows <= limit:
            return False
        write_cell(ws, 3, 0, note.format(rows=format_number(rows), limit=format_number(limit),
                                         form_code=self.form.code, period_id=self.form.period_id(self.start)))
        log.info("province report %s %s: sheet %r left out (%d > %d)", self.form.code,
                 self.form.period_id(self.start), ws.name, rows, limit)
        return True

    def _header(self, ws: Any, row: int, labels: Iterable[str], fmt: Any) -> None:
        for c, label in enumerate(labels):
            write_cell(ws, row, c, label, fmt)

    def _annex(self, ws: Any, head: Any, title: Any) -> None:
        self._title(ws, title, "Phụ lục: số liệu thực hiện kỳ báo cáo của từng đơn vị")
        if self._too_large(ws, self.figures.n_units, annex_limit(self.config.limits), self.config.limits.annex_note):
            return
        period = self.figures.sources[self.figures.sources["measure"] == "period"]
        units = sorted(period["unit_code"].unique())
        labels = ["Dòng", "Chỉ tiêu", "Đơn vị tính"]
        labels += [f"{self.units.get(u) or u} ({u})" for u in units] + ["Toàn tỉnh"]
        self._header(ws, 3, labels, head)
        by_cell = {(r.row_code, r.unit_code): r.value for r in period.itertuples(index=False)}
        province = {r.row_code: r.value for r in self.figures.indicators.itertuples(index=False)}
        for i, row in enumerate(self.form.rows):
            r = 4 + i
            write_cell(ws, r, 0, row.code)
            write_cell(ws, r, 1, row.label_vi)
            write_cell(ws, r, 2, row.unit)
            for j, u in enumerate(units):
                write_cell(ws, r, 3 + j, _number(by_cell.get((row.code, u))))
            write_cell(ws, r, 3 + len(units), _number(province.get(row.code)))
        ws.set_column(1, 1, 50)
        ws.set_column(3, 3 + len(units), 14)

    def _coverage(self, ws: Any, head: Any, title: Any) -> None:
        self._title(ws, title, "Các đơn vị có trong báo cáo tổng hợp")
        cov = self.figures.coverage
        counts = cov["coverage"].value_counts()
        write_cell(ws, 2, 0, "; ".join(f"{label}: {int(counts.get(key, 0))} đơn vị"
                                       for key, label in self.config.coverage_labels.items()))
        self._header(ws, 4, ["STT", "Mã đơn vị", "Đơn vị", "Tình trạng", "Trạng thái báo cáo", "Tệp",
                             "Ngày nhận"], head)
        for i, r in enumerate(cov.itertuples(index=False)):
            row = 5 + i
            for c, value in enumerate((i + 1, r.unit_code, r.unit_name,
                                       self.config.coverage_labels.get(r.coverage, r.coverage),
                                       self.config.status_labels.get(r.status, r.status),
                                       r.source_file, _date_vi(r.received_date))):
                write_cell(ws, row, c, None if value is None or (not isinstance(value, str) and pd.isna(value))
                           else value)
        ws.set_column(2, 2, 28)
        ws.set_column(3, 3, 36)
        ws.set_column(5, 5, 40)

    def _lineage(self, ws: Any, head: Any, title: Any, cells: dict[tuple[str, str], str]) -> None:
        self._title(ws, title, "Nguồn của từng số liệu: tổng của các số liệu dưới đây")
        if self._too_large(ws, self.figures.n_sources, lineage_limit(self.config.limits),
                           self.config.limits.lineage_note):
            return
        measures = {m.key: m.label_vi for m in load_catalogue().measures}
        self._header(ws, 3, ["Ô trên biểu", "Dòng", "Cột", "Mã đơn vị", "Đơn vị", "Số liệu", "Tệp", "Sheet",
                             "Ô", "Ghi chú", "Mã bản báo cáo"], head)
        for i, r in enumerate(self.figures.sources.itertuples(index=False)):
            note = "tính từ cột lũy kế (lũy kế kỳ này - lũy kế kỳ trước)" if r.is_derived else ""
            for c, value in enumerate((cells.get((r.row_code, r.measure), ""), r.row_code,
                                       measures.get(r.measure, r.measure), r.unit_code,
                                       self.units.get(r.unit_code) or "", _number(r.value), r.source_file,
                                       r.source_sheet, r.source_cell, note, r.submission_id)):
                write_cell(ws, 4 + i, c, value)
        ws.set_column(6, 6, 40)


def report_path(form: Form, period: str, config: ProvinceReportConfig, out_dir: Path | None = None) -> Path:
    """``<reports>/province/<period>/01_LĐVL-H_toan_tinh.xlsx``."""
    base = out_dir if out_dir is not None else reports_dir() / "province"
    return base / period / f"{Path(template_file_name(form)).stem}_{config.file_suffix}.xlsx"


def checked_report(form_code: str, period: str) -> tuple[Form, dt.date]:
    """The form and the first day of the period of a report asked for; ProvinceReportError when the form is not
    in the catalogue or the period is not one of its own."""
    catalogue = load_catalogue()
    if form_code not in catalogue.form_codes:
        raise ProvinceReportError(f"no form {form_code!r} in the catalogue (forms: {', '.join(catalogue.form_codes)})")
    form = catalogue.form(form_code)
    return form, period_start(form, period)


def write_province_report(con: warehouse.Connection, form_code: str, period: str, *,
                          config: ProvinceReportConfig | None = None, out_dir: Path | None = None) -> Path:
    """Write one form's province report for ``period`` (and its ``.txt`` narrative); return the workbook's path."""
    config = config or load_config()
    form, start = checked_report(form_code, period)
    figures = read_figures(con, form_code, period, config.limits)
    if figures.coverage.empty:
        raise ProvinceReportError(f"no report of {form_code} for {period} is owed or received in the warehouse "
                                  f"(as of its last build): nothing to sum")
    path = report_path(form, period, config, out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    rendered = form_bytes(form, config.office, start, form_values(figures.indicators), signed_on=figures.figures_as_of,
                          signers=config.signers, extra_sheets=_Sheets(form, start, figures, config))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(rendered.data)
    tmp.replace(path)
    path.with_suffix(".txt").write_text(narrative(form, start, figures, config) + "\n", encoding="utf-8")
    counted = int((figures.coverage["coverage"] == "counted").sum())
    log.info("province report %s %s: %d rows from %d of %d units → %s", form_code, period,
             len(figures.indicators), counted, len(figures.coverage), path)
    return path


def write_province_reports(reports: Iterable[tuple[str, str]], *, out_dir: Path | None = None) -> list[Path]:
    """The province reports of ``[(form_code, period)]`` (``period``: ``2024-12`` or ``2024-Q4``), from the
    warehouse's marts; the workbooks' paths (each has its ``.txt`` narrative beside it)."""
    config = load_config()
    reports = list(reports)
    for form_code, period in reports:  # a mistake in what was asked is said before the warehouse is opened
        checked_report(form_code, period)
    written = _write_all(reports, config, out_dir)
    _raise_failed(reports, written)
    return list(written.values())


def _write_all(reports: list[tuple[str, str]], config: ProvinceReportConfig,
               out_dir: Path | None) -> dict[tuple[str, str], Path | str]:
    """Write ``reports``, side by side in worker processes when there are several (a year's backlog at national
    scale is minutes of xlsx writing on one core); each report's path, or why it was not written. Each report
    reads its own figures, so no process holds more than one report's."""
    workers = parallel.default_workers() if len(reports) > 1 else 0
    run = functools.partial(_write_from_warehouse, config=config, out_dir=out_dir)
    results: dict[tuple[str, str], Path | str] = {}
    for report, result in zip(reports, parallel.map_in_workers(reports, run, workers=workers), strict=True):
        if isinstance(result, Problem):  # the worker overran its time limit or died
            result = f"{result.rule} {result.details.get('detail', '')}".strip()
        results[report] = result
    return results


def _raise_failed(reports: list[tuple[str, str]], results: dict[tuple[str, str], Path | str]) -> None:
    failed = [f"{form_code} {period}: {results[(form_code, period)]}" for form_code, period in reports
              if not isinstance(results[(form_code, period)], Path)]
    if failed:
        raise ProvinceReportError(f"{len(failed)} of {len(reports)} province reports not written: "
                                  + "; ".join(failed))


def _write_from_warehouse(report: tuple[str, str], config: ProvinceReportConfig, out_dir: Path | None) -> Path | str:
    """One report, read and written in this (worker) process; its error as text rather than a dead worker."""
    form_code, period = report
    try:
        with warehouse.connect(read_only=True) as con:
            return write_province_report(con, form_code, period, config=config, out_dir=out_dir)
    except (ProvinceReportError, OSError) as e:
        return str(e)


def report_signatures(con: warehouse.Connection) -> dict[tuple[str, str], str]:
    """A digest of what each (form, period) province report shows: its units' coverage and versions, and its
    numbers. It changes when a report arrives, a new version is accepted, a report falls due, or a reprocess
    changes a number; not when only the as-of date moves."""
    coverage = warehouse.frame(con, """
        select form_code, period_id, unit_code, coverage, submission_id from marts.mart_province_report_coverage
        order by form_code, period_id, unit_code""")
    indicators = warehouse.frame(con, """
        select form_code, period_id, row_code, plan_year, value, value_ytd, value_prev_year_ytd
        from marts.mart_province_indicator order by form_code, period_id, row_code""")
    digests: dict[tuple[str, str], Any] = {}
    for frame in (coverage, indicators):
        for (form_code, period), rows in frame.groupby(["form_code", "period_id"], sort=True):
            digest = digests.setdefault((form_code, period), hashlib.sha256())
            digest.update(rows.to_csv(index=False).encode("utf-8"))
    return {key: d.hexdigest()[:16] for key, d in digests.items()}


def write_changed_province_reports(*, out_dir: Path | None = None) -> list[Path]:
    """The province reports of every (form, period) whose figures changed since they were last written here (or
    that were never written): what the transform DAG runs after each build. The signatures are kept in
    ``<out_dir>/.written.json``."""
    config = load_config()
    base = out_dir if out_dir is not None else reports_dir() / "province"
    state_path = base / WRITTEN_STATE
    state: dict[str, str] = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    catalogue = load_catalogue()
    with warehouse.connect(read_only=True) as con:
        signatures = report_signatures(con)
    changed = [(form_code, period) for (form_code, period), signature in sorted(signatures.items())
               if form_code in catalogue.form_codes
               and not (state.get(f"{form_code}|{period}") == signature
                        and report_path(catalogue.form(form_code), period, config, base).exists())]
    results = _write_all(changed, config, base)
    paths = [path for path in results.values() if isinstance(path, Path)]
    for (form_code, period), result in results.items():  # what was written is remembered: a rerun writes the rest
        if isinstance(result, Path):
            state[f"{form_code}|{period}"] = signatures[(form_code, period)]
    _save_state(state_path, state)
    log.info("province reports: %d of %d (form, period) changed and written", len(paths), len(signatures))
    _raise_failed(changed, results)
    return paths


def _save_state(state_path: Path, state: dict[str, str]) -> None:
    state_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_path.with_name(state_path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(state_path)
