{#-
    The reporting calendar as of var as_of: one row per report a unit owes (int_reports_owed: due by the as-of
    date plus the catalogue's reminder_days_before), with the version that counts (int_submissions_ranked) and the
    report's state:
      due_soon   not due yet (due on or after the as-of date) and no accepted version
      on_time    its accepted version (the latest) arrived by the due date, Vietnamese calendar day
      late       its accepted version arrived after the due date
      rejected   past due, and only rejected versions received
      unreadable past due, and only files that could not be read (int_submissions_unreadable: a damaged file, a
                 sheet without its table, named for the report)
      missing    past due, and nothing received
    The one definition of where each report stands: the alerts (reminders, overdue notices, escalations), the status
    page and the summary read it, fct_submission is made from it, and the monitoring DAG builds it for its day
    (ingest/marts/calendar.py).
-#}
with

owed as (

    select * from {{ ref('int_reports_owed') }}

),

chosen as (

    select * from {{ ref('int_submissions_ranked') }}
    where is_chosen

),

unreadable as (

    select * from {{ ref('int_submissions_unreadable') }}

),

units as (

    select unit_code, unit_name from {{ ref('stg_reference__reporting_units') }}

),

joined as (

    select
        owed.report_id,
        owed.unit_code,
        units.unit_name,
        owed.form_code,
        owed.period_type,
        owed.period_start,
        owed.period_end,
        owed.due_date,
        owed.is_due,
        chosen.submission_id,
        chosen.sha256,
        coalesce(chosen.status, 'missing') as status,
        chosen.version,
        coalesce(chosen.n_versions, 0) as n_versions,
        coalesce(chosen.has_accepted_version, false) as has_accepted_version,
        chosen.on_time,
        chosen.received_at,
        chosen.received_date,
        chosen.first_received_at,
        chosen.last_received_date,
        case when chosen.has_accepted_version then chosen.received_date end as accepted_received_date,
        coalesce(unreadable.n_unreadable, 0) as n_unreadable,
        unreadable.unreadable_received_date
    from owed
    left join chosen
        on chosen.report_id = owed.report_id
    left join unreadable
        on unreadable.report_id = owed.report_id
    left join units
        on units.unit_code = owed.unit_code

),

final as (

    select
        -- ids
        report_id,
        submission_id,
        sha256,
        -- strings
        unit_code,
        unit_name,
        form_code,
        period_type,
        case
            when accepted_received_date <= due_date then 'on_time'
            when accepted_received_date is not null then 'late'
            when due_date >= {{ as_of_sql() }} then 'due_soon'
            when n_versions > 0 then 'rejected'
            when n_unreadable > 0 then 'unreadable'
            else 'missing'
        end as state,
        status,
        -- numerics
        version,
        n_versions,
        n_unreadable,
        case
            when accepted_received_date is null and due_date < {{ as_of_sql() }}
                then {{ dbt.datediff('due_date', as_of_sql(), 'day') }}
            else 0
        end as days_overdue,
        -- booleans
        is_due,
        has_accepted_version,
        on_time,
        -- dates
        period_start,
        period_end,
        due_date,
        received_date,
        last_received_date,
        accepted_received_date,
        unreadable_received_date,
        {{ as_of_sql() }} as as_of,
        -- timestamps (UTC)
        received_at,
        first_received_at

    from joined

)

select * from final
