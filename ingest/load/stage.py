"""The load stage: the package into the raw tables, in one transaction, replacing the files it carries.

Loading the same package twice changes nothing: the rows of every file it carries (keyed by sha256) are deleted
before they are written again. The catalogue tables are rewritten from ``forms.yaml`` on every load.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil

import pandas as pd

from ingest import warehouse
from ingest.catalogue import Catalogue, load_catalogue
from ingest.package import OBSERVATION_COLUMNS, LoadPackage, write_folder
from ingest.settings import reports_dir
from ingest.tell.feedback import OWED_FOLDER, missing_feedback
from ingest.warehouse.ledger import number_versions

log = logging.getLogger(__name__)


def catalogue_frames(catalogue: Catalogue) -> dict[str, pd.DataFrame]:
    """The catalogue as the rows of ``raw.catalogue_forms``, ``raw.catalogue_indicators`` and
    ``raw.catalogue_settings``."""
    forms = pd.DataFrame([{
        "form_code": f.code, "domain": f.domain, "title_vi": f.title_vi, "title_en": f.title_en,
        "frequency": f.frequency, "period_type": f.period_type, "due_day": f.due_day,
        "catalogue_version": catalogue.version} for f in catalogue.forms])
    indicators = pd.DataFrame([{
        "form_code": f.code, "row_code": r.code, "indicator_name": r.name, "kind": r.kind, "unit": r.unit,
        "label_vi": r.label_vi, "label_en": r.label_en, "section_vi": r.section, "of_row_code": r.of,
        "sum_of": ",".join(r.sum_of) or None, "sort_order": i}
        for f in catalogue.forms for i, r in enumerate(f.rows, start=1)])
    settings = pd.DataFrame([{
        "catalogue_version": catalogue.version, "reporting_start": catalogue.reporting_start,
        "reminder_days_before": catalogue.reminder_days_before,
        "escalate_days_after": catalogue.escalate_days_after, "utc_offset_hours": catalogue.utc_offset_hours}])
    return {"raw.catalogue_forms": forms, "raw.catalogue_indicators": indicators, "raw.catalogue_settings": settings}


def load_stage(load_id: str) -> dict[str, int | str]:
    """Write the package into the raw tables in one transaction (replacing the files it carries)."""
    catalogue = load_catalogue()
    package = LoadPackage(load_id)
    subs = package.submissions().assign(load_id=load_id)
    problems = package.problems().assign(load_id=load_id)
    with warehouse.connect() as con:  # one transaction: every table of the load, or none
        warehouse.ensure_schema(con)
        files = {"files": subs["sha256"].tolist()}
        in_package = "sha256 in (select unnest(cast(:files as varchar[])))"
        warehouse.execute(con, f"""delete from raw.observations where submission_id in (
                                       select submission_id from raw.submissions where {in_package})""", files)
        warehouse.execute(con, f"delete from raw.problems where {in_package}", files)
        warehouse.execute(con, f"delete from raw.submissions where {in_package}", files)
        warehouse.insert_frame(con, "raw.submissions", subs)
        n_obs = warehouse.insert_parquet(con, "raw.observations", package.observations_file, OBSERVATION_COLUMNS,
                                         {"load_id": load_id})
        warehouse.insert_frame(con, "raw.problems", problems)
        number_versions(con)
        for table, frame in catalogue_frames(catalogue).items():
            warehouse.replace_frame(con, table, frame)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        warehouse.execute(con, """insert into raw.loads (load_id, started_at) select :load_id, :now
                                  where not exists (select 1 from raw.loads where load_id = :load_id)""",
                          {"load_id": load_id, "now": now})
        warehouse.execute(con, """update raw.loads set finished_at = :now, submissions = :submissions,
                                      problems = :problems, catalogue_version = :version
                                  where load_id = :load_id""",
                          {"now": now, "submissions": len(subs), "problems": len(problems),
                           "version": catalogue.version, "load_id": load_id})
        # earlier files whose feedback workbook is missing (a killed feedback step): the feedback step writes them
        owed = missing_feedback(con, reports_dir() / "feedback", exclude={*files["files"], *problems["sha256"]})
    owed_folder = package.folder / OWED_FOLDER
    if owed.empty:
        shutil.rmtree(owed_folder, ignore_errors=True)
    else:
        write_folder(owed_folder, {"problems": owed})
    log.info("load: %d submissions, %d numbers, %d problems", len(subs), n_obs, len(problems))
    return {"load_id": load_id, "submissions": len(subs), "observations": int(n_obs), "problems": len(problems)}
