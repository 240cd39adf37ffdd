{#-
    One row per (report, indicator) of the latest accepted version of each report: the four measures side by
    side, and the period value derived from the year-to-date column where only that is trustworthy.

    Why derive: a district that finds a mistake in an earlier month corrects it in the next report's
    cumulative ("lũy kế") column; it does not resend the old month. The year-to-date series is therefore the
    one the province publishes, and a period value that disagrees with ytd(this period) − ytd(previous period)
    (the ytd-continuity warning of validation) or that was left blank is replaced by that difference, flagged
    `derived`. The reported value is kept beside it.

    Only flows and amounts are derived (a stock's year-to-date column repeats its period-end value), and only
    when the difference is trustworthy: this period's ytd and the previous period's ytd of the same year are
    both reported (the first period of a year has nothing before it: its ytd is its period value) and the ytd
    did not go down.

    A table: seven tests and fct_indicator_period_value read it, and a view is computed again by each (59 s of a
    national year's build on Postgres; on DuckDB, a view read three times by fct_indicator_period_value was held
    in memory as a common table expression, over its 1 GB limit, where the table costs 3.6 s). Incremental by
    report year (dbt_project.yml, macros/incremental_report_years.sql): the previous period it looks back to is in
    the same year.
-#}
-- depends_on: {{ ref('int_report_year_fingerprints') }}

with

indicator_values as (

    select * from {{ ref('fct_indicator_value') }} as facts
    where {{ report_year_is_stale('facts') }}

),

indicators as (

    select indicator_id, kind, time_aggregation from {{ ref('dim_indicator') }}

),

pivoted as (

    select
        -- ids
        report_id,
        submission_id,
        reporting_unit_id,
        indicator_id,
        period_id,
        -- strings
        unit_code,
        form_code,
        row_code,
        period_type,
        source_file,
        source_sheet,
        max(case when measure = 'period' then source_cell end) as source_cell,
        max(case when measure = 'ytd' then source_cell end) as source_cell_ytd,
        max(case when measure = 'period' then obs_status end) as reported_obs_status,
        -- numerics
        version,
        max(case when measure = 'period' then value end) as reported_value,
        max(case when measure = 'ytd' then value end) as value_ytd,
        max(case when measure = 'plan_year' then value end) as plan_year,
        max(case when measure = 'ytd_prev_year' then value end) as value_prev_year_ytd,
        -- dates
        period_start,
        -- timestamps (UTC)
        received_at

    from indicator_values
    group by
        report_id,
        submission_id,
        reporting_unit_id,
        indicator_id,
        period_id,
        unit_code,
        form_code,
        row_code,
        period_type,
        source_file,
        source_sheet,
        version,
        period_start,
        received_at

),

with_previous as (

    select
        current_period.*,
        indicators.kind,
        indicators.time_aggregation,
        {{ int_date_part('month', 'current_period.period_start') }} = 1 as is_first_period_of_year,
        previous_period.value_ytd as previous_value_ytd
    from pivoted as current_period
    left join indicators
        on indicators.indicator_id = current_period.indicator_id
    left join pivoted as previous_period
        on previous_period.unit_code = current_period.unit_code
        and previous_period.form_code = current_period.form_code
        and previous_period.row_code = current_period.row_code
        and previous_period.period_start = cast({{ dbt.dateadd(
            'month',
            '-1 * ' ~ period_months('current_period.period_type'),
            'current_period.period_start'
        ) }} as date)
        and {{ int_date_part('month', 'current_period.period_start') }} > 1

),

derived as (

    select
        with_previous.*,
        case
            when kind in ('flow', 'amount') and value_ytd is not null
                and (is_first_period_of_year or previous_value_ytd is not null)
                and value_ytd >= coalesce(previous_value_ytd, 0)
                then value_ytd - coalesce(previous_value_ytd, 0)
        end as ytd_difference
    from with_previous

),

flagged as (

    select
        derived.*,
        -- the difference replaces a blank period cell, or one it disagrees with
        ytd_difference is not null
            and (reported_value is null or abs(reported_value - ytd_difference) > 0.0005) as is_derived
    from derived

),

chosen as (

    select
        -- ids
        report_id,
        submission_id,
        reporting_unit_id,
        indicator_id,
        period_id,
        -- strings
        unit_code,
        form_code,
        row_code,
        period_type,
        kind,
        time_aggregation,
        case when is_derived then 'derived' else reported_obs_status end as obs_status,
        source_file,
        source_sheet,
        source_cell,
        source_cell_ytd,
        -- numerics
        version,
        case when is_derived then ytd_difference else reported_value end as value,
        reported_value,
        ytd_difference,
        value_ytd,
        plan_year,
        value_prev_year_ytd,
        -- booleans
        is_derived,
        -- dates
        period_start,
        -- timestamps (UTC)
        received_at

    from flagged

)

select * from chosen
