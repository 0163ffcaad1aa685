with source as (

    select * from {{ source('powerschool', 'schools') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('school_number') }} as school_number,
        {{ ps_int('dcid') }} as school_dcid,
        -- text
        {{ ps_text('name') }} as school_name,
        -- flags
        {{ ps_flag('state_excludefromreporting', false) }} as is_state_excluded
    from source

)

select * from renamed
