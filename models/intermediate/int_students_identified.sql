{#- Every Students row with its cleaned SASID (the Student Code), used for scope and for
    matching student identifiers given as parameters (report.md section 1). -#}
with students as (

    select * from {{ ref('stg_powerschool__students') }}

),

identified as (

    select
        student_dcid,
        student_id,
        student_number,
        person_id as student_person_id,
        {{ clean('state_student_number') }} as student_code,
        is_state_excluded as is_student_excluded
    from students

)

select * from identified
