{#-
    The reports a unit sent a file for that could not be read: one row per (unit, form, period) that a file never
    identified appears to be for (raw.submissions.claimed_*: what one of its sheets said, else its name; the unit
    from its sheet, else its folder). The reporting calendar says such a report was received and could not be read,
    rather than missing; no number ever comes from these files.
-#}
with

unreadable as (

    select * from {{ ref('stg_district_reports__submissions') }}
    where not is_identified
        and claimed_unit_code is not null
        and claimed_form_code is not null
        and claimed_period_start is not null

),

settings as (

    select utc_offset_hours from {{ ref('stg_catalogue__settings') }}

),

reports as (

    select
        -- ids
        {{ report_key('unreadable.claimed_unit_code', 'unreadable.claimed_form_code',
                      'unreadable.claimed_period_start') }} as report_id,
        -- numerics
        count(*) as n_unreadable,
        -- dates
        max({{ local_date('unreadable.received_at', 'settings.utc_offset_hours') }}) as unreadable_received_date
    from unreadable
    cross join settings
    group by 1

)

select * from reports
