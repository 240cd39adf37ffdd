{#-
    The identified submissions, each within its (unit, form, period) report:
    - is_latest_accepted (from the ledger: the load stage marks it when it numbers the versions) is the version
      whose numbers count: the highest accepted version; a later rejected version never replaces it;
    - is_chosen is the version that says where the report stands: the latest accepted one if any, else the latest
      received one (the highest version);
    - its due date (the catalogue's due day) and whether it arrived by it (the calendar day of the catalogue's time
      zone, Vietnam): on_time.
-#}
with

submissions as (

    select *
    from {{ ref('stg_district_reports__submissions') }}
    where is_identified
        and unit_code is not null
        and form_code is not null
        and period_start is not null

),

forms as (

    select form_code, due_day from {{ ref('stg_catalogue__forms') }}

),

settings as (

    select utc_offset_hours from {{ ref('stg_catalogue__settings') }}

),

ranked as (

    select
        submissions.*,
        {{ report_key('submissions.unit_code', 'submissions.form_code', 'submissions.period_start') }} as report_id,
        {{ due_date('submissions.period_start', 'submissions.period_type', 'forms.due_day') }} as due_date,
        {{ local_date('submissions.received_at', 'settings.utc_offset_hours') }} as received_date,
        count(*) over (
            partition by submissions.unit_code, submissions.form_code, submissions.period_start
        ) as n_versions,
        max(submissions.version) over (
            partition by submissions.unit_code, submissions.form_code, submissions.period_start
        ) as latest_version,
        max(case when submissions.is_accepted then 1 else 0 end) over (
            partition by submissions.unit_code, submissions.form_code, submissions.period_start
        ) = 1 as has_accepted_version,
        min(submissions.received_at) over (
            partition by submissions.unit_code, submissions.form_code, submissions.period_start
        ) as first_received_at,
        max(submissions.received_at) over (
            partition by submissions.unit_code, submissions.form_code, submissions.period_start
        ) as last_received_at,
        settings.utc_offset_hours

    from submissions
    left join forms
        on forms.form_code = submissions.form_code
    cross join settings

),

flagged as (

    select
        -- ids
        report_id,
        submission_id,
        sha256,
        load_id,
        -- strings
        unit_code,
        form_code,
        form_version,
        period_type,
        source_sheet,
        file_name,
        folder_unit_code,
        status,
        -- numerics
        version,
        n_errors,
        n_warnings,
        n_versions,
        -- booleans
        is_accepted,
        has_accepted_version,
        is_latest_accepted,
        version = latest_version as is_latest_received,
        case
            when has_accepted_version then is_latest_accepted
            else version = latest_version
        end as is_chosen,
        received_date <= due_date as on_time,
        -- dates
        period_start,
        due_date,
        received_date,
        {{ local_date('last_received_at', 'utc_offset_hours') }} as last_received_date,
        -- timestamps (UTC)
        received_at,
        first_received_at,
        last_received_at

    from ranked

)

select * from flagged
