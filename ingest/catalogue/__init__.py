"""The form catalogue and the reporting units, read from data files.

Everything the pipeline knows about the forms (rows, codes, arithmetic, columns, deadlines) comes
from ``ingest/catalogue/forms.yaml``; the reporting units and their validity dates come from the
dbt seeds, so the warehouse and the parser share one copy:

- the district-level units (huyện, thị xã, thành phố) from ``ref_districts.csv``, until 2025-06-30;
- the commune-level units (xã, phường) that report to the province directly from 2025-07-01, when the
  district level was abolished: the distinct new communes of ``ref_commune_mapping_2025_07.csv``.

Adding a row to a form is an edit of the YAML, never of code; replacing the (provisional) commune
mapping is an edit of the seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from ingest.settings import CATALOGUE_DIR, REFERENCE_DIR
from ingest.text import fold
from ingest.yaml_files import read_yaml

ROMAN_QUARTERS = {1: "I", 2: "II", 3: "III", 4: "IV"}
PERIOD_TYPES = {"monthly": "month", "quarterly": "quarter"}
"""A form's frequency → the type of its reporting periods."""
PERIOD_MONTHS = {"month": 1, "quarter": 3}
"""Months in a reporting period of each type."""

DISTRICT, COMMUNE = "district", "commune"
"""``Unit.level``: a district-level unit (huyện, thị xã, thành phố) or a commune-level unit (xã, phường)."""
COMMUNE_LEVEL_FROM = dt.date(2025, 7, 1)
"""The first day the communes report to the province directly: the district level was abolished."""
COMMUNE_TYPES = ("Phường", "Xã")
"""Name prefixes of the commune-level units; the prefix is the unit type."""
DISTRICT_OFFICE = "Phòng Lao động - Thương binh và Xã hội"
COMMUNE_OFFICE = "Phòng Văn hóa - Xã hội"  # a commune has no labour office: its People's Committee's office
DISTRICTS_CSV = "ref_districts.csv"
COMMUNE_MAPPING_CSV = "ref_commune_mapping_2025_07.csv"


@dataclass(frozen=True)
class Measure:
    """What a number of a row is (``plan_year``, ``period``, ``ytd``, ``ytd_prev_year``), and what messages call
    it."""

    key: str
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class Column:
    """A numeric column of a form: the measure it holds, its heading and the words that find it on a sheet."""

    key: str
    label: str
    match: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One indicator row of a form, identified by its "Mã số" code."""

    code: str
    name: str
    kind: str  # flow | stock | amount
    unit: str
    label_vi: str
    label_en: str
    section: str
    of: str | None = None
    sum_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormVersion:
    """An older issue of a form that files still arrive in: the rows it did not have yet."""

    id: str
    without_rows: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Form:
    code: str
    domain: str
    title_vi: str
    title_en: str
    frequency: str  # monthly | quarterly
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]
    due_day: int
    version: str = "current"
    previous_versions: tuple[FormVersion, ...] = ()

    @property
    def period_type(self) -> str:
        return PERIOD_TYPES[self.frequency]

    @property
    def months(self) -> int:
        """Months in one of the form's periods."""
        return PERIOD_MONTHS[self.period_type]

    @property
    def row_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.rows)

    def row(self, code: str) -> Row:
        for r in self.rows:
            if r.code == code:
                return r
        raise KeyError(f"{self.code} has no row {code!r}")

    def version_rows(self, version: str) -> frozenset[str]:
        """The row codes a version of the form has."""
        if version == self.version:
            return frozenset(self.row_codes)
        for v in self.previous_versions:
            if v.id == version:
                return frozenset(self.row_codes) - frozenset(v.without_rows)
        raise KeyError(f"{self.code} has no version {version!r}")

    def match_version(self, codes: set[str]) -> str:
        """The version whose rows are exactly ``codes`` (the catalogue rows found on a sheet); the current
        version when none matches exactly (missing rows are then reported as missing)."""
        for version in (self.version, *(v.id for v in self.previous_versions)):
            if self.version_rows(version) == codes:
                return version
        return self.version

    def sections(self) -> list[tuple[str, list[Row]]]:
        """The rows grouped under their section headings, in sheet order."""
        out: list[tuple[str, list[Row]]] = []
        for r in self.rows:
            if not out or out[-1][0] != r.section:
                out.append((r.section, []))
            out[-1][1].append(r)
        return out

    def due_date(self, period_start: dt.date) -> dt.date:
        """The day the report for the period starting on ``period_start`` is due."""
        y, m = divmod(period_start.month - 1 + self.months, 12)
        return dt.date(period_start.year + y, m + 1, self.due_day)

    def period_containing(self, day: dt.date) -> dt.date:
        """The first day of the form's period that contains ``day`` (its month, or its quarter)."""
        return dt.date(day.year, day.month - (day.month - 1) % self.months, 1)

    def period_id(self, period_start: dt.date) -> str:
        """The period as the marts name it (``dim_period.period_id``): ``2024-12``, or ``2024-Q4`` for a quarter."""
        if self.frequency == "monthly":
            return f"{period_start:%Y-%m}"
        return f"{period_start.year}-Q{(period_start.month - 1) // 3 + 1}"

    def period_label_vi(self, period_start: dt.date) -> str:
        """The period as the sheet writes it: ``Tháng 10 năm 2024`` or ``Quý III năm 2024``."""
        if self.frequency == "monthly":
            return f"Tháng {period_start.month} năm {period_start.year}"
        q = (period_start.month - 1) // 3 + 1
        return f"Quý {ROMAN_QUARTERS[q]} năm {period_start.year}"


@dataclass(frozen=True)
class Unit:
    """A reporting unit with the dates it existed: a district-level unit (until 2025-06-30) or a
    commune-level unit (from 2025-07-01)."""

    code: str
    name: str
    unit_type: str  # Thành phố | Thị xã | Huyện | Phường | Xã
    valid_from: dt.date
    valid_to: dt.date | None
    short_name: str = field(default="")
    level: str = DISTRICT  # district | commune

    def exists_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def is_commune(self) -> bool:
        return self.level == COMMUNE

    @property
    def issuing_body(self) -> str:
        """``UBND HUYỆN CAN LỘC``, ``UBND XÃ CẨM BÌNH`` — the header line of the unit's own forms."""
        return f"UBND {self.name.upper()}"

    @property
    def office(self) -> str:
        """The office that fills in the forms, without the place: ``Phòng Văn hóa - Xã hội`` for a commune."""
        return COMMUNE_OFFICE if self.is_commune else DISTRICT_OFFICE

    @property
    def office_line(self) -> str:
        """``PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI`` — the second header line of the unit's own forms."""
        return self.office.upper()

    @property
    def head_title(self) -> str:
        """Who signs the unit's forms under the place/date line: the head of its office."""
        return "TRƯỞNG PHÒNG"

    @property
    def office_name(self) -> str:
        """``Phòng Lao động - Thương binh và Xã hội huyện Can Lộc``, ``Phòng Văn hóa - Xã hội xã Cẩm Bình``."""
        if self.is_commune:  # "Xã Cẩm Bình", "Phường Thành Sen"
            return f"{self.office} {self.unit_type.lower()} {self.short_name}"
        kind, _, place = self.name.partition(" ")
        if kind == "Thành":  # "Thành phố Hà Tĩnh"
            kind, place = "thành phố", self.name.split(" ", 2)[2]
        elif kind == "Thị":  # "Thị xã Hồng Lĩnh"
            kind, place = "thị xã", self.name.split(" ", 2)[2]
        else:
            kind = kind.lower()
        return f"{self.office} {kind} {place}"


@dataclass(frozen=True)
class Catalogue:
    version: int
    province_code: str
    province_name: str
    receiver: str
    timezone: str  # deadlines are calendar days of this zone, e.g. Asia/Ho_Chi_Minh
    measures: tuple[Measure, ...]
    reporting_start: dt.date
    reminder_days_before: int
    escalate_days_after: int
    forms: tuple[Form, ...]
    units: tuple[Unit, ...]

    def form(self, code: str) -> Form:
        for f in self.forms:
            if f.code == code:
                return f
        raise KeyError(f"no form {code!r} in the catalogue")

    def find_form(self, text: str) -> Form | None:
        """The form whose code appears in ``text`` (folded), if any."""
        folded = fold(text).replace(" ", "")
        for f in self.forms:
            if fold(f.code).replace(" ", "") in folded:
                return f
        return None

    def unit(self, code: str) -> Unit | None:
        return self._units_by_code.get(code)

    @property
    def form_codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.forms)

    @property
    def measure_keys(self) -> tuple[str, ...]:
        return tuple(m.key for m in self.measures)

    def measure(self, key: str) -> Measure | None:
        return next((m for m in self.measures if m.key == key), None)

    @functools.cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def utc_offset_hours(self) -> int:
        """The zone's offset from UTC in whole hours (Vietnam has kept UTC+7 since 1975, with no summer time):
        what the warehouse adds to a UTC time to get the local calendar day."""
        offset = dt.datetime(self.reporting_start.year, 1, 1, tzinfo=self.tz).utcoffset()
        assert offset is not None
        return int(offset.total_seconds() // 3600)

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The calendar day of a time in the catalogue's zone (a naive time is UTC, as the warehouse keeps it)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self.tz).date()

    def today(self) -> dt.date:
        return dt.datetime.now(self.tz).date()

    @functools.cached_property
    def _units_by_code(self) -> dict[str, Unit]:  # 3,300 units nationally: looked up once per alert and report
        return {u.code: u for u in self.units}

    def units_on(self, day: dt.date) -> tuple[Unit, ...]:
        """The units that exist on ``day`` (13 district-level units in 2024, 69 communes from 2025-07-01)."""
        return tuple(u for u in self.units if u.exists_on(day))


def _measures(spec: list[dict]) -> tuple[Measure, ...]:
    return tuple(Measure(key=m["key"], label_vi=m["vi"], label_en=m["en"]) for m in spec)


def _columns(spec: list[dict]) -> tuple[Column, ...]:
    return tuple(
        Column(key=c["key"], label=c["label"], match=tuple(fold(m) for m in c.get("match", [c["label"]])))
        for c in spec
    )


def _form(spec: dict, columns: dict[str, tuple[Column, ...]], deadlines: dict) -> Form:
    rows = []
    for section in spec["sections"]:
        for r in section["rows"]:
            rows.append(
                Row(
                    code=r["code"],
                    name=r["name"],
                    kind=r["kind"],
                    unit=r["unit"],
                    label_vi=r["label_vi"],
                    label_en=r["label_en"],
                    section=section["heading"],
                    of=r.get("of"),
                    sum_of=tuple(r.get("sum_of", ())),
                )
            )
    freq = spec["frequency"]
    due = deadlines[freq]
    due_day = due.get("day_of_following_month") or due.get("day_of_month_after_quarter")
    previous = tuple(
        FormVersion(id=str(v["id"]), without_rows=tuple(v.get("without_rows", ())), note=v.get("note", ""))
        for v in spec.get("previous_versions", ())
    )
    return Form(
        code=spec["code"],
        version=str(spec.get("version", "current")),
        previous_versions=previous,
        domain=spec["domain"],
        title_vi=spec["title_vi"],
        title_en=spec["title_en"],
        frequency=freq,
        rows=tuple(rows),
        columns=columns[freq],
        due_day=int(due_day),
    )


def read_district_units(path: Path) -> tuple[Unit, ...]:
    """The district-level units of ``ref_districts.csv``, in file order."""
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple(
            Unit(
                code=rec["district_code"],
                name=rec["district_name"],
                unit_type=rec["district_type"],
                valid_from=dt.date.fromisoformat(rec["valid_from"]),
                valid_to=dt.date.fromisoformat(rec["valid_to"]) if rec["valid_to"] else None,
                short_name=rec["district_name"].split(" ", 1)[1] if rec["district_type"] == "Huyện"
                else rec["district_name"].split(" ", 2)[2],
                level=DISTRICT,
            )
            for rec in csv.DictReader(fh)
        )


def read_commune_units(path: Path) -> tuple[Unit, ...]:
    """The commune-level units from 2025-07-01: the distinct (new_commune_code, new_commune_name) of the
    old → new commune mapping, by code. The type (``Xã``, ``Phường``) is the name's prefix."""
    names: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            code, name = rec["new_commune_code"].strip(), " ".join(rec["new_commune_name"].split())
            if names.setdefault(code, name) != name:
                raise ValueError(f"{path.name}: commune {code} is called both {names[code]!r} and {name!r}")
    units = []
    for code, name in sorted(names.items()):
        kind, _, place = name.partition(" ")
        if kind not in COMMUNE_TYPES or not place:
            raise ValueError(f"{path.name}: commune {code} {name!r} does not start with one of {COMMUNE_TYPES}")
        units.append(Unit(code=code, name=name, unit_type=kind, valid_from=COMMUNE_LEVEL_FROM, valid_to=None,
                          short_name=place, level=COMMUNE))
    return tuple(units)


def read_units(path: Path, commune_mapping: Path | None = None) -> tuple[Unit, ...]:
    """The district-level units of ``path``, then (when given) the commune-level units of the mapping.

    Refused: a code used twice, or a district that still exists when the communes begin to report.
    """
    districts = read_district_units(path)
    communes = read_commune_units(commune_mapping) if commune_mapping is not None else ()
    if communes:
        overlapping = [u.code for u in districts if u.exists_on(COMMUNE_LEVEL_FROM)]
        if overlapping:
            raise ValueError(f"district-level units {overlapping} still exist on {COMMUNE_LEVEL_FROM}, "
                             "when the commune-level units begin")
    units = districts + communes
    codes = [u.code for u in units]
    if len(set(codes)) != len(codes):
        raise ValueError(f"reporting unit codes repeated: {sorted({c for c in codes if codes.count(c) > 1})}")
    return units


def read_catalogue(forms_path: Path, units_path: Path, commune_mapping_path: Path | None = None) -> Catalogue:
    spec = read_yaml(forms_path)
    measures = _measures(spec["measures"])
    columns = {freq: _columns(cols) for freq, cols in spec["numeric_columns"].items()}
    forms = tuple(_form(f, columns, spec["deadlines"]) for f in spec["forms"])
    _check(forms, measures)
    ZoneInfo(spec["timezone"])  # an unknown zone fails here, by name
    return Catalogue(
        version=int(spec.get("catalogue_version", 1)),
        province_code=spec["province"]["code"],
        province_name=spec["province"]["name"],
        receiver=spec["receiver"],
        timezone=spec["timezone"],
        measures=measures,
        reporting_start=dt.date.fromisoformat(spec["reporting_start"]),
        reminder_days_before=int(spec["deadlines"]["reminder_days_before"]),
        escalate_days_after=int(spec["deadlines"]["escalate_days_after"]),
        forms=forms,
        units=read_units(units_path, commune_mapping_path),
    )


def _check(forms: tuple[Form, ...], measures: tuple[Measure, ...]) -> None:
    """Reject a catalogue whose arithmetic names rows that do not exist, or whose columns hold no known measure,
    before any file is read."""
    keys = {m.key for m in measures}
    for f in forms:
        unknown_measures = [c.key for c in f.columns if c.key not in keys]
        if unknown_measures:
            raise ValueError(f"catalogue: form {f.code} has columns of unknown measures {unknown_measures}")
        codes = set(f.row_codes)
        if len(codes) != len(f.rows):
            raise ValueError(f"catalogue: form {f.code} repeats a row code")
        names = [r.name for r in f.rows]
        if len(set(names)) != len(names):
            raise ValueError(f"catalogue: form {f.code} repeats a row name")
        for r in f.rows:
            for ref in ((r.of,) if r.of else ()) + r.sum_of:
                if ref not in codes:
                    raise ValueError(f"catalogue: form {f.code} row {r.code} refers to unknown row {ref}")
        ids = [f.version, *(v.id for v in f.previous_versions)]
        if len(set(ids)) != len(ids):
            raise ValueError(f"catalogue: form {f.code} repeats a version id")
        for v in f.previous_versions:
            unknown = set(v.without_rows) - codes
            if unknown:
                raise ValueError(f"catalogue: form {f.code} version {v.id} leaves out unknown rows {sorted(unknown)}")


@cache
def load_catalogue() -> Catalogue:
    """The project's catalogue (cached: it is read once per process)."""
    return read_catalogue(CATALOGUE_DIR / "forms.yaml", REFERENCE_DIR / DISTRICTS_CSV,
                          REFERENCE_DIR / COMMUNE_MAPPING_CSV)
