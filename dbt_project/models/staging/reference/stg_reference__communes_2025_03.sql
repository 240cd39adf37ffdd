with

source as (

    select * from {{ ref('ref_communes_2025_03') }}

),

renamed as (

    select
        -- ids
        cast(commune_code as {{ dbt.type_string() }}) as commune_code,
        cast(district_code as {{ dbt.type_string() }}) as unit_code,
        -- strings
        commune_name,
        commune_type

    from source

)

select * from renamed
