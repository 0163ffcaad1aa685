with source as (

    select * from {{ source('powerschool', 'personaddressassoc') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('personaddressassocid') }} as person_address_assoc_id,
        {{ ps_int('personid') }} as person_id,
        {{ ps_int('personaddressid') }} as person_address_id,
        {{ ps_int('addresstypecodesetid') }} as address_type_codeset_id,
        {{ ps_int('addresspriorityorder') }} as address_priority_order,
        -- dates
        {{ ps_date('startdate') }} as start_date,
        {{ ps_date('enddate') }} as end_date,
        -- timestamps
        {{ ps_timestamp('whencreated') }} as created_at
    from source

)

select * from renamed
