{#- Every number of fct_indicator_value also restated on the district-level units of 2025 (the layout in force
    from 2025-01-01), so series before and after the 2025-01-01 boundary changes can be compared.
    A unit's number goes to the 2025 units in proportion to its communes that ended up in each of them (the only
    weight available: nothing is reported per commune), so a split is always approximate and flagged.
    Communes of the old layout that no longer exist in the 2025 layout (merged) leave a share unplaced, reported in
    unplaced_share rather than spread silently. -#}
with

facts as (

    select * from {{ ref('fct_indicator_value') }}

),

bridge as (

    select * from {{ ref('bridge_reporting_unit_commune') }}

),

layout_2025 as (

    select commune_code, unit_code as unit_code_2025
    from bridge
    where valid_from = cast('2025-01-01' as date)

),

shares as (

    -- for each unit of each layout: which 2025 unit its communes belong to, as a share of its communes
    select
        bridge.unit_code,
        bridge.valid_from,
        bridge.valid_to,
        layout_2025.unit_code_2025,
        count(*) as n_communes_placed,
        max(bridge.n_communes_in_unit) as n_communes_in_unit
    from bridge
    left join layout_2025
        on layout_2025.commune_code = bridge.commune_code
    group by bridge.unit_code, bridge.valid_from, bridge.valid_to, layout_2025.unit_code_2025

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
        1.0 * shares.n_communes_placed / shares.n_communes_in_unit as share,
        -- booleans
        shares.n_communes_placed < shares.n_communes_in_unit as is_approximate,
        shares.unit_code_2025 is distinct from facts.unit_code as is_restated,
        -- dates
        facts.period_start

    from facts
    inner join shares
        on shares.unit_code = facts.unit_code
        and facts.period_start between shares.valid_from and shares.valid_to

),

placed as (

    select * from restated where restated_unit_code is not null

)

select
    placed.*,
    -- what could not be placed on a 2025 unit (its communes merged away), per number
    greatest(round(1 - sum(placed.share) over (partition by placed.indicator_value_id), 9), 0) as unplaced_share
from placed
