with

source as (

    select * from {{ ref('ref_districts') }}

),

renamed as (

    select
        -- ids
        cast(district_code as {{ dbt.type_string() }}) as unit_code,
        -- strings
        district_name as unit_name,
        district_type as unit_type,
        note,
        -- dates (valid_to null = still exists)
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to

    from source

)

select * from renamed
