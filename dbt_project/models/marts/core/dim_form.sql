with

forms as (

    select * from {{ ref('stg_catalogue__forms') }}

),

indicators as (

    select
        form_code,
        count(*) as n_indicators
    from {{ ref('stg_catalogue__indicators') }}
    group by form_code

),

final as (

    select
        -- ids
        forms.form_code as form_id,
        forms.form_code,
        -- strings
        forms.domain,
        forms.title_vi,
        forms.title_en,
        forms.frequency,
        forms.period_type,
        -- numerics
        forms.due_day,
        coalesce(indicators.n_indicators, 0) as n_indicators,
        forms.catalogue_version
    from forms
    left join indicators
        on indicators.form_code = forms.form_code

)

select * from final
