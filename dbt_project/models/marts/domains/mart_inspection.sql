{#- One wide row per (unit, form, period) of the 'inspection' domain, from the latest accepted submissions.
    The indicator columns come from raw.catalogue_indicators (see macros/domain_marts.sql). -#}
{{ domain_mart('inspection') }}
