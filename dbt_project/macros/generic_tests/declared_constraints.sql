{#-
    Every constraint of a model that its YAML declares and that a row can break, checked in one pass over the model
    and one test node: a column's `not_null` (`constraints: [{type: not_null}]`) and `check` constraints, the
    column's (`{type: check, expression: "period_type in ('month', 'quarter')"}`) and the model's. dbt's own
    `not_null`, `accepted_values` and `expression_is_true` are a node each, ~15-20 ms of dbt's work whatever the
    data and a scan each of the model: 220 of them were a third of a province's build (issue 18). The declaration
    stays on the column, where the docs show it; the model says `data_tests: [declared_constraints]` once.

    A check holds as SQL's CHECK does: a row fails when the expression is false, not when it is null (so an
    accepted-values check lets nulls through, as dbt's accepted_values does; say not_null as well where null is
    wrong). The model's contract is not enforced, so the warehouse does not check these when it writes the table;
    this test does, after each build of the model.

    Fails with one row per constraint that some rows break: `constraint_name` (the column and `not null`, or the
    check's name, else its column and expression) and `n_failing` (`dbt show` of the compiled test, or
    store_failures, says which). Declaring no such constraint is an error, not a test that cannot fail.
-#}
{% test declared_constraints(model) %}

{%- set constraints = declared_constraints_of(model) -%}

with

counts as (

    select
        {%- for c in constraints %}
        sum(case when {{ c.fails }} then 1 else 0 end) as n_{{ loop.index }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}

)

{% for c in constraints -%}
select '{{ c.label | replace("'", "''") }}' as constraint_name, n_{{ loop.index }} as n_failing
from counts
where n_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif %}
{%- endfor %}

{% endtest %}


{#- The not_null and check constraints the YAML of `model` (a relation) declares, each as {label, fails}: `fails` is
    the SQL condition of a row that breaks it. Empty at parse time. -#}
{% macro declared_constraints_of(model) %}
    {%- if not execute -%}
        {{ return([{'label': '__parse__', 'fails': 'false'}]) }}
    {%- endif -%}
    {%- set name = model.identifier -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == name
        and node.package_name == project_name -%}
        {%- set found = [] -%}
        {%- for column in node.columns.values() -%}
            {%- for c in column.constraints -%}
                {%- if c.type == 'not_null' -%}
                    {%- do found.append({'label': column.name ~ ' not null',
                                         'fails': adapter.quote(column.name) ~ ' is null'}) -%}
                {%- elif c.type == 'check' -%}
                    {%- do found.append({'label': c.name or (column.name ~ ': ' ~ c.expression),
                                         'fails': 'not (' ~ c.expression ~ ')'}) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- for c in node.constraints if c.type == 'check' -%}
            {%- do found.append({'label': c.name or c.expression, 'fails': 'not (' ~ c.expression ~ ')'}) -%}
        {%- endfor -%}
        {%- if not found -%}
            {{ exceptions.raise_compiler_error("declared_constraints on " ~ node.name ~ ": it declares no not_null "
                ~ "or check constraint (constraints: [{type: not_null}], [{type: check, expression: ...}])") }}
        {%- endif -%}
        {{ return(found) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("declared_constraints: no model of this project is built as " ~ name) }}
{% endmacro %}
