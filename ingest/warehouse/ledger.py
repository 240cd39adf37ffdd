"""The ledger's own bookkeeping: which version of a report counts.

``raw.submissions`` holds one row per file received. The versions of one (unit, form, period) report are numbered
in order of arrival, and the version whose numbers count is marked: the highest accepted one (a later rejected
version never replaces it). This module is the one definition of that rule; the load stage applies it after every
load, the validation history and dbt's ``int_submissions_ranked`` read the result.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ingest.catalogue.constants import ACCEPTED_STATUSES


def number_versions(con: Connection) -> None:
    """Number every report's versions (``version``: 1, 2, … by arrival time, then sha256) and mark the one that
    counts (``is_latest_accepted``), over the whole ledger, in the caller's transaction."""
    from ingest.warehouse import execute

    execute(con, """
        update raw.submissions set version = v.new_version, is_latest_accepted = v.is_latest_accepted
        from (
            select sha256, new_version,
                   is_accepted and row_number() over (
                       partition by unit_code, form_code, period_start, is_accepted
                       order by new_version desc) = 1 as is_latest_accepted
            from (select sha256, unit_code, form_code, period_start,
                         status in (select unnest(cast(:accepted as varchar[]))) as is_accepted,
                         row_number() over (partition by unit_code, form_code, period_start
                                            order by received_at, sha256) as new_version
                  from raw.submissions where submission_id is not null) numbered
        ) as v
        where raw.submissions.sha256 = v.sha256""", {"accepted": list(ACCEPTED_STATUSES)})
