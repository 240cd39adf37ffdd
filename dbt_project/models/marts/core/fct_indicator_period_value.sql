{#-
    One row per (unit, indicator, period) for every period of dim_period a unit's reports cover: the reporting
    periods of the form (months of a monthly form, quarters of a quarterly one) and the review periods built on
    them (quarters of a monthly form, halves, nine months, years).

    The period value follows dim_indicator.time_aggregation:
    - `sum` (flows and amounts): the sum of the member periods' values (a member's value is derived from the
      year-to-date column where only that is trustworthy: see int_indicator_values_periodic);
    - `last` (stocks): the value of the last member period, never a sum over time; null when the unit did not
      report that period, rather than an older value passed off as the latest.
    Year to date, plan and same period last year are those of the last member period (they are already
    cumulative). A roll-up is complete when every member period in which the unit existed has a value.
    Incremental by report year (dbt_project.yml, macros/incremental_report_years.sql): a review period never
    crosses a year.
-#}
-- depends_on: {{ ref('int_report_year_fingerprints') }}
with

base as (

    select * from {{ ref('int_indicator_values_periodic') }} as periodic
    where {{ report_year_is_stale('periodic') }}

),

periods as (

    select period_id, period_type, period_start, period_end, n_months
    from {{ ref('dim_period') }}
    where period_type <> 'unknown'

),

units as (

    select unit_code, valid_from, valid_to from {{ ref('dim_reporting_unit') }}

),

base_periods as (

    select period_type, period_start, period_end from {{ ref('int_periods_spined') }}

),

unit_indicator_years as (

    select distinct unit_code, reporting_unit_id, indicator_id, form_code, row_code, period_type as base_period_type,
        kind, time_aggregation, {{ int_date_part('year', 'period_start') }} as year
    from base

),

members as (

    -- every (review period, base period) pair of a unit and indicator, in the years it reported: the periods
    -- longer than the form's own (a form's own period is its report, own_periods)
    select
        unit_indicator_years.*,
        periods.period_id,
        periods.period_type,
        periods.period_start,
        periods.period_end,
        base_periods.period_start as member_start,
        base_periods.period_end as member_end
    from unit_indicator_years
    inner join periods
        on {{ int_date_part('year', 'periods.period_start') }} = unit_indicator_years.year
        and periods.n_months > {{ period_months('unit_indicator_years.base_period_type') }}
    inner join base_periods
        on base_periods.period_type = unit_indicator_years.base_period_type
        and base_periods.period_start >= periods.period_start
        and base_periods.period_end <= periods.period_end
    inner join units
        on units.unit_code = unit_indicator_years.unit_code
        and base_periods.period_start >= units.valid_from
        and (units.valid_to is null or base_periods.period_end <= units.valid_to)

),

own_periods as (

    -- a form's own period (a month of a monthly form, a quarter of a quarterly one): its one member is the report
    -- itself, taken as it is, with the cells it was read from
    select
        base.unit_code,
        base.reporting_unit_id,
        base.indicator_id,
        periods.period_id,
        base.form_code,
        base.row_code,
        periods.period_type,
        base.period_type as base_period_type,
        base.kind,
        base.time_aggregation,
        periods.period_start,
        periods.period_end,
        1 as n_periods_expected,
        case when base.value is not null then 1 else 0 end as n_periods_with_value,
        case when base.is_derived then 1 else 0 end as n_periods_derived,
        case when base.obs_status = 'estimated' then 1 else 0 end as n_periods_estimated,
        case when base.obs_status = 'revised' then 1 else 0 end as n_periods_revised,
        base.value as sum_value,
        base.value as last_value,
        base.value_ytd,
        base.value_prev_year_ytd,
        base.plan_year as latest_plan_year,
        base.plan_year as max_plan_year,
        1 as n_submissions,
        base.reported_value,
        base.received_at,
        base.submission_id,
        base.source_file,
        base.source_sheet,
        base.source_cell,
        base.source_cell_ytd
    from base
    inner join periods
        on periods.period_type = base.period_type
        and periods.period_start = base.period_start
    inner join units
        on units.unit_code = base.unit_code
        and periods.period_start >= units.valid_from
        and (units.valid_to is null or periods.period_end <= units.valid_to)

),

rollup_members as (

    select
        members.*,
        base.report_id,
        base.value,
        base.is_derived,
        base.obs_status,
        base.received_at,
        base.value_ytd,
        base.plan_year,
        base.value_prev_year_ytd
    from members
    left join base
        on base.unit_code = members.unit_code
        and base.indicator_id = members.indicator_id
        and base.period_start = members.member_start

),

rollups as (

    -- a review period built from the form's own periods: numbers only (the cells of its members are in their own
    -- rows); an aggregate rather than window functions, which were 37 of this model's 47 s on a national year
    select
        unit_code,
        reporting_unit_id,
        indicator_id,
        period_id,
        form_code,
        row_code,
        period_type,
        base_period_type,
        kind,
        time_aggregation,
        period_start,
        period_end,
        count(*) as n_periods_expected,
        count(value) as n_periods_with_value,
        sum(case when is_derived then 1 else 0 end) as n_periods_derived,
        sum(case when obs_status = 'estimated' then 1 else 0 end) as n_periods_estimated,
        sum(case when obs_status = 'revised' then 1 else 0 end) as n_periods_revised,
        -- added in the order of the member periods: a parallel hash aggregate adds doubles in whatever order its
        -- threads meet them, and a build run twice would differ in the last bits
        sum(value order by member_start) as sum_value,
        {{ last_by('value', 'member_start') }} as last_value,
        {{ last_by('value_ytd', 'member_start') }} as value_ytd,
        {{ last_by('value_prev_year_ytd', 'member_start') }} as value_prev_year_ytd,
        -- the plan of the latest member that gave one (a plan revised within the year wins)
        {{ last_by('plan_year', 'member_start', where='report_id is not null') }} as latest_plan_year,
        max(plan_year) as max_plan_year,
        -- one report per member period: its reports, without a distinct
        count(report_id) as n_submissions,
        cast(null as {{ type_double() }}) as reported_value,
        max(received_at) as received_at,
        cast(null as {{ dbt.type_string() }}) as submission_id,
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as {{ dbt.type_string() }}) as source_sheet,
        cast(null as {{ dbt.type_string() }}) as source_cell,
        cast(null as {{ dbt.type_string() }}) as source_cell_ytd
    from rollup_members
    group by
        unit_code,
        reporting_unit_id,
        indicator_id,
        period_id,
        form_code,
        row_code,
        period_type,
        base_period_type,
        kind,
        time_aggregation,
        period_start,
        period_end

),

aggregated as (

    select * from own_periods
    union all
    select * from rollups

),

final as (

    select
        -- ids
        {{ dbt.concat(['unit_code', "'|'", 'indicator_id', "'|'", 'period_id']) }} as indicator_period_value_id,
        reporting_unit_id,
        indicator_id,
        period_id,
        submission_id,
        -- strings
        unit_code,
        form_code,
        row_code,
        period_type,
        base_period_type,
        kind,
        time_aggregation,
        case
            when n_periods_estimated > 0 then 'estimated'
            when n_periods_derived > 0 then 'derived'
            when n_periods_revised > 0 then 'revised'
            else 'reported'
        end as obs_status,
        case
            when n_periods_estimated > 0 then 'E'
            when n_periods_derived > 0 then 'I'
            when n_periods_revised > 0 then 'R'
            else 'A'
        end as obs_status_code,
        source_file,
        source_sheet,
        source_cell,
        source_cell_ytd,
        -- numerics
        case when time_aggregation = 'last' then last_value else sum_value end as value,
        reported_value,
        value_ytd,
        coalesce(latest_plan_year, max_plan_year) as plan_year,
        value_prev_year_ytd,
        n_periods_expected,
        n_periods_with_value,
        n_periods_derived,
        n_submissions,
        -- booleans
        period_type <> base_period_type as is_rollup,
        n_periods_with_value = n_periods_expected as is_complete,
        -- dates
        period_start,
        period_end,
        -- timestamps (UTC)
        received_at

    from aggregated
    where n_submissions > 0

)

select * from final
