-- The expected grid follows the units' validity: a unit is expected only for periods it exists on the first
-- and last day of, so the commune-level units never before 2025-07-01 and the district-level units never after
-- 2025-06-30 (the district level was abolished on 2025-07-01).
with

expected as (

    select * from {{ ref('int_reports_owed') }}

),

units as (

    select * from {{ ref('stg_reference__reporting_units') }}

)

select
    expected.report_id,
    expected.period_start,
    expected.period_end,
    units.unit_level,
    units.valid_from,
    units.valid_to
from expected
left join units
    on units.unit_code = expected.unit_code
where units.unit_code is null
    or expected.period_start < units.valid_from
    or (units.valid_to is not null and expected.period_end > units.valid_to)
    or (units.unit_level = 'commune' and expected.period_start < cast('2025-07-01' as date))
    or (units.unit_level = 'district' and expected.period_end > cast('2025-06-30' as date))
