{#- The CT-SEDS Student Contacts file: one row per reported (student, contact) pair with no
    school or student selection, columns of report.md section 5 in order, then the keys
    the exporter uses to select and order rows (section 5.4). -#}
with pairs as (

    select * from {{ ref('int_student_contacts_evaluated') }}
    where exclusion_reason is null

),

phones as (

    select * from {{ ref('int_person_phones_ranked') }}

),

emails as (

    select * from {{ ref('int_person_emails_ranked') }}

),

addresses as (

    select * from {{ ref('int_person_addresses_ranked') }}

),

joined as (

    select
        pairs.parent_name,
        pairs.parent_type,
        pairs.student_code,
        emails.email,
        addresses.address,
        addresses.city,
        addresses.state,
        addresses.zip_code,
        home_phones.phone_value as home_phone,
        work_phones.phone_value as work_phone,
        mobile_phones.phone_value as mobile_cell_phone,
        case when pairs.lives_with then 'Y' end as student_lives_here,
        pairs.student_dcid,
        pairs.person_id,
        pairs.student_contact_assoc_id,
        pairs.contact_priority_order
    from pairs
    left join emails
        on pairs.person_id = emails.person_id
    left join addresses
        on pairs.person_id = addresses.person_id
    left join phones as home_phones
        on pairs.person_id = home_phones.person_id and home_phones.phone_column = 'home'
    left join phones as work_phones
        on pairs.person_id = work_phones.person_id and work_phones.phone_column = 'work'
    left join phones as mobile_phones
        on pairs.person_id = mobile_phones.person_id and mobile_phones.phone_column = 'mobile'

),

final as (

    select
        cast(parent_name as varchar(128)) as parent_name,
        cast(parent_type as varchar(5)) as parent_type,
        cast(student_code as varchar(10)) as student_code,
        cast(email as varchar(64)) as email,
        cast(address as varchar(64)) as address,
        cast(city as varchar(64)) as city,
        cast(state as varchar(2)) as state,
        cast(zip_code as varchar(10)) as zip_code,
        cast(home_phone as varchar(32)) as home_phone,
        cast(work_phone as varchar(32)) as work_phone,
        cast(mobile_cell_phone as varchar(32)) as mobile_cell_phone,
        cast(null as varchar(2)) as language,
        cast(student_lives_here as varchar(1)) as student_lives_here,
        cast(null as varchar(1)) as can_receive_parent_portal_notifications,
        cast(student_dcid as {{ dbt.type_bigint() }}) as student_dcid,
        cast(person_id as {{ dbt.type_bigint() }}) as person_id,
        cast(student_contact_assoc_id as {{ dbt.type_bigint() }}) as student_contact_assoc_id,
        cast(
            row_number() over (
                order by
                    {{ collate_c('student_code') }},
                    contact_priority_order asc nulls last,
                    {{ collate_c('parent_name') }},
                    person_id,
                    student_dcid
            ) as {{ dbt.type_bigint() }}
        ) as export_order
    from joined

)

select * from final
