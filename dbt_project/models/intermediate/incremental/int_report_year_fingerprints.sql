{#-
    One row per (unit, form, year) with a latest accepted report: a fingerprint of everything the number facts'
    rows of that report year are made from (see macros/incremental_report_years.sql). A report year whose
    fingerprint is not the one an incremental fact recorded when it was last built is built again:
    - its latest accepted submissions, each with its load (a file loaded again brings new numbers), version and
      status, and the file, period and arrival the facts carry;
    - what every report year is read with: the catalogue's indicators, the reporting units and their validity,
      the calendar of periods, and the digest of the project's SQL (var `project_digest`, passed by the
      pipeline: a change to a model or a macro builds every report year again).
    A table: each incremental fact reads it three times.
-#}
{{ config(materialized='table', post_hook="{{ refresh_statistics(this) }}") }}

with

report_years as (

    select
        unit_code,
        form_code,
        {{ int_date_part('year', 'period_start') }} as year,
        {{ rows_digest(['submission_id', 'load_id', 'version', 'status', 'file_name', 'period_type', 'period_start',
                        'received_at']) }} as submissions_digest
    from {{ ref('int_submissions_ranked') }}
    where is_latest_accepted
    group by unit_code, form_code, {{ int_date_part('year', 'period_start') }}

),

indicators as (

    select {{ rows_digest(['indicator_id', 'form_code', 'row_code', 'kind', 'time_aggregation']) }} as digest
    from {{ ref('stg_catalogue__indicators') }}

),

units as (

    select {{ rows_digest(['unit_code', 'valid_from', 'valid_to']) }} as digest
    from {{ ref('stg_reference__reporting_units') }}

),

periods as (

    select {{ rows_digest(['period_type', 'period_start']) }} as digest
    from {{ ref('int_periods_spined') }}

),

fingerprinted as (

    select
        report_years.unit_code,
        report_years.form_code,
        cast(report_years.year as integer) as year,
        {{ dbt.hash(dbt.concat([
            'report_years.submissions_digest', "'|'", 'indicators.digest', "'|'", 'units.digest', "'|'",
            'periods.digest', "'|" ~ var('project_digest', 'none') ~ "'",
        ])) }} as fingerprint
    from report_years
    cross join indicators
    cross join units
    cross join periods

)

select * from fingerprinted
