{#- A number reported by a unit that still exists in the 2025 district layout is restated in full (the shares of
    its rows add up to 1): nothing of the province's total is lost between "as reported" and "restated". Only a
    unit gone from the 2025 layout may leave a share unplaced, and then it says so. Returns numbers that lose
    part of their value. -#}
with

restated as (

    select * from {{ ref('fct_indicator_value_restated') }}

),

units_2025 as (

    select distinct unit_code from {{ ref('bridge_reporting_unit_commune') }}
    where valid_from = cast('2025-01-01' as date)

)

select
    restated.indicator_value_id,
    restated.reported_unit_code,
    sum(restated.share) as total_share,
    max(restated.unplaced_share) as unplaced_share
from restated
inner join units_2025
    on units_2025.unit_code = restated.reported_unit_code
group by restated.indicator_value_id, restated.reported_unit_code
having abs(sum(restated.share) - 1) > 0.000001 or max(restated.unplaced_share) > 0
