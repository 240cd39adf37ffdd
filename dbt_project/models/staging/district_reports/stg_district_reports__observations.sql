with

source as (

    select * from {{ source('district_reports', 'observations') }}

),

renamed as (

    select
        -- ids
        submission_id,
        load_id,
        -- strings
        row_code,
        measure,
        value_text,
        qualifier,
        source_sheet,
        source_cell,
        -- numerics
        cast(value as {{ type_double() }}) as value

    from source

)

select * from renamed
