{#-
    The domain marts are generated from the catalogue: one wide row per (unit, form, period) with four columns
    per indicator row of the domain's form(s). Adding a row to a form in forms.yaml adds its columns here on the
    next run; no SQL changes.
-#}

{#-
    catalogue_indicators_for_domain(domain): the catalogue rows of the forms whose raw.catalogue_forms.domain is
    `domain`, as a list of dicts (form_code, row_code, indicator_name), in sheet order.
    Read with run_query at execution time; empty at parse time.
-#}
{% macro catalogue_indicators_for_domain(domain) -%}
    {#- Called outside `if execute` so that dbt records the dependencies at parse time. -#}
    {%- set indicators_relation = source('catalogue', 'catalogue_indicators') -%}
    {%- set forms_relation = source('catalogue', 'catalogue_forms') -%}
    {%- set indicators = [] -%}
    {%- if execute -%}
        {%- set query -%}
            select
                i.form_code,
                i.row_code,
                i.indicator_name
            from {{ indicators_relation }} as i
            inner join {{ forms_relation }} as f
                on f.form_code = i.form_code
            where f.domain = '{{ domain }}'
            order by i.form_code, i.sort_order, i.row_code
        {%- endset -%}
        {%- set result = run_query(query) -%}
        {%- for row in result.rows -%}
            {%- set name = row[2] | string | trim | lower -%}
            {%- if not modules.re.match('^[a-z][a-z0-9_]*$', name) -%}
                {{ exceptions.raise_compiler_error(
                    "catalogue: indicator_name '" ~ row[2] ~ "' of " ~ row[0] ~ " row " ~ row[1]
                    ~ " is not a valid column name (lower-case letters, digits, underscores)") }}
            {%- endif -%}
            {%- do indicators.append({'form_code': row[0], 'row_code': row[1], 'indicator_name': name}) -%}
        {%- endfor -%}
        {%- if indicators | length == 0 -%}
            {{ exceptions.warn("catalogue: no indicators for domain '" ~ domain ~ "'") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(indicators) }}
{%- endmacro %}

{#- The measure columns of each indicator: suffix -> measure. -#}
{% macro indicator_measure_suffixes() -%}
    {{ return([('', 'period'), ('_ytd', 'ytd'), ('_plan', 'plan_year'), ('_prev_ytd', 'ytd_prev_year')]) }}
{%- endmacro %}

{#- pivot_indicators(indicators): `max(case when ... then value end) as <name><suffix>` for every indicator and measure. -#}
{% macro pivot_indicators(indicators) -%}
    {%- for ind in indicators %}
        {%- for suffix, measure in indicator_measure_suffixes() %}
    max(
        case
            when form_code = '{{ ind.form_code | replace("'", "''") }}'
                and row_code = '{{ ind.row_code | replace("'", "''") }}'
                and measure = '{{ measure }}'
                then value
        end
    ) as {{ ind.indicator_name }}{{ suffix }}{{ ',' if not loop.last }}
        {%- endfor %}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#-
    domain_mart(domain): the SELECT of a domain mart, from fct_indicator_value (latest accepted submissions)
    restricted to the forms of `domain` in dim_form. One row per (unit, form, period).
-#}
{% macro domain_mart(domain) -%}
{%- set indicators = catalogue_indicators_for_domain(domain) -%}
with

forms as (

    select form_code
    from {{ ref('dim_form') }}
    where domain = '{{ domain }}'

),

indicator_values as (

    select indicator_values.*
    from {{ ref('fct_indicator_value') }} as indicator_values
    inner join forms
        on forms.form_code = indicator_values.form_code

),

pivoted as (

    select
        -- ids
        {{ report_key('unit_code', 'form_code', 'period_start') }} as report_id,
        reporting_unit_id,
        period_id,
        submission_id,
        -- strings
        unit_code,
        form_code,
        period_type,
        -- numerics
        version,
        -- dates
        period_start,
        -- timestamps
        received_at{{ ',' if indicators }}
        -- indicators (from the catalogue)
        {{- pivot_indicators(indicators) }}

    from indicator_values
    group by
        reporting_unit_id,
        period_id,
        submission_id,
        unit_code,
        form_code,
        period_type,
        version,
        period_start,
        received_at

)

select * from pivoted
{%- endmacro %}
