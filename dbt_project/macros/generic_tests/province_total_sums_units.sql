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
            {%- for suffix, column in indicator_measure_suffixes() %},
        sum({{ ind.indicator_name }}{{ suffix }}) as {{ ind.indicator_name }}{{ suffix }}
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
    {%- for suffix, column in indicator_measure_suffixes() %}
    or coalesce(abs(province.{{ ind.indicator_name }}{{ suffix }} - units.{{ ind.indicator_name }}{{ suffix }}), 0)
        > {{ tolerance }}
    or (province.{{ ind.indicator_name }}{{ suffix }} is null) <> (units.{{ ind.indicator_name }}{{ suffix }} is null)
    {%- endfor %}
    {%- if ind.kind != 'stock' %}
    or coalesce(abs(province.{{ ind.indicator_name }}_pct_of_plan
        - cast(units.{{ ind.indicator_name }}_ytd as {{ type_double() }})
            / nullif(cast(units.{{ ind.indicator_name }}_plan as {{ type_double() }}), 0)), 0) > {{ tolerance }}
    {%- endif %}
{%- endfor %}

{% endtest %}
