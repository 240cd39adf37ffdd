{#-
    Incremental facts, rebuilt one report year at a time.

    The number facts (fct_indicator_value, int_indicator_values_periodic, fct_indicator_period_value,
    mart_province_indicator_source) are a function of each (unit, form, year)'s latest accepted reports alone: a
    roll-up never crosses a year, the year-to-date difference looks back within the year, the province's lineage
    is one row per unit's number. So a new file changes the rows of its own report year and no other, and a build
    that recomputes only those gives the same table as one that recomputes everything.

    int_report_year_fingerprints gives each report year a fingerprint of everything its rows are made from (its
    latest accepted submissions with their load, version and status; the catalogue, the units and the calendar;
    the project's SQL). Each incremental model records, in one state table, the fingerprints it was built from:
    - before its build (`forget_changed_report_years`, a pre-hook) it deletes every row whose report year is not
      recorded with today's fingerprint (changed, gone, or never recorded: a table without state is rebuilt
      whole);
    - its SQL reads only the report years that are not up to date (`where {{ report_year_is_stale(...) }}`);
    - after its build (`remember_report_years`, a post-hook, in the same transaction) it records today's
      fingerprints.
    A failed build records nothing, so the next one redoes the same report years. `--full-refresh` rebuilds the
    table and records everything.
-#}

{#- The state table: (model_name, unit_code, form_code, year, fingerprint), in the intermediate schema. -#}
{% macro report_year_state() -%}
    {{ return(api.Relation.create(database=this.database,
                                  schema=generate_schema_name('intermediate', none) | trim,
                                  identifier='incremental_report_years', type='table')) }}
{%- endmacro %}

{#- The report years of this model recorded with the fingerprint they have today: up to date. -#}
{% macro up_to_date_report_years() -%}
    select built.unit_code, built.form_code, built.year
    from {{ report_year_state() }} as built
    inner join {{ ref('int_report_year_fingerprints') }} as current_years
        on current_years.unit_code = built.unit_code
        and current_years.form_code = built.form_code
        and current_years.year = built.year
        and current_years.fingerprint = built.fingerprint
    where built.model_name = '{{ this.identifier }}'
{%- endmacro %}

{#- A predicate for the model's SQL: the report year of the row `alias` (its unit_code, form_code and the year of
    its period_start) must be built again (always true when the table is built whole). -#}
{% macro report_year_is_stale(alias) -%}
    {%- if is_incremental() -%}
        not exists (
            select 1 from ({{ up_to_date_report_years() }}) as up_to_date
            where up_to_date.unit_code = {{ alias }}.unit_code
                and up_to_date.form_code = {{ alias }}.form_code
                and up_to_date.year = {{ int_date_part('year', alias ~ '.period_start') }}
        )
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook: the state table exists, and the rows of every report year not up to date are deleted (a row's year
    is its period_start's). A table built by an earlier version of the model without those columns has all its rows
    deleted: the project's digest changed with the model, so every report year is built again (and dbt's
    on_schema_change: sync_all_columns gives the table the model's new columns). -#}
{% macro forget_changed_report_years() -%}
    create table if not exists {{ report_year_state() }} (
        model_name {{ dbt.type_string() }} not null,
        unit_code {{ dbt.type_string() }} not null,
        form_code {{ dbt.type_string() }} not null,
        year integer not null,
        fingerprint {{ dbt.type_string() }} not null
    );
    {%- if is_incremental() %}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
    {%- if 'unit_code' in columns and 'form_code' in columns and 'period_start' in columns %}
    delete from {{ this }} as facts
    where {{ report_year_is_stale('facts') }};
    {%- else %}
    delete from {{ this }};
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- The post-hook: what the model was built from, recorded in the transaction that built it. -#}
{% macro remember_report_years() -%}
    delete from {{ report_year_state() }} where model_name = '{{ this.identifier }}';
    insert into {{ report_year_state() }} (model_name, unit_code, form_code, year, fingerprint)
    select '{{ this.identifier }}', unit_code, form_code, year, fingerprint
    from {{ ref('int_report_year_fingerprints') }};
    {{ refresh_statistics(report_year_state()) }}
{%- endmacro %}

{#- refresh_statistics(relation): the planner's statistics of a small table that just changed, which the facts'
    SQL joins against (a semi-join of millions of rows): Postgres does not analyze a new or rewritten table at
    once, and a table it believes holds one row invites a nested loop. ANALYZE runs in the transaction. DuckDB
    keeps its statistics as it writes. -#}
{% macro refresh_statistics(relation) -%}
    {{ return(adapter.dispatch('refresh_statistics', 'sectorstats')(relation)) }}
{%- endmacro %}

{% macro default__refresh_statistics(relation) -%}
{%- endmacro %}

{% macro postgres__refresh_statistics(relation) -%}
    analyze {{ relation }}
{%- endmacro %}

{#- row_text(columns): the columns of a row as one string, a null told apart from an empty string. -#}
{% macro row_text(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first %}{% do parts.append("'|'") %}{% endif -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- rows_digest(columns): an aggregate, the md5 of the group's rows (row_text of `columns`) in a fixed order. -#}
{% macro rows_digest(columns) -%}
    {%- set text = row_text(columns) -%}
    {{ dbt.hash(dbt.listagg(text, "'~'", 'order by ' ~ text)) }}
{%- endmacro %}
