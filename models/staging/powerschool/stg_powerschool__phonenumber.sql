with source as (

    select * from {{ source('powerschool', 'phonenumber') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('phonenumberid') }} as phone_number_id,
        -- text
        {{ ps_text('phonenumber') }} as phone_number,
        {{ ps_text('phonenumberext') }} as phone_number_ext,
        -- flags
        {{ ps_flag('issms') }} as is_sms
    from source

)

select * from renamed
