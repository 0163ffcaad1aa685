{#- report.md section 6, Reconciliation: for every reportable student, its StudentContactAssoc
    rows = exported rows + pairs excluded for that student (pair reasons of section 3 in the
    exceptions model). Returns one row per student that does not reconcile. -#}
{%- set pair_reasons = [
    'contact_missing', 'contact_is_student', 'no_current_relationship', 'relationship_excluded',
    'contact_excluded', 'contact_inactive', 'no_relationship_type', 'unmapped_relationship',
    'no_custody', 'contact_has_no_name', 'duplicate_association'
] %}

with reportable as (

    select student_dcid
    from {{ ref('int_students_assessed') }}
    where exclusion_reason is null

),

associations as (

    select student_dcid, count(*) as association_count
    from {{ ref('stg_powerschool__studentcontactassoc') }}
    group by student_dcid

),

exported as (

    select student_dcid, count(*) as exported_count
    from {{ ref('ct_seds_student_contacts') }}
    group by student_dcid

),

excluded_pairs as (

    select student_dcid, count(*) as excluded_count
    from {{ ref('ct_seds_student_contacts_exceptions') }}
    where
        severity = 'excluded'
        and reason in ({% for r in pair_reasons %}'{{ r }}'{% if not loop.last %}, {% endif %}{% endfor %})
    group by student_dcid

)

select
    reportable.student_dcid,
    coalesce(associations.association_count, 0) as association_count,
    coalesce(exported.exported_count, 0) as exported_count,
    coalesce(excluded_pairs.excluded_count, 0) as excluded_count
from reportable
left join associations on reportable.student_dcid = associations.student_dcid
left join exported on reportable.student_dcid = exported.student_dcid
left join excluded_pairs on reportable.student_dcid = excluded_pairs.student_dcid
where
    coalesce(associations.association_count, 0)
    <> coalesce(exported.exported_count, 0) + coalesce(excluded_pairs.excluded_count, 0)
