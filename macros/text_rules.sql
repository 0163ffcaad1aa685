{#- Text rules of report.md section 0, written once and used by every model.
    Only `regex_match` and `collate_c` differ between engines (dispatched). -#}

{#- clean(x): CR, LF and TAB become spaces, runs of spaces collapse to one, spaces at both
    ends go; an empty result is NULL. No other character is touched (a no-break space stays). -#}
{% macro clean(expr) -%}
    nullif(trim(both ' ' from regexp_replace(translate(cast({{ expr }} as {{ dbt.type_string() }}), chr(13) || chr(10) || chr(9), '   '), ' {2,}', ' ', 'g')), '')
{%- endmacro %}

{#- trim(x): spaces, TABs, CRs and LFs removed at both ends only (used for codes). -#}
{% macro trim_code(expr) -%}
    trim(both ' ' || chr(9) || chr(13) || chr(10) from cast({{ expr }} as {{ dbt.type_string() }}))
{%- endmacro %}

{#- ASCII-only lower case (never locale or Unicode case rules). -#}
{% macro lower_ascii(expr) -%}
    translate({{ expr }}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
{%- endmacro %}

{% macro upper_ascii(expr) -%}
    translate({{ expr }}, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')
{%- endmacro %}

{#- A code as compared: trimmed, ASCII letters lower-cased; empty is NULL. -#}
{% macro code_key(expr) -%}
    nullif({{ lower_ascii(trim_code(expr)) }}, '')
{%- endmacro %}

{#- The ASCII digits of a value, in order ('' when there are none). -#}
{% macro digits_of(expr) -%}
    regexp_replace(cast({{ expr }} as {{ dbt.type_string() }}), '[^0-9]', '', 'g')
{%- endmacro %}

{#- Cut to at most n characters (Unicode code points on both engines). -#}
{% macro cut(expr, n) -%}
    substr({{ expr }}, 1, {{ n }})
{%- endmacro %}

{#- True when the whole value matches a POSIX pattern (anchor patterns with ^ and $). -#}
{% macro regex_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_match', 'ctseds')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_match(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_match(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Code-point ordering for text sort keys (PostgreSQL would use the database locale). -#}
{% macro collate_c(expr) -%}
    {{ return(adapter.dispatch('collate_c', 'ctseds')(expr)) }}
{%- endmacro %}

{% macro default__collate_c(expr) -%}
    ({{ expr }}) collate "C"
{%- endmacro %}

{% macro duckdb__collate_c(expr) -%}
    ({{ expr }})
{%- endmacro %}
