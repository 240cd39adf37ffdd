{#-
    One row per expected (unit, form, period) report up to the as-of date (fct_report_status, where the due date
    has come), plus one per received identified report that matches no expectation (a dissolved unit, a period
    before reporting_start, a report sent before its due date has come). The status, version and dates are those of
    the chosen version (int_submissions_ranked: the latest accepted version if any, else the latest received one);
    'missing' when nothing was received. on_time and the reporting rates follow DHIS2: a report received by its due
    date in any status.
-#}
with

expected as (

    select * from {{ ref('fct_report_status') }}
    where is_due

),

unexpected as (

    select chosen.*
    from {{ ref('int_submissions_ranked') }} as chosen
    left join expected
        on expected.report_id = chosen.report_id
    where chosen.is_chosen
        and expected.report_id is null

),

reports as (

    select
        report_id, submission_id, sha256, unit_code, form_code, period_type, status, version, n_versions,
        has_accepted_version, on_time, period_start, due_date, received_date, received_at, first_received_at,
        true as is_expected
    from expected
    union all
    select
        report_id, submission_id, sha256, unit_code, form_code, period_type, status, version, n_versions,
        has_accepted_version, on_time, period_start, due_date, received_date, received_at, first_received_at,
        false as is_expected
    from unexpected

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
        reports.report_id,
        coalesce(units.reporting_unit_id, '-1') as reporting_unit_id,
        coalesce(periods.period_id, '-1') as period_id,
        reports.submission_id,
        reports.sha256,
        -- strings
        reports.unit_code,
        reports.form_code,
        reports.period_type,
        reports.status,
        -- numerics
        reports.version,
        reports.n_versions,
        case
            when reports.received_date is not null and reports.due_date is not null
                then {{ dbt.datediff('reports.due_date', 'reports.received_date', 'day') }}
        end as days_after_due,
        -- booleans
        reports.is_expected,
        reports.has_accepted_version,
        reports.on_time,
        -- dates
        reports.period_start,
        reports.due_date,
        reports.received_date,
        -- timestamps (UTC)
        reports.received_at,
        reports.first_received_at

    from reports
    left join periods
        on periods.period_type = reports.period_type
        and periods.period_start = reports.period_start
    left join units
        on units.unit_code = reports.unit_code

)

select * from final
