{#- Type-2 history of the reporting units: the district-level units until 2025-06-30 and the commune-level units
    from 2025-07-01, each with its validity dates (stg_reference__reporting_units), plus the unknown member. -#}
with

reporting_units as (

    select * from {{ ref('stg_reference__reporting_units') }}

),

units as (

    select
        -- ids
        unit_code as reporting_unit_id,
        unit_code,
        -- strings
        unit_name,
        unit_type,
        unit_level,
        note,
        -- booleans: the unit exists on the as-of date
        valid_from <= {{ as_of_sql() }}
            and (valid_to is null or valid_to >= {{ as_of_sql() }}) as is_current,
        -- dates
        valid_from,
        valid_to
    from reporting_units

),

unknown_member as (

    select
        '-1' as reporting_unit_id,
        'unknown' as unit_code,
        'Không xác định' as unit_name,
        'unknown' as unit_type,
        'unknown' as unit_level,
        cast(null as {{ dbt.type_string() }}) as note,
        false as is_current,
        cast(null as date) as valid_from,
        cast(null as date) as valid_to

),

final as (

    select * from units
    union all
    select * from unknown_member

)

select * from final
