with source as (

    select * from {{ source('powerschool', 'emailaddress') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('emailaddressid') }} as email_address_id,
        -- text
        {{ ps_text('emailaddress') }} as email_address
    from source

)

select * from renamed
