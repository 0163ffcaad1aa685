{#- Enrollments = the current one on students plus the past ones on reenrollments
    (report.md 2.1). Enrollments with no EntryDate or with ExitDate <= EntryDate are dropped. -#}
with students as (

    select * from {{ ref('stg_powerschool__students') }}

),

reenrollments as (

    select * from {{ ref('stg_powerschool__reenrollments') }}

),

current_enrollments as (

    select
        student_dcid,
        student_id,
        school_number,
        entry_date,
        exit_date,
        'students' as enrollment_source
    from students

),

past_enrollments as (

    select
        students.student_dcid,
        students.student_id,
        reenrollments.school_number,
        reenrollments.entry_date,
        reenrollments.exit_date,
        'reenrollments' as enrollment_source
    from reenrollments
    inner join students
        on reenrollments.student_id = students.student_id

),

unioned as (

    select * from current_enrollments
    union all
    select * from past_enrollments

),

valid_enrollments as (

    select *
    from unioned
    where
        entry_date is not null
        and (exit_date is null or exit_date > entry_date)

),

numbered as (

    select
        row_number() over (
            order by
                student_dcid,
                enrollment_source,
                school_number nulls first,
                entry_date,
                exit_date nulls last
        ) as enrollment_id,
        student_dcid,
        student_id,
        school_number,
        entry_date,
        exit_date,
        enrollment_source
    from valid_enrollments

)

select * from numbered
