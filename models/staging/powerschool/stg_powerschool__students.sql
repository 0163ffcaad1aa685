with source as (

    select * from {{ source('powerschool', 'students') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('id') }} as student_id,
        {{ ps_int('dcid') }} as student_dcid,
        {{ ps_int('student_number') }} as student_number,
        {{ ps_int('schoolid') }} as school_number,
        {{ ps_int('person_id') }} as person_id,
        -- text
        {{ ps_text('state_studentnumber') }} as state_student_number,
        {{ ps_text('enroll_status') }} as enroll_status,
        {{ ps_text('first_name') }} as first_name,
        {{ ps_text('last_name') }} as last_name,
        -- dates
        {{ ps_date('entrydate') }} as entry_date,
        {{ ps_date('exitdate') }} as exit_date,
        -- flags
        {{ ps_flag('state_excludefromreporting', false) }} as is_state_excluded
    from source

)

select * from renamed
