{#- report.md 2.4 and 6: an excluded student gets one exceptions row and no contact rows; no
    exported row or pair exclusion belongs to a student that is not reportable, and every
    excluded student has exactly one student-level exceptions row. Returns offending students. -#}
with students as (

    select student_dcid, exclusion_reason
    from {{ ref('int_students_assessed') }}

),

exported as (

    select distinct student_dcid from {{ ref('ct_seds_student_contacts') }}

),

exceptions as (

    select student_dcid, contact_id, reason
    from {{ ref('ct_seds_student_contacts_exceptions') }}

),

rows_of_unreportable as (

    select exported.student_dcid, 'exported row for a student that is not reportable' as problem
    from exported
    left join students on exported.student_dcid = students.student_dcid
    where students.student_dcid is null or students.exclusion_reason is not null

    union all

    select exceptions.student_dcid, 'pair row for a student that is not reportable' as problem
    from exceptions
    inner join students on exceptions.student_dcid = students.student_dcid
    where students.exclusion_reason is not null and exceptions.contact_id is not null

),

student_rows as (

    select students.student_dcid, count(exceptions.reason) as student_row_count
    from students
    left join exceptions
        on students.student_dcid = exceptions.student_dcid
        and exceptions.reason = students.exclusion_reason
        and exceptions.contact_id is null
    where students.exclusion_reason is not null
    group by students.student_dcid

)

select student_dcid, problem from rows_of_unreportable
union all
select student_dcid, 'excluded student without exactly one exceptions row' as problem
from student_rows
where student_row_count <> 1
