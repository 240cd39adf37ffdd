with

indicators as (

    select * from {{ ref('stg_catalogue__indicators') }}

),

forms as (

    select form_code, domain from {{ ref('stg_catalogue__forms') }}

),

known as (

    select
        -- ids
        indicators.indicator_id,
        indicators.form_code,
        indicators.row_code,
        -- strings
        indicators.indicator_name,
        indicators.label_vi,
        indicators.label_en,
        indicators.section_vi,
        indicators.unit,
        indicators.kind,
        -- how the indicator adds up over time: flow and amount are summed, a stock takes the last period
        indicators.time_aggregation,
        forms.domain,
        indicators.of_row_code,
        indicators.sum_of,
        -- numerics
        indicators.sort_order
    from indicators
    left join forms
        on forms.form_code = indicators.form_code

),

unknown_member as (

    select
        '-1' as indicator_id,
        cast(null as {{ dbt.type_string() }}) as form_code,
        cast(null as {{ dbt.type_string() }}) as row_code,
        'unknown' as indicator_name,
        'Không xác định' as label_vi,
        'Unknown' as label_en,
        cast(null as {{ dbt.type_string() }}) as section_vi,
        cast(null as {{ dbt.type_string() }}) as unit,
        'unknown' as kind,
        cast(null as {{ dbt.type_string() }}) as time_aggregation,
        cast(null as {{ dbt.type_string() }}) as domain,
        cast(null as {{ dbt.type_string() }}) as of_row_code,
        cast(null as {{ dbt.type_string() }}) as sum_of,
        cast(null as {{ dbt.type_int() }}) as sort_order

),

final as (

    select * from known
    union all
    select * from unknown_member

)

select * from final
