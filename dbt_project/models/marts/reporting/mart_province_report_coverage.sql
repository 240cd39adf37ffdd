{#-
    Which units' reports a province report holds: one row per (form, reporting period, unit) of fct_submission
    (the reports owed by the as-of date, and the received ones nobody expected). coverage:
      counted   an accepted version is in the warehouse: its numbers are in the province's (mart_province_indicator)
      rejected  only rejected versions arrived: not counted
      missing   nothing readable arrived: not counted
    figures_as_of is the date the figures were taken (var as_of: the reports received by then).
-#}
with

submissions as (

    select * from {{ ref('fct_submission') }}

),

files as (

    select submission_id, file_name from {{ ref('stg_district_reports__submissions') }}
    where submission_id is not null

),

units as (

    select unit_code, unit_name from {{ ref('dim_reporting_unit') }}

),

final as (

    select
        -- ids
        {{ dbt.concat(['submissions.form_code', "'|'", 'submissions.period_id', "'|'", 'submissions.unit_code']) }}
            as province_report_coverage_id,
        submissions.period_id,
        submissions.reporting_unit_id,
        submissions.submission_id,
        -- strings
        submissions.form_code,
        submissions.period_type,
        submissions.unit_code,
        units.unit_name,
        case
            when submissions.has_accepted_version then 'counted'
            when submissions.status = 'rejected' then 'rejected'
            else 'missing'
        end as coverage,
        submissions.status,
        files.file_name as source_file,
        -- booleans
        submissions.is_expected,
        submissions.on_time,
        -- dates
        submissions.period_start,
        submissions.received_date,
        {{ as_of_sql() }} as figures_as_of

    from submissions
    left join files
        on files.submission_id = submissions.submission_id
    left join units
        on units.unit_code = submissions.unit_code

)

select * from final
