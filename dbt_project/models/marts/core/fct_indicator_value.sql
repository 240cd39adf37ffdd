{#- One row per number of the latest accepted version of each (unit, form, period) report.
    An empty cell is not a number: it stays in raw.observations (value null) but not here;
    a dash ("-") is a number, zero, and is here with value_text '-'.
    Incremental by report year (dbt_project.yml, macros/incremental_report_years.sql): a build reads only the
    report years whose reports changed since the last one. -#}
-- depends_on: {{ ref('int_report_year_fingerprints') }}
with

latest_accepted as (

    select *
    from {{ ref('int_submissions_ranked') }} as submissions
    where submissions.is_latest_accepted
        and {{ report_year_is_stale('submissions') }}

),

observations as (

    select * from {{ ref('stg_district_reports__observations') }}
    where value is not null

),

indicators as (

    select indicator_id, form_code, row_code from {{ ref('dim_indicator') }}

),

periods as (

    select period_id, period_type, period_start from {{ ref('dim_period') }}

),

units as (

    select reporting_unit_id, unit_code from {{ ref('dim_reporting_unit') }}

),

joined as (

    select
        -- ids
        {{ dbt.concat(['observations.submission_id', "'|'", 'observations.row_code', "'|'", 'observations.measure']) }}
            as indicator_value_id,
        coalesce(indicators.indicator_id, '-1') as indicator_id,
        coalesce(periods.period_id, '-1') as period_id,
        coalesce(units.reporting_unit_id, '-1') as reporting_unit_id,
        latest_accepted.report_id,
        observations.submission_id,
        -- strings
        latest_accepted.unit_code,
        latest_accepted.form_code,
        latest_accepted.period_type,
        observations.row_code,
        observations.measure,
        observations.value_text,
        observations.qualifier,
        -- SDMX OBS_STATUS: a qualified value is an estimate; an unqualified value of a version > 1 is a revision
        case
            when observations.qualifier is not null then 'estimated'
            when latest_accepted.version > 1 then 'revised'
            else 'reported'
        end as obs_status,
        case
            when observations.qualifier is not null then 'E'
            when latest_accepted.version > 1 then 'R'
            else 'A'
        end as obs_status_code,
        latest_accepted.status,
        latest_accepted.file_name as source_file,
        observations.source_sheet,
        observations.source_cell,
        -- numerics
        observations.value,
        latest_accepted.version,
        -- dates
        latest_accepted.period_start,
        -- timestamps (UTC)
        latest_accepted.received_at

    from observations
    inner join latest_accepted
        on latest_accepted.submission_id = observations.submission_id
    left join indicators
        on indicators.form_code = latest_accepted.form_code
        and indicators.row_code = observations.row_code
    left join periods
        on periods.period_type = latest_accepted.period_type
        and periods.period_start = latest_accepted.period_start
    left join units
        on units.unit_code = latest_accepted.unit_code

)

select * from joined
