"""The domain marts' dbt YAML is generated from the catalogue: every column described, and kept in sync."""

from __future__ import annotations

import dataclasses

import yaml

from devtools.mart_docs import mart_yaml
from ingest.catalogue import load_catalogue


def test_every_indicator_has_its_six_columns_described_in_both_languages() -> None:
    cat = load_catalogue()
    doc = yaml.safe_load(mart_yaml(cat, "employment"))
    (model,) = doc["models"]
    cols = {c["name"]: c["description"] for c in model["columns"]}
    assert [n for n in cols if n.startswith("jobs_total")] == [
        "jobs_total", "jobs_total_ytd", "jobs_total_plan", "jobs_total_prev_ytd", "jobs_total_pct_of_plan",
        "jobs_total_change_vs_prev_year"]
    assert cols["jobs_total_ytd"] == (
        "Số lao động được giải quyết việc làm — Workers given jobs (01/LĐVL-H mã số 01, người, chỉ tiêu thời kỳ): "
        "lũy kế từ đầu năm — year to date at the end of the period, as reported.")
    assert all(d.strip() for d in cols.values())
    n_rows = len(cat.form("01/LĐVL-H").rows)
    assert len(cols) == 18 + 6 * n_rows


def test_a_stock_has_no_pct_of_plan_and_its_change_is_against_the_period_value() -> None:
    doc = yaml.safe_load(mart_yaml(load_catalogue(), "social_protection"))
    cols = {c["name"]: c["description"] for c in doc["models"][0]["columns"]}
    assert "households_pct_of_plan" not in cols
    assert cols["households_change_vs_prev_year"].endswith("so với cùng kỳ — households − households_prev_ytd.")
    assert "poverty_rate" in cols and "near_poverty_rate" in cols
    tests = doc["models"][0]["data_tests"]
    assert {"province_total_sums_units": {"arguments": {"domain": "social_protection"}}} in tests


def test_a_row_added_to_a_form_adds_its_columns() -> None:
    cat = load_catalogue()
    form = cat.form("02/GDNN-H")
    extra = dataclasses.replace(form.rows[-1], code="13", name="vet_trainees_online", label_vi="Học trực tuyến",
                                label_en="Online trainees", kind="flow")
    bigger = dataclasses.replace(cat, forms=tuple(
        dataclasses.replace(f, rows=(*f.rows, extra)) if f.code == form.code else f for f in cat.forms))
    cols = [c["name"] for c in yaml.safe_load(mart_yaml(bigger, "training"))["models"][0]["columns"]]
    assert cols[-6:] == ["vet_trainees_online", "vet_trainees_online_ytd", "vet_trainees_online_plan",
                         "vet_trainees_online_prev_ytd", "vet_trainees_online_pct_of_plan",
                         "vet_trainees_online_change_vs_prev_year"]
