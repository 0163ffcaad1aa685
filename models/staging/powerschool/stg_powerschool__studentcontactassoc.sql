with source as (

    select * from {{ source('powerschool', 'studentcontactassoc') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('studentcontactassocid') }} as student_contact_assoc_id,
        {{ ps_int('studentdcid') }} as student_dcid,
        {{ ps_int('personid') }} as person_id,
        {{ ps_int('contactpriorityorder') }} as contact_priority_order,
        {{ ps_int('currreltypecodesetid') }} as current_relationship_type_codeset_id
    from source

)

select * from renamed
