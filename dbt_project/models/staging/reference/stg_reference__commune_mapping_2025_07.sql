with

source as (

    select * from {{ ref('ref_commune_mapping_2025_07') }}

),

renamed as (

    select
        -- ids
        cast(old_commune_code as {{ dbt.type_string() }}) as old_commune_code,
        cast(old_district_code as {{ dbt.type_string() }}) as old_unit_code,
        cast(new_commune_code as {{ dbt.type_string() }}) as new_commune_code,
        -- strings
        old_commune_name,
        new_commune_name

    from source

)

select * from renamed
