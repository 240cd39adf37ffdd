with

source as (

    select * from {{ source('ops', 'alert_delivery') }}

),

renamed as (

    select
        -- ids
        {{ dbt.concat(['alert_id', "'|'", 'channel']) }} as delivery_id,
        alert_id,
        -- strings
        channel,
        recipient,
        status as delivery_status,
        last_error,
        message_id,
        -- numerics
        cast(attempts as {{ dbt.type_int() }}) as attempts,
        -- timestamps (UTC)
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(last_attempt_at as {{ dbt.type_timestamp() }}) as last_attempt_at,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at,
        cast(next_attempt_at as {{ dbt.type_timestamp() }}) as next_attempt_at

    from source

)

select * from renamed
