{#-
    The expected grid: every (unit, form, period) a report is due for by the as-of date.
    A unit is expected when it exists on the period's first and last day (valid_from/valid_to of
    stg_reference__reporting_units: the district-level units until 2025-06-30, the commune-level units from
    2025-07-01), from the catalogue's reporting_start, once the due date (day due_day of the month after the
    period) has come.
-#}
with

settings as (

    select reporting_start from {{ ref('stg_catalogue__settings') }}

),

forms as (

    select form_code, period_type, due_day from {{ ref('stg_catalogue__forms') }}

),

periods as (

    select period_type, period_start, period_end from {{ ref('int_periods_spined') }}

),

units as (

    select unit_code, valid_from, valid_to from {{ ref('stg_reference__reporting_units') }}

),

grid as (

    select
        units.unit_code,
        forms.form_code,
        periods.period_type,
        periods.period_start,
        periods.period_end,
        {{ due_date('periods.period_start', 'periods.period_type', 'forms.due_day') }} as due_date
    from forms
    inner join periods
        on periods.period_type = forms.period_type
    cross join units
    cross join settings
    where units.valid_from <= periods.period_start
        and (units.valid_to is null or units.valid_to >= periods.period_end)
        and periods.period_start >= settings.reporting_start

),

expected as (

    select
        -- ids
        {{ report_key('unit_code', 'form_code', 'period_start') }} as report_id,
        -- strings
        unit_code,
        form_code,
        period_type,
        -- dates
        period_start,
        period_end,
        due_date
    from grid
    where due_date <= {{ as_of_sql() }}

)

select * from expected
