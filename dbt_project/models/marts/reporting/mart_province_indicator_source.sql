{#-
    Where every number of the province report comes from: one row per (form, period, indicator row, measure,
    unit) with the unit's number that was added into the province's (mart_province_indicator) and the cell it
    was read from (submission, file, sheet, cell). The measures follow the province's aggregation by kind: a
    stock has no plan, and its year-to-date is its period value (read from the period cell). A period value
    derived from the year-to-date column (int_indicator_values_periodic) points at the year-to-date cell and
    says so (is_derived).
    Incremental by report year (dbt_project.yml, macros/incremental_report_years.sql): one row per unit's
    number, of the unit's report year.
-#}
-- depends_on: {{ ref('int_report_year_fingerprints') }}
with

values_by_unit as (

    select * from {{ ref('fct_indicator_period_value') }} as period_values
    where not period_values.is_rollup
        and {{ report_year_is_stale('period_values') }}

),

cells as (

    -- the plan and last year's cells, which the period values do not carry (those of the period and the year to
    -- date they do: joining all four measures to every number of the year was most of this model's time)
    select submission_id, row_code, measure, source_cell from {{ ref('fct_indicator_value') }}
    where measure in ('plan_year', 'ytd_prev_year')

),

measures as (

    select
        form_code, period_id, indicator_id, row_code, unit_code, reporting_unit_id, kind, submission_id,
        source_file, source_sheet, period_start, 'period' as measure, value,
        case when obs_status = 'derived' then source_cell_ytd else source_cell end as source_cell,
        obs_status = 'derived' as is_derived
    from values_by_unit
    union all
    select
        form_code, period_id, indicator_id, row_code, unit_code, reporting_unit_id, kind, submission_id,
        source_file, source_sheet, period_start, 'ytd' as measure,
        case when kind = 'stock' then value else value_ytd end as value,
        case when kind = 'stock' then source_cell else source_cell_ytd end as source_cell,
        false as is_derived
    from values_by_unit
    union all
    select
        v.form_code, v.period_id, v.indicator_id, v.row_code, v.unit_code, v.reporting_unit_id, v.kind,
        v.submission_id, v.source_file, v.source_sheet, v.period_start, 'plan_year' as measure,
        v.plan_year as value,
        cells.source_cell,
        false as is_derived
    from values_by_unit as v
    left join cells
        on cells.submission_id = v.submission_id
        and cells.row_code = v.row_code
        and cells.measure = 'plan_year'
    where v.kind <> 'stock' and v.plan_year is not null
    union all
    select
        v.form_code, v.period_id, v.indicator_id, v.row_code, v.unit_code, v.reporting_unit_id, v.kind,
        v.submission_id, v.source_file, v.source_sheet, v.period_start, 'ytd_prev_year' as measure,
        v.value_prev_year_ytd as value,
        cells.source_cell,
        false as is_derived
    from values_by_unit as v
    left join cells
        on cells.submission_id = v.submission_id
        and cells.row_code = v.row_code
        and cells.measure = 'ytd_prev_year'
    where v.value_prev_year_ytd is not null

),

final as (

    select
        -- ids
        {{ dbt.concat(['measures.form_code', "'|'", 'measures.period_id', "'|'", 'measures.row_code', "'|'",
                       'measures.measure', "'|'", 'measures.unit_code']) }} as province_indicator_source_id,
        {{ dbt.concat(['measures.form_code', "'|'", 'measures.period_id', "'|'", 'measures.row_code']) }}
            as province_indicator_id,
        measures.indicator_id,
        measures.period_id,
        measures.reporting_unit_id,
        measures.submission_id,
        -- strings
        measures.form_code,
        measures.row_code,
        measures.measure,
        measures.unit_code,
        measures.kind,
        measures.source_file,
        measures.source_sheet,
        measures.source_cell,
        -- numerics
        measures.value,
        -- booleans
        measures.is_derived,
        -- dates
        measures.period_start

    from measures
    where measures.value is not null

)

select * from final
