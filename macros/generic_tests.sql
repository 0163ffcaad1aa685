{#- Generic tests of our own (no dbt hub packages here). -#}

{#- No two rows share a code once trimmed and ASCII-lower-cased (how codes are compared). -#}
{% test unique_code(model, column_name) %}
    select {{ code_key(column_name) }} as code_key, count(*) as occurrences
    from {{ model }}
    group by {{ code_key(column_name) }}
    having count(*) > 1
{% endtest %}

{#- Every value, compared as a code, exists in `field` of `to`. -#}
{% test code_in(model, column_name, to, field) %}
    select model_rows.{{ column_name }}
    from {{ model }} as model_rows
    where not exists (
        select 1
        from {{ to }} as allowed
        where {{ code_key('allowed.' ~ field) }} = {{ code_key('model_rows.' ~ column_name) }}
    )
{% endtest %}

{#- No value longer than `length` characters. -#}
{% test max_length(model, column_name, length) %}
    select {{ column_name }}
    from {{ model }}
    where {{ dbt.length(column_name) }} > {{ length }}
{% endtest %}

{#- The combination of `columns` is unique (NULLs compare equal). -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{#- Values of `column_name` are one of `values` (NULL allowed unless not_null is tested). -#}
{% test one_of(model, column_name, values) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and {{ column_name }} not in ({% for v in values %}'{{ v }}'{% if not loop.last %}, {% endif %}{% endfor %})
{% endtest %}
