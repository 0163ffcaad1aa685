{#- report.md section 6: Severity is `excluded` for a student or pair left out of the export and
    `warning` otherwise; every reason is one of report.md; field warnings and
    no_reportable_contact never concern a pair or student that is excluded, and field warnings
    only concern exported rows (section 5: "Field warnings are given only for exported rows"). -#}
{%- set excluded_reasons = [
    'student_excluded', 'school_excluded', 'missing_sasid', 'invalid_sasid',
    'contact_missing', 'contact_is_student', 'no_current_relationship', 'relationship_excluded',
    'contact_excluded', 'contact_inactive', 'no_relationship_type', 'unmapped_relationship',
    'no_custody', 'contact_has_no_name', 'duplicate_association'
] %}
{%- set warning_reasons = [
    'name_truncated', 'phone_invalid', 'email_invalid', 'no_address', 'address_truncated',
    'city_truncated', 'state_invalid', 'zip_invalid', 'no_reportable_contact'
] %}

with exceptions as (

    select * from {{ ref('ct_seds_student_contacts_exceptions') }}

),

exported as (

    select student_dcid, person_id from {{ ref('ct_seds_student_contacts') }}

)

select student_dcid, contact_id, severity, reason, 'severity does not match reason' as problem
from exceptions
where not (
    (severity = 'excluded' and reason in ({% for r in excluded_reasons %}'{{ r }}'{% if not loop.last %}, {% endif %}{% endfor %}))
    or (severity = 'warning' and reason in ({% for r in warning_reasons %}'{{ r }}'{% if not loop.last %}, {% endif %}{% endfor %}))
)

union all

select exceptions.student_dcid, exceptions.contact_id, exceptions.severity, exceptions.reason,
    'field warning for a row that is not exported' as problem
from exceptions
where
    exceptions.severity = 'warning'
    and exceptions.reason <> 'no_reportable_contact'
    and not exists (
        select 1 from exported
        where exported.student_dcid = exceptions.student_dcid
          and exported.person_id = exceptions.contact_id
    )

union all

select exceptions.student_dcid, exceptions.contact_id, exceptions.severity, exceptions.reason,
    'no_reportable_contact for a student with an exported row' as problem
from exceptions
where
    exceptions.reason = 'no_reportable_contact'
    and exists (select 1 from exported where exported.student_dcid = exceptions.student_dcid)
