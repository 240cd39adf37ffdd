with

source as (

    select * from {{ source('district_reports', 'loads') }}

),

renamed as (

    select
        -- ids
        load_id,
        -- numerics
        cast(files_seen as {{ dbt.type_int() }}) as files_seen,
        cast(files_new as {{ dbt.type_int() }}) as files_new,
        cast(submissions as {{ dbt.type_int() }}) as n_submissions,
        cast(problems as {{ dbt.type_int() }}) as n_problems,
        cast(catalogue_version as {{ dbt.type_int() }}) as catalogue_version,
        -- timestamps (UTC)
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(finished_at as {{ dbt.type_timestamp() }}) as finished_at

    from source

)

select * from renamed
