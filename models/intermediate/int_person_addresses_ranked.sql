{#- One row per person with at least one address candidate on D: the best-ranked address
    with its four written fields and field warnings (report.md 5.3: address type preference,
    then AddressPriorityOrder, then most recently entered, then highest assoc ID). -#}
with address_associations as (

    select * from {{ ref('stg_powerschool__personaddressassoc') }}

),

addresses as (

    select * from {{ ref('stg_powerschool__personaddress') }}

),

codesets as (

    select * from {{ ref('stg_powerschool__codeset') }}

),

address_types as (

    select
        codeset_id,
        {{ code_key('code') }} as type_key
    from codesets
    where {{ code_key('code_type') }} = 'address'

),

state_codes as (

    select
        codeset_id,
        nullif({{ trim_code('code') }}, '') as state_code
    from codesets
    where {{ code_key('code_type') }} = 'state'

),

preference as (
    {{ code_list_values(address_type_rows()) }}
),

candidates as (

    select
        address_associations.person_address_assoc_id,
        address_associations.person_id,
        address_associations.person_address_id,
        preference.list_position,
        address_associations.address_priority_order,
        address_associations.created_at
    from address_associations
    inner join addresses
        on address_associations.person_address_id = addresses.person_address_id
    inner join address_types
        on address_associations.address_type_codeset_id = address_types.codeset_id
    inner join preference
        on address_types.type_key = preference.code_key
    where
        (address_associations.start_date is null or address_associations.start_date <= {{ as_of_date() }})
        and (address_associations.end_date is null or address_associations.end_date >= {{ as_of_date() }})

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_id
            order by
                list_position asc,
                address_priority_order asc nulls last,
                created_at desc nulls last,
                person_address_assoc_id desc
        ) as candidate_rank
    from candidates

),

best as (

    select
        ranked.person_id,
        ranked.person_address_assoc_id,
        nullif(concat_ws(' ', {{ clean('addresses.street') }}, {{ clean('addresses.unit') }}), '') as line_one,
        {{ clean('addresses.line_two') }} as line_two,
        {{ clean('addresses.city') }} as city_full,
        state_codes.state_code,
        {{ clean('addresses.postal_code') }} as postal_code
    from ranked
    inner join addresses
        on ranked.person_address_id = addresses.person_address_id
    left join state_codes
        on addresses.state_codeset_id = state_codes.codeset_id
    where ranked.candidate_rank = 1

),

assembled as (

    select
        *,
        case
            when line_one is not null and line_two is not null
                then line_one || {{ address_line_separator() }} || line_two
            else coalesce(line_one, line_two)
        end as address_full,
        case
            when state_code is null or {{ code_key('state_code') }} = 'not set' then 'blank'
            when {{ regex_match('state_code', '^[A-Za-z]{2}$') }} then 'code'
            else 'invalid'
        end as state_status,
        case
            when postal_code is null then 'blank'
            when {{ regex_match('postal_code', '^[0-9]{5}$') }} then 'kept'
            when {{ regex_match('postal_code', '^[0-9]{5}-[0-9]{4}$') }} then 'kept'
            when {{ regex_match('postal_code', '^[0-9]{9}$') }} then 'hyphenated'
            else 'invalid'
        end as zip_status
    from best

),

written as (

    select
        person_id,
        person_address_assoc_id,
        {{ cut('address_full', 64) }} as address,
        coalesce({{ dbt.length('address_full') }} > 64, false) as is_address_truncated,
        {{ cut('city_full', 64) }} as city,
        coalesce({{ dbt.length('city_full') }} > 64, false) as is_city_truncated,
        case when state_status = 'code' then {{ upper_ascii('state_code') }} end as state,
        state_status = 'invalid' as is_state_invalid,
        case
            when zip_status = 'kept' then postal_code
            when zip_status = 'hyphenated'
                then substr(postal_code, 1, 5) || '-' || substr(postal_code, 6, 4)
        end as zip_code,
        zip_status = 'invalid' as is_zip_invalid
    from assembled

)

select * from written
