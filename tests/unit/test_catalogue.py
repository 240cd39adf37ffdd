"""ingest.catalogue: forms.yaml and the reference units, read into Forms, Rows, Units and deadlines."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest
import yaml

from ingest.catalogue import Catalogue, Form, load_catalogue, read_catalogue, read_units
from ingest.settings import CATALOGUE_DIR, REFERENCE_DIR

FORMS_YAML = CATALOGUE_DIR / "forms.yaml"
UNITS_CSV = REFERENCE_DIR / "ref_districts.csv"
MAPPING_CSV = REFERENCE_DIR / "ref_commune_mapping_2025_07.csv"
CAT = load_catalogue()
LDVL, GDNN, BTXH, TTR = (CAT.form(c) for c in ("01/LĐVL-H", "02/GDNN-H", "03/BTXH-H", "04/TTr-H"))


def test_the_four_forms() -> None:
    assert [(f.code, f.frequency, f.domain, len(f.rows)) for f in CAT.forms] == [
        ("01/LĐVL-H", "monthly", "employment", 14),
        ("02/GDNN-H", "quarterly", "training", 12),
        ("03/BTXH-H", "monthly", "social_protection", 14),
        ("04/TTr-H", "quarterly", "inspection", 16),
    ]
    assert (CAT.province_code, CAT.reporting_start) == ("42", dt.date(2024, 1, 1))
    assert (CAT.reminder_days_before, CAT.escalate_days_after) == (3, 7)
    assert CAT.receiver == "Sở Lao động - Thương binh và Xã hội tỉnh Hà Tĩnh"


def test_load_catalogue_is_cached() -> None:
    assert load_catalogue() is CAT


@pytest.mark.parametrize("form", CAT.forms, ids=lambda f: f.code)
def test_row_codes_are_two_digit_unique_and_in_order(form: Form) -> None:
    codes = form.row_codes
    assert list(codes) == [f"{i:02d}" for i in range(1, len(codes) + 1)]
    assert len({r.name for r in form.rows}) == len(form.rows)
    assert all(r.kind in ("flow", "stock", "amount") for r in form.rows)
    assert all(r.unit == "triệu đồng" for r in form.rows if r.kind == "amount")


@pytest.mark.parametrize("form", CAT.forms, ids=lambda f: f.code)
def test_every_sum_of_and_of_refers_to_an_existing_row(form: Form) -> None:
    codes = set(form.row_codes)
    for r in form.rows:
        if r.of is not None:
            assert r.of in codes, (form.code, r.code)
            assert r.of != r.code
            assert form.row_codes.index(r.of) < form.row_codes.index(r.code)  # the whole comes before its parts
        for p in r.sum_of:
            assert p in codes, (form.code, r.code, p)
            assert p != r.code
            assert form.row(p).of == r.code  # each part of a total is a part ("of") of that total
        assert len(set(r.sum_of)) == len(r.sum_of)


@pytest.mark.parametrize("form", CAT.forms, ids=lambda f: f.code)
def test_of_chains_have_no_cycles_and_parts_are_of_the_same_kind(form: Form) -> None:
    for r in form.rows:
        seen = {r.code}
        cur = r
        while cur.of is not None:
            assert cur.of not in seen
            seen.add(cur.of)
            whole = form.row(cur.of)
            assert whole.kind == cur.kind, (form.code, cur.code)
            cur = whole


def test_columns_by_frequency() -> None:
    assert [c.key for c in LDVL.columns] == ["plan_year", "period", "ytd", "ytd_prev_year"]
    assert [c.key for c in GDNN.columns] == ["plan_year", "period", "ytd", "ytd_prev_year"]
    period_m = LDVL.columns[1]
    period_q = GDNN.columns[1]
    assert period_m.match == ("tháng báo cáo", "tháng này", "trong tháng")
    assert period_q.match == ("quý báo cáo", "quý này", "trong quý")
    assert "lũy kế" in LDVL.columns[2].match  # "luỹ kế" folds to the same


def test_sections_in_sheet_order() -> None:
    sections = LDVL.sections()
    assert [h for h, _ in sections] == ["I. GIẢI QUYẾT VIỆC LÀM", "II. BẢO HIỂM THẤT NGHIỆP",
                                        "III. VAY VỐN GIẢI QUYẾT VIỆC LÀM"]
    assert [[r.code for r in rows] for _, rows in sections] == [
        ["01", "02", "03", "04", "05", "06", "07", "08", "09"], ["10", "11", "12"], ["13", "14"]]


def test_row_lookup() -> None:
    r = LDVL.row("04")
    assert (r.name, r.of, r.sum_of, r.section) == ("jobs_abroad", "01", ("05", "06", "07", "08"),
                                                   "I. GIẢI QUYẾT VIỆC LÀM")
    with pytest.raises(KeyError, match="01/LĐVL-H has no row '99'"):
        LDVL.row("99")
    with pytest.raises(KeyError, match="no form '09/X' in the catalogue"):
        CAT.form("09/X")


# --- due dates and periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due"),
    [(dt.date(2024, 1, 1), dt.date(2024, 2, 10)), (dt.date(2024, 10, 1), dt.date(2024, 11, 10)),
     (dt.date(2024, 11, 1), dt.date(2024, 12, 10)), (dt.date(2024, 12, 1), dt.date(2025, 1, 10)),
     (dt.date(2025, 12, 1), dt.date(2026, 1, 10))],
)
def test_monthly_due_date_is_the_10th_of_next_month(start: dt.date, due: dt.date) -> None:
    assert LDVL.due_date(start) == due
    assert BTXH.due_date(start) == due


@pytest.mark.parametrize(
    ("start", "due"),
    [(dt.date(2024, 1, 1), dt.date(2024, 4, 15)), (dt.date(2024, 4, 1), dt.date(2024, 7, 15)),
     (dt.date(2024, 7, 1), dt.date(2024, 10, 15)), (dt.date(2024, 10, 1), dt.date(2025, 1, 15))],
)
def test_quarterly_due_date_is_the_15th_after_the_quarter(start: dt.date, due: dt.date) -> None:
    assert GDNN.due_date(start) == due
    assert TTR.due_date(start) == due


def test_due_days_and_period_types() -> None:
    assert [(f.due_day, f.period_type) for f in CAT.forms] == [(10, "month"), (15, "quarter"), (10, "month"),
                                                               (15, "quarter")]


@pytest.mark.parametrize(
    ("form", "start", "label"),
    [(LDVL, dt.date(2024, 10, 1), "Tháng 10 năm 2024"), (BTXH, dt.date(2025, 1, 1), "Tháng 1 năm 2025"),
     (GDNN, dt.date(2024, 1, 1), "Quý I năm 2024"), (GDNN, dt.date(2024, 4, 1), "Quý II năm 2024"),
     (TTR, dt.date(2024, 7, 1), "Quý III năm 2024"), (TTR, dt.date(2024, 10, 1), "Quý IV năm 2024")],
)
def test_period_labels(form: Form, start: dt.date, label: str) -> None:
    assert form.period_label_vi(start) == label


@pytest.mark.parametrize(
    ("form", "day", "start", "period_id"),
    [(LDVL, dt.date(2024, 12, 31), dt.date(2024, 12, 1), "2024-12"), (BTXH, dt.date(2025, 1, 1), dt.date(2025, 1, 1),
     "2025-01"), (GDNN, dt.date(2024, 3, 31), dt.date(2024, 1, 1), "2024-Q1"),
     (TTR, dt.date(2024, 12, 5), dt.date(2024, 10, 1), "2024-Q4"), (TTR, dt.date(2024, 5, 1), dt.date(2024, 4, 1),
                                                                    "2024-Q2")],
)
def test_the_period_containing_a_day_and_its_id_in_the_marts(form: Form, day: dt.date, start: dt.date,
                                                             period_id: str) -> None:
    assert form.period_containing(day) == start
    assert form.period_id(start) == period_id


# --- finding a form by its code ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [("Biểu số: 01/LĐVL-H", "01/LĐVL-H"), ("BIỂU SỐ 02/GDNN-H", "02/GDNN-H"), ("biểu số: 03 / btxh - h", "03/BTXH-H"),
     ("Mẫu 04/TTr-H (ban hành kèm theo ...)", "04/TTr-H"),
     (unicodedata.normalize("NFD", "Biểu số: 01/LĐVL-H"), "01/LĐVL-H"), ("01/LĐVL-H\u00a0", "01/LĐVL-H")],
)
def test_find_form(text: str, code: str) -> None:
    assert CAT.find_form(text) is CAT.form(code)


@pytest.mark.parametrize("text", ["", "Biểu số: 05/LĐVL-H", "01/LDVL-H", "LĐVL", "BÁO CÁO KẾT QUẢ"])
def test_find_form_none(text: str) -> None:
    assert CAT.find_form(text) is None


# --- units -------------------------------------------------------------------------------------------------------


def test_units() -> None:
    assert len(CAT.units) == 13 + 69
    assert [u.code for u in CAT.units if u.level == "district"] == [
        "436", "437", "439", "440", "441", "442", "443", "444", "445", "446", "447", "448", "449"]
    can_loc = CAT.unit("443")
    assert (can_loc.name, can_loc.unit_type, can_loc.short_name) == ("Huyện Can Lộc", "Huyện", "Can Lộc")
    assert can_loc.issuing_body == "UBND HUYỆN CAN LỘC"
    assert can_loc.office_name == "Phòng Lao động - Thương binh và Xã hội huyện Can Lộc"
    city = CAT.unit("436")
    assert (city.short_name, city.issuing_body) == ("Hà Tĩnh", "UBND THÀNH PHỐ HÀ TĨNH")
    assert city.office_name == "Phòng Lao động - Thương binh và Xã hội thành phố Hà Tĩnh"
    town = CAT.unit("449")
    assert (town.short_name, town.office_name) == ("Kỳ Anh", "Phòng Lao động - Thương binh và Xã hội thị xã Kỳ Anh")
    assert (can_loc.level, can_loc.is_commune, can_loc.office_line) == (
        "district", False, "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI")
    assert CAT.unit("999") is None


def test_unit_validity() -> None:
    loc_ha = CAT.unit("448")
    assert loc_ha.exists_on(dt.date(2024, 12, 31))
    assert not loc_ha.exists_on(dt.date(2025, 1, 1))
    assert not loc_ha.exists_on(dt.date(2019, 12, 31))
    assert CAT.unit("443").exists_on(dt.date(2025, 6, 30))
    assert not CAT.unit("443").exists_on(dt.date(2025, 7, 1))


def test_unit_names_contain_one_another_only_as_a_commune_inside_a_district_name() -> None:
    """The parser finds a unit by name inside a line, as whole words, a name inside a longer one at the same place
    not counting: the only names inside others are ``Xã Kỳ Anh`` inside ``Thị xã Kỳ Anh`` (test_parser)."""
    names = [u.name.lower() for u in CAT.units]
    assert [(a, b) for a in names for b in names if a != b and a in b] == [("xã kỳ anh", "thị xã kỳ anh")]
    assert len(set(names)) == len(names)


def test_commune_units_from_the_mapping() -> None:
    """The 69 commune-level units: the distinct new communes of the 2025-07 mapping, from 2025-07-01 on."""
    communes = [u for u in CAT.units if u.is_commune]
    assert len(communes) == 69
    assert {u.unit_type for u in communes} == {"Phường", "Xã"}
    assert sum(u.unit_type == "Phường" for u in communes) == 9
    assert {(u.valid_from, u.valid_to, u.level) for u in communes} == {(dt.date(2025, 7, 1), None, "commune")}
    assert [u.code for u in communes] == sorted(u.code for u in communes)
    cam_binh = CAT.unit("18685")
    assert (cam_binh.name, cam_binh.unit_type, cam_binh.short_name) == ("Xã Cẩm Bình", "Xã", "Cẩm Bình")
    assert cam_binh.issuing_body == "UBND XÃ CẨM BÌNH"
    assert cam_binh.office_name == "Phòng Văn hóa - Xã hội xã Cẩm Bình"
    assert cam_binh.office_line == "PHÒNG VĂN HÓA - XÃ HỘI"
    thanh_sen = CAT.unit("18073")
    assert (thanh_sen.name, thanh_sen.unit_type, thanh_sen.short_name) == ("Phường Thành Sen", "Phường", "Thành Sen")
    assert thanh_sen.issuing_body == "UBND PHƯỜNG THÀNH SEN"
    assert thanh_sen.office_name == "Phòng Văn hóa - Xã hội phường Thành Sen"
    son_kim = CAT.unit("18196")
    assert (son_kim.name, son_kim.short_name) == ("Xã Sơn Kim 1", "Sơn Kim 1")
    assert (CAT.unit("18775").name, CAT.unit("18562").name, CAT.unit("18133").name) == (
        "Xã Kỳ Anh", "Xã Thạch Hà", "Xã Hương Sơn")


def test_units_on_a_day() -> None:
    """13 district-level units in 2024, 12 in the first half of 2025, the 69 communes from 2025-07-01."""
    assert len(CAT.units_on(dt.date(2024, 12, 31))) == 13
    assert len(CAT.units_on(dt.date(2025, 1, 1))) == 12
    assert {u.level for u in CAT.units_on(dt.date(2025, 6, 30))} == {"district"}
    after = CAT.units_on(dt.date(2025, 7, 1))
    assert (len(after), {u.level for u in after}) == (69, {"commune"})
    assert CAT.units_on(dt.date(2026, 12, 31)) == after
    assert not CAT.unit("18685").exists_on(dt.date(2025, 6, 30))
    assert CAT.unit("18685").exists_on(dt.date(2025, 7, 1))


def _mapping(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text("old_commune_code,old_commune_name,old_district_code,new_commune_code,new_commune_name\n"
                    + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_read_units_takes_the_communes_from_any_mapping(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path, "1,Xã A,443,90002,Xã Mới", "2,Xã B,443,90002,Xã Mới",
                       "3,Phường C,436,90001,Phường  Trung Tâm")
    units = read_units(UNITS_CSV, mapping)
    assert [(u.code, u.name, u.unit_type, u.short_name, u.level) for u in units[13:]] == [
        ("90001", "Phường Trung Tâm", "Phường", "Trung Tâm", "commune"),
        ("90002", "Xã Mới", "Xã", "Mới", "commune"),
    ]
    assert len(read_units(UNITS_CSV)) == 13  # without a mapping: the districts only


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (("1,Xã A,443,90001,Xã Mới", "2,Xã B,443,90001,Xã Khác"),
         "commune 90001 is called both 'Xã Mới' and 'Xã Khác'"),
        (("1,Xã A,443,90001,Thị trấn Mới",),
         r"commune 90001 'Thị trấn Mới' does not start with one of \('Phường', 'Xã'\)"),
        (("1,Xã A,443,443,Xã Mới",), r"reporting unit codes repeated: \['443'\]"),
    ],
)
def test_a_bad_commune_mapping_is_refused(tmp_path: Path, rows: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_units(UNITS_CSV, _mapping(tmp_path, *rows))


def test_districts_still_existing_when_the_communes_begin_are_refused(tmp_path: Path) -> None:
    districts = tmp_path / "districts.csv"
    districts.write_text(UNITS_CSV.read_text(encoding="utf-8").replace(
        "443,Huyện Can Lộc,Huyện,2020-01-01,2025-06-30", "443,Huyện Can Lộc,Huyện,2020-01-01,"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"district-level units \['443'\] still exist on 2025-07-01"):
        read_units(districts, MAPPING_CSV)


# --- a catalogue whose arithmetic is wrong is refused -------------------------------------------------------------


def _write(tmp_path: Path, edit) -> Path:
    spec = yaml.safe_load(FORMS_YAML.read_text(encoding="utf-8"))
    edit(spec)
    path = tmp_path / "forms.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def _rows(spec: dict, form: int = 0, section: int = 0) -> list[dict]:
    return spec["forms"][form]["sections"][section]["rows"]


def test_a_copy_of_the_catalogue_reads_the_same(tmp_path: Path) -> None:
    cat = read_catalogue(_write(tmp_path, lambda spec: None), UNITS_CSV, MAPPING_CSV)
    assert isinstance(cat, Catalogue)
    assert cat == CAT


def test_sum_of_an_unknown_row_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda spec: _rows(spec)[0].update(sum_of=["03", "44"]))
    with pytest.raises(ValueError, match="catalogue: form 01/LĐVL-H row 01 refers to unknown row 44"):
        read_catalogue(path, UNITS_CSV)


def test_of_an_unknown_row_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda spec: _rows(spec, form=2, section=1)[0].update(of="77"))
    with pytest.raises(ValueError, match="catalogue: form 03/BTXH-H row 08 refers to unknown row 77"):
        read_catalogue(path, UNITS_CSV)


def test_repeated_row_code_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda spec: _rows(spec, form=1)[1].update(code="01"))
    with pytest.raises(ValueError, match="catalogue: form 02/GDNN-H repeats a row code"):
        read_catalogue(path, UNITS_CSV)


def test_repeated_row_name_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda spec: _rows(spec, form=3)[1].update(name="inspections_total"))
    with pytest.raises(ValueError, match="catalogue: form 04/TTr-H repeats a row name"):
        read_catalogue(path, UNITS_CSV)


def test_previous_versions_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda spec: spec["forms"][0].update(
        version="2024", previous_versions=[{"id": "2023", "without_rows": ["09"], "note": "row 09 added in 2024"}]))
    form = read_catalogue(path, UNITS_CSV).form("01/LĐVL-H")
    assert form.version == "2024"
    assert form.version_rows("2023") == frozenset(form.row_codes) - {"09"}
    assert form.match_version(set(form.row_codes) - {"09"}) == "2023"
    assert form.match_version(set(form.row_codes)) == "2024"
    assert form.match_version(set(form.row_codes) - {"10"}) == "2024"


def test_a_version_leaving_out_an_unknown_row_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda spec: spec["forms"][0].update(
        previous_versions=[{"id": "2023", "without_rows": ["99"]}]))
    with pytest.raises(ValueError, match=r"catalogue: form 01/LĐVL-H version 2023 leaves out unknown rows \['99'\]"):
        read_catalogue(path, UNITS_CSV)


def test_a_repeated_version_id_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda spec: spec["forms"][0].update(
        previous_versions=[{"id": "current", "without_rows": ["09"]}]))
    with pytest.raises(ValueError, match="catalogue: form 01/LĐVL-H repeats a version id"):
        read_catalogue(path, UNITS_CSV)


def test_the_time_zone_and_the_measures_are_the_catalogues(tmp_path: Path) -> None:
    cat = load_catalogue()
    assert (cat.timezone, cat.utc_offset_hours) == ("Asia/Ho_Chi_Minh", 7)
    assert cat.local_date(dt.datetime(2024, 12, 10, 16, 30)) == dt.date(2024, 12, 10)  # 23:30 in Vietnam
    assert cat.local_date(dt.datetime(2024, 12, 10, 17, 30)) == dt.date(2024, 12, 11)  # 00:30 the next day
    assert cat.measure("ytd").label_en == "year to date" and cat.measure("nope") is None
    assert [f.months for f in cat.forms] == [1, 3, 1, 3]


def test_a_column_of_an_unknown_measure_or_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda spec: spec["measures"].pop())
    with pytest.raises(ValueError, match=r"form 01/LĐVL-H has columns of unknown measures \['ytd_prev_year'\]"):
        read_catalogue(path, UNITS_CSV)
    path = _write(tmp_path, lambda spec: spec.update(timezone="Asia/Hanoi_Nowhere"))
    with pytest.raises(Exception, match="Asia/Hanoi_Nowhere"):
        read_catalogue(path, UNITS_CSV)
