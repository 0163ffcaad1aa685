with source as (

    select * from {{ source('powerschool', 'personemailaddressassoc') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('personemailaddressassocid') }} as person_email_address_assoc_id,
        {{ ps_int('personid') }} as person_id,
        {{ ps_int('emailaddressid') }} as email_address_id,
        {{ ps_int('emailtypecodesetid') }} as email_type_codeset_id,
        {{ ps_int('emailaddresspriorityorder') }} as email_address_priority_order,
        -- timestamps
        {{ ps_timestamp('whencreated') }} as created_at,
        -- flags
        {{ ps_flag('isprimaryemailaddress') }} as is_primary_email_address
    from source

)

select * from renamed
