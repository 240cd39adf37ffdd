{#-
    Date arithmetic of the reporting calendar, written with dbt's cross-database macros.
-#}

{#- Number of months in a period of the given type
    ('month' -> 1, 'quarter' -> 3, 'half' -> 6, 'nine_months' -> 9, 'year' -> 12). -#}
{% macro period_months(period_type) -%}
    (case {{ period_type }}
        when 'quarter' then 3
        when 'half' then 6
        when 'nine_months' then 9
        when 'year' then 12
        else 1
    end)
{%- endmacro %}

{#- Last day of the period that starts on period_start. -#}
{% macro period_end_date(period_start, period_type) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', period_months(period_type), period_start)) }} as date)
{%- endmacro %}

{#- Due date: day `due_day` of the month after the period (after the quarter's last month for quarters). -#}
{% macro due_date(period_start, period_type, due_day) -%}
    cast({{ dbt.dateadd('day', '(' ~ due_day ~ ') - 1', dbt.dateadd('month', period_months(period_type), period_start)) }} as date)
{%- endmacro %}

{#- The calendar day of a UTC timestamp in the catalogue's time zone: `utc_offset_hours` is the expression of its
    offset (stg_catalogue__settings.utc_offset_hours, from forms.yaml's timezone). -#}
{% macro local_date(utc_timestamp, utc_offset_hours) -%}
    cast({{ dbt.dateadd('hour', utc_offset_hours, utc_timestamp) }} as date)
{%- endmacro %}

{#- A date part (year, quarter, month) as an integer; `extract` is standard SQL (DuckDB, Postgres). -#}
{% macro int_date_part(datepart, date_expr) -%}
    cast(extract({{ datepart }} from {{ date_expr }}) as {{ dbt.type_int() }})
{%- endmacro %}

{#- Key of a period in dim_period: '2024-10' (month), '2024-Q3' (quarter), '2024-H2' (half year),
    '2024-9M' (nine months, January-September), '2024' (year), '-1' when unknown. -#}
{% macro period_key(period_start, period_type) -%}
    case
        when {{ period_type }} = 'month' and {{ period_start }} is not null then {{ dbt.concat([
            dbt.cast(int_date_part('year', period_start), dbt.type_string()),
            "'-'",
            "lpad(" ~ dbt.cast(int_date_part('month', period_start), dbt.type_string()) ~ ", 2, '0')",
        ]) }}
        when {{ period_type }} = 'quarter' and {{ period_start }} is not null then {{ dbt.concat([
            dbt.cast(int_date_part('year', period_start), dbt.type_string()),
            "'-Q'",
            dbt.cast(int_date_part('quarter', period_start), dbt.type_string()),
        ]) }}
        when {{ period_type }} = 'half' and {{ period_start }} is not null then {{ dbt.concat([
            dbt.cast(int_date_part('year', period_start), dbt.type_string()),
            "case when " ~ int_date_part('month', period_start) ~ " <= 6 then '-H1' else '-H2' end",
        ]) }}
        when {{ period_type }} = 'nine_months' and {{ period_start }} is not null then {{ dbt.concat([
            dbt.cast(int_date_part('year', period_start), dbt.type_string()),
            "'-9M'",
        ]) }}
        when {{ period_type }} = 'year' and {{ period_start }} is not null
            then {{ dbt.cast(int_date_part('year', period_start), dbt.type_string()) }}
        else '-1'
    end
{%- endmacro %}

{#- Key of an indicator in dim_indicator: '<form_code>|<row_code>'. -#}
{% macro indicator_key(form_code, row_code) -%}
    {{ dbt.concat([form_code, "'|'", row_code]) }}
{%- endmacro %}

{#- Key of one (unit, form, period) report: '<unit_code>|<form_code>|<period_start>'. -#}
{% macro report_key(unit_code, form_code, period_start) -%}
    {{ dbt.concat([
        "coalesce(" ~ unit_code ~ ", '?')", "'|'",
        "coalesce(" ~ form_code ~ ", '?')", "'|'",
        "coalesce(" ~ dbt.cast(period_start, dbt.type_string()) ~ ", '?')",
    ]) }}
{%- endmacro %}

{#- An 8-byte floating-point type. dbt.type_float() is `float`, which DuckDB reads as a 4-byte REAL
    (about 7 significant digits); `double precision` is standard SQL (DuckDB, Postgres). -#}
{% macro type_double() -%}
    double precision
{%- endmacro %}
