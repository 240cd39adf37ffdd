{#-
    The catalogue's arithmetic (forms.yaml `sum_of` and `of`) as tests over an indicator-value model
    (one row per submission_id, row_code, measure, value). The rules come from `rules`, a model with one row per
    (form_code, rule, whole_row_code, part_row_code), i.e. int_indicator_rules_unnested: nothing is hard-coded.
    Severity follows the `catalogue_arithmetic_severity` var (error by default).
-#}

{#- catalogue_rule_values(model, rules, rule): the two CTEs both tests start from, for one rule kind
    (`sum_of` or `of`):
    - rules: the (form_code, whole_row_code, part_row_code) of that kind;
    - rule_values: one row per (submission, measure, whole, part) whose whole has a row in `model`: the whole's
      value beside the part's (null when the part has no row or no value). -#}
{% macro catalogue_rule_values(model, rules, rule) -%}
rules as (

    select form_code, whole_row_code, part_row_code
    from {{ rules }}
    where rule = '{{ rule }}'

),

rule_values as (

    select
        wholes.submission_id,
        wholes.form_code,
        wholes.row_code as whole_row_code,
        rules.part_row_code,
        wholes.measure,
        wholes.value as whole_value,
        parts.value as part_value
    from {{ model }} as wholes
    inner join rules
        on rules.form_code = wholes.form_code
        and rules.whole_row_code = wholes.row_code
    left join {{ model }} as parts
        on parts.submission_id = wholes.submission_id
        and parts.measure = wholes.measure
        and parts.row_code = rules.part_row_code

)
{%- endmacro %}

{#- sum_of: a total equals the sum of its parts, in every measure, for every submission (parts present). -#}
{% test catalogue_sum_of(model, rules, tolerance=0.001) %}
{{ config(severity=var('catalogue_arithmetic_severity', 'error')) }}

with

{{ catalogue_rule_values(model, rules, 'sum_of') }},

compared as (

    -- one row per total (submission, total row, measure): its value beside the sum of its parts' values
    select
        submission_id,
        form_code,
        whole_row_code as row_code,
        measure,
        whole_value as total_value,
        sum(part_value) as parts_value,
        count(part_value) as n_parts
    from rule_values
    where whole_value is not null
    group by
        submission_id,
        form_code,
        whole_row_code,
        measure,
        whole_value

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

{{ catalogue_rule_values(model, rules, 'of') }}

select
    submission_id,
    form_code,
    whole_row_code,
    part_row_code,
    measure,
    whole_value,
    part_value
from rule_values
where part_value > whole_value + {{ tolerance }}

{% endtest %}
