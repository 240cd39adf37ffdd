-- Every roll-up key of dim_period points to a member of the right type that contains the period, and
-- the nine-month member covers exactly January–September (its months are 1–9, nine of them).
with

periods as (

    select * from {{ ref('dim_period') }}

),

rollups as (

    select period_id, period_start, period_end, 'quarter' as target_type, quarter_id as target_id from periods
    union all
    select period_id, period_start, period_end, 'half', half_id from periods
    union all
    select period_id, period_start, period_end, 'nine_months', nine_months_id from periods
    union all
    select period_id, period_start, period_end, 'year', year_id from periods

),

bad_rollups as (

    select rollups.period_id, rollups.target_id, 'roll-up does not contain the period' as failure
    from rollups
    left join periods as targets
        on targets.period_id = rollups.target_id
    where rollups.target_id is not null
        and (
            targets.period_id is null
            or targets.period_type <> rollups.target_type
            or targets.period_start > rollups.period_start
            or targets.period_end < rollups.period_end
        )

),

bad_nine_months as (

    select nine.period_id, cast(null as {{ dbt.type_string() }}) as target_id,
        'nine months is not January–September' as failure
    from periods as nine
    left join periods as months
        on months.nine_months_id = nine.period_id
        and months.period_type = 'month'
    where nine.period_type = 'nine_months'
    group by nine.period_id, nine.period_start, nine.period_end
    having count(months.period_id) <> 9
        or min(months.month) <> 1
        or max(months.month) <> 9
        or {{ int_date_part('month', 'nine.period_end') }} <> 9

),

bad_october as (

    select period_id, quarter_id as target_id, 'October 2024 does not roll up to Q4, H2, 2024' as failure
    from periods
    where period_id = '2024-10'
        and not (
            quarter_id = '2024-Q4' and half_id = '2024-H2' and year_id = '2024' and nine_months_id is null
        )

)

select * from bad_rollups
union all
select * from bad_nine_months
union all
select * from bad_october
