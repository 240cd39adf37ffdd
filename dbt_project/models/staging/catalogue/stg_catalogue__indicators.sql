with

source as (

    select * from {{ source('catalogue', 'catalogue_indicators') }}

),

renamed as (

    select
        -- ids
        {{ indicator_key('form_code', 'row_code') }} as indicator_id,
        form_code,
        row_code,
        -- strings
        indicator_name,
        kind,
        unit,
        label_vi,
        label_en,
        section_vi,
        of_row_code,
        -- sum_of without spaces, e.g. '03,04' (null when the row is not a total)
        nullif({{ dbt.replace('sum_of', "' '", "''") }}, '') as sum_of,
        -- numerics
        cast(sort_order as {{ dbt.type_int() }}) as sort_order,
        -- categories: how the indicator adds up over time
        case when kind = 'stock' then 'last' else 'sum' end as time_aggregation

    from source

)

select * from renamed
