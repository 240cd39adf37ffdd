{#- Fails for every row where the boolean SQL `expression` is not true (use `config: where:` to restrict rows).
    Works on a model or on a column (the column name is then only used for the test name). -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
