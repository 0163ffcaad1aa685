with source as (

    select * from {{ source('powerschool', 'codeset') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('codesetid') }} as codeset_id,
        -- text
        {{ ps_text('codetype') }} as code_type,
        {{ ps_text('code') }} as code,
        {{ ps_text('displayvalue') }} as display_value,
        {{ ps_text('reportedvalue') }} as reported_value,
        {{ ps_text('description') }} as description
    from source

)

select * from renamed
