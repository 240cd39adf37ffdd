{#-
    province_total_sums_units(model, domain): in a domain mart, the province total row (is_province_total) of each
    (form, period) equals the sum over the unit rows of every indicator measure (flows and amounts over units,
    stocks over units at the same period), and counts the unit rows; its % of plan is recomputed from the summed
    ytd and plan, never the mean of the units' percentages. The columns come from the catalogue, as the mart's do.
-#}
{% test province_total_sums_units(model, domain, tolerance=0.001) %}
{%- set indicators = catalogue_indicators_for_domain(domain) -%}

with

units as (

    select
        form_code,
        period_id,
        count(*) as n_units_reporting
        {%- for ind in indicators %}
            {%- for measure in indicator_measures(ind) %},
        sum({{ measure.name }}) as {{ measure.name }}
            {%- endfor %}
        {%- endfor %}
    from {{ model }}
    where not is_province_total
    group by form_code, period_id

),

province as (

    select * from {{ model }}
    where is_province_total

)

select
    province.form_code,
    province.period_id
from province
left join units
    on units.form_code = province.form_code
    and units.period_id = province.period_id
where units.form_code is null
    or province.n_units_reporting <> units.n_units_reporting
{%- for ind in indicators %}
    {%- for measure in indicator_measures(ind) %}
    or coalesce(abs(province.{{ measure.name }} - units.{{ measure.name }}), 0)
        > {{ tolerance }}
    or (province.{{ measure.name }} is null) <> (units.{{ measure.name }} is null)
    {%- endfor %}
    {%- if ind.kind != 'stock' %}
        {%- set ytd = indicator_measure_name(ind, 'value_ytd') %}
        {%- set plan = indicator_measure_name(ind, 'plan_year') %}
    or coalesce(abs(province.{{ ind.indicator_name }}_pct_of_plan
        - cast(units.{{ ytd }} as {{ type_double() }})
            / nullif(cast(units.{{ plan }} as {{ type_double() }}), 0)), 0) > {{ tolerance }}
    {%- endif %}
{%- endfor %}

{% endtest %}
