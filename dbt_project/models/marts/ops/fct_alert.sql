{#- One row per alert and channel: what sectorstats told whom, why, how and when. A view, so it always shows
    the outbox as it is now (alerts are sent by the transform and the monitoring DAGs between dbt builds). -#}
{{ config(materialized='view') }}

with

alerts as (

    select * from {{ ref('stg_ops__alerts') }}

),

deliveries as (

    select * from {{ ref('stg_ops__alert_deliveries') }}

),

forms as (

    select form_code, period_type from {{ ref('dim_form') }}

),

joined as (

    select
        -- ids
        deliveries.delivery_id,
        alerts.alert_id,
        coalesce(alerts.unit_code, '-1') as reporting_unit_id,
        {{ period_key('alerts.period_start', 'forms.period_type') }} as period_id,
        -- strings
        alerts.kind,
        alerts.unit_code,
        alerts.form_code,
        deliveries.channel,
        deliveries.recipient,
        deliveries.delivery_status,
        alerts.reason,
        alerts.subject,
        deliveries.last_error,
        -- numerics
        deliveries.attempts,
        -- booleans
        deliveries.delivery_status = 'sent' as is_sent,
        -- dates
        alerts.period_start,
        -- timestamps (UTC)
        alerts.created_at,
        deliveries.sent_at

    from deliveries
    inner join alerts
        on alerts.alert_id = deliveries.alert_id
    left join forms
        on forms.form_code = alerts.form_code

)

select * from joined
