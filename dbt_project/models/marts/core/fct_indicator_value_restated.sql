{#- Every number of fct_indicator_value also restated on the district-level units of 2025 (the layout in force
    from 2025-01-01), so series before and after the boundary changes can be compared.
    - A district-level unit's number goes to the 2025 units in proportion to its communes that ended up in each of
      them (the only weight available: nothing is reported per commune), so a split is always approximate and
      flagged. A commune of the old layout that no longer exists in the 2025 layout was merged with a neighbour of
      its own district (the 2025-01-01 mergers stayed within districts; Lộc Hà's dissolution is in the reference
      layouts), so its share stays with its district when that district exists in 2025; only what still has no
      2025 unit is left unplaced, reported in unplaced_share rather than spread silently.
    - A commune-level unit's number (periods from 2025-07-01, when the district level was abolished) goes to the
      2025 districts in proportion to its old communes (2025-03 layout) that lay in each of them. An old commune
      split between several new communes counts as one old commune of each (the full mapping, not the bridge's
      single new_commune_code). -#}
with

facts as (

    select * from {{ ref('fct_indicator_value') }}

),

bridge as (

    select * from {{ ref('bridge_reporting_unit_commune') }}

),

commune_units as (

    select unit_code, valid_from, valid_to
    from {{ ref('stg_reference__reporting_units') }}
    where unit_level = 'commune'

),

commune_mapping as (

    -- each (old commune, new commune) pair once
    select distinct old_commune_code, new_commune_code
    from {{ ref('stg_reference__commune_mapping_2025_07') }}

),

layout_2025 as (

    select commune_code, unit_code as unit_code_2025
    from bridge
    where valid_from = cast('2025-01-01' as date)

),

units_2025 as (

    select distinct unit_code_2025 from layout_2025

),

placed_communes as (

    -- each commune of each layout with the 2025 unit it lies in: its own in the 2025 layout, else (merged away
    -- within its district) its district, when that district exists in 2025
    select
        bridge.unit_code,
        bridge.valid_from,
        bridge.valid_to,
        bridge.n_communes_in_unit,
        coalesce(layout_2025.unit_code_2025, units_2025.unit_code_2025) as unit_code_2025
    from bridge
    left join layout_2025
        on layout_2025.commune_code = bridge.commune_code
    left join units_2025
        on units_2025.unit_code_2025 = bridge.unit_code

),

district_shares as (

    -- for each unit of each layout: which 2025 unit its communes belong to, as a share of its communes
    select
        unit_code,
        valid_from,
        valid_to,
        unit_code_2025,
        count(*) as n_communes_placed,
        max(n_communes_in_unit) as n_communes_in_unit
    from placed_communes
    group by unit_code, valid_from, valid_to, unit_code_2025

),

commune_sizes as (

    select new_commune_code, count(*) as n_communes_in_unit
    from commune_mapping
    group by new_commune_code

),

commune_shares as (

    -- for each commune-level unit: which 2025 district its old communes lay in, as a share of its old communes
    select
        commune_units.unit_code,
        commune_units.valid_from,
        commune_units.valid_to,
        layout_2025.unit_code_2025,
        count(*) as n_communes_placed,
        max(commune_sizes.n_communes_in_unit) as n_communes_in_unit
    from commune_units
    inner join commune_mapping
        on commune_mapping.new_commune_code = commune_units.unit_code
    inner join commune_sizes
        on commune_sizes.new_commune_code = commune_units.unit_code
    left join layout_2025
        on layout_2025.commune_code = commune_mapping.old_commune_code
    group by commune_units.unit_code, commune_units.valid_from, commune_units.valid_to, layout_2025.unit_code_2025

),

shares as (

    select * from district_shares
    union all
    select * from commune_shares

),

restated as (

    select
        -- ids
        facts.indicator_value_id,
        facts.indicator_id,
        facts.period_id,
        facts.submission_id,
        -- strings
        facts.unit_code as reported_unit_code,
        shares.unit_code_2025 as restated_unit_code,
        facts.form_code,
        facts.period_type,
        facts.row_code,
        facts.measure,
        facts.source_file,
        facts.source_sheet,
        facts.source_cell,
        -- numerics
        facts.value as reported_value,
        -- multiply before dividing, so an even split stays exact (120 × 2 / 3 = 80)
        facts.value * shares.n_communes_placed / shares.n_communes_in_unit as restated_value,
        cast(shares.n_communes_placed as {{ type_double() }}) / shares.n_communes_in_unit as share,
        -- booleans
        shares.n_communes_placed < shares.n_communes_in_unit as is_approximate,
        shares.unit_code_2025 is distinct from facts.unit_code as is_restated,
        -- dates
        facts.period_start

    from facts
    inner join shares
        on shares.unit_code = facts.unit_code
        and facts.period_start >= shares.valid_from
        and (shares.valid_to is null or facts.period_start <= shares.valid_to)

),

placed as (

    select * from restated where restated_unit_code is not null

)

select
    placed.*,
    -- what could not be placed on a 2025 unit (communes of a unit that no longer exists, gone from the 2025
    -- layout), per number
    greatest({{ round_double('1 - sum(placed.share) over (partition by placed.indicator_value_id)', 9) }}, 0)
        as unplaced_share
from placed
