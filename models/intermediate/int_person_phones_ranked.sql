{#- One row per person and phone column (home, work, mobile) with at least one candidate:
    the best-ranked valid value and whether the best-ranked candidate was invalid
    (report.md 5.1: preferred first, then most recently entered, then highest assoc ID). -#}
with phone_associations as (

    select * from {{ ref('stg_powerschool__personphonenumberassoc') }}

),

phone_numbers as (

    select * from {{ ref('stg_powerschool__phonenumber') }}

),

codesets as (

    select * from {{ ref('stg_powerschool__codeset') }}

),

phone_types as (

    select
        codeset_id,
        {{ code_key('code') }} as type_key
    from codesets
    where {{ code_key('code_type') }} = 'phone'

),

phone_columns as (
    {{ code_list_values(phone_type_rows()) }}
),

candidates as (

    select
        phone_associations.person_phone_number_assoc_id,
        phone_associations.person_id,
        phone_columns.list_name as phone_column,
        phone_associations.is_preferred,
        phone_associations.created_at,
        coalesce(
            {{ clean('phone_associations.phone_number_as_entered') }},
            case
                when {{ digits_of('phone_numbers.phone_number') }} <> ''
                    then
                        {{ digits_of('phone_numbers.phone_number') }}
                        || coalesce(' x' || {{ clean('phone_numbers.phone_number_ext') }}, '')
            end
        ) as phone_value
    from phone_associations
    inner join phone_types
        on phone_associations.phone_type_codeset_id = phone_types.codeset_id
    inner join phone_columns
        on phone_types.type_key = phone_columns.code_key
    left join phone_numbers
        on phone_associations.phone_number_id = phone_numbers.phone_number_id

),

validated as (

    select
        *,
        (
            {{ dbt.length(digits_of('phone_value')) }} >= 7
            and {{ dbt.length('phone_value') }} <= 32
        ) as is_valid
    from candidates
    where phone_value is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_id, phone_column
            order by
                case when is_preferred then 0 else 1 end,
                created_at desc nulls last,
                person_phone_number_assoc_id desc
        ) as candidate_rank,
        row_number() over (
            partition by person_id, phone_column, is_valid
            order by
                case when is_preferred then 0 else 1 end,
                created_at desc nulls last,
                person_phone_number_assoc_id desc
        ) as rank_among_same_validity
    from validated

),

chosen as (

    select
        person_id,
        phone_column,
        max(
            case when is_valid and rank_among_same_validity = 1 then phone_value end
        ) as phone_value,
        bool_or(candidate_rank = 1 and not is_valid) as is_best_invalid,
        -- named in the phone_invalid warning, so that staff find the number to fix
        max(case when candidate_rank = 1 then phone_value end) as best_candidate_value,
        count(*) as candidates
    from ranked
    group by person_id, phone_column

)

select * from chosen
