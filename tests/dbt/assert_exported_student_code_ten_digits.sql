{#- report.md 2.4 and section 5 column 3: no exported Student Code fails ^[0-9]{10}$ (a student
    with a missing or invalid SASID is excluded, never padded or cast). -#}
select student_contact_assoc_id, student_dcid
from {{ ref('ct_seds_student_contacts') }}
where
    student_code is null
    or not {{ regex_match('student_code', '^[0-9]{10}$') }}
