{#- Every number of the province report (mart_province_indicator) equals the sum of the units' numbers its
    lineage (mart_province_indicator_source) lists, measure by measure: the province sheet can be checked cell by
    cell against the districts' files. Returns the numbers that disagree. -#}
with

province as (

    select province_indicator_id, 'plan_year' as measure, plan_year as value from {{ ref('mart_province_indicator') }}
    union all
    select province_indicator_id, 'period' as measure, value from {{ ref('mart_province_indicator') }}
    union all
    select province_indicator_id, 'ytd' as measure, value_ytd as value from {{ ref('mart_province_indicator') }}
    union all
    select province_indicator_id, 'ytd_prev_year' as measure, value_prev_year_ytd as value
    from {{ ref('mart_province_indicator') }}

),

sources as (

    select province_indicator_id, measure, sum(value) as value
    from {{ ref('mart_province_indicator_source') }}
    group by province_indicator_id, measure

)

select
    province.province_indicator_id,
    province.measure,
    province.value,
    sources.value as sources_value
from province
left join sources
    on sources.province_indicator_id = province.province_indicator_id
    and sources.measure = province.measure
where (province.value is null) <> (sources.value is null)
    or abs(province.value - sources.value) > 0.0005
