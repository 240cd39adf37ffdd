{#-
    Every column of a model that its YAML declares not null (`constraints: [{type: not_null}]`), checked in one
    pass and one test node. dbt's own `not_null` is a node per column, ~20 ms of dbt's work each whatever the
    data: 170 of them were a quarter of a province's build (issue 18). The declaration stays on the column, where
    the docs show it; the model says `data_tests: [not_null_columns]` once.

    Fails with one row per column that holds nulls: column_name, n_null (`dbt show` of the compiled test, or
    store_failures, says which). Declaring not_null on no column is an error, not a test that cannot fail.
-#}
{% test not_null_columns(model) %}

{%- set columns = not_null_columns_of(model) -%}

with

counts as (

    select
        {%- for column in columns %}
        sum(case when {{ adapter.quote(column) }} is null then 1 else 0 end) as {{ adapter.quote(column) }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}

)

{% for column in columns -%}
select '{{ column }}' as column_name, {{ adapter.quote(column) }} as n_null
from counts
where {{ adapter.quote(column) }} > 0
{% if not loop.last %}union all
{% endif %}
{%- endfor %}

{% endtest %}


{#- The names of the columns of `model` (a relation) whose YAML has the constraint not_null. Empty at parse time. -#}
{% macro not_null_columns_of(model) %}
    {%- if not execute -%}
        {{ return(['__parse__']) }}
    {%- endif -%}
    {%- set name = model.identifier -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == name
        and node.package_name == project_name -%}
        {%- set found = [] -%}
        {%- for column in node.columns.values() -%}
            {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
                {%- do found.append(column.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if not found -%}
            {{ exceptions.raise_compiler_error("not_null_columns on " ~ node.name ~ ": no column of it is declared "
                ~ "not null (constraints: [{type: not_null}])") }}
        {%- endif -%}
        {{ return(found) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("not_null_columns: no model of this project is built as " ~ name) }}
{% endmacro %}
