{#- Report date D and configuration vars (report.md sections 0, 1 and 5). -#}

{#- D as a SQL date literal. The CLI and the flow always pass `as_of`; a direct dbt run
    without it uses the machine's local date. A malformed value stops the compile. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of', none) -%}
    {%- if value is none or value == '' -%}
        {%- set value = modules.datetime.date.today().isoformat() -%}
    {%- endif -%}
    {%- set value = value | string -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error("var as_of must be a date YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{% macro as_of_string() -%}
    {%- set value = var('as_of', none) -%}
    {%- if value is none or value == '' -%}
        {%- set value = modules.datetime.date.today().isoformat() -%}
    {%- endif -%}
    {{- return(value | string) -}}
{%- endmacro %}

{#- A list var as rows (name, code_key, position): used to match codes against a list. -#}
{% macro code_list_values(rows) -%}
    {%- for row in rows %}
    select
        cast('{{ row[0] }}' as {{ dbt.type_string() }}) as list_name,
        {{ code_key("'" ~ (row[1] | replace("'", "''")) ~ "'") }} as code_key,
        {{ row[2] }} as list_position
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor %}
{%- endmacro %}

{#- The three phone columns and their type lists (vars home/work/mobile_phone_types). -#}
{% macro phone_type_rows() -%}
    {%- set rows = [] -%}
    {%- for column, var_name in [('home', 'home_phone_types'), ('work', 'work_phone_types'), ('mobile', 'mobile_phone_types')] -%}
        {%- for code in var(var_name) -%}
            {%- do rows.append((column, code | trim, loop.index)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(rows) -}}
{%- endmacro %}

{% macro address_type_rows() -%}
    {%- set rows = [] -%}
    {%- for code in var('address_type_preference') -%}
        {%- do rows.append(('address', code | trim, loop.index)) -%}
    {%- endfor -%}
    {{- return(rows) -}}
{%- endmacro %}

{#- The address line separator as a SQL string literal (default a single LF). -#}
{% macro address_line_separator() -%}
    '{{ var('address_line_separator') | replace("'", "''") }}'
{%- endmacro %}
