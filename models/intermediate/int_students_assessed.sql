{#- One row per student in scope on D with no school or student selection, with the first
    exclusion reason that applies (report.md 2.4), NULL for a reportable student. -#}
with scoped as (

    select * from {{ ref('int_students_scoped') }}

),

per_student as (

    select
        student_dcid,
        student_id,
        student_number,
        student_person_id,
        student_code,
        sasid_reason,
        bool_or(is_student_excluded) as is_student_excluded,
        bool_or(not is_school_excluded) as has_reportable_school,
        min(school_number) as lowest_school_number,
        min(case when not is_school_excluded then school_number end) as lowest_reportable_school_number
    from scoped
    group by
        student_dcid,
        student_id,
        student_number,
        student_person_id,
        student_code,
        sasid_reason

),

assessed as (

    select
        student_dcid,
        student_id,
        student_number,
        student_person_id,
        student_code,
        lowest_school_number,
        lowest_reportable_school_number,
        case
            when is_student_excluded then 'student_excluded'
            when not has_reportable_school then 'school_excluded'
            else sasid_reason
        end as exclusion_reason
    from per_student

)

select * from assessed
