"""ctseds.loader.load_extracts on both engines (plus db.connect and locking).

Every extract here is synthetic: made-up names, addresses and numbers only.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ctseds.db import connect, placeholder, quote_ident
from ctseds.errors import CtsedsError
from ctseds.loader import load_extracts
from ctseds.locking import warehouse_lock
from ctseds.tables import TABLES
from ctseds.targets import Target

CANARY = "Zebrafinchcanary"  # a planted text value that must never appear in a message

# Minimal valid files (header + rows), written exactly as given (LF line ends).
BASE: dict[str, str] = {
    "students": (
        "ID,DCID,Student_Number,State_StudentNumber,SchoolID,EntryDate,ExitDate,"
        "State_ExcludeFromReporting,Enroll_Status,Person_ID,First_Name,Last_Name\n"
        f"1,101,5001,0123456789,10,2024-08-28,2025-06-15,0,0,,{CANARY},Examplestudent\n"
        "2,102,5002,0987654321,10,2024-08-28,2025-06-15,,0,,Alex,Sample\n"
    ),
    "reenrollments": (
        "StudentID,SchoolID,EntryDate,ExitDate,DCID,ID\n1,10,2023-08-28,2024-06-14,9001,9001\n"
    ),
    "schools": "School_Number,DCID,Name,State_ExcludeFromReporting\n10,1,Synthetic High,0\n",
    "person": (
        "ID,DCID,FirstName,MiddleName,LastName,IsActive,ExcludeFromStateReporting\n"
        f"201,201,{CANARY},,Parentone,1,0\n"
        "202,202,Jordan,  ,Parenttwo,,\n"
    ),
    "studentcontactassoc": (
        "StudentContactAssocID,StudentDCID,PersonID,ContactPriorityOrder,CurrRelTypeCodeSetID\n"
        "301,101,201,1,501\n302,102,202,1,501\n"
    ),
    "studentcontactdetail": (
        "StudentContactDetailID,StudentContactAssocID,RelationshipTypeCodeSetID,IsCustodial,"
        "LivesWithFlg,IsActive,StartDate,EndDate,ExcludeFromStateReportingFlg,IsEmergency,"
        "ReceivesMailFlg,SchoolPickupFlg\n"
        "401,301,501,1,1,1,2024-01-01,,0,0,1,1\n402,302,501,0,1,1,,,0,0,1,0\n"
    ),
    "personaddressassoc": (
        "PersonAddressAssocID,PersonID,PersonAddressID,AddressTypeCodeSetID,"
        "AddressPriorityOrder,StartDate,EndDate,WhenCreated\n"
        "601,201,701,503,1,2024-01-01,,2024-01-01 08:00:00\n"
    ),
    "personaddress": (
        "PersonAddressID,Street,City,StatesCodeSetID,PostalCode,LineTwo,Unit,CountryCodeSetID\n"
        "701,1 Example Way,Hartford,504,06103,,,\n"
    ),
    "personemailaddressassoc": (
        "PersonEmailAddressAssocID,PersonID,EmailAddressID,EmailTypeCodeSetID,"
        "IsPrimaryEmailAddress,EmailAddressPriorityOrder,WhenCreated\n"
        "801,201,901,505,1,1,2024-01-01 08:00\n"
    ),
    "emailaddress": "EmailAddressID,EmailAddress\n901,someone@example.invalid\n",
    "personphonenumberassoc": (
        "PersonPhoneNumberAssocID,PersonID,PhoneNumberID,PhoneTypeCodeSetID,"
        "PhoneNumberAsEntered,IsPreferred,PhoneNumberPriorityOrder,WhenCreated\n"
        "1001,201,1101,506,0203 555 0100,1,1,\n"
    ),
    "phonenumber": "PhoneNumberID,PhoneNumber,PhoneNumberExt,IsSMS\n1101,0203 555 0100,,0\n",
    "codeset": (
        "CodeSetID,CodeType,Code,DisplayValue,ReportedValue,Description\n"
        "501,Relationship,Mother,Mother,,\n503,Address,Home,Home,,\n504,State,CT,CT,,\n"
        "505,Email,Home,Home,,\n506,Phone,Mobile,Mobile,,\n"
    ),
}


def write_extracts(folder: Path, overrides: dict[str, str | bytes | None] | None = None) -> Path:
    """Write the 13 files into `folder`; overrides: table -> text/bytes, or None to omit."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str | bytes | None] = dict(BASE)
    files.update(overrides or {})
    for name, content in files.items():
        path = folder / f"{name}.csv"
        if content is None:
            continue
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path.write_bytes(data)
    return folder


def replace_row(table: str, line_no: int, new_line: str) -> str:
    """BASE[table] with physical line `line_no` (1-based) replaced."""
    lines = BASE[table].splitlines()
    lines[line_no - 1] = new_line
    return "\n".join(lines) + "\n"


def fetch(target: Target, table: str) -> list[tuple]:
    conn = connect(target)
    try:
        cur = conn.cursor()
        cur.execute(f"select * from {quote_ident(target.raw_schema)}.{quote_ident(table)}")
        rows = [tuple(r) for r in cur.fetchall()]
    finally:
        conn.close()
    return sorted(rows, key=lambda r: tuple("" if v is None else v for v in r))


def columns(target: Target, table: str) -> list[str]:
    conn = connect(target)
    try:
        cur = conn.cursor()
        cur.execute(
            f"select * from {quote_ident(target.raw_schema)}.{quote_ident(table)} where 1 = 0"
        )
        return [d[0] for d in cur.description]
    finally:
        conn.close()


def snapshot(target: Target) -> dict[str, list[tuple]]:
    return {t: fetch(target, t) for t in TABLES}


def as_dicts(target: Target, table: str) -> list[dict]:
    cols = columns(target, table)
    return [dict(zip(cols, r, strict=True)) for r in fetch(target, table)]


def load_error(folder: Path, target: Target) -> str:
    with pytest.raises(CtsedsError) as info:
        load_extracts(folder, target)
    msg = str(info.value)
    assert CANARY not in msg
    assert "Traceback" not in msg
    return msg


@pytest.fixture
def loaded(target: Target, tmp_path: Path) -> dict[str, list[tuple]]:
    """Load the good folder first; return the snapshot of the raw tables."""
    load_extracts(write_extracts(tmp_path / "good"), target)
    return snapshot(target)


# ------------------------------------------------------------------------------ clean load


def test_clean_load(target: Target, tmp_path: Path) -> None:
    messages: list[str] = []
    counts = load_extracts(write_extracts(tmp_path / "x"), target, progress=messages.append)
    assert counts == {
        "students": 2,
        "reenrollments": 1,
        "schools": 1,
        "person": 2,
        "studentcontactassoc": 2,
        "studentcontactdetail": 2,
        "personaddressassoc": 1,
        "personaddress": 1,
        "personemailaddressassoc": 1,
        "emailaddress": 1,
        "personphonenumberassoc": 1,
        "phonenumber": 1,
        "codeset": 5,
    }
    assert len(messages) == 13
    assert messages[0].startswith("loaded students.csv: 2 rows in ")
    assert all(m.endswith("s") and CANARY not in m for m in messages)
    for name, table in TABLES.items():
        assert columns(target, name) == [c.name for c in table.columns]
    students = as_dicts(target, "students")
    assert [s["state_studentnumber"] for s in students] == ["0123456789", "0987654321"]
    assert students[0]["person_id"] is None  # empty field -> NULL
    assert students[1]["state_excludefromreporting"] is None
    assert students[0]["first_name"] == CANARY
    assert as_dicts(target, "personaddress")[0]["postalcode"] == "06103"
    assert as_dicts(target, "phonenumber")[0]["phonenumber"] == "0203 555 0100"
    assert as_dicts(target, "personphonenumberassoc")[0]["phonenumberasentered"] == "0203 555 0100"
    person = {p["id"]: p for p in as_dicts(target, "person")}
    assert person["202"]["middlename"] == "  "  # text of only spaces stays a value
    assert person["201"]["middlename"] is None
    assert person["202"]["isactive"] is None


def test_reload_replaces_rows(target: Target, tmp_path: Path, loaded) -> None:
    text = replace_row("schools", 2, "11,2,Other School,1")
    load_extracts(write_extracts(tmp_path / "second", {"schools": text}), target)
    assert fetch(target, "schools") == [("11", "2", "Other School", "1")]
    assert fetch(target, "students") == loaded["students"]


def test_dependent_view_survives_reload(target: Target, tmp_path: Path, loaded) -> None:
    conn = connect(target)
    try:
        cur = conn.cursor()
        cur.execute("create schema if not exists views_t")
        cur.execute(
            "create view views_t.v_schools as "
            f"select school_number from {target.raw_schema}.schools"
        )
        conn.commit()
    finally:
        conn.close()
    load_extracts(write_extracts(tmp_path / "second"), target)
    conn = connect(target)
    try:
        cur = conn.cursor()
        cur.execute("select * from views_t.v_schools")
        assert cur.fetchall() == [("10",)]
        if target.kind == "postgres":
            cur.execute("drop schema views_t cascade")
            conn.commit()
    finally:
        conn.close()


# --------------------------------------------------------------- files and headers


def test_missing_file_names_it_and_changes_nothing(target, tmp_path, loaded) -> None:
    folder = write_extracts(tmp_path / "bad", {"person": None, "schools": "School_Number\n99\n"})
    msg = load_error(folder, target)
    assert "person.csv" in msg
    assert snapshot(target) == loaded


def test_missing_required_column(target, tmp_path, loaded) -> None:
    text = (
        "ID,DCID,Student_Number,SchoolID,EntryDate,ExitDate\n1,101,5001,10,2024-08-28,2025-06-15\n"
    )
    msg = load_error(write_extracts(tmp_path / "bad", {"students": text}), target)
    assert "students.csv" in msg and "State_StudentNumber" in msg
    assert snapshot(target) == loaded


def test_missing_folder(target, tmp_path) -> None:
    msg = load_error(tmp_path / "nope", target)
    assert "nope" in msg


def test_duplicate_header(target, tmp_path) -> None:
    text = "EmailAddressID,EmailAddress,emailaddress\n901,a@example.invalid,b@example.invalid\n"
    msg = load_error(write_extracts(tmp_path / "bad", {"emailaddress": text}), target)
    assert "emailaddress.csv" in msg and "more than once" in msg


def test_repeated_extra_columns_are_ignored(target, tmp_path) -> None:
    text = "School_Number,Note,DCID,note,Name,State_ExcludeFromReporting\n10,a,1,b,High,0\n"
    load_extracts(write_extracts(tmp_path / "x", {"schools": text}), target)
    assert fetch(target, "schools") == [("10", "1", "High", "0")]


@pytest.mark.parametrize("first", ["\r\n", "\n"], ids=["crlf-then-lf", "lf-then-crlf"])
def test_mixed_line_ends_load_the_same_records(target, tmp_path, first) -> None:
    """Rows appended by another tool: CRLF and LF record ends in one file (input.md allows
    either). Quoted line breaks keep their own bytes; a later bad value names its line."""
    other = "\n" if first == "\r\n" else "\r\n"
    head = first.join(
        ["ID,DCID,FirstName,MiddleName,LastName", '201,201,Ann,"one\r\ntwo",Parentone', ""]
    )
    tail = other.join(["202,202,Bo,\"x\ny\",Parenttwo", "203,203,Cy,,Parentthree", ""])
    load_extracts(write_extracts(tmp_path / "x", {"person": head + tail}), target)
    rows = {p["id"]: p for p in as_dicts(target, "person")}
    assert sorted(rows) == ["201", "202", "203"]
    assert rows["201"]["middlename"] == "one\r\ntwo"
    assert rows["202"]["middlename"] == "x\ny"
    bad = head + tail.replace("203,203", "203,2x3")
    msg = load_error(write_extracts(tmp_path / "y", {"person": bad}), target)
    assert "person.csv line 6, column DCID:" in msg, msg  # records on 2-3, 4-5, 6


def test_empty_file(target, tmp_path) -> None:
    msg = load_error(write_extracts(tmp_path / "bad", {"codeset": ""}), target)
    assert "codeset.csv" in msg and "header" in msg


def test_header_case_bom_crlf_quoting(target, tmp_path) -> None:
    person = (
        "\ufeffid,DCID,FIRSTNAME,middlename,LastName,Extra Column,isactive,"
        "ExcludeFromStateReporting\r\n"
        '201,201,"Smith, Jr.","line one\r\nline ""two""",Parentone,ignored,1,0\r\n'
        '"202","","Jordan",,Parenttwo,x,"",\r\n'
    )
    load_extracts(write_extracts(tmp_path / "x", {"person": person}), target)
    rows = {p["id"]: p for p in as_dicts(target, "person")}
    assert rows["201"]["firstname"] == "Smith, Jr."
    assert rows["201"]["middlename"] == 'line one\r\nline "two"'
    assert rows["202"]["dcid"] is None  # quoted empty -> NULL
    assert rows["202"]["isactive"] is None
    assert "extra column" not in columns(target, "person")


def test_optional_column_missing_reads_null(target, tmp_path) -> None:
    text = "PhoneNumberID,PhoneNumber\n1101,0203 555 0100\n"
    load_extracts(write_extracts(tmp_path / "x", {"phonenumber": text}), target)
    assert columns(target, "phonenumber") == [
        "phonenumberid",
        "phonenumber",
        "phonenumberext",
        "issms",
    ]
    assert fetch(target, "phonenumber") == [("1101", "0203 555 0100", None, None)]


def test_header_only_reenrollments(target, tmp_path) -> None:
    text = "StudentID,SchoolID,EntryDate,ExitDate\n"
    counts = load_extracts(write_extracts(tmp_path / "x", {"reenrollments": text}), target)
    assert counts["reenrollments"] == 0
    assert fetch(target, "reenrollments") == []
    assert columns(target, "reenrollments") == [
        "studentid",
        "schoolid",
        "entrydate",
        "exitdate",
        "dcid",
        "id",
    ]


def test_blank_lines_are_not_records(target, tmp_path) -> None:
    text = "School_Number,DCID,Name,State_ExcludeFromReporting\n\n10,1,A,0\n\n11,2,B,x\n"
    msg = load_error(write_extracts(tmp_path / "x", {"schools": text}), target)
    assert "schools.csv line 5" in msg and "State_ExcludeFromReporting" in msg


# ------------------------------------------------------------------- value spellings


def test_messy_spellings_are_accepted_and_stored_as_given(target, tmp_path) -> None:
    students = (
        "ID,DCID,Student_Number,State_StudentNumber,SchoolID,EntryDate,ExitDate,"
        "State_ExcludeFromReporting\n"
        "12.0,101, 5001 ,0123456789,10,8/28/2024,06/15/2025,TRUE\n"
        "2,102,5002,,10.0,2024-02-29,2/29/2024,y\n"
        "3,103,5003,,10,2024-08-28,2025-06-15,   \n"
    )
    pa = (
        "PersonAddressAssocID,PersonID,PersonAddressID,AddressTypeCodeSetID,WhenCreated\n"
        "601,201,701,503,2024-01-02T03:04\n"
        "602,201,701,503,1/2/2024 3:04 PM\n"
        "603,201,701,503,1/2/2024 12:59:59 am\n"
        "604,201,701,503,2024-01-02 23:59:59.123456\n"
        "605,201,701,503,12/31/2024 0:00\n"
        "606,201,701,503,12/31/2024 23:00:01\n"
    )
    flags = (
        "StudentContactDetailID,StudentContactAssocID,RelationshipTypeCodeSetID,IsCustodial,"
        "LivesWithFlg\n401,301,501,N,False\n402,302,501,Y,0\n403,302,501,true,FALSE\n"
    )
    counts = load_extracts(
        write_extracts(
            tmp_path / "x",
            {"students": students, "personaddressassoc": pa, "studentcontactdetail": flags},
        ),
        target,
    )
    assert counts["students"] == 3 and counts["personaddressassoc"] == 6
    rows = {r["dcid"]: r for r in as_dicts(target, "students")}
    assert rows["101"]["id"] == "12.0"  # raw keeps the original text
    assert rows["101"]["student_number"] == " 5001 "
    assert rows["101"]["entrydate"] == "8/28/2024"
    assert rows["103"]["state_excludefromreporting"] == "   "
    assert sorted(r["whencreated"] for r in as_dicts(target, "personaddressassoc"))[0] == (
        "1/2/2024 12:59:59 am"
    )


BAD_VALUES = [
    # table, line to replace, new line, column named in the error, planted value
    (
        "students",
        3,
        "2,102,5002,0987654321,10,2024-13-45,2025-06-15,0,0,,Alex,Sample",
        "EntryDate",
        "2024-13-45",
    ),
    (
        "students",
        3,
        "2,102,5002,0987654321,10,2024-08-28,2/30/2024,0,0,,Alex,Sample",
        "ExitDate",
        "2/30/2024",
    ),
    (
        "students",
        3,
        "2,102,5002,0987654321,10,0000-01-01,2025-06-15,0,0,,Alex,Sample",
        "EntryDate",
        "0000-01-01",
    ),
    (
        "students",
        2,
        f"abcq,101,5001,0123456789,10,2024-08-28,2025-06-15,0,0,,{CANARY},X",
        "ID",
        "abcq",
    ),
    (
        "students",
        3,
        "2,102,-5002,0987654321,10,2024-08-28,2025-06-15,0,0,,Alex,Sample",
        "Student_Number",
        "-5002",
    ),
    (
        "students",
        3,
        "2,102,5002.5,0987654321,10,2024-08-28,2025-06-15,0,0,,Alex,Sample",
        "Student_Number",
        "5002.5",
    ),
    (
        "students",
        3,
        "2,99999999999999999999,5002,0987654321,10,2024-08-28,2025-06-15,0,0,,A,S",
        "DCID",
        "99999999999999999999",
    ),
    (
        "students",
        3,
        "2,102,5002,0987654321,10,2024-08-28,2025-06-15,maybe,0,,Alex,Sample",
        "State_ExcludeFromReporting",
        "maybe",
    ),
    (
        "personaddressassoc",
        2,
        "601,201,701,503,1,2024-01-01,,1/2/2024 13:00 PM",
        "WhenCreated",
        "13:00 PM",
    ),
    (
        "personaddressassoc",
        2,
        "601,201,701,503,1,2024-01-01,,2024-01-02 24:00",
        "WhenCreated",
        "24:00",
    ),
    (
        "personaddressassoc",
        2,
        "601,201,701,503,1,2024-01-01,,2024-01-02 10:60",
        "WhenCreated",
        "10:60",
    ),
    (
        "personaddressassoc",
        2,
        "601,201,701,503,1,2024-01-01,,2024-01-02T10:00+02:00",
        "WhenCreated",
        "+02:00",
    ),
    (
        "personaddressassoc",
        2,
        "601,201,701,503,1,2024-01-01,,2/30/2024 10:00",
        "WhenCreated",
        "2/30/2024",
    ),
    # Spellings DuckDB reads and prints back unchanged, which input.md does not allow.
    *(
        (
            "students",
            2,
            f"1,101,5001,0123456789,10,{value},2025-06-15,0,0,,A,S",
            "EntryDate",
            value,
        )
        for value in ("infinity", "-infinity", "12026-01-05", "0044-03-15 (BC)")
    ),
    *(
        (
            "personaddressassoc",
            2,
            f"601,201,701,503,1,2024-01-01,,{value}",
            "WhenCreated",
            value,
        )
        for value in ("infinity", "12026-01-05 10:00:00", "0044-03-15 10:00:00 (BC)")
    ),
]


@pytest.mark.parametrize(
    "table,line,new,column,planted", BAD_VALUES, ids=[f"{b[3]}-{b[4]}" for b in BAD_VALUES]
)
def test_bad_value_names_file_line_column(
    target, tmp_path, loaded, table, line, new, column, planted
) -> None:
    folder = write_extracts(tmp_path / "bad", {table: replace_row(table, line, new)})
    msg = load_error(folder, target)
    assert f"{table}.csv line {line}, column {column}:" in msg
    assert planted not in msg
    assert snapshot(target) == loaded


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_line_number_after_multiline_record(target, tmp_path, eol) -> None:
    text = eol.join(
        [
            "ID,DCID,FirstName,MiddleName,LastName",
            '201,201,Ann,"first',  # a record on lines 2-4
            "second",
            'third",Parentone',
            "",  # blank line 5: not a record
            "202,202,Bo,,Parenttwo",  # line 6
            f"20x3,203,{CANARY},,Parentthree",  # line 7
            "",
        ]
    )
    msg = load_error(write_extracts(tmp_path / "x", {"person": text}), target)
    assert "person.csv line 7, column ID:" in msg


def test_schema_named_like_the_warehouse_file(tmp_path) -> None:
    target = Target(
        kind="duckdb",
        warehouse=tmp_path / "powerschool.duckdb",
        raw_schema="powerschool",
        schema="ctseds",
    )
    assert load_extracts(write_extracts(tmp_path / "x"), target)["codeset"] == 5


def test_record_index_keeps_file_order_on_large_file(target, tmp_path) -> None:
    """DuckDB reads big files in parallel: the error line must still be the file's."""
    rows = ["ID,DCID,FirstName,MiddleName,LastName"]
    for i in range(1, 200_001):
        middle = '"a\nb"' if i % 1000 == 0 else ""
        rows.append(f"{i},{i},First,{middle},Last")
    rows.append("bad,1,First,,Last")
    rows += [f"{i},{i},First,,Last" for i in range(300_000, 310_000)]
    text = "\n".join(rows) + "\n"
    expected_line = 1 + 200_000 + 200 + 1  # header + records + extra lines of 200 records
    msg = load_error(write_extracts(tmp_path / "x", {"person": text}), target)
    assert f"person.csv line {expected_line}, column ID:" in msg


# ----------------------------------------------------------------------------- keys


def test_duplicate_key_is_typed(target, tmp_path, loaded) -> None:
    text = "PhoneNumberID,PhoneNumber\n12,0203 555 0100\n13,0203 555 0101\n12.0,0203 555 0102\n"
    msg = load_error(write_extracts(tmp_path / "bad", {"phonenumber": text}), target)
    assert "phonenumber" in msg and "PhoneNumberID" in msg and "12" in msg
    assert "lines 2 and 4" in msg
    assert "0203 555" not in msg
    assert snapshot(target) == loaded


def test_duplicate_second_key_of_students(target, tmp_path) -> None:
    text = replace_row("students", 3, "2,101,5002,0987654321,10,2024-08-28,2025-06-15,0,0,,A,S")
    msg = load_error(write_extracts(tmp_path / "bad", {"students": text}), target)
    assert "students" in msg and "DCID" in msg and "101" in msg


def test_missing_key(target, tmp_path, loaded) -> None:
    text = f"ID,FirstName,LastName\n201,Ann,One\n  ,{CANARY},Two\n"
    msg = load_error(write_extracts(tmp_path / "bad", {"person": text}), target)
    assert "person.csv line 3" in msg and "ID" in msg and "person" in msg
    assert snapshot(target) == loaded


def test_reenrollments_may_repeat(target, tmp_path) -> None:
    text = "StudentID,SchoolID,EntryDate,ExitDate\n1,10,2023-08-28,2024-06-14\n" * 1
    text += "1,10,2023-08-28,2024-06-14\n"
    counts = load_extracts(write_extracts(tmp_path / "x", {"reenrollments": text}), target)
    assert counts["reenrollments"] == 2


# ------------------------------------------------------------------ broken files


def test_nul_byte(target, tmp_path, loaded) -> None:
    data = BASE["person"].encode().replace(b"Parenttwo", b"Parent\x00two")
    msg = load_error(write_extracts(tmp_path / "bad", {"person": data}), target)
    assert "person.csv line 3" in msg and "NUL" in msg
    assert snapshot(target) == loaded


def test_latin1_file(target, tmp_path, loaded) -> None:
    data = (BASE["person"] + "203,203,Jos\u00e9,,Parentthree,1,0\n").encode("latin-1")
    msg = load_error(write_extracts(tmp_path / "bad", {"person": data}), target)
    assert "person.csv line 4" in msg and "UTF-8" in msg
    assert snapshot(target) == loaded


def test_binary_garbage(target, tmp_path) -> None:
    data = bytes(range(256)) * 4
    msg = load_error(write_extracts(tmp_path / "bad", {"codeset": data}), target)
    assert "codeset.csv" in msg


def test_utf8_without_header_columns(target, tmp_path) -> None:
    msg = load_error(write_extracts(tmp_path / "bad", {"codeset": "hello world\n"}), target)
    assert "codeset.csv" in msg and "CodeSetID" in msg


@pytest.mark.parametrize(
    "row,line",
    [("1102,0203 555 0101,,0,extra", 3), ("1102", 3)],
    ids=["too-many", "too-few"],
)
def test_ragged_row(target, tmp_path, loaded, row, line) -> None:
    text = BASE["phonenumber"] + row + "\n1103,0203 555 0102,,0\n"
    msg = load_error(write_extracts(tmp_path / "bad", {"phonenumber": text}), target)
    assert f"phonenumber.csv line {line}" in msg
    assert "0203 555" not in msg
    assert snapshot(target) == loaded


def test_unterminated_quote(target, tmp_path, loaded) -> None:
    text = BASE["phonenumber"] + '1102,"0203 555 0101,,0\n1103,0203 555 0102,,0\n'
    msg = load_error(write_extracts(tmp_path / "bad", {"phonenumber": text}), target)
    assert "phonenumber.csv" in msg and "line 3" in msg
    assert "0203 555" not in msg
    assert snapshot(target) == loaded


def test_text_after_closing_quote(target, tmp_path) -> None:
    text = BASE["phonenumber"] + '1102,"0203 555" 0101,,0\n'
    msg = load_error(write_extracts(tmp_path / "bad", {"phonenumber": text}), target)
    assert "phonenumber.csv line 3" in msg
    assert "0203 555" not in msg


def test_later_file_error_leaves_everything_unchanged(target, tmp_path, loaded) -> None:
    """students.csv is valid and different; codeset.csv (last) is broken."""
    students = replace_row("students", 3, "3,103,5003,0555,10,2024-08-28,2025-06-15,0,0,,B,C")
    codeset = BASE["codeset"] + "501,Relationship,Father,Father,,\n"
    folder = write_extracts(tmp_path / "bad", {"students": students, "codeset": codeset})
    msg = load_error(folder, target)
    assert "codeset" in msg and "CodeSetID" in msg
    assert snapshot(target) == loaded


# --------------------------------------------------------------------- db and locking


def test_placeholder_and_quote_ident(target) -> None:
    assert placeholder(target) == ("?" if target.kind == "duckdb" else "%s")
    assert quote_ident('a"b') == '"a""b"'
    conn = connect(target)
    try:
        cur = conn.cursor()
        cur.execute(f"select {placeholder(target)}", ("x",))
        assert cur.fetchone()[0] == "x"
    finally:
        conn.close()


def test_postgres_unreachable(monkeypatch) -> None:
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", "1")
    monkeypatch.setenv("PGPASSWORD", "s3cret-not-shown")
    with pytest.raises(CtsedsError) as info:
        connect(Target(kind="postgres"))
    msg = str(info.value)
    assert "127.0.0.1:1" in msg and "PGHOST" in msg
    assert "s3cret-not-shown" not in msg


def test_duckdb_file_locked_by_another_process(duckdb_target) -> None:
    import subprocess
    import sys

    conn = connect(duckdb_target)
    conn.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); "
            "time.sleep(60)",
            str(duckdb_target.warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(CtsedsError) as info:
            connect(duckdb_target)
        msg = str(info.value)
        assert "another process" in msg and str(duckdb_target.warehouse) in msg
    finally:
        holder.kill()
        holder.wait()


def test_warehouse_lock_serializes_runs(target) -> None:
    events: list[str] = []

    def second() -> None:
        with warehouse_lock(target):
            events.append("second")

    with warehouse_lock(target):
        with pytest.raises(CtsedsError, match="another ctseds run"):
            with warehouse_lock(target, wait=False):
                pass
        with pytest.raises(CtsedsError):
            with warehouse_lock(target, timeout=0.3):
                pass
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        events.append("first done")
    thread.join(10)
    assert events == ["first done", "second"]
    with warehouse_lock(target, wait=False):  # free again
        pass


def test_lock_is_per_schema_on_postgres(pg_target) -> None:
    other = Target(kind="postgres", raw_schema=pg_target.raw_schema, schema="other_schema")
    with warehouse_lock(pg_target, wait=False):
        with warehouse_lock(other, wait=False):
            pass


def test_postgres_table_of_another_shape_is_recreated(pg_target, tmp_path) -> None:
    conn = connect(pg_target)
    try:
        cur = conn.cursor()
        cur.execute(f"create table {pg_target.raw_schema}.schools (school_number integer)")
        cur.execute(f"create table {pg_target.raw_schema}.codeset (codesetid text)")
        cur.execute(f"create view {pg_target.raw_schema}.phonenumber as select 1 as x")
        conn.commit()
    finally:
        conn.close()
    load_extracts(write_extracts(tmp_path / "x"), pg_target)
    assert fetch(pg_target, "schools") == [("10", "1", "Synthetic High", "0")]
    assert columns(pg_target, "codeset") == [c.name for c in TABLES["codeset"].columns]
    assert fetch(pg_target, "phonenumber") == [("1101", "0203 555 0100", None, "0")]


def test_postgres_failure_keeps_previous_tables_and_views(pg_target, tmp_path) -> None:
    load_extracts(write_extracts(tmp_path / "good"), pg_target)
    conn = connect(pg_target)
    try:
        cur = conn.cursor()
        cur.execute(
            f"create view {pg_target.schema}.v as select id from {pg_target.raw_schema}.person"
        )
        conn.commit()
    finally:
        conn.close()
    before = snapshot(pg_target)
    bad = replace_row("codeset", 2, "abc,Relationship,Mother,Mother,,")
    load_error(write_extracts(tmp_path / "bad", {"codeset": bad}), pg_target)
    assert snapshot(pg_target) == before
    conn = connect(pg_target)
    try:
        cur = conn.cursor()
        cur.execute(f"select count(*) from {pg_target.schema}.v")
        assert cur.fetchone()[0] == 2
    finally:
        conn.close()


def test_progress_on_postgres_and_duckdb_match(target, tmp_path) -> None:
    messages: list[str] = []
    load_extracts(write_extracts(tmp_path / "x"), target, progress=messages.append)
    assert [m.split(" rows in ")[0] for m in messages] == [
        f"loaded {t.file_name}: {n}"
        for t, n in zip(TABLES.values(), [2, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 5], strict=True)
    ]
