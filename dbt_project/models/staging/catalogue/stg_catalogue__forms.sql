with

source as (

    select * from {{ source('catalogue', 'catalogue_forms') }}

),

renamed as (

    select
        -- ids
        form_code,
        -- strings
        domain,
        title_vi,
        title_en,
        frequency,
        period_type,
        -- numerics
        cast(due_day as {{ dbt.type_int() }}) as due_day,
        cast(catalogue_version as {{ dbt.type_int() }}) as catalogue_version

    from source

)

select * from renamed
