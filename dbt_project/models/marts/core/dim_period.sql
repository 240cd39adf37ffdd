with

periods as (

    select * from {{ ref('int_periods_spined') }}

),

unknown_member as (

    select
        '-1' as period_id,
        'unknown' as period_type,
        'Không xác định' as label_vi,
        'Unknown' as label_en,
        cast(null as {{ dbt.type_int() }}) as year,
        cast(null as {{ dbt.type_int() }}) as quarter,
        cast(null as {{ dbt.type_int() }}) as month,
        cast(null as date) as period_start,
        cast(null as date) as period_end

),

final as (

    select
        period_id,
        period_type,
        label_vi,
        label_en,
        year,
        quarter,
        month,
        period_start,
        period_end
    from periods

    union all

    select * from unknown_member

)

select * from final
