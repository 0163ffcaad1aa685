with source as (

    select * from {{ source('powerschool', 'personaddress') }}

),

renamed as (

    select
        -- ids and numbers
        {{ ps_int('personaddressid') }} as person_address_id,
        {{ ps_int('statescodesetid') }} as state_codeset_id,
        {{ ps_int('countrycodesetid') }} as country_codeset_id,
        -- text
        {{ ps_text('street') }} as street,
        {{ ps_text('city') }} as city,
        {{ ps_text('postalcode') }} as postal_code,
        {{ ps_text('linetwo') }} as line_two,
        {{ ps_text('unit') }} as unit
    from source

)

select * from renamed
