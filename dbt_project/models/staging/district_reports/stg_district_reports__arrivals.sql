with

source as (

    select * from {{ source('district_reports', 'arrivals') }}

),

renamed as (

    select
        -- ids
        arrival_id,
        sha256,
        load_id,
        -- strings
        folder_unit_code,
        file_name,
        archive_path,
        -- numerics
        cast(size_bytes as {{ dbt.type_bigint() }}) as size_bytes,
        -- booleans
        cast(is_duplicate as {{ dbt.type_boolean() }}) as is_duplicate,
        -- timestamps (UTC)
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at

    from source

)

select * from renamed
