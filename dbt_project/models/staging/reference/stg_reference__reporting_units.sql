{#- Every reporting unit that ever sends the forms, with the dates it existed (type-2 history of the units):
    the district-level units of ref_districts (until 2025-06-30) and, from 2025-07-01, when the district level
    was abolished, the commune-level units that report to the province directly: the distinct new communes of
    the (provisional) 2025-07 mapping. Nothing here lists a commune: replacing the mapping seed is enough. -#}
with

districts as (

    select * from {{ ref('ref_districts') }}

),

commune_mapping as (

    select * from {{ ref('ref_commune_mapping_2025_07') }}

),

district_units as (

    select
        -- ids
        cast(district_code as {{ dbt.type_string() }}) as unit_code,
        -- strings
        district_name as unit_name,
        district_type as unit_type,
        'district' as unit_level,
        note,
        -- dates (valid_to null = still exists)
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to

    from districts

),

commune_units as (

    -- one row per new commune (the mapping has one row per old commune)
    select distinct
        -- ids
        cast(new_commune_code as {{ dbt.type_string() }}) as unit_code,
        -- strings
        new_commune_name as unit_name,
        {{ dbt.split_part('new_commune_name', "' '", 1) }} as unit_type,
        'commune' as unit_level,
        cast(null as {{ dbt.type_string() }}) as note,
        -- dates: the communes report from the reform on, and still exist
        cast('2025-07-01' as date) as valid_from,
        cast(null as date) as valid_to

    from commune_mapping

),

final as (

    select * from district_units
    union all
    select * from commune_units

)

select * from final
