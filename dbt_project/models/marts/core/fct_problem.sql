{#- One row per problem found in a received file (raw.problems), with the file's report when identified. -#}
with

problems as (

    select * from {{ ref('stg_district_reports__problems') }}

),

submissions as (

    select * from {{ ref('stg_district_reports__submissions') }}

),

periods as (

    select period_id, period_type, period_start from {{ ref('dim_period') }}

),

units as (

    select reporting_unit_id, unit_code from {{ ref('dim_reporting_unit') }}

),

final as (

    select
        -- ids
        problems.problem_id,
        coalesce(problems.submission_id, submissions.submission_id, problems.sha256) as submission_id,
        problems.sha256,
        coalesce(units.reporting_unit_id, '-1') as reporting_unit_id,
        coalesce(periods.period_id, '-1') as period_id,
        -- strings
        problems.file_name,
        problems.folder_unit_code,
        problems.stage,
        problems.severity,
        problems.rule,
        problems.row_code,
        problems.measure,
        problems.source_sheet,
        problems.source_cell,
        problems.value_text,
        problems.message_vi,
        problems.message_en,
        submissions.unit_code,
        submissions.form_code,
        submissions.period_type,
        submissions.status as submission_status,
        -- numerics
        submissions.version,
        -- booleans
        problems.submission_id is not null as is_identified,
        -- dates
        submissions.period_start,
        -- timestamps (UTC)
        submissions.received_at

    from problems
    left join submissions
        on submissions.sha256 = problems.sha256
    left join periods
        on periods.period_type = submissions.period_type
        and periods.period_start = submissions.period_start
    left join units
        on units.unit_code = submissions.unit_code

)

select * from final
