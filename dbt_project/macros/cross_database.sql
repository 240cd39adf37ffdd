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

{#- last_by(expr, order_by, where=none): an aggregate, the value of `expr` (null included) on the row of the group
    with the greatest `order_by`, among the rows where `where` holds; null when none does. `order_by` must be unique
    within a group. It replaces a window function and a second pass (max(x) over (...), then
    max(case when ... = that max)): fct_indicator_period_value's windows were 37 of its 47 s on a national year.
    DuckDB has arg_max_null; elsewhere the first element of an ordered array_agg. -#}
{% macro last_by(expr, order_by, where=none) -%}
    {{ return(adapter.dispatch('last_by', 'sectorstats')(expr, order_by, where)) }}
{%- endmacro %}

{% macro default__last_by(expr, order_by, where=none) -%}
    (array_agg({{ expr }} order by {{ order_by }} desc){% if where %} filter (where {{ where }}){% endif %})[1]
{%- endmacro %}

{% macro duckdb__last_by(expr, order_by, where=none) -%}
    arg_max_null({{ expr }}, {{ order_by }}){% if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}
