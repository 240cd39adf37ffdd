{#-
    The catalogue's arithmetic (forms.yaml `sum_of` and `of`) as tests over an indicator-value model
    (one row per submission_id, row_code, measure, value). The rules come from `rules`, a model with one row per
    (form_code, rule, whole_row_code, part_row_code), i.e. int_indicator_rules_unnested: nothing is hard-coded.
    Severity follows the `catalogue_arithmetic_severity` var (error by default).
-#}

{#- sum_of: a total equals the sum of its parts, in every measure, for every submission (parts present). -#}
{% test catalogue_sum_of(model, rules, tolerance=0.001) %}
{{ config(severity=var('catalogue_arithmetic_severity', 'error')) }}

with

rules as (

    select form_code, whole_row_code, part_row_code
    from {{ rules }}
    where rule = 'sum_of'

),

totals as (

    -- one row per (total, part): the total's value beside the name of each part it should equal the sum of
    select
        v.submission_id,
        v.form_code,
        v.row_code,
        v.measure,
        v.value,
        rules.part_row_code
    from {{ model }} as v
    inner join rules
        on rules.form_code = v.form_code
        and rules.whole_row_code = v.row_code
    where v.value is not null

),

compared as (

    select
        totals.submission_id,
        totals.form_code,
        totals.row_code,
        totals.measure,
        totals.value as total_value,
        sum(parts.value) as parts_value,
        count(parts.value) as n_parts
    from totals
    left join {{ model }} as parts
        on parts.submission_id = totals.submission_id
        and parts.measure = totals.measure
        and parts.row_code = totals.part_row_code
    group by
        totals.submission_id,
        totals.form_code,
        totals.row_code,
        totals.measure,
        totals.value

)

select *
from compared
where n_parts > 0
    and abs(total_value - parts_value) > {{ tolerance }}

{% endtest %}

{#- of: a "Trong đó" (of which) part never exceeds its whole, in every measure, for every submission. -#}
{% test catalogue_of(model, rules, tolerance=0.001) %}
{{ config(severity=var('catalogue_arithmetic_severity', 'error')) }}

with

rules as (

    select form_code, whole_row_code, part_row_code
    from {{ rules }}
    where rule = 'of'

)

select
    parts.submission_id,
    parts.form_code,
    rules.whole_row_code,
    parts.row_code as part_row_code,
    parts.measure,
    wholes.value as whole_value,
    parts.value as part_value
from {{ model }} as parts
inner join rules
    on rules.form_code = parts.form_code
    and rules.part_row_code = parts.row_code
inner join {{ model }} as wholes
    on wholes.submission_id = parts.submission_id
    and wholes.measure = parts.measure
    and wholes.row_code = rules.whole_row_code
where parts.value > wholes.value + {{ tolerance }}

{% endtest %}
