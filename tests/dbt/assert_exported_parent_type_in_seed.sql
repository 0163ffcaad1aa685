{#- report.md section 4: every exported Parent Type is a code of the seed ct_seds_parent_types,
    written exactly as spelled there (compared as is, not case-folded). -#}
select exported.student_contact_assoc_id, exported.parent_type
from {{ ref('ct_seds_student_contacts') }} as exported
where
    exported.parent_type is null
    or not exists (
        select 1
        from {{ ref('ct_seds_parent_types') }} as parent_types
        where parent_types.code = exported.parent_type
    )
