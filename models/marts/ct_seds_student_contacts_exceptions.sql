{#- One row per exception with no school or student selection (report.md section 6): every
    student and pair left out of the export with its reason, every field warning of an
    exported row, and every reportable student with no exported row. -#}
with students as (

    select * from {{ ref('int_students_assessed') }}

),

pairs as (

    select * from {{ ref('int_student_contacts_evaluated') }}

),

exported as (

    select * from {{ ref('ct_seds_student_contacts') }}

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

student_exclusions as (

    select
        student_code,
        cast(student_number as {{ dbt.type_string() }}) as student_number,
        lowest_school_number as school_number,
        cast(null as {{ dbt.type_bigint() }}) as contact_id,
        cast(null as {{ dbt.type_string() }}) as parent_name,
        'excluded' as severity,
        exclusion_reason as reason,
        case exclusion_reason
            when 'student_excluded' then 'Student is excluded from state reporting.'
            when 'school_excluded'
                then 'Every enrollment covering the report date is at a school excluded from state reporting.'
            when 'missing_sasid' then 'State_StudentNumber is blank.'
            when 'invalid_sasid' then 'State_StudentNumber is not 10 digits.'
        end as detail,
        student_dcid,
        cast(null as {{ dbt.type_bigint() }}) as student_contact_assoc_id
    from students
    where exclusion_reason is not null

),

pair_exclusions as (

    select
        student_code,
        cast(student_number as {{ dbt.type_string() }}) as student_number,
        lowest_reportable_school_number as school_number,
        person_id as contact_id,
        parent_name,
        'excluded' as severity,
        exclusion_reason as reason,
        case exclusion_reason
            when 'contact_missing' then 'No Person row for this PersonID.'
            when 'contact_is_student' then 'The contact is the student''s own Person row.'
            when 'no_current_relationship' then 'No StudentContactDetail row covers the report date.'
            when 'relationship_excluded' then 'The relationship is excluded from state reporting.'
            when 'contact_excluded' then 'The contact is excluded from state reporting.'
            when 'contact_inactive' then 'The contact is inactive.'
            when 'no_relationship_type' then 'The relationship has no Relationship code.'
            when 'unmapped_relationship' then 'The relationship does not map to a valid Parent Type.'
            when 'no_custody' then 'The contact does not have custody.'
            when 'contact_has_no_name' then 'The contact has no first or last name.'
            when 'duplicate_association'
                then 'The same contact is linked to this student more than once; another link is reported.'
        end as detail,
        student_dcid,
        student_contact_assoc_id
    from pairs
    where exclusion_reason is not null

),

exported_pairs as (

    select
        exported.student_dcid,
        exported.student_contact_assoc_id,
        exported.person_id,
        exported.parent_name,
        pairs.student_code,
        pairs.student_number,
        pairs.lowest_reportable_school_number,
        pairs.is_name_truncated,
        home_phones.is_best_invalid as is_home_phone_invalid,
        work_phones.is_best_invalid as is_work_phone_invalid,
        mobile_phones.is_best_invalid as is_mobile_phone_invalid,
        emails.is_best_invalid as is_email_invalid,
        home_phones.best_candidate_value as home_phone_candidate,
        work_phones.best_candidate_value as work_phone_candidate,
        mobile_phones.best_candidate_value as mobile_phone_candidate,
        emails.best_candidate_value as email_candidate,
        addresses.person_id is null as has_no_address,
        addresses.is_address_truncated,
        addresses.is_city_truncated,
        addresses.is_state_invalid,
        addresses.is_zip_invalid
    from exported
    inner join pairs
        on exported.student_contact_assoc_id = pairs.student_contact_assoc_id
    left join emails
        on exported.person_id = emails.person_id
    left join addresses
        on exported.person_id = addresses.person_id
    left join phones as home_phones
        on exported.person_id = home_phones.person_id and home_phones.phone_column = 'home'
    left join phones as work_phones
        on exported.person_id = work_phones.person_id and work_phones.phone_column = 'work'
    left join phones as mobile_phones
        on exported.person_id = mobile_phones.person_id and mobile_phones.phone_column = 'mobile'

),

{#- (flag, reason, Detail as SQL). The invalid phone or e-mail is named in the Detail so that
    staff can find it in PowerSchool: this file is the district's own, like the export. -#}
{%- set phone_detail = "'{column}: the best-ranked number \"' || {value} || '\" is not valid (fewer than 7 digits or over 32 characters); the best valid one, if any, was used.'" -%}
{%- set warnings = [
    ('is_name_truncated', 'name_truncated', "'Parent Name is longer than 128 characters and was cut to 128.'"),
    ('is_home_phone_invalid', 'phone_invalid', phone_detail.format(column='Home Phone', value='home_phone_candidate')),
    ('is_work_phone_invalid', 'phone_invalid', phone_detail.format(column='Work Phone', value='work_phone_candidate')),
    ('is_mobile_phone_invalid', 'phone_invalid', phone_detail.format(column='Mobile/Cell Phone', value='mobile_phone_candidate')),
    ('is_email_invalid', 'email_invalid', "'Email: the most recent address \"' || email_candidate || '\" is not valid (format or over 64 characters); the best valid one, if any, was used.'"),
    ('has_no_address', 'no_address', "'No Home or Mailing address covers the report date; Address, City, State and ZIP Code are blank.'"),
    ('is_address_truncated', 'address_truncated', "'Address is longer than 64 characters and was cut to 64.'"),
    ('is_city_truncated', 'city_truncated', "'City is longer than 64 characters and was cut to 64.'"),
    ('is_state_invalid', 'state_invalid', "'State code is not two letters; State is blank.'"),
    ('is_zip_invalid', 'zip_invalid', "'ZIP Code is not 5 digits or ZIP+4; ZIP Code is blank.'"),
] %}

field_warnings as (
    {% for flag, reason, detail in warnings %}
        select
            student_code,
            cast(student_number as {{ dbt.type_string() }}) as student_number,
            lowest_reportable_school_number as school_number,
            person_id as contact_id,
            cast(parent_name as {{ dbt.type_string() }}) as parent_name,
            'warning' as severity,
            '{{ reason }}' as reason,
            {{ detail }} as detail,
            student_dcid,
            student_contact_assoc_id
        from exported_pairs
        where coalesce({{ flag }}, false)
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

students_without_rows as (

    select
        students.student_code,
        cast(students.student_number as {{ dbt.type_string() }}) as student_number,
        students.lowest_reportable_school_number as school_number,
        cast(null as {{ dbt.type_bigint() }}) as contact_id,
        cast(null as {{ dbt.type_string() }}) as parent_name,
        'warning' as severity,
        'no_reportable_contact' as reason,
        'The student is reportable but none of its contacts is exported.' as detail,
        students.student_dcid,
        cast(null as {{ dbt.type_bigint() }}) as student_contact_assoc_id
    from students
    where
        students.exclusion_reason is null
        and not exists (
            select 1 from exported
            where exported.student_dcid = students.student_dcid
        )

),

unioned as (

    select * from student_exclusions
    union all
    select * from pair_exclusions
    union all
    select * from field_warnings
    union all
    select * from students_without_rows

),

final as (

    select
        cast(student_code as {{ dbt.type_string() }}) as student_code,
        cast(student_number as {{ dbt.type_string() }}) as student_number,
        cast(school_number as {{ dbt.type_bigint() }}) as school_number,
        cast(contact_id as {{ dbt.type_bigint() }}) as contact_id,
        cast(parent_name as {{ dbt.type_string() }}) as parent_name,
        cast(severity as {{ dbt.type_string() }}) as severity,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(detail as {{ dbt.type_string() }}) as detail,
        cast(student_dcid as {{ dbt.type_bigint() }}) as student_dcid,
        cast(student_contact_assoc_id as {{ dbt.type_bigint() }}) as student_contact_assoc_id
    from unioned

)

select * from final
