"""The demo district (default generator size) built on DuckDB and on PostgreSQL.

- Both engines give byte-identical export and exceptions files.
- The exceptions file shows every reason code of report.md at least once.
- The export has a row with every field filled (columns 1-11 and 13) and, for each of those
  columns that may be blank, a row where it is blank.
- Counts reconcile: for every reportable student, associations = exported rows + excluded pairs.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from ctseds.dbt_invoke import dbt_build
from ctseds.exporter import export
from ctseds.generator import DEFAULT_AS_OF, generate
from ctseds.loader import load_extracts

AS_OF = dt.date.fromisoformat(DEFAULT_AS_OF)

REASONS = {
    # student level (report.md 2.4)
    "student_excluded", "school_excluded", "missing_sasid", "invalid_sasid",
    # pair level (report.md 3)
    "contact_missing", "contact_is_student", "no_current_relationship", "relationship_excluded",
    "contact_excluded", "contact_inactive", "no_relationship_type", "unmapped_relationship",
    "no_custody", "contact_has_no_name", "duplicate_association",
    # warnings (report.md 5 and 6)
    "no_reportable_contact", "name_truncated", "phone_invalid", "email_invalid",
    "address_truncated", "city_truncated", "state_invalid", "zip_invalid", "no_address",
}
MAY_BE_BLANK = ["Email", "Address", "City", "State", "ZIP Code", "Home Phone", "Work Phone",
                "Mobile/Cell Phone", "Student Lives Here"]
FILLED = ["Parent Name", "Parent Type", "Student Code", *MAY_BE_BLANK]


@pytest.fixture(scope="module")
def demo_extract(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "extract"
    generate(folder)
    return folder


@pytest.fixture(scope="module")
def outputs(demo_extract, tmp_path_factory, request) -> dict[str, Path]:
    """Load, build and export the demo district once on each engine."""
    from conftest import _drop_pg_target, _duckdb_target, _make_pg_target

    request.getfixturevalue("pg_env")
    result = {}
    for kind in ("duckdb", "postgres"):
        tmp = tmp_path_factory.mktemp(f"demo-{kind}")
        if kind == "duckdb":
            target = _duckdb_target(tmp)
        else:
            target = _make_pg_target(tmp)
            request.addfinalizer(lambda t=target: _drop_pg_target(t))
        load_extracts(demo_extract, target)
        dbt_build(target, AS_OF)
        out = tmp / "ct-seds.csv"
        export(target, out, as_of=AS_OF)
        result[kind] = out
    return result


def _dicts(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, strict=True))


def test_engines_agree_byte_for_byte(outputs):
    duck, pg = outputs["duckdb"], outputs["postgres"]
    assert duck.read_bytes() == pg.read_bytes()
    exc = "ct-seds.exceptions.csv"
    assert duck.with_name(exc).read_bytes() == pg.with_name(exc).read_bytes()
    assert len(_dicts(duck)) > 500


def test_every_reason_code_appears(outputs):
    exceptions = _dicts(outputs["duckdb"].with_name("ct-seds.exceptions.csv"))
    reasons = {row["Reason"] for row in exceptions}
    assert REASONS - reasons == set()


def test_rows_with_every_field_filled_and_each_field_blank(outputs):
    rows = _dicts(outputs["duckdb"])
    assert any(all(row[c] for c in FILLED) for row in rows), "no row has every field filled"
    for column in MAY_BE_BLANK:
        assert any(not row[column] for row in rows), f"no row with {column} blank"
    assert all(row["Language"] == "" for row in rows)
    assert all(row["Can Receive Parent Portal Notifications"] == "" for row in rows)


def test_student_codes_keep_leading_zeros(outputs):
    rows = _dicts(outputs["duckdb"])
    assert any(row["Student Code"].startswith("0") for row in rows)
    assert all(len(row["Student Code"]) == 10 and row["Student Code"].isdigit() for row in rows)
    assert any(row["ZIP Code"].startswith("0") for row in rows)
