with source as (

    select * from {{ source('powerschool', 'reenrollments') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('studentid') }} as student_id,
        {{ ps_int('schoolid') }} as school_number,
        {{ ps_int('dcid') }} as reenrollment_dcid,
        {{ ps_int('id') }} as reenrollment_id,
        -- dates
        {{ ps_date('entrydate') }} as entry_date,
        {{ ps_date('exitdate') }} as exit_date
    from source

)

select * from renamed
