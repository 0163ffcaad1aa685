{#- One row per person with at least one email candidate: the best-ranked valid email and
    whether the best-ranked candidate was invalid (report.md 5.2: most recently entered,
    a missing entry time oldest, then highest assoc ID). -#}
with email_associations as (

    select * from {{ ref('stg_powerschool__personemailaddressassoc') }}

),

email_addresses as (

    select * from {{ ref('stg_powerschool__emailaddress') }}

),

candidates as (

    select
        email_associations.person_email_address_assoc_id,
        email_associations.person_id,
        email_associations.created_at,
        {{ clean('email_addresses.email_address') }} as email_value
    from email_associations
    inner join email_addresses
        on email_associations.email_address_id = email_addresses.email_address_id

),

validated as (

    select
        *,
        (
            {{ regex_match('email_value', '^[^@ ]+@[^@ ]+[.][^@ ]+$') }}
            and {{ dbt.length('email_value') }} <= 64
        ) as is_valid
    from candidates
    where email_value is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_id
            order by created_at desc nulls last, person_email_address_assoc_id desc
        ) as candidate_rank,
        row_number() over (
            partition by person_id, is_valid
            order by created_at desc nulls last, person_email_address_assoc_id desc
        ) as rank_among_same_validity
    from validated

),

chosen as (

    select
        person_id,
        max(case when is_valid and rank_among_same_validity = 1 then email_value end) as email,
        bool_or(candidate_rank = 1 and not is_valid) as is_best_invalid,
        -- named in the email_invalid warning, so that staff find the address to fix
        max(case when candidate_rank = 1 then email_value end) as best_candidate_value,
        count(*) as candidates
    from ranked
    group by person_id

)

select * from chosen
