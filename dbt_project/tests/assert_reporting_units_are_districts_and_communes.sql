-- dim_reporting_unit holds the 13 district-level units of ref_districts, the 69 commune-level units of the
-- 2025-07 mapping (Hà Tĩnh's communes from 2025-07-01) and the unknown member, one row each; every new commune
-- of the mapping is a unit.
with

units as (

    select * from {{ ref('dim_reporting_unit') }}

),

levels as (

    select unit_level, count(*) as n_units from units group by unit_level

),

expected as (

    select 'district' as unit_level, 13 as n_units
    union all
    select 'commune', 69
    union all
    select 'unknown', 1

),

bad_counts as (

    select
        coalesce(expected.unit_level, levels.unit_level) as unit_level,
        cast(null as {{ dbt.type_string() }}) as unit_code,
        'expected ' || coalesce(cast(expected.n_units as {{ dbt.type_string() }}), '0') || ' units, found '
            || coalesce(cast(levels.n_units as {{ dbt.type_string() }}), '0') as failure
    from expected
    full outer join levels
        on levels.unit_level = expected.unit_level
    where expected.n_units is distinct from levels.n_units

),

communes_missing as (

    select distinct
        'commune' as unit_level,
        cast(mapping.new_commune_code as {{ dbt.type_string() }}) as unit_code,
        'new commune of the mapping is not a unit' as failure
    from {{ ref('ref_commune_mapping_2025_07') }} as mapping
    left join units
        on units.unit_code = cast(mapping.new_commune_code as {{ dbt.type_string() }})
        and units.unit_level = 'commune'
    where units.unit_code is null

)

select * from bad_counts
union all
select * from communes_missing
