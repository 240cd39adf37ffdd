with

source as (

    select * from {{ source('catalogue', 'catalogue_settings') }}

),

renamed as (

    select
        -- numerics
        cast(catalogue_version as {{ dbt.type_int() }}) as catalogue_version,
        cast(reminder_days_before as {{ dbt.type_int() }}) as reminder_days_before,
        cast(escalate_days_after as {{ dbt.type_int() }}) as escalate_days_after,
        cast(utc_offset_hours as {{ dbt.type_int() }}) as utc_offset_hours,
        -- dates
        cast(reporting_start as date) as reporting_start

    from source

)

select * from renamed
