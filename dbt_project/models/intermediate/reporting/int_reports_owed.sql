{#-
    The reports owed: every (unit, form, period) whose report is due on or before the as-of date plus the
    catalogue's reminder_days_before (a report due within those days is owed already: the calendar reminds the
    unit of it). A unit owes a period when it exists on the period's first and last day (valid_from/valid_to of
    stg_reference__reporting_units: the district-level units until 2025-06-30, the commune-level units from
    2025-07-01), from the catalogue's reporting_start; the due date is day due_day of the month after the period
    (after the quarter for quarterly forms). is_due: the due date has come (on or before the as-of date).
-#}
with

settings as (

    select reporting_start, reminder_days_before from {{ ref('stg_catalogue__settings') }}

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
        settings.reminder_days_before,
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

owed as (

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
        due_date,
        -- booleans
        due_date <= {{ as_of_sql() }} as is_due
    from grid
    where due_date <= {{ dbt.dateadd('day', 'reminder_days_before', as_of_sql()) }}

)

select * from owed
