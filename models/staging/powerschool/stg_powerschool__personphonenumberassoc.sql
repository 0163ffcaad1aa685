with source as (

    select * from {{ source('powerschool', 'personphonenumberassoc') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('personphonenumberassocid') }} as person_phone_number_assoc_id,
        {{ ps_int('personid') }} as person_id,
        {{ ps_int('phonenumberid') }} as phone_number_id,
        {{ ps_int('phonetypecodesetid') }} as phone_type_codeset_id,
        {{ ps_int('phonenumberpriorityorder') }} as phone_number_priority_order,
        -- text
        {{ ps_text('phonenumberasentered') }} as phone_number_as_entered,
        -- timestamps
        {{ ps_timestamp('whencreated') }} as created_at,
        -- flags
        {{ ps_flag('ispreferred', false) }} as is_preferred
    from source

)

select * from renamed
