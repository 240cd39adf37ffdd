{#-
    as_of_date(): the ISO date (string) up to which reports are expected.
    From the `as_of` var: the pipeline always passes it, as the day of the catalogue's time zone
    (ingest/settings.py; YAML may hand us a date object, hence `| string`). Run by hand without it, the UTC date
    of the start of the run (pass as_of to be exact in the evening, Vietnam time). Never reads the database clock.
-#}
{% macro as_of_date() -%}
    {%- set default = run_started_at.strftime('%Y-%m-%d') -%}
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
