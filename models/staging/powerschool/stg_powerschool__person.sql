with source as (

    select * from {{ source('powerschool', 'person') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('id') }} as person_id,
        {{ ps_int('dcid') }} as person_dcid,
        -- text
        {{ ps_text('firstname') }} as first_name,
        {{ ps_text('lastname') }} as last_name,
        {{ ps_text('middlename') }} as middle_name,
        -- flags
        {{ ps_flag('isactive', true) }} as is_active,
        {{ ps_flag('excludefromstatereporting', false) }} as is_state_excluded
    from source

)

select * from renamed
