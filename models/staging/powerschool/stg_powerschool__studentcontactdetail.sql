with source as (

    select * from {{ source('powerschool', 'studentcontactdetail') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('studentcontactdetailid') }} as student_contact_detail_id,
        {{ ps_int('studentcontactassocid') }} as student_contact_assoc_id,
        {{ ps_int('relationshiptypecodesetid') }} as relationship_type_codeset_id,
        -- dates
        {{ ps_date('startdate') }} as start_date,
        {{ ps_date('enddate') }} as end_date,
        -- flags
        {{ ps_flag('iscustodial') }} as is_custodial,
        {{ ps_flag('liveswithflg') }} as lives_with,
        {{ ps_flag('isactive', false) }} as is_active,
        {{ ps_flag('excludefromstatereportingflg', false) }} as is_state_excluded,
        {{ ps_flag('isemergency') }} as is_emergency,
        {{ ps_flag('receivesmailflg') }} as receives_mail,
        {{ ps_flag('schoolpickupflg') }} as school_pickup
    from source

)

select * from renamed
