"""ctseds.exporter: CSV framing, atomic 0600 files, selection semantics on both engines.

The integration part builds one generated district per engine (module-scoped) and exports it
with several selections. All data is synthetic.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest

from ctseds.errors import CtsedsError, UsageError
from ctseds.exporter import (
    EXCEPTIONS_HEADER,
    EXPORT_HEADER,
    Selection,
    clean,
    csv_record,
    exception_sort_key,
    export,
    output_paths,
    write_outputs,
)

AS_OF = date(2026, 11, 16)
STUDENTS = 150


# --------------------------------------------------------------------------- framing (unit)


def _strict_rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def test_record_crlf_and_minimal_quoting():
    assert csv_record(["a", "b"]) == b"a,b\r\n"
    assert csv_record(["x,y", 'say "hi"', "plain"]) == b'"x,y","say ""hi""",plain\r\n'
    assert csv_record(["cr\rx", "tab\tx", " lead"]) == b'"cr\rx",tab\tx, lead\r\n'


def test_record_null_and_empty_are_both_empty_fields():
    assert csv_record([None, "", "z"]) == b",,z\r\n"
    assert csv_record(["", ""]) == b",\r\n"
    assert b'""' not in csv_record([None, "", None])


def test_record_lf_inside_field_is_kept_in_quotes():
    rec = csv_record(["12 Main St\nApt 4", "Hartford"])
    assert rec == b'"12 Main St\nApt 4",Hartford\r\n'
    assert _strict_rows(rec) == [["12 Main St\nApt 4", "Hartford"]]


def test_record_numbers_and_utf8_no_bom():
    rec = csv_record([7, 0, "José", "06103"])
    assert rec == "7,0,José,06103\r\n".encode()
    assert not rec.startswith(b"\xef\xbb\xbf")


def test_strict_reread_one_record_per_row(tmp_path: Path):
    rows = [
        ["Ann Lee", "M", "0012345678", "", "1 A St\nUnit 2", "City, Town", "CT", "06103"],
        [None, "F", "0000000001", 'a"b@x.org', None, "", "", "00501-1234"],
    ]
    header = ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"]
    out = tmp_path / "f.csv"
    write_outputs(out, header, iter(rows), [], lambda info: {"rows": info["rows"]})
    data = out.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    parsed = _strict_rows(data)
    assert parsed[0] == header
    assert len(parsed) == 1 + len(rows)
    assert parsed[1] == [("" if v is None else v) for v in rows[0]]
    assert parsed[2] == [("" if v is None else v) for v in rows[1]]
    # every record ends with CRLF; the only bare LF is the one inside the quoted address
    assert data.count(b"\r\n") == 3
    assert data.replace(b"\r\n", b"").count(b"\n") == 1


def test_header_only_file_and_exceptions_header(tmp_path: Path):
    out = tmp_path / "empty.csv"
    write_outputs(out, EXPORT_HEADER, iter(()), [], lambda info: {"rows": info["rows"]})
    assert out.read_bytes() == (",".join(EXPORT_HEADER) + "\r\n").encode()
    ex = tmp_path / "empty.exceptions.csv"
    assert ex.read_bytes() == (",".join(EXCEPTIONS_HEADER) + "\r\n").encode()
    assert json.loads((tmp_path / "empty.summary.json").read_text()) == {"rows": 0}


# --------------------------------------------------------------------------- files (unit)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_files_are_0600(tmp_path: Path):
    out = tmp_path / "sub" / "x.csv"
    old = os.umask(0)
    try:
        write_outputs(out, ["a"], iter([["1"]]), [["c"] * 8], lambda info: {})
    finally:
        os.umask(old)
    for name in ("x.csv", "x.exceptions.csv", "x.summary.json"):
        assert _mode(tmp_path / "sub" / name) == 0o600


def test_failure_midway_leaves_previous_files_untouched(tmp_path: Path):
    out = tmp_path / "x.csv"
    write_outputs(out, ["a"], iter([["old"]]), [], lambda info: {"v": "old"})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"x.csv", "x.exceptions.csv", "x.summary.json"}

    def rows():
        for i in range(10000):
            if i == 5000:
                raise RuntimeError("boom in the middle")
            yield [f"new{i}"]

    with pytest.raises(RuntimeError):
        write_outputs(out, ["a"], rows(), [], lambda info: {"v": "new"})
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # same files, same bytes, no temporary file left behind

    def bad_summary(info):
        raise CtsedsError("summary failed")

    with pytest.raises(CtsedsError):
        write_outputs(out, ["a"], iter([["new"]]), [], bad_summary)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("name", ["x.txt", "x", "folder/", ".csv", "x.csv.gz"])
def test_out_must_be_csv(tmp_path: Path, name: str):
    with pytest.raises(UsageError):
        output_paths(tmp_path / name if name != "folder/" else tmp_path)


def test_output_names():
    a, b, c = output_paths(Path("/d/report.csv"))
    assert (a.name, b.name, c.name) == (
        "report.csv",
        "report.exceptions.csv",
        "report.summary.json",
    )


# --------------------------------------------------------------------------- selection (unit)


def test_clean_rule():
    assert clean(" a\t\tb \r\n c ") == "a b c"
    assert clean("\u00a0x\u00a0") == "\u00a0x\u00a0"  # no-break space untouched
    assert clean(None) == ""


def test_selection_dedup_and_school_numbers():
    sel = Selection(["101", " 101", "0101", 101, "abc", "abc "], ["200001", "200001\t", 7])
    assert sel.schools == ["101", "abc"]
    assert sel.school_ints == [101]
    assert sel.students == ["200001", "7"]
    assert Selection(None, None).is_empty
    with pytest.raises(UsageError):
        Selection(["  "], None)
    with pytest.raises(UsageError):
        Selection(None, ["\t"])


def test_exception_sort_blanks_first_and_numeric_ids():
    rows = [
        ("0000000002", "1", "10", "9", "", "warning", "b", ""),
        ("0000000002", "1", "10", "10", "", "warning", "a", ""),
        ("0000000002", "1", "9", "", "", "excluded", "z", ""),
        ("", "abc", "", "", "", "warning", "student_not_in_scope", ""),
        ("", "", "7", "", "", "warning", "school_not_found", ""),
        ("0000000001", "20", "", "", "", "excluded", "missing_sasid", ""),
        ("0000000001", "100", "", "", "", "excluded", "x", ""),
    ]
    got = sorted(rows, key=exception_sort_key)
    assert got == [
        ("", "", "7", "", "", "warning", "school_not_found", ""),
        ("", "abc", "", "", "", "warning", "student_not_in_scope", ""),
        ("0000000001", "100", "", "", "", "excluded", "x", ""),  # student number as text
        ("0000000001", "20", "", "", "", "excluded", "missing_sasid", ""),
        ("0000000002", "1", "9", "", "", "excluded", "z", ""),
        ("0000000002", "1", "10", "9", "", "warning", "b", ""),  # contact id numerically
        ("0000000002", "1", "10", "10", "", "warning", "a", ""),
    ]


# --------------------------------------------------------------------------- integration
# (tests below use the module-scoped `built` warehouses: marked slow via the fixture users)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def built(request, tmp_path_factory):
    """A generated district loaded and built for AS_OF, once per engine for this module."""
    from conftest import _drop_pg_target, _duckdb_target, _make_pg_target

    from ctseds.dbt_invoke import dbt_build
    from ctseds.generator import generate
    from ctseds.loader import load_extracts

    base = tmp_path_factory.mktemp(f"built-{request.param}")
    extracts = base / "extracts"
    generate(extracts, students=STUDENTS)
    if request.param == "duckdb":
        target = _duckdb_target(base)
    else:
        request.getfixturevalue("pg_env")
        target = _make_pg_target(base)
    load_extracts(extracts, target)
    dbt_build(target, AS_OF)
    yield target, base
    if request.param == "postgres":
        _drop_pg_target(target)
    _forget(target)


def _forget(target) -> None:
    """Remove dbt's private target folder of a throwaway test warehouse."""
    import shutil

    from ctseds.dbt_invoke import target_dir

    shutil.rmtree(target_dir(target), ignore_errors=True)


def _rel(target, name: str) -> str:
    """A fully qualified table name (a DuckDB file named like the schema is ambiguous)."""
    if target.kind == "duckdb":
        return f'"{target.warehouse.stem}"."{target.schema}"."{name}"'
    return f'"{target.schema}"."{name}"'


def _query(target, sql: str, params=()):
    from ctseds.db import connect, placeholder

    conn = connect(target)
    try:
        sql = sql.replace("?", placeholder(target))
        if target.kind == "duckdb":
            return conn.execute(sql, list(params)).fetchall()
        with conn.cursor() as cur:
            cur.execute(sql, tuple(params))
            return cur.fetchall()
    finally:
        conn.close()


def _read(path: Path) -> list[list[str]]:
    return _strict_rows(path.read_bytes())


def _export(target, out: Path, **kw):
    kw.setdefault("as_of", AS_OF)
    kw.setdefault("schools", None)
    kw.setdefault("students", None)
    return export(target, out, **kw)


@pytest.fixture(scope="module")
def full(built):
    target, base = built
    out = base / "full" / "all.csv"
    summary = _export(target, out)
    return target, out, summary


def test_full_export_files_and_summary(full):
    target, out, summary = full
    rows = _read(out)
    assert tuple(rows[0]) == EXPORT_HEADER
    assert len(rows) - 1 == summary["rows"] > 0
    assert all(len(r) == 14 for r in rows)
    exc = _read(out.with_name("all.exceptions.csv"))
    assert tuple(exc[0]) == EXCEPTIONS_HEADER
    assert len(exc) - 1 == summary["exceptions"] == sum(summary["exceptions_by_reason"].values())
    on_disk = json.loads(out.with_name("all.summary.json").read_text())
    for key in ("as_of", "parameters", "students_in_scope", "students_reported", "rows",
                "exceptions_by_reason", "sha256", "started_at", "finished_at", "version"):
        assert key in on_disk
    assert on_disk["parameters"] == {
        "as_of": "2026-11-16", "schools": None, "students": None,
        "include_portal_notifications": True,
    }
    import hashlib

    assert on_disk["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    n_mart, n_students = _query(
        target,
        "select count(*), count(distinct student_dcid) from "
        + _rel(target, "ct_seds_student_contacts"),
    )[0]
    assert summary["rows"] == n_mart
    assert on_disk["students_reported"] == n_students
    for p in (out, out.with_name("all.exceptions.csv"), out.with_name("all.summary.json")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_no_selection_exceptions_equal_the_mart(full):
    target, out, _ = full
    exc = _read(out.with_name("all.exceptions.csv"))[1:]
    mart = _query(
        target,
        "select student_code, student_number, school_number, contact_id, parent_name, severity, "
        f"reason from {_rel(target, 'ct_seds_student_contacts_exceptions')}",
    )

    def text(v):
        return "" if v is None else str(v)

    want = sorted(tuple(text(v) for v in r) for r in mart)
    got = sorted(tuple(r[:7]) for r in exc)
    assert got == want


def test_repeatable_bytes(full, tmp_path: Path):
    target, out, _ = full
    again = tmp_path / "again.csv"
    _export(target, again)
    assert again.read_bytes() == out.read_bytes()
    assert (tmp_path / "again.exceptions.csv").read_bytes() == out.with_name(
        "all.exceptions.csv"
    ).read_bytes()


def _is_ordered_subsequence(sub: list, full: list) -> bool:
    it = iter(full)
    return all(any(x == y for y in it) for x in sub)


def test_school_selection_is_a_subset(full, tmp_path: Path):
    target, out, _ = full
    all_rows = _read(out)[1:]
    schools = [
        r[0]
        for r in _query(
            target,
            f"select school_number, count(*) from {_rel(target, 'int_students_scoped')} "
            "group by school_number order by count(*) desc, school_number",
        )
    ]
    school = str(schools[0])
    part = tmp_path / "school.csv"
    summary = _export(target, part, schools=[school, school, "999999"])
    rows = _read(part)[1:]
    assert 0 < len(rows) < len(all_rows)
    assert _is_ordered_subsequence(rows, all_rows)
    codes_at_school = {
        r[0]
        for r in _query(
            target,
            f"select student_code from {_rel(target, 'int_students_scoped')} "
            "where school_number = ? and student_code is not null",
            (int(school),),
        )
    }
    assert {r[2] for r in rows} <= codes_at_school
    exc = _read(tmp_path / "school.exceptions.csv")[1:]
    assert ["", "", "999999", "", "", "warning", "school_not_found"] in [e[:7] for e in exc]
    assert summary["parameters"]["schools"] == [school, "999999"]
    # every pair/warning row names the selected school
    assert {e[2] for e in exc if e[0] or e[1]} <= {school}


def test_student_selection_by_number_and_sasid(full, tmp_path: Path):
    target, out, _ = full
    all_rows = _read(out)[1:]
    codes = sorted({r[2] for r in all_rows})
    a, b = codes[0], codes[-1]
    number_a = _query(
        target,
        f"select student_number from {_rel(target, 'int_students_identified')} "
        "where student_code = ?",
        (a,),
    )[0][0]
    part = tmp_path / "students.csv"
    summary = _export(
        target, part, students=[f" {number_a} ", b, b, "no-such-student"]
    )
    rows = _read(part)[1:]
    assert rows == [r for r in all_rows if r[2] in (a, b)]
    assert summary["students_in_scope"] == 2
    exc = _read(tmp_path / "students.exceptions.csv")[1:]
    assert ["", "no-such-student", "", "", "", "warning", "student_not_in_scope"] in [
        e[:7] for e in exc
    ]
    assert {e[0] for e in exc if e[0]} <= {a, b}


def test_no_portal_column_drops_only_column_14(full, tmp_path: Path):
    target, out, _ = full
    part = tmp_path / "noportal.csv"
    _export(target, part, include_portal_notifications=False)
    with_col = _read(out)
    without = _read(part)
    assert without == [r[:13] for r in with_col]
    assert "Can Receive Parent Portal Notifications" not in without[0]
    assert (tmp_path / "noportal.exceptions.csv").read_bytes() == out.with_name(
        "all.exceptions.csv"
    ).read_bytes()


def test_other_as_of_refused_and_nothing_written(full, tmp_path: Path):
    target, _, _ = full
    out = tmp_path / "other.csv"
    with pytest.raises(CtsedsError) as info:
        _export(target, out, as_of=date(2026, 11, 17))
    assert "2026-11-16" in str(info.value) and "ctseds build" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_ambiguous_identifier_is_an_error(full, tmp_path: Path):
    target, _, _ = full
    rows = _query(
        target,
        f"select student_number, student_code from {_rel(target, 'int_students_identified')} "
        "where student_code is not null order by student_number",
    )
    (n1, _c1), (_n2, c2) = rows[0], rows[1]
    # Make one identifier match two students: give student 2's SASID the text of student 1's
    # number (on a copy of the matching table, restored afterwards).
    tbl = f"{_rel(target, 'int_students_identified')}"
    from ctseds.db import connect

    def run(sql, params=()):
        conn = connect(target)
        try:
            if target.kind == "duckdb":
                conn.execute(sql.replace("?", "?"), list(params))
            else:
                with conn.cursor() as cur:
                    cur.execute(sql.replace("?", "%s"), tuple(params))
                conn.commit()
        finally:
            conn.close()

    run(f"update {tbl} set student_code = ? where student_code = ?", (str(n1), c2))
    try:
        out = tmp_path / "amb.csv"
        with pytest.raises(CtsedsError) as info:
            _export(target, out, students=[str(n1)])
        assert "more than one student" in str(info.value)
        assert list(tmp_path.iterdir()) == []
    finally:
        run(f"update {tbl} set student_code = ? where student_code = ?", (c2, str(n1)))


def test_missing_build_state_is_refused(built, tmp_path: Path):
    from ctseds.targets import Target

    target, _ = built
    other = Target(kind=target.kind, warehouse=tmp_path / "w.duckdb",
                   raw_schema=target.raw_schema, schema="nothing_built_here")
    if target.kind == "duckdb":  # a warehouse file that exists but holds no build
        import duckdb

        duckdb.connect(str(other.warehouse)).close()
    with pytest.raises(CtsedsError) as info:
        _export(other, tmp_path / "x.csv")
    assert "no complete build" in str(info.value)
    assert not (tmp_path / "x.csv").exists()


_TRICKY = [None, "", "a,b", 'say "hi"', "12 Oak St\nApt 4", "cr\rx", "tab\tx", " lead ",
           "José Peña", "\u00a0nbsp", '"', ",", "0203 555 0100"]


def test_database_framing_equals_python_framing(target):
    """The export's records are framed in SQL (csv_record_sql) on both engines: byte for
    byte what csv_record writes in Python, for every kind of awkward value."""
    from ctseds.db import connect
    from ctseds.exporter import csv_record_sql

    conn = connect(target)
    try:
        cur = conn.cursor()
        cols = [f"c{i}" for i in range(len(_TRICKY))]
        cur.execute(f"create temp table framing ({', '.join(c + ' varchar' for c in cols)})")
        mark = "?" if target.kind == "duckdb" else "%s"
        cur.execute(f"insert into framing values ({', '.join([mark] * len(cols))})", _TRICKY)
        cur.execute(f"select {csv_record_sql(cols)} from framing")
        line = cur.fetchone()[0]
    finally:
        conn.close()
    assert line.encode("utf-8") == csv_record(_TRICKY)


_SORT_ROWS = [
    ("0000000002", "1", "9", "", "", "excluded", "z", ""),
    ("", "abc", "", "", "", "warning", "student_not_in_scope", ""),
    ("", "", "7", "", "", "warning", "school_not_found", ""),
    ("", "", "1; drop table x", "", "", "warning", "school_not_found", ""),
    ("", "", "10", "", "", "warning", "school_not_found", ""),
    ("0000000001", "20", "", "", "", "excluded", "missing_sasid", ""),
    ("0000000001", "100", "", "", "", "excluded", "x", ""),
    ("0000000001", "100", "30", "12", "Émile", "warning", "phone_invalid", "Work Phone"),
    ("0000000001", "100", "30", "12", "Émile", "warning", "phone_invalid", "Home Phone"),
    ("0000000001", "100", "30", "9", "Zoe", "warning", "no_address", ""),
    ("0000000001", "100", "4", "123456789012345678901234567890", "ana", "excluded",
     "no_custody", ""),
    ("0000000001", "100", "4", "99", "ana", "excluded", "no_custody", ""),
    ("A", "100", "4", "99", "", "excluded", "b", ""),
    ("a", "100", "4", "99", "", "excluded", "b", ""),
]


def test_database_exception_order_equals_python_order(target):
    """sel_exceptions is sorted by SQL (exception_order_sql) on both engines: the same order
    as exception_sort_key, the reference for report.md 6 (blanks first, numbers numerically,
    text by code point)."""
    from ctseds.db import connect
    from ctseds.exporter import exception_order_sql

    conn = connect(target)
    try:
        cur = conn.cursor()
        cols = ["student_code", "student_number", "school_number", "contact_id",
                "parent_name", "severity", "reason", "detail"]
        cur.execute(f"create temp table sel_exceptions ({', '.join(c + ' varchar' for c in cols)})")
        mark = "?" if target.kind == "duckdb" else "%s"
        cur.executemany(
            f"insert into sel_exceptions values ({', '.join([mark] * 8)})",
            [tuple(v or None for v in row) for row in reversed(_SORT_ROWS)],
        )
        cur.execute(
            f"select {', '.join(cols)} from sel_exceptions "
            f"order by {exception_order_sql(target.kind)}"
        )
        got = [tuple(v or "" for v in row) for row in cur.fetchall()]
    finally:
        conn.close()
    assert got == sorted(_SORT_ROWS, key=exception_sort_key)
