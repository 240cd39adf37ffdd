{#-
    as_of_date(): the ISO date (string) up to which reports are expected.
    From the `as_of` var when given (the pipeline passes it; YAML may hand us a date object, hence `| string`),
    else today's date in Vietnam (UTC+7) at the start of the run. Never reads the database clock.
-#}
{% macro as_of_date() -%}
    {%- set default = (run_started_at + modules.datetime.timedelta(hours=7)).strftime('%Y-%m-%d') -%}
    {%- set value = var('as_of', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = default -%}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error("var as_of=" ~ value ~ " is not an ISO date (YYYY-MM-DD)") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- as_of_sql(): the as-of date as a SQL date literal. -#}
{% macro as_of_sql() -%}
    cast('{{ as_of_date() }}' as date)
{%- endmacro %}
