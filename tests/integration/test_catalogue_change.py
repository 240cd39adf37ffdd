"""A new row and a whole fifth form are a change of forms.yaml and `make generate`, nothing else.

A copy of the project gets a row added to 01/LĐVL-H and a form 05/NCC-H of a new domain in its forms.yaml; then,
in that copy, `python -m devtools generate`, the demo, the ingest and the dbt build run as they would on a
deployment. Every number of the new row and the new form is read, checked by its own suite and in the marts,
with a domain mart of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.integration.helpers import REPO

pytestmark = pytest.mark.integration

NEW_ROW = {"code": "15", "name": "jobs_vocational_support", "kind": "flow", "unit": "người",
           "label_vi": "Số lao động được hỗ trợ học nghề gắn với việc làm",
           "label_en": "Workers given vocational support"}
FIFTH_FORM = {
    "code": "05/NCC-H", "domain": "merit", "frequency": "monthly",
    "title_vi": "BÁO CÁO KẾT QUẢ THỰC HIỆN CHÍNH SÁCH NGƯỜI CÓ CÔNG", "title_en": "Support to people with merit",
    "sections": [{"heading": "I. TRỢ CẤP NGƯỜI CÓ CÔNG", "rows": [
        {"code": "01", "name": "merit_beneficiaries", "kind": "stock", "unit": "người",
         "label_vi": "Số người hưởng trợ cấp ưu đãi hằng tháng", "label_en": "People receiving monthly allowances",
         "sum_of": ["02", "03"]},
        {"code": "02", "name": "merit_veterans", "kind": "stock", "unit": "người",
         "label_vi": "- Thương binh, bệnh binh", "label_en": "war invalids", "of": "01"},
        {"code": "03", "name": "merit_relatives", "kind": "stock", "unit": "người",
         "label_vi": "- Thân nhân liệt sĩ", "label_en": "martyrs' relatives", "of": "01"},
        {"code": "04", "name": "merit_paid_mvnd", "kind": "amount", "unit": "triệu đồng",
         "label_vi": "Số tiền chi trả trợ cấp", "label_en": "Allowances paid"},
        {"code": "05", "name": "merit_houses_repaired", "kind": "flow", "unit": "nhà",
         "label_vi": "Số nhà ở được hỗ trợ sửa chữa", "label_en": "Houses repaired"},
    ]}],
}


def _copy_project(target: Path) -> None:
    """The files of the repository (committed or not, but not ignored), as a deployment has them."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name)


def _run(copy: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=copy, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_a_row_and_a_fifth_form_added_to_the_yaml_reach_the_marts(tmp_path: Path) -> None:
    copy, data = tmp_path / "project", tmp_path / "data"
    _copy_project(copy)
    forms_yaml = copy / "ingest" / "catalogue" / "forms.yaml"
    spec = yaml.safe_load(forms_yaml.read_text(encoding="utf-8"))
    spec["forms"][0]["sections"][-1]["rows"].append(NEW_ROW)
    spec["forms"].append(FIFTH_FORM)
    forms_yaml.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECTORSTATS_", "AIRFLOW"))}
    env.update(PYTHONPATH=str(copy), SECTORSTATS_DATA_DIR=str(data), SECTORSTATS_AS_OF="2025-01-31",
               SECTORSTATS_PARSE_WORKERS="1", GX_ANALYTICS_ENABLED="False",
               DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    generated = _run(copy, env, "devtools", "generate")
    assert "great_expectations/ suite arithmetic_05_NCC-H" in generated
    assert "dbt_project/models/marts/domains/mart_merit.sql" in generated
    assert "dbt_project/models/marts/domains/mart_employment.yml" in generated  # the new row's columns described
    assert _run(copy, env, "devtools", "generate").strip() == "generated: 0 written (everything up to date)"
    _run(copy, env, "devtools", "demo")
    _run(copy, env, "ingest", "ingest")
    _run(copy, env, "ingest", "transform")

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        def one(sql: str) -> tuple:
            return con.execute(sql).fetchone()

        # the new row: read from every employment report, into fct_indicator_value and its mart columns
        assert one("""select count(distinct submission_id), count(*) filter (where value is not null)
                      from marts.fct_indicator_value where form_code = '01/LĐVL-H' and row_code = '15'""") == \
            one("""select count(*), 4 * count(*) from marts.fct_submission
                   where form_code = '01/LĐVL-H' and status in ('accepted', 'accepted_with_warnings')""")
        columns = {c for (c,) in con.execute("""select column_name from information_schema.columns
                                                where table_schema = 'marts' and table_name = 'mart_employment'""")
                   .fetchall()}
        assert {"jobs_vocational_support", "jobs_vocational_support_ytd", "jobs_vocational_support_pct_of_plan"} \
            <= columns
        # the fifth form: owed by every district every month, read, checked and in a mart of its own; the demo
        # planted its usual scenarios in it too (missing reports, wrong sums), and they are found
        manifest = json.loads((data / "demo_manifest.json").read_text(encoding="utf-8"))
        missing = [m for m in manifest["missing"] if m["form_code"] == "05/NCC-H"]
        assert one("select count(*), count(*) filter (where status = 'missing') from marts.fct_submission "
                   "where form_code = '05/NCC-H' and is_expected") == (13 * 12, len(missing))
        assert one("select count(*) from marts.fct_report_status where form_code = '05/NCC-H'") == (13 * 12,)
        planted = {f["sha256"]: f["expected_status"] for f in manifest["files"]
                   if f["form_code"] == "05/NCC-H" and f["scenario"] in ("ok", "late", "arithmetic_error")}
        got = dict(con.execute("select sha256, status from raw.submissions where form_code = '05/NCC-H'").fetchall())
        rejected = {sha for sha, status in planted.items() if status == "rejected"}
        assert len(planted) > 100 and rejected  # the demo wrote the form, and some with wrong sums
        assert {sha for sha in planted if got[sha] == "rejected"} == rejected  # an ok or late one never rejected
        assert one("""select count(*) from marts.mart_merit
                      where not is_province_total and not is_rollup and merit_beneficiaries is not null""") == \
            one("""select count(*) from marts.fct_submission where form_code = '05/NCC-H'
                   and status in ('accepted', 'accepted_with_warnings')""")
        assert one("select domain from marts.dim_form where form_code = '05/NCC-H'") == ("merit",)
    finally:
        con.close()
