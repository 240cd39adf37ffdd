{#-
    The identified submissions, ranked within their (unit, form, period) report:
    - the latest accepted version (status accepted or accepted_with_warnings, highest version) is the one whose
      numbers count; a later rejected version never replaces it, a later accepted one does;
    - the chosen submission of a report is the latest accepted one if any, else the latest received one.
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

ranked as (

    select
        submissions.*,
        {{ report_key('unit_code', 'form_code', 'period_start') }} as report_id,
        row_number() over (
            partition by unit_code, form_code, period_start
            order by coalesce(version, 0) desc, received_at desc, sha256 desc
        ) as received_rank,
        row_number() over (
            partition by unit_code, form_code, period_start, is_accepted
            order by coalesce(version, 0) desc, received_at desc, sha256 desc
        ) as rank_within_acceptance,
        count(*) over (
            partition by unit_code, form_code, period_start
        ) as n_versions,
        max(case when is_accepted then 1 else 0 end) over (
            partition by unit_code, form_code, period_start
        ) = 1 as has_accepted_version,
        min(received_at) over (
            partition by unit_code, form_code, period_start
        ) as first_received_at

    from submissions

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
        received_rank,
        -- booleans
        is_accepted,
        has_accepted_version,
        is_accepted and rank_within_acceptance = 1 as is_latest_accepted,
        received_rank = 1 as is_latest_received,
        case
            when has_accepted_version then is_accepted and rank_within_acceptance = 1
            else received_rank = 1
        end as is_chosen,
        -- dates
        period_start,
        -- timestamps (UTC)
        received_at,
        first_received_at

    from ranked

)

select * from flagged
