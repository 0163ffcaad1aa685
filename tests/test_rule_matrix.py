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
def matrix_output(request, tmp_path_factory) -> Path:
    """Build the rule matrix once per engine and write the three files."""
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
    return out


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
