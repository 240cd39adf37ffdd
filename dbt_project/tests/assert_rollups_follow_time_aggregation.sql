{#- Every roll-up of fct_indicator_period_value, recomputed independently from its members: a flow or an amount
    is the sum of the member values within the period; a stock is the value reported for the period's last
    member (null if that member has none). Returns the roll-ups that disagree. -#}
with

rollups as (

    select
        *,
        cast({{ dbt.dateadd(
            'month',
            '-1 * ' ~ period_months('base_period_type'),
            dbt.dateadd('day', 1, 'period_end')
        ) }} as date) as last_member_start
    from {{ ref('fct_indicator_period_value') }}
    where is_rollup

),

members as (

    select unit_code, indicator_id, period_start, value from {{ ref('int_indicator_values_periodic') }}

),

recomputed as (

    select
        rollups.indicator_period_value_id,
        rollups.time_aggregation,
        rollups.value,
        sum(members.value) as member_sum,
        max(case when members.period_start = rollups.last_member_start then members.value end) as last_member_value
    from rollups
    left join members
        on members.unit_code = rollups.unit_code
        and members.indicator_id = rollups.indicator_id
        and members.period_start between rollups.period_start and rollups.period_end
    group by rollups.indicator_period_value_id, rollups.time_aggregation, rollups.value

)

select *
from recomputed
where (time_aggregation = 'sum' and coalesce(abs(value - member_sum), 1) > 0.001)
    or (time_aggregation = 'last' and (
        (value is null) <> (last_member_value is null) or abs(value - last_member_value) > 0.001))
