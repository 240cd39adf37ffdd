{#-
    Reporting rates with DHIS2's definitions, per (unit, form, period) for the form's own period (month or
    quarter) and rolled up through dim_period to quarter, half year, nine months and year, plus one province
    total row per (form, period) (unit_code = var province_code). Every rate is recomputed from the summed
    numerator and denominator, never averaged.
      expected_reports        fct_submission rows with is_expected (the unit existed for the whole period,
                              the period is on or after reporting_start and its due date has come by as-of)
      actual_reports          expected reports received in any status (accepted, accepted_with_warnings or
                              rejected), i.e. status <> 'missing' (DHIS2 "actual reports")
      accepted_reports        expected reports with an accepted version (has_accepted_version)
      reports_on_time         actual reports whose chosen version arrived by the due date (fct_submission.on_time)
      unexpected_reports      identified reports received that were not expected (not in the rates)
-#}
{%- set province_code = var('province_code', '42') -%}

with

submissions as (

    select * from {{ ref('fct_submission') }}

),

periods as (

    select period_id, quarter_id, half_id, nine_months_id, year_id from {{ ref('dim_period') }}

),

flagged as (

    select
        submissions.reporting_unit_id,
        submissions.unit_code,
        submissions.form_code,
        submissions.period_type as form_period_type,
        submissions.period_id,
        periods.quarter_id,
        periods.half_id,
        periods.nine_months_id,
        periods.year_id,
        case when submissions.is_expected then 1 else 0 end as is_expected,
        case when submissions.is_expected and submissions.status <> 'missing' then 1 else 0 end as is_actual,
        case when submissions.is_expected and submissions.has_accepted_version then 1 else 0 end as is_accepted,
        case
            when submissions.is_expected and submissions.status <> 'missing' and submissions.on_time then 1
            else 0
        end as is_on_time,
        case when submissions.is_expected then 0 else 1 end as is_unexpected
    from submissions
    inner join periods
        on periods.period_id = submissions.period_id

),

rolled as (

    select *, period_id as rollup_period_id, form_period_type as rollup_period_type from flagged
    union all
    select *, quarter_id, 'quarter' from flagged where form_period_type = 'month' and quarter_id is not null
    union all
    select *, half_id, 'half' from flagged where half_id is not null
    union all
    select *, nine_months_id, 'nine_months' from flagged where nine_months_id is not null
    union all
    select *, year_id, 'year' from flagged where year_id is not null

),

by_unit as (

    select
        reporting_unit_id,
        unit_code,
        form_code,
        form_period_type,
        rollup_period_id as period_id,
        rollup_period_type as period_type,
        false as is_province_total,
        sum(is_expected) as expected_reports,
        sum(is_actual) as actual_reports,
        sum(is_accepted) as accepted_reports,
        sum(is_on_time) as reports_on_time,
        sum(is_unexpected) as unexpected_reports
    from rolled
    group by reporting_unit_id, unit_code, form_code, form_period_type, rollup_period_id, rollup_period_type

),

province as (

    select
        '{{ province_code }}' as reporting_unit_id,
        '{{ province_code }}' as unit_code,
        form_code,
        form_period_type,
        period_id,
        period_type,
        true as is_province_total,
        sum(expected_reports) as expected_reports,
        sum(actual_reports) as actual_reports,
        sum(accepted_reports) as accepted_reports,
        sum(reports_on_time) as reports_on_time,
        sum(unexpected_reports) as unexpected_reports
    from by_unit
    group by form_code, form_period_type, period_id, period_type

),

counts as (

    select * from by_unit
    union all
    select * from province

),

final as (

    select
        -- ids
        {{ dbt.concat(['reporting_unit_id', "'|'", 'form_code', "'|'", 'period_id']) }} as reporting_rate_id,
        reporting_unit_id,
        period_id,
        -- strings
        unit_code,
        form_code,
        form_period_type,
        period_type,
        -- numerics
        cast(expected_reports as {{ dbt.type_int() }}) as expected_reports,
        cast(actual_reports as {{ dbt.type_int() }}) as actual_reports,
        cast(accepted_reports as {{ dbt.type_int() }}) as accepted_reports,
        cast(reports_on_time as {{ dbt.type_int() }}) as reports_on_time,
        cast(unexpected_reports as {{ dbt.type_int() }}) as unexpected_reports,
        case
            when expected_reports > 0
                then cast(actual_reports as {{ type_double() }}) / expected_reports
        end as reporting_rate,
        case
            when expected_reports > 0
                then cast(reports_on_time as {{ type_double() }}) / expected_reports
        end as reporting_rate_on_time,
        case
            when expected_reports > 0
                then cast(accepted_reports as {{ type_double() }}) / expected_reports
        end as accepted_rate,
        -- booleans
        is_province_total
    from counts

)

select * from final
