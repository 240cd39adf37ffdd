with

source as (

    select * from {{ source('district_reports', 'submissions') }}

),

renamed as (

    select
        -- ids
        sha256,
        submission_id,
        load_id,
        -- strings
        file_name,
        folder_unit_code,
        unit_code,
        form_code,
        form_version,
        period_type,
        source_sheet,
        claimed_unit_code,
        claimed_form_code,
        status,
        -- numerics
        cast(n_errors as {{ dbt.type_int() }}) as n_errors,
        cast(n_warnings as {{ dbt.type_int() }}) as n_warnings,
        cast(version as {{ dbt.type_int() }}) as version,
        -- booleans
        submission_id is not null as is_identified,
        status in ('accepted', 'accepted_with_warnings') as is_accepted,
        coalesce(is_latest_accepted, false) as is_latest_accepted,
        -- dates
        cast(period_start as date) as period_start,
        cast(claimed_period_start as date) as claimed_period_start,
        -- timestamps (UTC)
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at

    from source

)

select * from renamed
