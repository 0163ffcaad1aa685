{#- One row per StudentContactAssoc row of a reportable student: its effective detail on D,
    Parent Type, Parent Name and the first rule that excludes it (report.md sections 3-5),
    NULL when the pair is reported. -#}
with students as (

    select * from {{ ref('int_students_assessed') }}
    where exclusion_reason is null

),

associations as (

    select * from {{ ref('stg_powerschool__studentcontactassoc') }}

),

details as (

    select * from {{ ref('stg_powerschool__studentcontactdetail') }}

),

persons as (

    select * from {{ ref('stg_powerschool__person') }}

),

codesets as (

    select * from {{ ref('stg_powerschool__codeset') }}

),

parent_type_map as (

    select * from {{ ref('relationship_parent_type_map') }}

),

parent_types as (

    select * from {{ ref('ct_seds_parent_types') }}

),

student_associations as (

    select
        associations.student_contact_assoc_id,
        associations.student_dcid,
        associations.person_id,
        associations.contact_priority_order,
        students.student_id,
        students.student_number,
        students.student_code,
        students.student_person_id,
        students.lowest_reportable_school_number
    from associations
    inner join students
        on associations.student_dcid = students.student_dcid

),

covering_details as (

    select
        student_contact_detail_id,
        student_contact_assoc_id,
        relationship_type_codeset_id,
        is_custodial,
        lives_with,
        is_state_excluded,
        row_number() over (
            partition by student_contact_assoc_id
            order by
                case when is_active then 0 else 1 end,
                start_date desc nulls last,
                student_contact_detail_id desc
        ) as detail_rank
    from details
    where
        (start_date is null or start_date <= {{ as_of_date() }})
        and (end_date is null or end_date >= {{ as_of_date() }})

),

effective_details as (

    select * from covering_details
    where detail_rank = 1

),

relationship_codes as (

    select
        codeset_id,
        {{ code_key('code') }} as relationship_key,
        {{ code_key('reported_value') }} as reported_key
    from codesets
    where {{ code_key('code_type') }} = 'relationship'

),

relationship_parent_type_keys as (

    select
        relationship_codes.codeset_id,
        case
            when parent_type_map.relationship_code is not null
                then {{ code_key('parent_type_map.parent_type_code') }}
            else relationship_codes.reported_key
        end as parent_type_key
    from relationship_codes
    left join parent_type_map
        on {{ code_key('parent_type_map.relationship_code') }} = relationship_codes.relationship_key

),

relationship_parent_types as (

    select
        relationship_parent_type_keys.codeset_id,
        parent_types.code as parent_type
    from relationship_parent_type_keys
    left join parent_types
        on {{ code_key('parent_types.code') }} = relationship_parent_type_keys.parent_type_key

),

joined as (

    select
        student_associations.*,
        persons.person_id is not null as has_person,
        persons.is_state_excluded as is_contact_excluded,
        persons.is_active as is_contact_active,
        {{ clean('persons.first_name') }} as first_name,
        {{ clean('persons.last_name') }} as last_name,
        effective_details.student_contact_detail_id,
        effective_details.is_state_excluded as is_relationship_excluded,
        coalesce(effective_details.is_custodial, false) as is_custodial,
        coalesce(effective_details.lives_with, false) as lives_with,
        relationship_parent_types.codeset_id is not null as has_relationship_type,
        relationship_parent_types.parent_type
    from student_associations
    left join persons
        on student_associations.person_id = persons.person_id
    left join effective_details
        on student_associations.student_contact_assoc_id = effective_details.student_contact_assoc_id
    left join relationship_parent_types
        on effective_details.relationship_type_codeset_id = relationship_parent_types.codeset_id

),

named as (

    select
        *,
        case
            when first_name is not null and last_name is not null
                then first_name || ' ' || last_name
            else coalesce(first_name, last_name)
        end as full_name
    from joined

),

checked as (

    select
        *,
        case
            when not has_person then 'contact_missing'
            when person_id = student_person_id then 'contact_is_student'
            when student_contact_detail_id is null then 'no_current_relationship'
            when is_relationship_excluded then 'relationship_excluded'
            when is_contact_excluded then 'contact_excluded'
            when not is_contact_active then 'contact_inactive'
            when not has_relationship_type then 'no_relationship_type'
            when parent_type is null then 'unmapped_relationship'
            when not is_custodial then 'no_custody'
            when full_name is null then 'contact_has_no_name'
        end as rule_reason
    from named

),

duplicates_ranked as (

    select
        *,
        row_number() over (
            partition by
                student_dcid,
                person_id,
                case when rule_reason is null then 0 else 1 end
            order by
                contact_priority_order asc nulls last,
                student_contact_assoc_id asc
        ) as duplicate_rank
    from checked

),

evaluated as (

    select
        student_contact_assoc_id,
        student_dcid,
        student_id,
        student_number,
        student_code,
        person_id,
        contact_priority_order,
        lowest_reportable_school_number,
        student_contact_detail_id,
        parent_type,
        lives_with,
        {{ cut('full_name', 128) }} as parent_name,
        coalesce({{ dbt.length('full_name') }} > 128, false) as is_name_truncated,
        case
            when rule_reason is not null then rule_reason
            when duplicate_rank > 1 then 'duplicate_association'
        end as exclusion_reason
    from duplicates_ranked

)

select * from evaluated
