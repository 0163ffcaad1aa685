{#- Typing of raw PowerSchool values (spec/input.md). Raw extract tables hold text; tables
    replicated into the warehouse may hold native types. Every macro first turns the value
    into text, so both work. Values reaching staging from `ctseds load` are already
    validated; a value that does not parse fails the build rather than becoming NULL. -#}

{#- The value as text. -#}
{% macro cast_text(column) -%}
    cast({{ column }} as {{ dbt.type_string() }})
{%- endmacro %}

{#- Text with spaces at both ends removed; empty is NULL. -#}
{% macro _typed_text(column) -%}
    nullif(trim(both ' ' from cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- A value that does not parse: an expression of the column's type that fails the query for
    this row only (it depends on the value, so no engine folds it at plan time). The error
    names the expected type, never the value. -#}
{% macro _invalid(text_expr, kind, sql_type) -%}
    cast(substr({{ text_expr }}, 1, 0) || 'ctseds: not a valid {{ kind }}' as {{ sql_type }})
{%- endmacro %}

{#- Text columns: kept as they are; an empty value is NULL. -#}
{% macro ps_text(column) -%}
    nullif(cast({{ column }} as {{ dbt.type_string() }}), '')
{%- endmacro %}

{#- Integers and IDs: digits, optionally followed by '.0' (spreadsheet damage); anything
    else (a sign, other decimals: '0.6' would round on DuckDB) fails the build. -#}
{% macro ps_int(column) -%}
    {%- set raw = cast_text(column) -%}
    {%- set t = _typed_text(column) -%}
    {%- set digits -%}
        case when {{ t }} like '%.0' then substr({{ t }}, 1, {{ dbt.length(t) }} - 2) else {{ t }} end
    {%- endset -%}
    {#- The usual spelling (digits only) first: one regular expression, no trimming. -#}
    case
        when {{ regex_match(raw, '^[0-9]+$') }} then cast({{ raw }} as {{ dbt.type_bigint() }})
        when translate({{ digits }}, '0123456789', '') = ''
            then cast({{ digits }} as {{ dbt.type_bigint() }})
        else {{ _invalid(t, 'integer', dbt.type_bigint()) }}
    end
{%- endmacro %}

{#- Dates: YYYY-MM-DD (a native date or timestamp reads the same) or M/D/YYYY. -#}
{% macro ps_date(column) -%}
    {%- set t = _typed_text(column) -%}
    case
        when {{ t }} like '%/%'
            then make_date(
                cast(split_part({{ t }}, '/', 3) as integer),
                cast(split_part({{ t }}, '/', 1) as integer),
                cast(split_part({{ t }}, '/', 2) as integer)
            )
        when {{ t }} like '____-__-__%' then cast(substr({{ t }}, 1, 10) as date)
        else {{ _invalid(t, 'date', 'date') }}
    end
{%- endmacro %}

{#- Timestamps (naive): YYYY-MM-DD HH:MM[:SS[.f]] with a space or T, or
    M/D/YYYY H:MM[:SS] with an optional AM/PM. On PostgreSQL a native timestamptz reads
    as UTC text (staging models set the session time zone to UTC) and its offset is dropped. -#}
{% macro ps_timestamp(column) -%}
    {%- set t = _typed_text(column) -%}
    {%- set clock = "split_part(" ~ t ~ ", ' ', 2)" -%}
    {%- set meridiem = upper_ascii("split_part(" ~ t ~ ", ' ', 3)") -%}
    {%- set hour = "cast(split_part(" ~ clock ~ ", ':', 1) as integer)" -%}
    case
        when {{ t }} like '%/%'
            then make_timestamp(
                cast(split_part(split_part({{ t }}, ' ', 1), '/', 3) as integer),
                cast(split_part(split_part({{ t }}, ' ', 1), '/', 1) as integer),
                cast(split_part(split_part({{ t }}, ' ', 1), '/', 2) as integer),
                case
                    when {{ meridiem }} = 'PM' and {{ hour }} < 12 then {{ hour }} + 12
                    when {{ meridiem }} = 'AM' and {{ hour }} = 12 then 0
                    else {{ hour }}
                end,
                cast(split_part({{ clock }}, ':', 2) as integer),
                cast(coalesce(nullif(split_part({{ clock }}, ':', 3), ''), '0') as double precision)
            )
        when {{ t }} like '____-__-__%' then cast(
            regexp_replace(
                replace({{ t }}, 'T', ' '),
                '(:[0-9]{2}([.][0-9]+)?)([+-][0-9]{2}(:?[0-9]{2})?|Z)$',
                '\1'
            )
            as timestamp
        )
        else {{ _invalid(t, 'timestamp', 'timestamp') }}
    end
{%- endmacro %}

{#- Flags: 1/0, true/false, y/n in any case; `default` replaces NULL where input.md says so. -#}
{% macro ps_flag(column, default=none) -%}
    {%- set raw = cast_text(column) -%}
    {%- set t = lower_ascii(_typed_text(column)) -%}
    {#- The usual spellings 1 and 0 first: lower-casing every value is slow at scale. -#}
    {%- set parsed -%}
        case
            when {{ raw }} = '1' then true
            when {{ raw }} = '0' then false
            when {{ t }} in ('1', 'true', 'y') then true
            when {{ t }} in ('0', 'false', 'n') then false
            else {{ _invalid(t, 'flag', 'boolean') }}
        end
    {%- endset -%}
    {%- if default is none -%}
        {{ parsed }}
    {%- else -%}
        coalesce({{ parsed }}, {{ 'true' if default else 'false' }})
    {%- endif -%}
{%- endmacro %}

{#- Staging pre-hook: read timestamptz columns as UTC (input.md), whatever the time zone of
    the machine (DuckDB) or the database session (PostgreSQL). -#}
{% macro staging_session_setup() -%}
    {{ return(adapter.dispatch('staging_session_setup', 'ctseds')()) }}
{%- endmacro %}

{% macro default__staging_session_setup() -%}
    set time zone 'UTC'
{%- endmacro %}

{% macro duckdb__staging_session_setup() -%}
    set TimeZone = 'UTC'
{%- endmacro %}
