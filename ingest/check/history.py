"""A report against the unit's own history: what the history rules of ``validate.py`` compare.

For every (submission, row code) of a batch this builds one row with the report's own values and what
the unit reported before: the previous period's year to date and plan, last year's year to date for the
same period, the previous period's value of a stock, and the distribution of the row's earlier period
values (median, MAD, min, max). The history is the latest accepted version of each earlier report in the
warehouse, plus the other reports of the same batch (a district often sends January and February
together); a report never serves as its own history.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ingest import warehouse
from ingest.catalogue import PERIOD_MONTHS, Catalogue
from ingest.catalogue.problems import problem_catalogue

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ["submission_id", "unit_code", "form_code", "period_start", "row_code", "measure", "value",
                   "received_at"]
DECIMALS = 6


def warehouse_history(con: warehouse.Connection, units: list[str], exclude_sha256: list[str]) -> pd.DataFrame:
    """The version that counts (``is_latest_accepted``, :mod:`ingest.warehouse.ledger`) of every earlier report of
    these units, as long rows."""
    if not units:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return warehouse.frame(con, """
        select o.submission_id, l.unit_code, l.form_code, l.period_start, o.row_code, o.measure, o.value,
               l.received_at
        from raw.submissions l join raw.observations o on o.submission_id = l.submission_id
        where l.is_latest_accepted
          and l.unit_code in (select unnest(cast(:units as varchar[])))
          and l.sha256 not in (select unnest(cast(:files as varchar[])))
          and o.value is not null
    """, {"units": units, "files": exclude_sha256})


def _months_before(period_start: pd.Series, months: pd.Series | int) -> pd.Series:
    """The first day of the month ``months`` before each (vectorised month arithmetic)."""
    total = period_start.dt.year * 12 + period_start.dt.month - 1 - months
    return pd.to_datetime(pd.DataFrame({"year": total // 12, "month": total % 12 + 1, "day": 1}))


def time_frame(submissions: pd.DataFrame, observations: pd.DataFrame, history: pd.DataFrame,
               catalogue: Catalogue) -> pd.DataFrame:
    """One row per (submission, row code) of the batch with its values and its history (see module doc)."""
    subs = submissions[submissions["submission_id"].notna()][
        ["submission_id", "unit_code", "form_code", "period_type", "period_start", "received_at"]].copy()
    subs["period_start"] = pd.to_datetime(subs["period_start"])
    obs = observations[observations["submission_id"].isin(subs["submission_id"])]
    obs = obs[["submission_id", "row_code", "measure", "value"]]
    if obs.empty:
        return pd.DataFrame()
    wide = obs.pivot_table(index=["submission_id", "row_code"], columns="measure", values="value",
                           aggfunc="first", dropna=False)
    wide = wide.reindex(columns=list(catalogue.measure_keys)).reset_index()
    wide.columns.name = None
    frame = wide.merge(subs, on="submission_id", how="left")
    kinds = {(f.code, r.code): r.kind for f in catalogue.forms for r in f.rows}
    frame["kind"] = [kinds.get(k, "unknown") for k in zip(frame["form_code"], frame["row_code"], strict=True)]
    frame["step"] = frame["period_type"].map(PERIOD_MONTHS)

    # what is known about each (unit, form, period, row, measure): history, then this batch, latest wins
    batch_long = obs.merge(subs, on="submission_id")[HISTORY_COLUMNS]
    known = pd.concat([history.assign(period_start=pd.to_datetime(history["period_start"])), batch_long],
                      ignore_index=True)
    known["value"] = pd.to_numeric(known["value"], errors="coerce").astype("float64")
    known = known.dropna(subset=["value"]).sort_values("received_at")
    keyed = known.drop_duplicates(["unit_code", "form_code", "period_start", "row_code", "measure"], keep="last")
    lookup = keyed.set_index(["unit_code", "form_code", "period_start", "row_code", "measure"])["value"]

    def value_at(periods: pd.Series, measure: str) -> pd.Series:
        idx = pd.MultiIndex.from_arrays([frame["unit_code"], frame["form_code"], periods, frame["row_code"],
                                         pd.Series(measure, index=frame.index)])
        return pd.Series(lookup.reindex(idx).to_numpy(), index=frame.index)

    prev = _months_before(frame["period_start"], frame["step"])
    same_year = prev.dt.year == frame["period_start"].dt.year
    first = ~same_year
    flow = frame["kind"].isin(["flow", "amount"])
    stock = frame["kind"] == "stock"
    prev_ytd = value_at(prev, "ytd").where(same_year)
    frame["prev_ytd"] = prev_ytd
    frame["prev_ytd_flow"] = prev_ytd.where(flow)
    frame["expected_ytd"] = (prev_ytd + frame["period"]).where(flow & same_year)
    frame.loc[flow & first, "expected_ytd"] = frame.loc[flow & first, "period"]
    frame["prev_plan"] = value_at(prev, "plan_year").where(same_year & flow)
    frame["last_year_ytd"] = value_at(_months_before(frame["period_start"], 12), "ytd")
    frame["stock_period"] = frame["period"].where(stock)
    prev_stock = value_at(prev, "period").where(stock)
    frame["prev_stock"] = prev_stock
    frame["stock_change"] = ((frame["period"] - prev_stock).abs() / prev_stock.where(prev_stock > 0)).where(stock)
    _outliers(frame, known)
    for col in (*catalogue.measure_keys, "prev_ytd", "prev_ytd_flow", "expected_ytd", "prev_plan", "last_year_ytd",
                "stock_period", "prev_stock", "stock_change", "mod_z", "band_low", "band_high", "hist_median"):
        frame[col] = frame[col].astype("float64").round(DECIMALS)
    frame.insert(0, "key", frame["submission_id"] + "|" + frame["row_code"])
    return frame


def _outliers(frame: pd.DataFrame, known: pd.DataFrame) -> None:
    """Modified z-score and min-max band of each period value against the row's earlier period values.

    Each (submission, row) is joined with the earlier period values of its (unit, form, row) within the last
    ``window_months`` months, and the statistics are group aggregates, in DuckDB: one query for the whole
    batch (a loop over units cost 10 ms a unit, an hour for a national year), whose memory DuckDB bounds.
    """
    zp = problem_catalogue().get("outlier-zscore").params
    mp = problem_catalogue().get("outlier-minmax").params
    for col in ("mod_z", "band_low", "band_high", "hist_median"):
        frame[col] = np.nan
    flows = frame[frame["kind"].isin(["flow", "amount"]) & frame["period"].notna()][
        ["unit_code", "form_code", "row_code", "period_start", "period"]].reset_index()
    periods = known[known["measure"] == "period"][["unit_code", "form_code", "row_code", "period_start", "value"]]
    periods = periods.drop_duplicates(["unit_code", "form_code", "row_code", "period_start"], keep="last")
    if flows.empty or periods.empty:
        return
    con = warehouse.scratch()  # a range join and two grouped medians, spilled by DuckDB if need be
    try:
        con.register("flows", flows)
        con.register("periods", periods)
        stats = con.execute("""
            with pairs as (
                select f."index" as idx, h.value
                from flows f join periods h
                  on h.unit_code = f.unit_code and h.form_code = f.form_code and h.row_code = f.row_code
                 and h.period_start < f.period_start
                 and h.period_start >= f.period_start - to_months(?)
            ),
            centre as (
                select idx, count(*) as n, median(value) as med, min(value) as lo, max(value) as hi
                from pairs group by idx
            )
            select c.idx, c.n, c.med, c.lo, c.hi,
                   median(abs(p.value - c.med)) as mad, avg(abs(p.value - c.med)) as mean_ad
            from centre c join pairs p using (idx)
            group by all
            order by c.idx
        """, [int(zp.get("window_months", 36))]).df().set_index("idx")
    finally:
        con.close()
    if stats.empty:
        return
    stats.index.name = None
    value = frame.loc[stats.index, "period"]
    diff = value - stats["med"]
    z = pd.Series(np.nan, index=stats.index)
    by_mad = stats["mad"] > 0
    z[by_mad] = 0.6745 * diff[by_mad] / stats.loc[by_mad, "mad"]
    by_mean = ~by_mad & (stats["mean_ad"] > 0)
    z[by_mean] = diff[by_mean] / (1.253314 * stats.loc[by_mean, "mean_ad"])
    flat = ~by_mad & ~by_mean
    z[flat & (diff == 0)] = 0.0
    small = diff.abs() < np.maximum(float(zp["min_difference"]), float(zp["min_relative"]) * stats["med"].abs())
    z[small] = 0.0  # too small a difference to be worth a district's time
    enough_z = stats["n"] >= int(zp["min_history"])
    frame.loc[stats.index[enough_z], "mod_z"] = z[enough_z]
    frame.loc[stats.index[enough_z], "hist_median"] = stats.loc[enough_z, "med"]
    enough_band = stats["n"] >= int(mp["min_history"])
    margin = float(mp["margin"]) * np.maximum.reduce([stats["hi"] - stats["lo"], stats["hi"] * 0.1,
                                                      pd.Series(float(mp["min_difference"]), index=stats.index)])
    frame.loc[stats.index[enough_band], "band_low"] = (stats["lo"] - margin)[enough_band]
    frame.loc[stats.index[enough_band], "band_high"] = (stats["hi"] + margin)[enough_band]
