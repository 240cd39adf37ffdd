{#-
    One row per expected (unit, form, period) report up to the as-of date, plus one per received identified
    report that matches no expectation (a dissolved unit, a period before reporting_start, a report sent before
    its due date has come). The status and version are those of the chosen submission: the latest accepted
    version if any, else the latest received one; 'missing' when nothing was received.
-#}
with

expected as (

    select * from {{ ref('int_submissions_expected') }}

),

chosen as (

    select * from {{ ref('int_submissions_ranked') }}
    where is_chosen

),

forms as (

    select form_code, due_day from {{ ref('stg_catalogue__forms') }}

),

periods as (

    select period_id, period_type, period_start from {{ ref('dim_period') }}

),

units as (

    select reporting_unit_id, unit_code from {{ ref('dim_reporting_unit') }}

),

matched as (

    select
        coalesce(expected.report_id, chosen.report_id) as report_id,
        coalesce(expected.unit_code, chosen.unit_code) as unit_code,
        coalesce(expected.form_code, chosen.form_code) as form_code,
        coalesce(expected.period_type, chosen.period_type) as period_type,
        coalesce(expected.period_start, chosen.period_start) as period_start,
        expected.due_date as expected_due_date,
        expected.report_id is not null as is_expected,
        chosen.submission_id,
        chosen.sha256,
        chosen.status,
        chosen.version,
        chosen.n_versions,
        chosen.has_accepted_version,
        chosen.received_at,
        chosen.first_received_at
    from expected
    full outer join chosen
        on chosen.unit_code = expected.unit_code
        and chosen.form_code = expected.form_code
        and chosen.period_start = expected.period_start

),

dated as (

    select
        matched.*,
        coalesce(
            matched.expected_due_date,
            {{ due_date('matched.period_start', 'matched.period_type', 'forms.due_day') }}
        ) as due_date,
        {{ local_date('matched.received_at') }} as received_date
    from matched
    left join forms
        on forms.form_code = matched.form_code

),

final as (

    select
        -- ids
        dated.report_id,
        coalesce(units.reporting_unit_id, '-1') as reporting_unit_id,
        coalesce(periods.period_id, '-1') as period_id,
        dated.submission_id,
        dated.sha256,
        -- strings
        dated.unit_code,
        dated.form_code,
        dated.period_type,
        coalesce(dated.status, 'missing') as status,
        -- numerics
        dated.version,
        coalesce(dated.n_versions, 0) as n_versions,
        case
            when dated.received_date is not null and dated.due_date is not null
                then {{ dbt.datediff('dated.due_date', 'dated.received_date', 'day') }}
        end as days_after_due,
        -- booleans
        dated.is_expected,
        coalesce(dated.has_accepted_version, false) as has_accepted_version,
        case
            when dated.received_date is not null and dated.due_date is not null
                then dated.received_date <= dated.due_date
        end as on_time,
        -- dates
        dated.period_start,
        dated.due_date,
        dated.received_date,
        -- timestamps (UTC)
        dated.received_at,
        dated.first_received_at

    from dated
    left join periods
        on periods.period_type = dated.period_type
        and periods.period_start = dated.period_start
    left join units
        on units.unit_code = dated.unit_code

)

select * from final
