{#-
    Cross-database helpers that dbt's own macros (dbt.dateadd, dbt.concat, dbt.type_*, …) do not cover.
    Dispatched (search order: this project, then dbt), so an adapter gets its own `<adapter>__<name>` here.
-#}

{#- round_double(expr, digits): a double rounded to `digits` decimals, still a double.
    DuckDB has round(double, integer); Postgres only round(numeric, integer), so it rounds a numeric and casts back
    (half away from zero on both; not dbt.type_numeric(), which is numeric(28, 6) and would round first). -#}
{% macro round_double(expr, digits) -%}
    {{ return(adapter.dispatch('round_double', 'sectorstats')(expr, digits)) }}
{%- endmacro %}

{% macro default__round_double(expr, digits) -%}
    round({{ expr }}, {{ digits }})
{%- endmacro %}

{% macro postgres__round_double(expr, digits) -%}
    cast(round(cast({{ expr }} as numeric), {{ digits }}) as {{ type_double() }})
{%- endmacro %}
