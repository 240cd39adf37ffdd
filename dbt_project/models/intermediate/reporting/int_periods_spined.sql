{#-
    Every month and quarter from var period_spine_start to the end of the year after the as-of date.
    Uses dbt.date_spine (cross-database). Labels and calendar parts are dim_period's, computed once there.
-#}
{%- set spine_start = var('period_spine_start', '2020-01-01') -%}
{%- set spine_end = (as_of_date()[:4] | int + 1) ~ '-12-01' -%}

with

months as (

    {{ dbt.date_spine(
        'month',
        "cast('" ~ spine_start ~ "' as date)",
        "cast('" ~ spine_end ~ "' as date)"
    ) }}

),

month_periods as (

    select
        'month' as period_type,
        cast(date_month as date) as period_start
    from months

),

quarter_periods as (

    select
        'quarter' as period_type,
        period_start
    from month_periods
    where {{ int_date_part('month', 'period_start') }} in (1, 4, 7, 10)

),

periods as (

    select * from month_periods
    union all
    select * from quarter_periods

),

spined as (

    select
        -- ids
        {{ period_key('period_start', 'period_type') }} as period_id,
        -- strings
        period_type,
        -- dates
        period_start,
        {{ period_end_date('period_start', 'period_type') }} as period_end

    from periods

)

select * from spined
