{#-
    The calendar of the reviews: months and quarters (the reporting periods of the forms, from
    int_periods_spined) plus the six-month, nine-month and year members the province reviews
    ("6 tháng", "9 tháng", "năm"), each with roll-up keys to the members that contain it.
-#}
with

spined as (

    select period_type, period_start from {{ ref('int_periods_spined') }}

),

first_months as (

    select period_start from spined
    where period_type = 'month'

),

review_periods as (

    select 'half' as period_type, period_start from first_months
    where {{ int_date_part('month', 'period_start') }} in (1, 7)

    union all

    select 'nine_months' as period_type, period_start from first_months
    where {{ int_date_part('month', 'period_start') }} = 1

    union all

    select 'year' as period_type, period_start from first_months
    where {{ int_date_part('month', 'period_start') }} = 1

),

periods as (

    select period_type, period_start from spined
    union all
    select period_type, period_start from review_periods

),

described as (

    select
        {{ period_key('period_start', 'period_type') }} as period_id,
        period_type,
        {{ int_date_part('year', 'period_start') }} as year,
        case
            when period_type in ('month', 'quarter') then {{ int_date_part('quarter', 'period_start') }}
        end as quarter,
        case
            when period_type in ('month', 'quarter', 'half')
                then case when {{ int_date_part('month', 'period_start') }} <= 6 then 1 else 2 end
        end as half,
        case
            when period_type = 'month' then {{ int_date_part('month', 'period_start') }}
        end as month,
        period_start,
        {{ period_end_date('period_start', 'period_type') }} as period_end
    from periods

),

labelled as (

    select
        -- ids
        period_id,
        -- strings
        period_type,
        case period_type
            when 'month' then {{ dbt.concat([
                "'Tháng '", dbt.cast('month', dbt.type_string()), "'/'", dbt.cast('year', dbt.type_string())
            ]) }}
            when 'quarter' then {{ dbt.concat([
                "'Quý '",
                "case quarter when 1 then 'I' when 2 then 'II' when 3 then 'III' else 'IV' end",
                "'/'",
                dbt.cast('year', dbt.type_string())
            ]) }}
            when 'half' then {{ dbt.concat([
                "case half when 1 then '6 tháng đầu năm ' else '6 tháng cuối năm ' end",
                dbt.cast('year', dbt.type_string())
            ]) }}
            when 'nine_months' then {{ dbt.concat(["'9 tháng năm '", dbt.cast('year', dbt.type_string())]) }}
            else {{ dbt.concat(["'Năm '", dbt.cast('year', dbt.type_string())]) }}
        end as label_vi,
        case period_type
            when 'month' then period_id
            when 'quarter' then {{ dbt.concat([
                "'Q'", dbt.cast('quarter', dbt.type_string()), "' '", dbt.cast('year', dbt.type_string())
            ]) }}
            when 'half' then {{ dbt.concat(["'H'", dbt.cast('half', dbt.type_string()), "' '", dbt.cast('year', dbt.type_string())]) }}
            when 'nine_months' then {{ dbt.concat(["'9M '", dbt.cast('year', dbt.type_string())]) }}
            else {{ dbt.concat(["'Year '", dbt.cast('year', dbt.type_string())]) }}
        end as label_en,
        -- roll-up keys
        case
            when quarter is not null then {{ dbt.concat([
                dbt.cast('year', dbt.type_string()), "'-Q'", dbt.cast('quarter', dbt.type_string())
            ]) }}
        end as quarter_id,
        case
            when half is not null then {{ dbt.concat([
                dbt.cast('year', dbt.type_string()), "'-H'", dbt.cast('half', dbt.type_string())
            ]) }}
        end as half_id,
        case
            when period_type = 'nine_months' or quarter <= 3
                then {{ dbt.concat([dbt.cast('year', dbt.type_string()), "'-9M'"]) }}
        end as nine_months_id,
        {{ dbt.cast('year', dbt.type_string()) }} as year_id,
        -- numerics
        year,
        quarter,
        half,
        month,
        {{ period_months('period_type') }} as n_months,
        -- dates
        period_start,
        period_end
    from described

),

unknown_member as (

    select
        '-1' as period_id,
        'unknown' as period_type,
        'Không xác định' as label_vi,
        'Unknown' as label_en,
        cast(null as {{ dbt.type_string() }}) as quarter_id,
        cast(null as {{ dbt.type_string() }}) as half_id,
        cast(null as {{ dbt.type_string() }}) as nine_months_id,
        cast(null as {{ dbt.type_string() }}) as year_id,
        cast(null as {{ dbt.type_int() }}) as year,
        cast(null as {{ dbt.type_int() }}) as quarter,
        cast(null as {{ dbt.type_int() }}) as half,
        cast(null as {{ dbt.type_int() }}) as month,
        cast(null as {{ dbt.type_int() }}) as n_months,
        cast(null as date) as period_start,
        cast(null as date) as period_end

),

final as (

    select * from labelled
    union all
    select * from unknown_member

)

select * from final
