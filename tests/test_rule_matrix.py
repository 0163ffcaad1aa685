"""The hand-written rule matrix (tests/fixtures/rule_matrix, see its CASES.md) end to end.

Each case is one tiny input per rule and per reason code of report.md, with the export and
exceptions files derived by hand from the spec. On both engines: load the extract, build,
export, and compare the export file byte for byte and the exceptions file on the seven
columns tools compare (Detail is free text), row by row and in order.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from ctseds.dbt_invoke import dbt_build
from ctseds.exporter import export
from ctseds.loader import load_extracts

MATRIX = Path(__file__).parent / "fixtures" / "rule_matrix"
AS_OF = dt.date.fromisoformat(json.loads((MATRIX / "params.json").read_text())["as_of"])


def _records(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, strict=True))


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def matrix_built(request, tmp_path_factory):
    """Build the rule matrix once per engine and write the three files: (target, export)."""
    tmp = tmp_path_factory.mktemp(f"matrix-{request.param}")
    if request.param == "duckdb":
        from conftest import _duckdb_target

        target = _duckdb_target(tmp)
    else:
        request.getfixturevalue("pg_env")
        from conftest import _drop_pg_target, _make_pg_target

        target = _make_pg_target(tmp)
        request.addfinalizer(lambda: _drop_pg_target(target))
    load_extracts(MATRIX / "extract", target)
    dbt_build(target, AS_OF, unit_tests=True)  # dbt unit tests and data tests must pass too
    out = tmp / "out" / "contacts.csv"
    export(target, out, as_of=AS_OF)
    return target, out


@pytest.fixture
def matrix_output(matrix_built) -> Path:
    return matrix_built[1]


def test_export_matches_the_rule_matrix_byte_for_byte(matrix_output):
    expected = (MATRIX / "expected" / "export.csv").read_bytes()
    actual = matrix_output.read_bytes()
    if actual != expected:
        want, got = _records(MATRIX / "expected" / "export.csv"), _records(matrix_output)
        for i, (w, g) in enumerate(zip(want, got, strict=False)):
            assert g == w, f"export record {i} differs"
        assert len(got) == len(want), "export row count differs"
    assert actual == expected


def test_exceptions_match_the_rule_matrix(matrix_output):
    exceptions = matrix_output.with_name("contacts.exceptions.csv")
    want = [r[:7] for r in _records(MATRIX / "expected" / "exceptions.csv")]
    got = [r[:7] for r in _records(exceptions)]
    for i, (w, g) in enumerate(zip(want, got, strict=False)):
        assert g == w, f"exceptions record {i} differs"
    assert len(got) == len(want)
    raw = exceptions.read_bytes()
    assert raw.endswith(b"\r\n") and not raw.startswith(b"\xef\xbb\xbf")


def test_phone_invalid_detail_names_the_column(matrix_output):
    exceptions = _records(matrix_output.with_name("contacts.exceptions.csv"))
    details = [r[7] for r in exceptions[1:] if r[6] == "phone_invalid"]
    assert details, "the matrix has phone_invalid cases"
    columns = ("Home Phone", "Work Phone", "Mobile/Cell Phone")
    assert all(any(c in d for c in columns) for d in details)


def test_summary_counts_match_the_files(matrix_output):
    summary = json.loads(matrix_output.with_name("contacts.summary.json").read_text())
    export_rows = _records(matrix_output)[1:]
    exceptions = _records(matrix_output.with_name("contacts.exceptions.csv"))[1:]
    assert summary["rows"] == len(export_rows)
    by_reason: dict[str, int] = {}
    for r in exceptions:
        by_reason[r[6]] = by_reason.get(r[6], 0) + 1
    assert summary["exceptions_by_reason"] == by_reason
    assert summary["as_of"] == AS_OF.isoformat()


EXPORT_HEADER_LINE = (MATRIX / "expected" / "export.csv").read_bytes().split(b"\r\n")[0] + b"\r\n"


@pytest.mark.parametrize(
    "schools,export_rows,exception_rows",
    [
        # S2 and S3 are enrolled at school 5 (excluded); S3 also at 30 (not excluded). With
        # only 5 selected, both are school_excluded (report.md 2.4: covering enrollments at a
        # *selected* school), School Number 5 (§6: lowest covering selected school).
        (["5"], [], [
            ",99,5,,,excluded,school_excluded",
            "1000000003,1003,5,,,excluded,school_excluded",
        ]),
        # With 30 selected too, S3 is reported; its warning carries 30 (lowest covering
        # selected school not excluded). S1 (student_excluded, covering 30 and 10) carries 30:
        # the lowest covering *selected* school, not 10.
        (["30", "5"], ["Carla Diaz,M,1000000003,,,,,,,,,,Y,"], [
            ",99,5,,,excluded,school_excluded",
            "1000000003,1003,30,603,Carla Diaz,warning,no_address",
            "BAD,1001,30,,,excluded,student_excluded",
        ]),
    ],
    ids=["school-5", "schools-30-5"],
)
def test_school_selection_decides_exclusion_and_school_number(
    matrix_built, tmp_path, schools, export_rows, exception_rows
):
    target, _ = matrix_built
    out = tmp_path / "sel.csv"
    summary = export(target, out, as_of=AS_OF, schools=schools)
    expected = EXPORT_HEADER_LINE + b"".join(r.encode() + b"\r\n" for r in export_rows)
    assert out.read_bytes() == expected
    got = [",".join(r[:7]) for r in _records(tmp_path / "sel.exceptions.csv")[1:]]
    assert got == exception_rows
    assert summary["students_in_scope"] == (2 if schools == ["5"] else 3)
    assert summary["parameters"]["schools"] == schools
