{#- One wide row per (unit, form, period) of the 'social_protection' domain, from the latest accepted
    submissions, plus the poverty rates. Indicator columns come from raw.catalogue_indicators. -#}
with

pivoted as (

    {{ domain_mart('social_protection') | indent(4) }}

),

rated as (

    select
        pivoted.*,
        -- shares of households at the end of the period (stocks, measure period)
        cast(poor_households as {{ type_double() }})
            / nullif(cast(households as {{ type_double() }}), 0) as poverty_rate,
        cast(near_poor_households as {{ type_double() }})
            / nullif(cast(households as {{ type_double() }}), 0) as near_poverty_rate
    from pivoted

)

select * from rated
