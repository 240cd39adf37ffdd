{#-
    Every constraint a model's YAML declares, checked in one test node: the columns' `not_null`, `check`, `unique`
    and `foreign_key` constraints and the model's own `check` and `unique` (over several columns), in dbt's
    constraints vocabulary:

        - name: period_type
          constraints: [{type: not_null}, {type: check, expression: "period_type in ('month', 'quarter')"}]
        - name: period_id
          constraints: [{type: foreign_key, to: "ref('dim_period')", to_columns: [period_id]}]
        ...
      constraints: [{type: unique, columns: [unit_code, form_code, period_id]}]   # the model's

    dbt's own `not_null`, `accepted_values`, `unique` and `relationships` are a node each, ~15-20 ms of dbt's work
    whatever the data: with this test instead, a province's build has 114 data tests, not 401, and dbt's own time
    went from 7.1-8.6 s to 5.3-5.7 s with the last 157 of them folded (issue 18). The declaration stays on the column,
    where the docs show it; the model says `data_tests: [declared_constraints]` once. The row constraints (not_null,
    check) are one pass over the model; each unique and foreign key is one aggregate or anti-join of the same
    query. dbt resolves a foreign key's `ref` and builds the model after the model it references.

    Each holds as in SQL: a check fails on false, not on null (an accepted-values check lets nulls through, as dbt's
    accepted_values does); a unique constraint and a foreign key ignore rows with a null in their columns (as dbt's
    unique and relationships do; a key column says not_null as well). The models' contracts are not enforced, so
    the warehouse does not check these when it writes a table; this test does, after each build of the model.

    Fails with one row per constraint that rows break: `constraint_name` (the column and the constraint, or the
    check's name) and `n_failing` (rows with nulls, rows failing the check, values occurring more than once, rows
    whose reference is missing). `dbt show` of the compiled test, or the pipeline's error, says which. Declaring
    no constraint is an error, not a test that cannot fail.
-#}
{% test declared_constraints(model) %}

{%- set declared = declared_constraints_of(model) -%}
{%- set rows = declared | selectattr('kind', 'equalto', 'row') | list -%}

with

{% if rows -%}
row_counts as (

    select
        {%- for c in rows %}
        sum(case when {{ c.fails }} then 1 else 0 end) as {{ c.key }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}

),
{%- endif %}

broken as (
    {% for c in declared %}
    select '{{ c.label | replace("'", "''") }}' as constraint_name,
    {%- if c.kind == 'row' %}
        {{ c.key }} as n_failing
    from row_counts
    {%- elif c.kind == 'unique' %}
        count(*) as n_failing
    from (
        select {{ c.columns | join(', ') }}
        from {{ model }}
        where {% for column in c.columns %}{{ column }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
        group by {{ c.columns | join(', ') }}
        having count(*) > 1
    ) as duplicated
    {%- else %}
        count(*) as n_failing
    from {{ model }} as child
    where child.{{ c.column }} is not null
        and not exists (
            select 1 from {{ c.parent }} as parent where parent.{{ c.parent_column }} = child.{{ c.column }}
        )
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select constraint_name, n_failing
from broken
where n_failing > 0

{% endtest %}


{#- The constraints declared on `model` (a relation), its columns' then its own, each as {kind, key, label, ...}:
    `row` (not_null, check) with `fails`, the SQL condition of a row that breaks it; `unique` with its `columns`;
    `foreign_key` with `column`, `parent` (a relation) and `parent_column`. `key` names its count in the test's
    query. Empty at parse time. -#}
{% macro declared_constraints_of(model) %}
    {%- if not execute -%}
        {{ return([{'kind': 'row', 'key': 'n_1', 'label': '__parse__', 'fails': 'false'}]) }}
    {%- endif -%}
    {%- set name = model.identifier -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == name
        and node.package_name == project_name -%}
        {%- set pairs = [] -%}
        {%- for column in node.columns.values() -%}
            {%- for c in column.constraints -%}{%- do pairs.append((column.name, c)) -%}{%- endfor -%}
        {%- endfor -%}
        {%- for c in node.constraints -%}{%- do pairs.append((none, c)) -%}{%- endfor -%}
        {%- set found = [] -%}
        {%- for column, c in pairs -%}
            {%- set key = 'n_' ~ loop.index -%}
            {%- if c.type == 'not_null' and column -%}
                {%- do found.append({'kind': 'row', 'key': key, 'label': column ~ ' not null',
                                     'fails': column ~ ' is null'}) -%}
            {%- elif c.type == 'check' -%}
                {%- do found.append({'kind': 'row', 'key': key,
                                     'label': c.name or ((column ~ ': ') if column else '') ~ c.expression,
                                     'fails': 'not (' ~ c.expression ~ ')'}) -%}
            {%- elif c.type in ('unique', 'primary_key') -%}
                {%- set columns = [column] if column else c.columns -%}
                {%- do found.append({'kind': 'unique', 'key': key, 'columns': columns,
                                     'label': c.name or ((column ~ ' unique') if column
                                                         else '(' ~ columns | join(', ') ~ ') unique')}) -%}
            {%- elif c.type == 'foreign_key' and column -%}
                {%- set parent = declared_constraint_parent(node, c) -%}
                {%- do found.append({'kind': 'foreign_key', 'key': key, 'column': column, 'parent': parent,
                                     'parent_column': c.to_columns[0],
                                     'label': c.name or (column ~ ' references ' ~ parent.identifier ~ '.'
                                                         ~ c.to_columns[0])}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if not found -%}
            {{ exceptions.raise_compiler_error("declared_constraints on " ~ node.name ~ ": it declares no "
                ~ "constraint (constraints: [{type: not_null}], [{type: check, expression: ...}], ...)") }}
        {%- endif -%}
        {{ return(found) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("declared_constraints: no model of this project is built as " ~ name) }}
{% endmacro %}


{#- The relation a foreign key constraint `c` of `node` references (`to: "ref('<model>')"`, one column), found in
    the graph: the model depends on it (dbt resolves the ref when it parses), the test node does not. -#}
{% macro declared_constraint_parent(node, c) %}
    {%- set target = (c.to or '') | replace('"', "'") -%}
    {%- set parts = target.split("'") -%}
    {%- if not target.startswith('ref(') or parts | length != 3 or c.to_columns | length != 1 -%}
        {{ exceptions.raise_compiler_error("declared_constraints on " ~ node.name ~ ": a foreign key names one "
            ~ "model and one column, to: \"ref('<model>')\", to_columns: [<column>]; got to: " ~ c.to) }}
    {%- endif -%}
    {%- for parent in graph.nodes.values() if parent.resource_type in ('model', 'seed') and parent.name == parts[1]
        and parent.package_name == project_name -%}
        {{ return(api.Relation.create(database=parent.database, schema=parent.schema, identifier=parent.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("declared_constraints on " ~ node.name ~ ": no model " ~ parts[1]) }}
{% endmacro %}
