{#- The commune layouts of the province, one seed each (ref_communes_<layout_id>: the communes and their district
    on a given day) with the period each was in force. A new layout is a new seed and a line here. -#}
{%- set layouts = [
    {'layout_id': '2024_11', 'valid_from': '2020-01-01', 'valid_to': '2024-12-31'},
    {'layout_id': '2025_03', 'valid_from': '2025-01-01', 'valid_to': '2025-06-30'},
] -%}

with

source as (
{% for layout in layouts %}
    select
        '{{ layout.layout_id }}' as layout_id,
        '{{ layout.valid_from }}' as valid_from,
        '{{ layout.valid_to }}' as valid_to,
        commune_code,
        district_code,
        commune_name,
        commune_type
    from {{ ref('ref_communes_' ~ layout.layout_id) }}
    {%- if not loop.last %}

    union all
{% endif %}
{%- endfor %}

),

renamed as (

    select
        -- ids
        cast(layout_id as {{ dbt.type_string() }}) as layout_id,
        cast(commune_code as {{ dbt.type_string() }}) as commune_code,
        cast(district_code as {{ dbt.type_string() }}) as unit_code,
        -- strings
        commune_name,
        commune_type,
        -- dates
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to

    from source

)

select * from renamed
