{#- One row per (district-level unit, commune) for each layout period: which communes a district covered,
    when, and which post-2025-07-01 commune-level unit each belongs to. The weight of a commune in its
    district is its share of the district's communes: an approximation (no population or caseload per
    commune is reported), always flagged. -#}
with

layouts as (

    -- one row per (layout, commune), with the period the layout was in force
    select
        unit_code,
        commune_code,
        commune_name,
        valid_from,
        valid_to
    from {{ ref('stg_reference__communes') }}

),

split_mapping as (

    -- a few old communes were split between two or three new units: keep the first (lowest code), and say so
    select
        old_commune_code,
        min(new_commune_code) as new_commune_code,
        count(*) as n_new_communes
    from {{ ref('stg_reference__commune_mapping_2025_07') }}
    group by old_commune_code

),

mapping as (

    -- the kept unit's own name (min() of the names could name another of the new units)
    select
        split_mapping.*,
        commune_units.unit_name as new_commune_name
    from split_mapping
    left join {{ ref('stg_reference__reporting_units') }} as commune_units
        on commune_units.unit_code = split_mapping.new_commune_code
        and commune_units.unit_level = 'commune'

),

weighted as (

    select
        layouts.*,
        count(*) over (partition by layouts.unit_code, layouts.valid_from) as n_communes_in_unit
    from layouts

)

select
    -- ids
    {{ dbt.concat(['weighted.unit_code', "'|'", 'weighted.commune_code', "'|'",
                   dbt.cast('weighted.valid_from', dbt.type_string())]) }} as bridge_id,
    weighted.unit_code as reporting_unit_id,
    weighted.unit_code,
    weighted.commune_code,
    mapping.new_commune_code,
    -- strings
    weighted.commune_name,
    mapping.new_commune_name,
    -- numerics
    weighted.n_communes_in_unit,
    cast(1 as {{ type_double() }}) / weighted.n_communes_in_unit as commune_weight,
    -- booleans
    true as is_approximate_weight,
    mapping.new_commune_code is not null as has_new_commune,
    coalesce(mapping.n_new_communes, 0) > 1 as is_split_2025_07,
    -- dates
    weighted.valid_from,
    weighted.valid_to

from weighted
left join mapping
    on mapping.old_commune_code = weighted.commune_code
