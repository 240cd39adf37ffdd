{#-
    The catalogue's arithmetic as rows: one row per (form, rule, whole row, part row).
    rule 'sum_of': the whole equals the sum of its parts (forms.yaml sum_of, a comma-separated list);
    rule 'of': the part ("Trong đó", of which) never exceeds the whole (forms.yaml of).
    The list is unnested by matching ',<part>,' inside ',<sum_of>,', which every SQL dialect can do.
-#}
with

indicators as (

    select * from {{ ref('stg_catalogue__indicators') }}

),

sum_of_rules as (

    select
        wholes.form_code,
        'sum_of' as rule,
        wholes.row_code as whole_row_code,
        parts.row_code as part_row_code
    from indicators as wholes
    inner join indicators as parts
        on parts.form_code = wholes.form_code
        and {{ dbt.concat(["','", 'wholes.sum_of', "','"]) }}
            like {{ dbt.concat(["'%,'", 'parts.row_code', "',%'"]) }}
    where wholes.sum_of is not null

),

of_rules as (

    select
        form_code,
        'of' as rule,
        of_row_code as whole_row_code,
        row_code as part_row_code
    from indicators
    where of_row_code is not null

),

rules as (

    select * from sum_of_rules
    union all
    select * from of_rules

)

select
    {{ dbt.concat(['form_code', "'|'", 'rule', "'|'", 'whole_row_code', "'|'", 'part_row_code']) }} as rule_id,
    form_code,
    rule,
    whole_row_code,
    part_row_code
from rules
