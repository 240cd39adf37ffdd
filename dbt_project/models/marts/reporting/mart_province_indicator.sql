{#-
    The province's own report: one row per (form, reporting period of the form, indicator row), summed over the
    units whose latest accepted report of that period is in the warehouse (fct_indicator_period_value, the form's
    own months or quarters only: a province form is filled in for the period the districts report).

    Each indicator is aggregated by its kind (dim_indicator):
    - flows and amounts: every measure is the sum over units;
    - stocks: the units' values at the period's end, summed over units (never over time); a stock has no annual
      plan, and its year-to-date column is its period-end value, as on the district form;
    - rates are recomputed from the summed numerators and denominators, never averaged: % of plan =
      sum(ytd) / sum(plan), change vs the same period last year = sum(ytd) / sum(ytd last year) − 1 (stocks:
      sum(period) / sum(last year) − 1).
    The sums are rounded to 6 decimals: districts write at most a decimal or two, and the last bits of a sum of
    doubles (151564.69999999998) would otherwise differ from the number the province's workbook holds.
-#}
with

values_by_unit as (

    select * from {{ ref('fct_indicator_period_value') }}
    where not is_rollup

),

indicators as (

    select indicator_id, indicator_name, domain, sort_order from {{ ref('dim_indicator') }}

),

summed as (

    select
        values_by_unit.form_code,
        values_by_unit.period_id,
        values_by_unit.indicator_id,
        values_by_unit.row_code,
        values_by_unit.period_type,
        values_by_unit.kind,
        values_by_unit.time_aggregation,
        values_by_unit.period_start,
        values_by_unit.period_end,
        {{ round_double('sum(values_by_unit.value)', 6) }} as value,
        {{ round_double('sum(values_by_unit.value_ytd)', 6) }} as value_ytd,
        {{ round_double('sum(values_by_unit.plan_year)', 6) }} as plan_year,
        {{ round_double('sum(values_by_unit.value_prev_year_ytd)', 6) }} as value_prev_year_ytd,
        count(distinct values_by_unit.unit_code) as n_units,
        sum(values_by_unit.n_periods_derived) as n_values_derived
    from values_by_unit
    group by
        values_by_unit.form_code,
        values_by_unit.period_id,
        values_by_unit.indicator_id,
        values_by_unit.row_code,
        values_by_unit.period_type,
        values_by_unit.kind,
        values_by_unit.time_aggregation,
        values_by_unit.period_start,
        values_by_unit.period_end

),

by_kind as (

    select
        summed.*,
        case when kind = 'stock' then null else plan_year end as province_plan_year,
        case when kind = 'stock' then value else value_ytd end as province_value_ytd
    from summed

),

final as (

    select
        -- ids
        {{ dbt.concat(['by_kind.form_code', "'|'", 'by_kind.period_id', "'|'", 'by_kind.row_code']) }}
            as province_indicator_id,
        by_kind.indicator_id,
        by_kind.period_id,
        -- strings
        by_kind.form_code,
        by_kind.row_code,
        indicators.indicator_name,
        indicators.domain,
        by_kind.period_type,
        by_kind.kind,
        by_kind.time_aggregation,
        -- numerics
        by_kind.province_plan_year as plan_year,
        by_kind.value,
        by_kind.province_value_ytd as value_ytd,
        by_kind.value_prev_year_ytd,
        cast(by_kind.province_value_ytd as {{ type_double() }})
            / nullif(cast(by_kind.province_plan_year as {{ type_double() }}), 0) as pct_of_plan,
        cast(case when by_kind.kind = 'stock' then by_kind.value else by_kind.province_value_ytd end
            as {{ type_double() }})
            / nullif(cast(by_kind.value_prev_year_ytd as {{ type_double() }}), 0) - 1 as change_vs_prev_year,
        cast(by_kind.n_units as {{ dbt.type_int() }}) as n_units,
        cast(by_kind.n_values_derived as {{ dbt.type_int() }}) as n_values_derived,
        indicators.sort_order,
        -- dates
        by_kind.period_start,
        by_kind.period_end

    from by_kind
    left join indicators
        on indicators.indicator_id = by_kind.indicator_id

)

select * from final
