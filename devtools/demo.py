"""Realistic demo submissions: a year of reports from every reporting unit, as they would arrive.

``generate_demo(inbox)`` fills ``inbox/<unit_code>/<file name>`` with the monthly and quarterly forms
of every unit that existed in the year (the district-level units; in 2025 the districts until June and
the communes from July), and returns a ``DemoManifest`` saying what each file is, what
was written where, and what the warehouse should make of it. The numbers follow the province's
magnitudes (``/work/shared/DOMAIN.md``), spread unevenly over the units, and obey the form's
arithmetic (``sum_of`` totals, ``of`` parts, running year-to-date sums, slowly moving stocks).

The inbox also receives what real districts send: late files, missing reports, layout quirks,
files with arithmetic errors, an unknown extra row, corrections sent days later, exact duplicates,
a file in another district's folder, a file that is not a spreadsheet, a damaged workbook and a
text note. Each of these is tagged in the manifest so tests can compare the warehouse with it.

Everything is drawn from ``random.Random(seed)``; the wall clock is never read, so a seed gives the
same files (byte for byte) and the same manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import random
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path

from ingest.catalogue import ROMAN_QUARTERS, Form, Unit, load_catalogue
from ingest.tell.official_forms import MEASURES, Quirks, Values, default_sheet_name, form_bytes
from ingest.yaml_files import read_yaml

log = logging.getLogger(__name__)


SCENARIOS: tuple[str, ...] = (
    "ok", "late", "arithmetic_error", "unknown_row", "correction_bad", "correction_fixed", "duplicate",
    "wrong_folder", "not_spreadsheet", "damaged", "note", "ytd_correction",
)
"""Scenario tags of the files written. ``late`` is an otherwise ``ok`` file that arrived after the due date."""

EXPECTED_STATUS: dict[str, str | None] = {
    "ok": "accepted",
    "late": "accepted",
    "arithmetic_error": "rejected",
    "unknown_row": "accepted_with_warnings",
    "correction_bad": "rejected",
    "correction_fixed": "accepted",
    "duplicate": "accepted",  # the same bytes as an accepted file
    "wrong_folder": None,  # the loader's policy decides (the sheet and the folder disagree)
    "not_spreadsheet": "rejected",
    "damaged": "rejected",
    "note": None,  # not a report at all
    # the year to date carries a correction of an earlier period that this period's cell does not: a warning
    "ytd_correction": "accepted_with_warnings",
}

# Shares of the province carried by each unit: the city and the larger districts more.
UNIT_WEIGHT: dict[str, float] = {
    "436": 1.7, "437": 0.6, "439": 1.3, "440": 1.1, "441": 0.45, "442": 0.9, "443": 1.1,
    "444": 1.15, "445": 1.3, "446": 1.35, "447": 1.05, "448": 0.7, "449": 0.8,
}
# Poverty is higher in the mountain districts and lowest in the city and towns.
POVERTY_FACTOR: dict[str, float] = {"436": 0.3, "437": 0.5, "449": 0.7, "439": 1.5, "441": 1.7, "444": 1.6, "447": 1.3}

MONTH_SEASON = (0.07, 0.05, 0.09, 0.085, 0.085, 0.08, 0.08, 0.085, 0.09, 0.09, 0.09, 0.105)
QUARTER_SEASON = (0.22, 0.26, 0.26, 0.26)
PREVIOUS_YEAR_FACTOR = 0.95  # flows a year earlier, relative to the year generated
UNKNOWN_ROW_CODE = "99"


@dataclass(frozen=True)
class _Gen:
    """How the demo draws one row (rows with ``sum_of`` are always computed from their parts).

    kind: ``flow`` (count over the period, ``size`` = province total per year), ``amount`` (million
    đồng per year), ``stock`` (``size`` = province level; ``drift`` per month), ``frac`` (``size`` =
    share of ``parent``, the catalogue's ``of`` unless given; ``drift`` = relative change per month
    for stock shares), ``rate`` (million đồng per unit of ``parent``, between ``size`` and ``high``).
    """

    kind: str
    size: float
    parent: str | None = None
    high: float = 0.0
    drift: float = 0.0
    by_poverty: bool = False  # a share that follows the unit's poverty level rather than chance


MAGNITUDES = Path(__file__).with_name("demo_magnitudes.yaml")


def _gen(spec: dict) -> _Gen:
    """One row's entry of demo_magnitudes.yaml."""
    (kind, value), = spec.items()
    if kind in ("flow", "amount"):
        return _Gen(kind, float(value))
    if kind == "stock":
        value = value if isinstance(value, dict) else {"level": value}
        return _Gen("stock", float(value["level"]), drift=float(value.get("drift", 0.0)))
    if kind == "frac":
        value = value if isinstance(value, dict) else {"share": value}
        return _Gen("frac", float(value["share"]), parent=value.get("parent"), drift=float(value.get("drift", 0.0)),
                    by_poverty=bool(value.get("by_poverty", False)))
    if kind == "rate":
        return _Gen("rate", float(value["low"]), parent=str(value["parent"]), high=float(value["high"]))
    raise ValueError(f"demo_magnitudes.yaml: unknown kind {kind!r}")


@cache
def _magnitudes() -> dict:
    return read_yaml(MAGNITUDES)


def generators(form: Form) -> dict[str, _Gen]:
    """How each row of ``form`` is drawn that is not the sum of others: as demo_magnitudes.yaml says, else from
    its kind in the catalogue (an "of which" row that is no part of a sum as a share of its whole)."""
    spec = _magnitudes()
    listed = spec["forms"].get(form.code) or {}
    defaults = spec["defaults"]
    parts = {code for row in form.rows for code in row.sum_of}  # drawn, and their total summed from them
    out = {}
    for row in form.rows:
        if row.sum_of:
            continue
        if row.code in listed:
            out[row.code] = _gen(listed[row.code])
        elif row.of and row.code not in parts:
            out[row.code] = _Gen("frac", float(defaults["frac"]))
        else:
            out[row.code] = _Gen(row.kind, float(defaults[row.kind]))
    return out


def no_plan(form: Form) -> frozenset[str]:
    """The flows of ``form`` that carry no annual plan."""
    return frozenset(_magnitudes()["no_plan"].get(form.code) or ())


FAMILY = ("Nguyễn", "Trần", "Lê", "Phan", "Hoàng", "Võ", "Đặng", "Bùi", "Đinh", "Hồ", "Dương", "Thái")
MIDDLE_F = ("Thị", "Thị Thu", "Thị Thanh", "Thị Hồng", "Thị Minh")
MIDDLE_M = ("Văn", "Đình", "Hữu", "Xuân", "Quốc", "Đức")
GIVEN_F = ("Hà", "Lan", "Nga", "Phương", "Thảo", "Yến", "Hương", "Hằng", "Trang", "Nhung")
GIVEN_M = ("Hùng", "Minh", "Quang", "Sơn", "Tuấn", "Vinh", "Hải", "Long", "Thắng", "Dũng")


# --------------------------------------------------------------------------------------------------
# The manifest


@dataclass
class WrittenValue:
    """One number written on a sheet: where, and how (``text`` is the string typed, when typed as text)."""

    row_code: str
    measure: str
    value: float | int
    cell: str
    text: str | None = None


@dataclass
class DemoFile:
    """One file placed in the inbox.

    ``unit_code``/``form_code``/``period_start`` are what the sheet says (None when the file holds no
    readable form); ``folder`` is where it was uploaded. ``received_at`` is its modification time (UTC).
    """

    folder: str
    file_name: str
    unit_code: str | None
    form_code: str | None
    period_start: dt.date | None
    received_at: dt.datetime
    scenario: str
    expected_status: str | None
    is_late: bool = False
    sheet_name: str | None = None
    quirks: list[str] = field(default_factory=list)
    values: list[WrittenValue] = field(default_factory=list)
    sha256: str = ""
    size_bytes: int = 0
    note: str = ""

    @property
    def relative_path(self) -> str:
        return f"{self.folder}/{self.file_name}"

    def value(self, row_code: str, measure: str) -> float | int | None:
        for v in self.values:
            if v.row_code == row_code and v.measure == measure:
                return v.value
        return None

    def value_map(self) -> dict[tuple[str, str], float | int]:
        return {(v.row_code, v.measure): v.value for v in self.values}


@dataclass(frozen=True)
class MissingReport:
    unit_code: str
    form_code: str
    period_start: dt.date


@dataclass
class DemoManifest:
    year: int
    seed: int
    expected_reports: int
    files: list[DemoFile]
    missing: list[MissingReport]

    def by_scenario(self, scenario: str) -> list[DemoFile]:
        return [f for f in self.files if f.scenario == scenario]

    def scenario_counts(self) -> dict[str, int]:
        return {s: len(self.by_scenario(s)) for s in SCENARIOS}

    def to_json(self) -> str:
        def encode(obj: object) -> str:
            if isinstance(obj, (dt.date, dt.datetime)):
                return obj.isoformat()
            raise TypeError(f"cannot encode {type(obj).__name__}")

        return json.dumps(asdict(self), ensure_ascii=False, indent=1, default=encode)

    @classmethod
    def from_json(cls, text: str) -> DemoManifest:
        data = json.loads(text)
        files = [
            DemoFile(
                **{
                    **f,
                    "period_start": dt.date.fromisoformat(f["period_start"]) if f["period_start"] else None,
                    "received_at": dt.datetime.fromisoformat(f["received_at"]),
                    "values": [WrittenValue(**v) for v in f["values"]],
                }
            )
            for f in data["files"]
        ]
        missing = [
            MissingReport(m["unit_code"], m["form_code"], dt.date.fromisoformat(m["period_start"]))
            for m in data["missing"]
        ]
        return cls(year=data["year"], seed=data["seed"], expected_reports=data["expected_reports"],
                   files=files, missing=missing)


# --------------------------------------------------------------------------------------------------
# Numbers


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _binomial(rng: random.Random, n: int, p: float) -> int:
    p = min(max(p, 0.0), 1.0)
    if n <= 0:
        return 0
    if n < 60:
        return sum(rng.random() < p for _ in range(n))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def _round_plan(value: float, money: bool) -> int:
    """Plans are round numbers: people to the ten above 500, money (in tenths) to whole or hundred millions."""
    steps = (100_000, 1000, 10) if money else (500, 10, 1)  # (threshold, step above, step below)
    step = steps[1] if value >= steps[0] else steps[2]
    return int(round(value / step) * step)


@dataclass
class _Series:
    """A unit's simulated form over two years: the previous year's periods, then the year's."""

    form: Form
    periods: list[dict[str, int]]  # index 0..2n-1; money rows in tenths of a million
    plan: dict[str, int | None]
    n: int
    # row code -> (first period k, amount): from period k on, the year to date carries an amount that no
    # period's own cell ever reported (a district correcting an earlier period through its cumulative column)
    ytd_corrections: dict[str, tuple[int, int]] = field(default_factory=dict)

    def values(self, k: int) -> Values:
        """The sheet values of period ``k`` (0-based) of the generated year."""
        out: Values = {}
        t = self.n + k
        for row in self.form.rows:
            scale = 10 if row.kind == "amount" else 1
            period = self.periods[t][row.code]
            if row.kind == "stock":
                ytd, prev = period, self.periods[k][row.code]
                plan = None
            else:
                ytd = sum(p[row.code] for p in self.periods[self.n:t + 1])
                first_k, amount = self.ytd_corrections.get(row.code, (k + 1, 0))
                if k >= first_k:
                    ytd += amount
                prev = sum(p[row.code] for p in self.periods[:k + 1])
                plan = self.plan[row.code]
            for m, v in zip(MEASURES, (plan, period, ytd, prev), strict=True):
                out[(row.code, m)] = None if v is None else (v / scale if scale != 1 else v)
        return out


def _plant_ytd_corrections(
    rng: random.Random,
    reports: list[_Report],
    series: dict[tuple[str, str], _Series],
    missing: set[int],
    special: dict[int, str],
) -> dict[int, str]:
    """In one monthly and one quarterly form, a district finds that an earlier period was under-reported and
    corrects it through the year-to-date column of its next report (the period cell stays what happened in the
    period): from that report on, the unit's year to date of the row (and of the totals it adds up to) carries
    the amount. Returns {report index: note}. Uses its own random generator, so every other file of the demo is
    the same with or without it.

    Only a row that is no total and no "of which" part of anything but its totals is corrected, so the form's
    arithmetic still holds; the report before it is present and plain, so validation can see the jump.
    """
    plain = {i for i in range(len(reports)) if i not in missing and i not in special}
    index = {(r.unit.code, r.form.code, r.k): i for i, r in enumerate(reports)}
    planted: dict[int, str] = {}
    for frequency in ("monthly", "quarterly"):
        candidates = [i for i in sorted(plain) if reports[i].form.frequency == frequency and reports[i].k >= 1
                      and index.get((reports[i].unit.code, reports[i].form.code, reports[i].k - 1)) in plain]
        if not candidates:
            continue
        i = rng.choice(candidates)
        rep = reports[i]
        form = rep.form
        totals = {r.code: r for r in form.rows if r.sum_of}
        ancestors = {part: whole for whole, r in totals.items() for part in r.sum_of}
        rows = [r for r in form.rows if r.kind == "flow" and not r.sum_of
                and (r.of is None or r.of == ancestors.get(r.code))]
        if not rows:
            continue
        row = rng.choice(rows)
        ser = series[(rep.unit.code, form.code)]
        amount = max(3, ser.periods[ser.n + rep.k][row.code] // 10)
        chain = [row.code]
        while chain[-1] in ancestors:
            chain.append(ancestors[chain[-1]])
        for code in chain:
            ser.ytd_corrections[code] = (rep.k, amount)
        planted[i] = (f"year to date of rows {', '.join(chain)} includes {amount} more than the periods reported "
                      f"(an earlier period corrected)")
    return planted


def _simulate(rng: random.Random, form: Form, unit: Unit, share: float) -> _Series:
    """Two years of one unit's numbers for one form, obeying the form's arithmetic in every period."""
    gens = generators(form)
    n = 12 // form.months
    season = MONTH_SEASON if n == 12 else QUARTER_SEASON
    months_per_period = 12 // n
    poverty = POVERTY_FACTOR.get(unit.code, 1.0) * rng.uniform(0.85, 1.15)
    jitter = {code: rng.uniform(0.85, 1.15) for code in form.row_codes}
    levels: dict[str, float] = {}
    for code, g in gens.items():
        if g.kind == "stock":
            levels[code] = max(1.0, g.size * share * jitter[code])

    periods: list[dict[str, int]] = []
    for t in range(2 * n):
        year_factor = PREVIOUS_YEAR_FACTOR if t < n else 1.0
        if t > 0:
            for code, level in levels.items():
                g = gens[code]
                if level < 40:  # a handful of institutions: one opens or closes now and then
                    if rng.random() < 0.06 * months_per_period:
                        levels[code] = max(1.0, level + rng.choice((-1, 1)))
                else:
                    step = rng.gauss(g.drift * months_per_period, 0.003 * math.sqrt(months_per_period))
                    levels[code] = level * (1 + step)
        memo: dict[str, int] = {}

        def value(code: str, t: int = t, memo: dict[str, int] = memo, year_factor: float = year_factor) -> int:
            if code in memo:
                return memo[code]
            row = form.row(code)
            g = gens.get(code)
            if row.sum_of:
                v = sum(value(p) for p in row.sum_of)
            elif g.kind == "flow":
                lam = g.size * share * jitter[code] * season[t % n] * year_factor * rng.uniform(0.8, 1.2)
                v = _poisson(rng, lam)
            elif g.kind == "amount":
                v = round(g.size * 10 * share * jitter[code] * season[t % n] * year_factor * rng.uniform(0.8, 1.2))
            elif g.kind == "stock":
                v = round(levels[code])
            elif g.kind == "rate":  # money, in tenths of a million; a stock parent is paid every month
                parent = g.parent or ""
                months = months_per_period if form.row(parent).kind == "stock" else 1
                v = round(value(parent) * rng.uniform(g.size, g.high) * 10 * months)
            else:  # frac
                whole = value(g.parent or row.of)
                p = g.size * (poverty if g.by_poverty else jitter[code]) * (1 + g.drift) ** (t * months_per_period)
                # a stock share moves smoothly; a flow share is drawn person by person
                v = min(whole, round(whole * min(p, 1.0))) if row.kind == "stock" else _binomial(rng, whole, p)
            memo[code] = v
            return v

        for code in form.row_codes:
            value(code)
        periods.append(memo)

    plan = _plan(rng, form, periods, n)
    return _Series(form=form, periods=periods, plan=plan, n=n)


def _plan(rng: random.Random, form: Form, periods: list[dict[str, int]], n: int) -> dict[str, int | None]:
    """The year's plan: last year's result times a target growth, parts rounded, totals summed."""
    gens = generators(form)
    planless = no_plan(form)
    out: dict[str, int | None] = {}

    def plan(code: str) -> int | None:
        if code in out:
            return out[code]
        row = form.row(code)
        g = gens.get(code)
        if row.kind == "stock" or code in planless:
            v: int | None = None
        elif row.sum_of:
            parts = [plan(p) for p in row.sum_of]
            v = None if any(p is None for p in parts) else sum(parts)  # type: ignore[misc]
        elif g is not None and g.kind == "frac":
            whole = plan(g.parent or row.of or "")
            v = None if whole is None else min(whole, round(whole * g.size * rng.uniform(0.95, 1.05)))
        else:
            last_year = sum(p[code] for p in periods[:n])
            v = _round_plan(last_year * rng.uniform(1.02, 1.15), row.kind == "amount")
        out[code] = v
        return v

    for code in form.row_codes:
        plan(code)
    return out


# --------------------------------------------------------------------------------------------------
# Files


def _ascii(text: str) -> str:
    """``Can Lộc`` → ``Can Loc`` (what people type when they avoid accents)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _form_abbr(form: Form) -> tuple[str, str]:
    """``01/LĐVL-H`` → (``01``, ``LĐVL``)."""
    num, rest = form.code.split("/", 1)
    return num, rest.split("-", 1)[0]


def _file_name(rng: random.Random, form: Form, unit: Unit, ps: dt.date) -> str:
    """A file name as a district officer types it; never to be trusted for identity."""
    num, abbr = _form_abbr(form)
    short, y = unit.short_name, ps.year
    a_short, a_abbr = _ascii(short), _ascii(abbr)
    if form.frequency == "monthly":
        m = ps.month
        choices = [
            f"BC thang {m} - {a_short}.xlsx",
            f"bieu{num}_T{m}.xlsx",
            f"Báo cáo tháng {m} năm {y}.xlsx",
            f"{num}_{a_abbr}_T{m:02d}_{y}.xlsx",
            f"{short} - BC {abbr} T{m}.xlsx",
            f"bao cao {a_abbr.lower()} thang {m}.xlsx",
            f"Biểu {num} tháng {m}.{y}.xlsx",
            f"BC T{m}-{y} ({a_short}).xlsx",
            f"{a_short.replace(' ', '')}_BC{a_abbr}_thang{m:02d}.xlsx",
        ]
    else:
        q = (ps.month - 1) // 3 + 1
        roman = ROMAN_QUARTERS[q]
        choices = [
            f"Báo cáo quý {q}.xlsx",
            f"BC quy {roman} - {a_short}.xlsx",
            f"bieu{num}_Q{q}_{y}.xlsx",
            f"{short} - BC {abbr} quý {roman} năm {y}.xlsx",
            f"BC {a_abbr} Q{q}.xlsx",
            f"Bieu {num} quy {q} nam {y}.xlsx",
            f"bao cao {a_abbr.lower()} quy {roman}.{y}.xlsx",
        ]
    name = rng.choice(choices)
    if rng.random() < 0.08:
        name = name.replace(".xlsx", rng.choice([" - gui So.xlsx", " final.xlsx", "_v2.xlsx", " (chính thức).xlsx"]))
    return unicodedata.normalize("NFC", name)


def _corrected_name(rng: random.Random, name: str) -> str:
    stem = name[: -len(".xlsx")]
    return unicodedata.normalize(
        "NFC", rng.choice([f"{stem} (đã sửa).xlsx", f"{stem}_sua lai.xlsx", f"{stem} - ban sua.xlsx",
                           f"{stem} bo sung.xlsx"])
    )


def _duplicate_name(rng: random.Random, name: str) -> str:
    stem = name[: -len(".xlsx")]
    return rng.choice([f"Copy of {name}", f"{stem} (1).xlsx", f"{stem} - gui lai.xlsx"])


def _arrival(rng: random.Random, day: dt.date) -> dt.datetime:
    """A time during office hours (Vietnam) on ``day``, as an aware UTC datetime with whole seconds."""
    minutes = rng.randint(7 * 60 + 30, 17 * 60 + 30)
    local = dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, rng.randint(0, 59),
                        tzinfo=load_catalogue().tz)
    return local.astimezone(dt.UTC)


def _on_time_day(rng: random.Random, due: dt.date) -> dt.date:
    # most a few days ahead, some on the due date itself
    days_before = 0 if rng.random() < 0.08 else rng.randint(1, 9)
    return due - dt.timedelta(days=days_before)


def _local_date(ts: dt.datetime) -> dt.date:
    return load_catalogue().local_date(ts)


def _random_quirks(rng: random.Random, form: Form, values: Values, *, numbers_ok: bool) -> Quirks:
    """One to three layout quirks; ``numbers_ok=False`` keeps numbers as plain numbers (error files)."""
    kinds = ["extra_rows_before", "note_row_after", "sheet_name", "extra_sheet_first"]
    if numbers_ok:
        kinds += ["sum_formulas", "numbers_as_text"]
    chosen = set(rng.sample(kinds, rng.randint(1, 3)))
    q: dict[str, object] = {}
    if "extra_rows_before" in chosen:
        q["extra_rows_before"] = rng.randint(1, 3)
    if "note_row_after" in chosen:
        q["note_row_after"] = rng.choice(form.row_codes)
    if "sheet_name" in chosen:
        num, _ = _form_abbr(form)
        q["sheet_name"] = rng.choice(["Sheet1", "BC", "Bieu1", "Bao cao", f"Biểu {num}", "TH"])
    if "extra_sheet_first" in chosen:
        q["extra_sheet_first"] = True
    if "sum_formulas" in chosen:
        q["sum_formulas"] = True
    if "numbers_as_text" in chosen:
        candidates = sorted({code for (code, _), v in values.items() if isinstance(v, (int, float)) and v >= 100})
        if candidates:
            q["numbers_as_text"] = tuple(sorted(rng.sample(candidates, min(len(candidates), rng.randint(1, 3)))))
    return Quirks(**q)  # type: ignore[arg-type]


def _plant_error(rng: random.Random, form: Form, values: Values) -> tuple[Values, str]:
    """A copy of ``values`` with one arithmetic error in the period column, and what it is."""
    out = dict(values)
    kind = rng.choice(["total", "part_gt_whole", "negative"])

    def set_period(code: str, v: float) -> None:
        out[(code, "period")] = v
        if form.row(code).kind == "stock":  # a stock's year-to-date repeats the period on the sheet
            out[(code, "ytd")] = v

    if kind == "total":
        row = rng.choice([r for r in form.rows if r.sum_of])
        old = out[(row.code, "period")] or 0
        delta = max(1, round(abs(old) * rng.uniform(0.02, 0.1)))
        new = old + delta if rng.random() < 0.5 or old - delta < 0 else old - delta
        set_period(row.code, new)
        return out, f"row {row.code} period {old} written as {new}: total ≠ sum of {'+'.join(row.sum_of)}"
    if kind == "part_gt_whole":
        row = rng.choice([r for r in form.rows if r.of])
        whole = out[(row.of, "period")] or 0  # type: ignore[index]
        new = whole + rng.randint(1, max(1, int(whole) // 10 + 1))
        old = out[(row.code, "period")]
        set_period(row.code, new)
        return out, f"row {row.code} period {old} written as {new}: part > its whole, row {row.of} = {whole}"
    candidates = [r for r in form.rows if not r.sum_of and (out[(r.code, "period")] or 0) > 0]
    row = rng.choice(candidates)
    old = out[(row.code, "period")]
    set_period(row.code, -old)  # type: ignore[operator]
    return out, f"row {row.code} period {old} written as {-old}: negative number"  # type: ignore[operator]


@dataclass
class _Report:
    unit: Unit
    form: Form
    period_start: dt.date
    k: int  # period index within the year
    due: dt.date


class _Writer:
    """Writes files into the inbox and records them; keeps file names unique per folder."""

    def __init__(self, inbox: Path) -> None:
        self.inbox = inbox
        self.files: list[DemoFile] = []
        self.names: dict[str, set[str]] = {}

    def unique_name(self, folder: str, name: str) -> str:
        taken = self.names.setdefault(folder, set())
        candidate, i = name, 2
        while candidate.casefold() in taken:
            stem, dot, ext = name.rpartition(".")
            candidate = f"{stem} ({i}).{ext}" if dot else f"{name} ({i})"
            i += 1
        taken.add(candidate.casefold())
        return candidate

    def put(self, data: bytes, entry: DemoFile) -> DemoFile:
        entry.file_name = self.unique_name(entry.folder, entry.file_name)
        folder = self.inbox / entry.folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / entry.file_name
        path.write_bytes(data)
        ts = entry.received_at.timestamp()
        os.utime(path, (ts, ts))
        entry.sha256 = hashlib.sha256(data).hexdigest()
        entry.size_bytes = len(data)
        self.files.append(entry)
        return entry


def _signers(rng: random.Random) -> tuple[str, str]:
    def name() -> str:
        if rng.random() < 0.5:
            return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"

    return name(), name()


def _periods(form: Form, year: int) -> list[dt.date]:
    return [dt.date(year, m, 1) for m in range(1, 13, form.months)]


def generate_demo(
    inbox_dir: Path | str,
    *,
    year: int = 2024,
    seed: int = 2024,
    unit_codes: Iterable[str] | None = None,
) -> DemoManifest:
    """Fill ``inbox_dir/<unit_code>/`` with a year of demo submissions; return what was written.

    All units of the catalogue that exist in a period report for it (or only ``unit_codes``, for
    small tests). Files already in the inbox are left alone; a file of the same name is overwritten.
    """
    rng = random.Random(seed)
    cat = load_catalogue()
    wanted = set(unit_codes) if unit_codes is not None else None
    units = sorted(
        (u for u in cat.units if (wanted is None or u.code in wanted)
         and any(u.exists_on(dt.date(year, m, 1)) for m in range(1, 13))),
        key=lambda u: u.code,
    )
    if not units:
        raise ValueError(f"no reporting unit exists in {year}")
    signers = {u.code: _signers(rng) for u in units}

    def share_of(unit: Unit) -> float:
        """The unit's share of the province among the units that exist on its first day in the year (the
        district-level units on 1 January; from 2025-07-01 the commune-level units, evenly)."""
        first = max(unit.valid_from, dt.date(year, 1, 1))
        total_weight = sum(UNIT_WEIGHT.get(u.code, 1.0) for u in cat.units if u.exists_on(first))
        return UNIT_WEIGHT.get(unit.code, 1.0) / total_weight

    series: dict[tuple[str, str], _Series] = {}
    reports: list[_Report] = []
    for unit in units:
        share = share_of(unit)
        for form in cat.forms:
            series[(unit.code, form.code)] = _simulate(rng, form, unit, share)
            for k, ps in enumerate(_periods(form, year)):
                if unit.exists_on(ps):
                    reports.append(_Report(unit, form, ps, k, form.due_date(ps)))

    n = len(reports)
    order = list(range(n))
    rng.shuffle(order)
    n_missing = max(1, round(0.03 * n))
    n_errors = max(1, round(0.03 * n))
    missing = set(order[:n_missing])
    cursor = n_missing
    picks: dict[str, list[int]] = {}
    for scenario, count in (("arithmetic_error", n_errors), ("unknown_row", 4), ("correction", 2),
                            ("wrong_folder", 1), ("damaged_before", 1)):
        picks[scenario] = order[cursor:cursor + count]
        cursor += count
    special = {i: s for s, idx in picks.items() for i in idx}
    present = [i for i in range(n) if i not in missing]
    late_pool = [i for i in present if special.get(i) != "correction"]
    late = set(rng.sample(late_pool, round(0.08 * len(present))))
    corrected = _plant_ytd_corrections(random.Random(seed + 1), reports, series, missing, special)

    writer = _Writer(Path(inbox_dir))
    plain_written: list[DemoFile] = []
    for i, rep in enumerate(reports):
        if i in missing:
            continue
        unit, form, ps = rep.unit, rep.form, rep.period_start
        values = series[(unit.code, form.code)].values(rep.k)
        day = rep.due + dt.timedelta(days=rng.randint(1, 20)) if i in late else _on_time_day(rng, rep.due)
        received = _arrival(rng, day)
        scenario = special.get(i, "ok")
        name = _file_name(rng, form, unit, ps)
        folder = unit.code
        note = ""
        quirks = Quirks()

        if scenario == "arithmetic_error":
            values, note = _plant_error(rng, form, values)
            if rng.random() < 0.25:
                quirks = _random_quirks(rng, form, values, numbers_ok=False)
        elif scenario == "unknown_row":
            base = max(1, int(values.get((form.rows[0].code, "period")) or 1) // 20)
            period_v = rng.randint(0, base)
            values = {**values, (UNKNOWN_ROW_CODE, "period"): period_v,
                      (UNKNOWN_ROW_CODE, "ytd"): period_v * (rep.k + 1)}
            quirks = Quirks(unknown_row=UNKNOWN_ROW_CODE)
            note = f"extra row {UNKNOWN_ROW_CODE} not in the catalogue"
        elif scenario == "correction":
            bad, note = _plant_error(rng, form, values)
            first = _write_report(writer, rng, rep, bad, Quirks(), received, name, folder, "correction_bad",
                                  signers[unit.code], note, _local_date(received) > rep.due)
            received = received + dt.timedelta(days=rng.randint(2, 6), hours=rng.randint(-3, 3))
            name = _corrected_name(rng, name)
            scenario, note = "correction_fixed", f"corrects {first.file_name}"
        elif scenario == "wrong_folder":
            folder = rng.choice([u.code for u in units if u.code != unit.code] or [unit.code])
            note = f"report of unit {unit.code} uploaded to the folder of unit {folder}"
        elif rng.random() < 0.25:
            quirks = _random_quirks(rng, form, values, numbers_ok=True)

        if i in corrected:
            scenario, note = "ytd_correction", corrected[i]
        if scenario == "ok" and _local_date(received) > rep.due:
            scenario = "late"
        if scenario == "damaged_before":
            scenario = "ok" if _local_date(received) <= rep.due else "late"
            _write_damaged(writer, rng, rep, values, received, signers[unit.code])
        entry = _write_report(writer, rng, rep, values, quirks, received, name, folder, scenario,
                              signers[unit.code], note, _local_date(received) > rep.due)
        if scenario in ("ok", "late") and not entry.quirks:
            plain_written.append(entry)

    for src in rng.sample(plain_written, min(2, len(plain_written))):
        data = (writer.inbox / src.folder / src.file_name).read_bytes()
        assert src.form_code is not None and src.period_start is not None
        received = src.received_at + dt.timedelta(hours=rng.randint(1, 72))
        writer.put(data, replace(
            src, file_name=_duplicate_name(rng, src.file_name), received_at=received, scenario="duplicate",
            expected_status=EXPECTED_STATUS["duplicate"], values=list(src.values), quirks=list(src.quirks),
            is_late=_local_date(received) > cat.form(src.form_code).due_date(src.period_start),
            note=f"same bytes as {src.file_name}",
        ))

    _write_not_spreadsheet(writer, rng, units, year)
    _write_note(writer, rng, units, year)

    files = sorted(writer.files, key=lambda f: (f.received_at, f.folder, f.file_name))
    manifest = DemoManifest(
        year=year,
        seed=seed,
        expected_reports=n,
        files=files,
        missing=[MissingReport(reports[i].unit.code, reports[i].form.code, reports[i].period_start)
                 for i in sorted(missing)],
    )
    log.info("demo inbox %s: %d files for %d expected reports (%d missing)", inbox_dir, len(files), n, len(missing))
    return manifest


def _write_report(
    writer: _Writer, rng: random.Random, rep: _Report, values: Values, quirks: Quirks, received: dt.datetime,
    name: str, folder: str, scenario: str, signers: tuple[str, str], note: str, is_late: bool,
) -> DemoFile:
    signed = _local_date(received) - dt.timedelta(days=rng.choice((0, 0, 1)))
    rendered = form_bytes(rep.form, rep.unit, rep.period_start, values, options=quirks, signed_on=signed,
                          signers=signers)
    written = []
    for key, cell in rendered.cells.items():
        v = values.get(key)
        if v is None:  # a stock's year-to-date, filled in from the period by the writer
            v = values.get((key[0], "period"))
        assert isinstance(v, (int, float)), (key, v)
        written.append(WrittenValue(key[0], key[1], v, cell, rendered.texts.get(key)))
    entry = DemoFile(
        folder=folder,
        file_name=name,
        unit_code=rep.unit.code,
        form_code=rep.form.code,
        period_start=rep.period_start,
        received_at=received,
        scenario=scenario,
        expected_status=EXPECTED_STATUS[scenario],
        is_late=is_late,
        sheet_name=quirks.sheet_name or default_sheet_name(rep.form),
        quirks=quirks.active(),
        values=written,
        note=note,
    )
    return writer.put(rendered.data, entry)


def _write_damaged(
    writer: _Writer, rng: random.Random, rep: _Report, values: Values, before: dt.datetime, signers: tuple[str, str]
) -> None:
    """A truncated copy of the report, sent an hour or two before the good one."""
    data = form_bytes(rep.form, rep.unit, rep.period_start, values, signed_on=_local_date(before),
                      signers=signers).data
    cut = int(len(data) * rng.uniform(0.3, 0.7))
    writer.put(data[:cut], DemoFile(
        folder=rep.unit.code,
        file_name=_file_name(rng, rep.form, rep.unit, rep.period_start),
        unit_code=None, form_code=None, period_start=None,
        received_at=before - dt.timedelta(minutes=rng.randint(30, 180)),
        scenario="damaged", expected_status=EXPECTED_STATUS["damaged"],
        note=f"first {cut} of {len(data)} bytes of the {rep.form.code} report of unit {rep.unit.code} for "
             f"{rep.period_start.isoformat()}",
    ))


def _write_not_spreadsheet(writer: _Writer, rng: random.Random, units: list[Unit], year: int) -> None:
    """A PDF saved under an ``.xlsx`` name (what a scanner or "print to PDF" gives)."""
    unit = rng.choice(units)
    month = rng.randint(2, 11)
    data = (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    writer.put(data, DemoFile(
        folder=unit.code, file_name=f"BC thang {month} (scan).xlsx", unit_code=None, form_code=None,
        period_start=None, received_at=_arrival(rng, dt.date(year, month + 1, rng.randint(1, 9))),
        scenario="not_spreadsheet", expected_status=EXPECTED_STATUS["not_spreadsheet"],
        note="a PDF named .xlsx",
    ))


def _write_note(writer: _Writer, rng: random.Random, units: list[Unit], year: int) -> None:
    unit = rng.choice(units)
    month = rng.randint(2, 11)
    text = (
        "Kính gửi: Sở Lao động - Thương binh và Xã hội tỉnh Hà Tĩnh\n\n"
        f"{unit.office_name} xin gửi kèm báo cáo tháng {month} năm {year}. Do một số xã chưa gửi số liệu,\n"
        "phòng sẽ gửi bổ sung trong tuần tới.\n\nTrân trọng.\n"
    )
    writer.put(text.encode("utf-8"), DemoFile(
        folder=unit.code, file_name="Ghi chu gui So.txt", unit_code=None, form_code=None, period_start=None,
        received_at=_arrival(rng, dt.date(year, month + 1, rng.randint(1, 9))),
        scenario="note", expected_status=EXPECTED_STATUS["note"], note="a text note from the district",
    ))
