with

source as (

    select * from {{ source('ops', 'alert_log') }}

),

renamed as (

    select
        -- ids
        alert_id,
        -- strings
        kind,
        unit_code,
        form_code,
        recipient as recipients,
        subject,
        body,
        reason,
        send_status,
        -- dates
        cast(period_start as date) as period_start,
        -- timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at

    from source

)

select * from renamed
