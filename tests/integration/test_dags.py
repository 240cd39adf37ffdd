"""Every file in dags/ imports cleanly and the DAGs are wired as documented."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.integration.helpers import REPO, pipeline_env

pytestmark = pytest.mark.integration

PROBE = textwrap.dedent("""
    import json
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=r"{dags}")
    out = {{"errors": {{k: str(v) for k, v in bag.import_errors.items()}}, "dags": {{}}}}
    for dag_id, dag in bag.dags.items():
        out["dags"][dag_id] = {{
            "tasks": {{t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}},
            "outlets": {{t.task_id: [a.name for a in t.outlets] for t in dag.tasks if t.outlets}},
            "schedule": repr(dag.timetable),
            "timetable": [type(dag.timetable).__name__, getattr(dag.timetable, "serialize", dict)()],
            "time_part": [type(tt).__name__, tt.serialize()] if (tt := getattr(dag.timetable, "timetable", None))
                         else None,
            "asset_condition": repr(getattr(dag.timetable, "asset_condition", None)),
            "pools": sorted({{t.pool for t in dag.tasks}}),
            "task_pools": {{t.task_id: t.pool for t in dag.tasks}},
            "mapped": sorted(t.task_id for t in dag.tasks if getattr(t, "is_mapped", False)),
            "retries": {{t.task_id: t.retries for t in dag.tasks}},
            "catchup": dag.catchup, "max_active_runs": dag.max_active_runs,
            "tags": sorted(dag.tags), "has_doc": bool(dag.doc_md),
        }}
    print(json.dumps(out, default=str))
""")


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = pipeline_env(tmp_path_factory.mktemp("dagbag"))
    proc = subprocess.run([sys.executable, "-c", PROBE.format(dags=REPO / "dags")], env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_no_import_errors(bag: dict) -> None:
    assert bag["errors"] == {}
    assert sorted(bag["dags"]) == ["sectorstats_ingest", "sectorstats_monitor", "sectorstats_transform"]


def test_ingest_dag_is_a_chain_of_library_stages(bag: dict) -> None:
    dag = bag["dags"]["sectorstats_ingest"]
    assert dag["tasks"] == {"archive": ["load", "merge", "parse", "plan", "validate"], "plan": ["parse"],
                            "parse": ["merge"], "merge": ["validate"], "validate": ["load"],
                            "load": ["announce", "feedback"], "feedback": ["announce"], "announce": []}
    # parse is mapped over chunks of files (never a task per file) and does not open the warehouse
    assert dag["mapped"] == ["parse"]
    # the transform is scheduled by the asset, and only a load that brought something updates it
    assert dag["outlets"] == {"announce": ["sectorstats_raw_tables"]}
    assert (dag["catchup"], dag["max_active_runs"], dag["has_doc"]) == (False, 1, True)
    # the reporting calendar of forms.yaml (due days 10 and 15, escalation after 7 days → hourly on days 1-22), or
    # at once when the upload page announces a file (the inbox asset)
    assert dag["timetable"][0] == "AssetOrTimeSchedule"
    kind, spec = dag["time_part"]
    assert kind == "MultipleCronTriggerTimetable"
    assert (spec["expressions"], spec["timezone"]) == (["0 * 1-22 * *", "0 */6 23-31 * *"], "Asia/Ho_Chi_Minh")
    assert dag["asset_condition"].startswith("AssetAll(Asset(name='sectorstats_inbox', uri='sectorstats://inbox/'")
    # every task that opens the warehouse is in the one-slot pool; retries with backoff everywhere
    assert dag["pools"] == ["default_pool", "sectorstats_warehouse"]
    assert set(dag["retries"].values()) == {3}
    assert dag["task_pools"]["parse"] == "default_pool" and dag["task_pools"]["load"] == "sectorstats_warehouse"


def test_transform_dag_runs_on_new_raw_data(bag: dict) -> None:
    dag = bag["dags"]["sectorstats_transform"]
    assert dag["tasks"] == {"dbt_build": ["publish"], "publish": ["alerts"], "alerts": ["summary"],
                            "summary": ["status_page"], "status_page": ["province_reports"],
                            "province_reports": ["indicator_page"], "indicator_page": ["docs"], "docs": []}
    assert dag["outlets"] == {"dbt_build": ["sectorstats_marts"]}
    assert dag["pools"] == ["sectorstats_warehouse"]
    assert dag["schedule"].startswith(
        "AssetTriggeredTimetable(asset_condition=AssetAll(Asset(name='sectorstats_raw_tables'")


def test_monitor_dag_runs_every_morning_in_vietnam(bag: dict) -> None:
    dag = bag["dags"]["sectorstats_monitor"]
    assert dag["tasks"] == {"calendar": ["deadline_alerts"], "deadline_alerts": ["status_page"],
                            "status_page": []}
    kind, spec = dag["timetable"]
    assert kind == "CronTriggerTimetable"
    assert (spec["expression"], spec["timezone"]) == ("0 8 * * *", "Asia/Ho_Chi_Minh")
    assert dag["pools"] == ["sectorstats_warehouse"]
    assert (dag["catchup"], dag["max_active_runs"], dag["has_doc"]) == (False, 1, True)
