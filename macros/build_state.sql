{#- Build state: which report date the marts were last built for, written only when a
    build of the marts succeeded, so `ctseds export` never writes a file mixing dates. -#}

{#- Fully qualified: a DuckDB file named like the schema (ctseds.duckdb) makes a bare
    schema name ambiguous. -#}
{% macro _build_state_relation() -%}
    {{ api.Relation.create(database=target.database, schema=target.schema, identifier='ctseds_build_state') }}
{%- endmacro %}

{% macro _builds_marts() -%}
    {%- set marts = ['model.ctseds.ct_seds_student_contacts', 'model.ctseds.ct_seds_student_contacts_exceptions'] -%}
    {%- set ns = namespace(hit=false) -%}
    {%- for node in selected_resources -%}
        {%- if node in marts -%}{%- set ns.hit = true -%}{%- endif -%}
    {%- endfor -%}
    {{- return(ns.hit and flags.WHICH in ['build', 'run']) -}}
{%- endmacro %}

{% macro ctseds_build_state_start() -%}
    {%- if execute and _builds_marts() -%}
        {%- do adapter.create_schema(api.Relation.create(database=target.database, schema=target.schema)) %}
        create table if not exists {{ _build_state_relation() }} (
            as_of varchar(10), finished_at varchar(40), invocation_id varchar(64)
        );
        delete from {{ _build_state_relation() }};
        {{ _build_state_commit() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro ctseds_build_state_end(results) -%}
    {%- if execute and _builds_marts() -%}
        {%- set ns = namespace(ok=true, marts=0) -%}
        {%- for res in results -%}
            {%- if res.status in ['error', 'fail', 'runtime error', 'skipped'] -%}
                {%- set ns.ok = false -%}
            {%- endif -%}
            {%- if res.node.unique_id in ['model.ctseds.ct_seds_student_contacts', 'model.ctseds.ct_seds_student_contacts_exceptions'] and res.status == 'success' -%}
                {%- set ns.marts = ns.marts + 1 -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if ns.ok and ns.marts == 2 -%}
            delete from {{ _build_state_relation() }};
            insert into {{ _build_state_relation() }} (as_of, finished_at, invocation_id)
            values ('{{ as_of_string() }}', '{{ modules.datetime.datetime.now().isoformat() }}', '{{ invocation_id }}');
            {{ _build_state_commit() }}
        {%- else -%}
            select 1
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro _build_state_commit() -%}
    {{ return(adapter.dispatch('_build_state_commit', 'ctseds')()) }}
{%- endmacro %}

{% macro default___build_state_commit() -%}
    commit;
{%- endmacro %}

{% macro duckdb___build_state_commit() -%}
{%- endmacro %}
