{#-
    The domain marts are generated from the catalogue: one wide row per (unit, form, period) with four columns
    per indicator row of the domain's form(s). Adding a row to a form in forms.yaml adds its columns here on the
    next run; no SQL changes.
-#}

{#-
    catalogue_indicators_for_domain(domain): the catalogue rows of the forms whose raw.catalogue_forms.domain is
    `domain`, as a list of dicts (form_code, row_code, indicator_name, kind), in sheet order.
    Read with run_query at execution time; empty at parse time.
-#}
{% macro catalogue_indicators_for_domain(domain) -%}
    {#- Called outside `if execute` so that dbt records the dependencies at parse time. -#}
    {#- A unit test of a mart has no fixture for the catalogue: read the real catalogue tables there. -#}
    {%- if model is defined and model is mapping and model.get('resource_type') == 'unit_test' -%}
        {%- if not execute -%}{{ return([]) }}{%- endif -%}
        {%- set indicators_relation = catalogue_source_relation('catalogue_indicators') -%}
        {%- set forms_relation = catalogue_source_relation('catalogue_forms') -%}
    {%- else -%}
        {%- set indicators_relation = source('catalogue', 'catalogue_indicators') -%}
        {%- set forms_relation = source('catalogue', 'catalogue_forms') -%}
    {%- endif -%}
    {%- set indicators = [] -%}
    {%- if execute -%}
        {%- set query -%}
            select
                i.form_code,
                i.row_code,
                i.indicator_name,
                i.kind
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
            {%- do indicators.append({'form_code': row[0], 'row_code': row[1], 'indicator_name': name,
                                      'kind': row[3] | string | trim | lower}) -%}
        {%- endfor -%}
        {%- if indicators | length == 0 -%}
            {{ exceptions.warn("catalogue: no indicators for domain '" ~ domain ~ "'") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(indicators) }}
{%- endmacro %}

{#- catalogue_source_relation(name): the relation of source('catalogue', name) without source() (for unit
    tests, where source() only knows the fixtures given): from the graph, else schema raw of the target. -#}
{% macro catalogue_source_relation(name) -%}
    {%- for node in graph.get('sources', {}).values() -%}
        {%- if node.source_name == 'catalogue' and node.name == name -%}
            {{ return(api.Relation.create(database=node.database, schema=node.schema,
                                          identifier=node.identifier)) }}
        {%- endif -%}
    {%- endfor -%}
    {#- The graph has no sources in a unit test's context: the schema of models/staging/catalogue/_catalogue__sources.yml. -#}
    {{ return(api.Relation.create(database=target.database, schema='raw', identifier=name)) }}
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

{#- sum_indicators(indicators): `sum(<name><suffix>) as <name><suffix>` for every indicator and measure (the
    province row: flows and amounts summed over units, stocks summed over units at the same period). -#}
{% macro sum_indicators(indicators) -%}
    {%- for ind in indicators %}
        {%- for suffix, measure in indicator_measure_suffixes() %}
    sum({{ ind.indicator_name }}{{ suffix }}) as {{ ind.indicator_name }}{{ suffix }}{{ ',' if not loop.last }}
        {%- endfor %}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- derive_indicators(indicators): the four measure columns of every indicator, then
    <name>_pct_of_plan (flows and amounts: ytd / plan, null without a plan or with plan 0) and
    <name>_change_vs_prev_year (flows and amounts: ytd - prev_ytd; stocks: period - prev_ytd). -#}
{% macro derive_indicators(indicators) -%}
    {%- for ind in indicators %}
        {%- set n = ind.indicator_name %}
    {{ n }},
    {{ n }}_ytd,
    {{ n }}_plan,
    {{ n }}_prev_ytd,
        {%- if ind.kind == 'stock' %}
    {{ n }} - {{ n }}_prev_ytd as {{ n }}_change_vs_prev_year{{ ',' if not loop.last }}
        {%- else %}
    cast({{ n }}_ytd as {{ type_double() }})
        / nullif(cast({{ n }}_plan as {{ type_double() }}), 0) as {{ n }}_pct_of_plan,
    {{ n }}_ytd - {{ n }}_prev_ytd as {{ n }}_change_vs_prev_year{{ ',' if not loop.last }}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#-
    domain_mart(domain): the SELECT of a domain mart, from fct_indicator_value (latest accepted submissions)
    restricted to the forms of `domain` in dim_form. One row per (unit, form, period), plus one province total
    row per (form, period) (unit_code = var province_code, is_province_total): every measure summed over the
    units (flows and amounts; stocks at the same period, never over time). % of plan and change vs last year are
    computed after the sum, from the province's own numbers; rates of a domain are recomputed on top of this.
-#}
{% macro domain_mart(domain) -%}
{%- set indicators = catalogue_indicators_for_domain(domain) -%}
{%- set province_code = var('province_code', '42') -%}
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
        received_at,
        -- booleans
        false as is_province_total{{ ',' if indicators }}
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

),

province as (

    select
        {{ report_key("'" ~ province_code ~ "'", 'form_code', 'period_start') }} as report_id,
        '{{ province_code }}' as reporting_unit_id,
        period_id,
        cast(null as {{ dbt.type_string() }}) as submission_id,
        '{{ province_code }}' as unit_code,
        form_code,
        period_type,
        cast(null as {{ dbt.type_int() }}) as version,
        period_start,
        max(received_at) as received_at,
        true as is_province_total{{ ',' if indicators }}
        {{- sum_indicators(indicators) }}

    from pivoted
    group by
        period_id,
        form_code,
        period_type,
        period_start

),

unioned as (

    select * from pivoted
    union all
    select * from province

),

derived as (

    select
        report_id,
        reporting_unit_id,
        period_id,
        submission_id,
        unit_code,
        form_code,
        period_type,
        version,
        period_start,
        received_at,
        is_province_total{{ ',' if indicators }}
        {{- derive_indicators(indicators) }}

    from unioned

)

select * from derived
{%- endmacro %}
