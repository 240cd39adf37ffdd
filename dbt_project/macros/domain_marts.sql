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

{#- The measure columns of each indicator: mart column suffix -> column of fct_indicator_period_value. The one
    list of an indicator's measures: the marts, their derived columns and the province test all read it through
    indicator_measures(); adding a measure is adding a pair here. -#}
{% macro indicator_measure_suffixes() -%}
    {{ return([('', 'value'), ('_ytd', 'value_ytd'), ('_plan', 'plan_year'), ('_prev_ytd', 'value_prev_year_ytd')]) }}
{%- endmacro %}

{#- indicator_measures(ind): the measure columns of one indicator, in mart order, as a list of dicts
    (name: the mart column `<indicator_name><suffix>`, column: its column of fct_indicator_period_value). -#}
{% macro indicator_measures(ind) -%}
    {%- set measures = [] -%}
    {%- for suffix, column in indicator_measure_suffixes() -%}
        {%- do measures.append({'name': ind.indicator_name ~ suffix, 'column': column}) -%}
    {%- endfor -%}
    {{ return(measures) }}
{%- endmacro %}

{#- indicator_measure_name(ind, column): the mart column of the indicator's measure from `column` of
    fct_indicator_period_value (e.g. 'value_ytd' -> `<indicator_name>_ytd`), for the columns derived from it. -#}
{% macro indicator_measure_name(ind, column) -%}
    {%- for measure in indicator_measures(ind) if measure.column == column -%}
        {{ return(measure.name) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("indicator_measure_name: no measure from column '" ~ column ~ "'") }}
{%- endmacro %}

{#- indicator_measure_columns(indicators, how): one column per indicator and measure (indicator_measures).
    how = 'pivot': `max(case when <the indicator's row> then <measure> end)` (a unit's row from the long fact);
    how = 'sum': `sum(<name><suffix>)` (the province row: flows and amounts summed over units, stocks summed over
    units at the same period). -#}
{% macro indicator_measure_columns(indicators, how) -%}
    {%- for ind in indicators %}
        {%- set indicator_loop = loop %}
        {%- for measure in indicator_measures(ind) %}
            {%- if how == 'pivot' %}
    max(
        case
            when form_code = '{{ ind.form_code | replace("'", "''") }}'
                and row_code = '{{ ind.row_code | replace("'", "''") }}'
                then {{ measure.column }}
        end
    ) as {{ measure.name }}
            {%- else %}
    sum({{ measure.name }}) as {{ measure.name }}
            {%- endif %}{{ ',' if not (loop.last and indicator_loop.last) }}
        {%- endfor %}
    {%- endfor %}
{%- endmacro %}

{#- derive_indicators(indicators): the measure columns of every indicator (indicator_measures), then
    <name>_pct_of_plan (flows and amounts: ytd / plan, null without a plan or with plan 0) and
    <name>_change_vs_prev_year (flows and amounts: ytd - prev_ytd; stocks: period - prev_ytd). -#}
{% macro derive_indicators(indicators) -%}
    {%- for ind in indicators %}
        {%- set n = ind.indicator_name %}
        {%- for measure in indicator_measures(ind) %}
    {{ measure.name }},
        {%- endfor %}
        {%- set period = indicator_measure_name(ind, 'value') %}
        {%- set ytd = indicator_measure_name(ind, 'value_ytd') %}
        {%- set plan = indicator_measure_name(ind, 'plan_year') %}
        {%- set prev_ytd = indicator_measure_name(ind, 'value_prev_year_ytd') %}
        {%- if ind.kind == 'stock' %}
    {{ period }} - {{ prev_ytd }} as {{ n }}_change_vs_prev_year{{ ',' if not loop.last }}
        {%- else %}
    cast({{ ytd }} as {{ type_double() }})
        / nullif(cast({{ plan }} as {{ type_double() }}), 0) as {{ n }}_pct_of_plan,
    {{ ytd }} - {{ prev_ytd }} as {{ n }}_change_vs_prev_year{{ ',' if not loop.last }}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#-
    domain_mart(domain): the SELECT of a domain mart, from fct_indicator_period_value restricted to the forms of
    `domain` in dim_form. One row per (unit, form, period) for every period type of dim_period the unit's reports
    cover (the form's own months or quarters, and the review periods rolled up from them: each indicator by its
    time aggregation), plus one province total row per (form, period) (unit_code = var province_code,
    is_province_total): every measure summed over the units that have a row (flows and amounts; stocks at the same
    period, never over time), with how many units that is against how many were expected to report. % of plan
    and change vs last year are computed after the sum, from the province's own numbers; rates of a domain are
    recomputed on top of this.
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
    from {{ ref('fct_indicator_period_value') }} as indicator_values
    inner join forms
        on forms.form_code = indicator_values.form_code

),

expected_units as (

    -- the units expected (by the as-of date) to send at least one report of the form within the period
    select
        periods.period_id,
        submissions.form_code,
        count(distinct submissions.unit_code) as n_units_expected
    from {{ ref('fct_submission') }} as submissions
    inner join forms
        on forms.form_code = submissions.form_code
    inner join {{ ref('dim_period') }} as periods
        on submissions.period_start >= periods.period_start
        and submissions.period_start <= periods.period_end
    where submissions.is_expected
    group by periods.period_id, submissions.form_code

),

pivoted as (

    select
        -- ids
        case
            when not is_rollup then {{ report_key('unit_code', 'form_code', 'period_start') }}
        end as report_id,
        reporting_unit_id,
        period_id,
        max(submission_id) as submission_id,
        -- strings
        unit_code,
        form_code,
        period_type,
        -- numerics
        cast(max(n_submissions) as {{ dbt.type_int() }}) as n_reports,
        cast(max(n_periods_expected) as {{ dbt.type_int() }}) as n_reports_expected,
        cast(sum(n_periods_derived) as {{ dbt.type_int() }}) as n_values_derived,
        cast(1 as {{ dbt.type_int() }}) as n_units_reporting,
        cast(null as {{ dbt.type_int() }}) as n_units_expected,
        -- dates
        period_start,
        -- timestamps
        max(received_at) as received_at,
        -- booleans
        is_rollup,
        max(n_submissions) = max(n_periods_expected) as is_complete,
        false as is_province_total{{ ',' if indicators }}
        -- indicators (from the catalogue)
        {{- indicator_measure_columns(indicators, 'pivot') }}

    from indicator_values
    group by
        reporting_unit_id,
        period_id,
        unit_code,
        form_code,
        period_type,
        period_start,
        is_rollup

),

province as (

    select
        {{ report_key("'" ~ province_code ~ "'", 'pivoted.form_code', 'pivoted.period_start') }} as report_id,
        '{{ province_code }}' as reporting_unit_id,
        pivoted.period_id,
        cast(null as {{ dbt.type_string() }}) as submission_id,
        '{{ province_code }}' as unit_code,
        pivoted.form_code,
        pivoted.period_type,
        cast(sum(pivoted.n_reports) as {{ dbt.type_int() }}) as n_reports,
        cast(null as {{ dbt.type_int() }}) as n_reports_expected,
        cast(sum(pivoted.n_values_derived) as {{ dbt.type_int() }}) as n_values_derived,
        cast(count(*) as {{ dbt.type_int() }}) as n_units_reporting,
        cast(max(expected_units.n_units_expected) as {{ dbt.type_int() }}) as n_units_expected,
        pivoted.period_start,
        max(pivoted.received_at) as received_at,
        pivoted.is_rollup,
        min(case when pivoted.is_complete then 1 else 0 end) = 1
            and count(*) >= coalesce(max(expected_units.n_units_expected), 0) as is_complete,
        true as is_province_total{{ ',' if indicators }}
        {{- indicator_measure_columns(indicators, 'sum') }}

    from pivoted
    left join expected_units
        on expected_units.period_id = pivoted.period_id
        and expected_units.form_code = pivoted.form_code
    group by
        pivoted.period_id,
        pivoted.form_code,
        pivoted.period_type,
        pivoted.period_start,
        pivoted.is_rollup

),

unioned as (

    select * from pivoted
    union all
    select * from province

),

derived as (

    select
        {{ dbt.concat(['unit_code', "'|'", 'form_code', "'|'", 'period_id']) }} as mart_row_id,
        report_id,
        reporting_unit_id,
        period_id,
        submission_id,
        unit_code,
        form_code,
        period_type,
        n_reports,
        n_reports_expected,
        n_values_derived,
        n_units_reporting,
        n_units_expected,
        period_start,
        received_at,
        is_rollup,
        is_complete,
        is_province_total{{ ',' if indicators }}
        {{- derive_indicators(indicators) }}

    from unioned

)

select * from derived
{%- endmacro %}
