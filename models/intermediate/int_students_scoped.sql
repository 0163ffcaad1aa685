{#- Students in scope on D: one row per student and school for every enrollment covering D
    (EntryDate <= D < ExitDate, a missing ExitDate open-ended; report.md 2.2-2.4). -#}
with enrollments as (

    select * from {{ ref('int_enrollments_unioned') }}

),

students as (

    select * from {{ ref('int_students_identified') }}

),

schools as (

    select * from {{ ref('stg_powerschool__schools') }}

),

covering as (

    select distinct
        student_dcid,
        school_number
    from enrollments
    where
        entry_date <= {{ as_of_date() }}
        and (exit_date is null or {{ as_of_date() }} < exit_date)

),

scoped as (

    select
        covering.student_dcid,
        students.student_id,
        students.student_number,
        students.student_person_id,
        students.student_code,
        covering.school_number,
        students.is_student_excluded,
        coalesce(schools.is_state_excluded, false) as is_school_excluded,
        case
            when students.student_code is null then 'missing_sasid'
            when not {{ regex_match('students.student_code', '^[0-9]{10}$') }} then 'invalid_sasid'
        end as sasid_reason
    from covering
    inner join students
        on covering.student_dcid = students.student_dcid
    left join schools
        on covering.school_number = schools.school_number

)

select * from scoped
