"""The project's dbt conventions (DEVELOPERS guide), checked on dbt's manifest.

`check_conventions` returns one violation string per broken rule ("<model>: <what>"), so the
same checks run on the real project (must be clean) and on a copy with deliberately broken
models (must report each breakage).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctseds.tables import TABLES
from ctseds.targets import PROJECT_DIR, Target, write_profiles

DBT = Path(sys.executable).with_name("dbt")
SOURCE_NAME = "powerschool"
MARTS = {"ct_seds_student_contacts", "ct_seds_student_contacts_exceptions"}  # interface.md
FINAL_MART = "ct_seds_student_contacts"
LAYERS = ("staging", "intermediate", "marts")
INTERMEDIATE_NAME = re.compile(r"^int_[a-z]+(_[a-z]+)*_[a-z]+ed$")
MAX_NAME_LENGTH = 50

# Engine-specific syntax: allowed only inside dispatched macros (macros/), never in models.
FORBIDDEN_SYNTAX = {
    "qualify": re.compile(r"\bqualify\b"),
    "iff(": re.compile(r"\biff\s*\("),
    "::": re.compile(r"::"),
    "ilike": re.compile(r"\bilike\b"),
    "regexp_matches": re.compile(r"\bregexp_matches\b"),
    "~": re.compile(r"~"),
    "collate": re.compile(r"\bcollate\b"),
}

_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
# String literals first, so '--' or '~' inside a literal is neither a comment nor syntax.
_SQL_LITERAL_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)
_SOURCE_CALL = re.compile(r"\bsource\s*\(")
_OVER = re.compile(r"\bover\s*\(")


def sql_text(raw_code: str) -> str:
    """A model's own SQL: lower case, without Jinja, comments or string literals."""
    text = _JINJA_COMMENT.sub(" ", raw_code)
    text = _JINJA_TAG.sub(" ", text)
    text = _SQL_LITERAL_OR_COMMENT.sub(" ", text)
    return text.lower()


def window_specs(sql: str) -> list[str]:
    """The text inside the parentheses of every `over (...)`."""
    specs = []
    for match in _OVER.finditer(sql):
        depth, start = 1, match.end()
        pos = start
        while pos < len(sql) and depth:
            depth += {"(": 1, ")": -1}.get(sql[pos], 0)
            pos += 1
        specs.append(sql[start : pos - 1])
    return specs


def _tests_by_model(manifest: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata"):
            out.setdefault(node.get("attached_node") or "", []).append(node)
    return out


def _has_primary_key_test(model: dict, tests: list[dict]) -> bool:
    unique: set[str] = set()
    not_null: set[str] = set()
    for test in tests:
        name = test["test_metadata"]["name"]
        if name == "unique_combination":
            return True
        column = test.get("column_name")
        if name == "unique" and column:
            unique.add(column)
        elif name == "not_null" and column:
            not_null.add(column)
    for constraint in model.get("constraints") or []:
        if constraint["type"] == "primary_key":
            return True
    for column in model["columns"].values():
        for constraint in column.get("constraints") or []:
            if constraint["type"] == "primary_key":
                return True
            if constraint["type"] == "not_null":
                not_null.add(column["name"])
    return bool(unique & not_null)


def check_conventions(
    manifest: dict, mart_columns: dict[str, list[str]] | None = None
) -> list[str]:
    """Every convention violation of the project's models, as "<model>: <what>" strings.

    `mart_columns` (model name -> columns of the built relation) enables the check that
    every column of a mart is described; without it only the YAML-declared columns are seen.
    """
    violations: list[str] = []
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == manifest_project(manifest)
    }
    tests = _tests_by_model(manifest)

    sources = {
        node["name"] for node in manifest["sources"].values() if node["source_name"] == SOURCE_NAME
    }
    if sources != set(TABLES):
        violations.append(
            f"sources: {SOURCE_NAME} declares {sorted(sources)}, expected the 13 tables "
            f"{sorted(TABLES)}"
        )
    expected_staging = {f"stg_{SOURCE_NAME}__{table}" for table in TABLES}
    staging_names = set()
    mart_names = set()

    for name, node in sorted(models.items()):
        path = Path(node["original_file_path"])
        layer = path.parts[1] if len(path.parts) > 2 and path.parts[0] == "models" else None
        if layer not in LAYERS:
            violations.append(
                f"{name}: lives in {path.parent}, not in models/{{{','.join(LAYERS)}}}/"
            )
        if len(name) > MAX_NAME_LENGTH:
            violations.append(f"{name}: name longer than {MAX_NAME_LENGTH} characters")

        raw = node.get("raw_code") or ""
        depends = node["depends_on"]["nodes"]
        if layer == "staging":
            staging_names.add(name)
            if node["refs"] or any(not uid.startswith("source.") for uid in depends):
                violations.append(f"{name}: staging model depends on something other than a source")
            node_sources = {tuple(s) for s in node["sources"]}
            if len(node_sources) != 1:
                violations.append(
                    f"{name}: staging model must select from exactly one source table"
                )
            for source_name, table in node_sources:
                if name != f"stg_{source_name}__{table}":
                    violations.append(
                        f"{name}: staging model of {source_name}.{table} must be named "
                        f"stg_{source_name}__{table}"
                    )
                if path.parent.as_posix() != f"models/staging/{source_name}":
                    violations.append(
                        f"{name}: staging model of source {source_name} must live under "
                        f"models/staging/{source_name}/"
                    )
        else:
            if node["sources"] or _SOURCE_CALL.search(_JINJA_COMMENT.sub(" ", raw)):
                violations.append(f"{name}: source() outside models/staging/")
            if layer == "intermediate" and not INTERMEDIATE_NAME.match(name):
                violations.append(
                    f"{name}: intermediate name must match {INTERMEDIATE_NAME.pattern} "
                    "(int_<entity>_<verb>ed)"
                )
            if layer == "marts":
                mart_names.add(name)
                if name not in MARTS:
                    violations.append(f"{name}: marts hold only {sorted(MARTS)} (interface.md)")

        description = (node.get("description") or "").strip()
        if not description.startswith("One row per"):
            violations.append(
                f"{name}: description must state the grain in its first sentence "
                "('One row per ...')"
            )
        patch = (node.get("patch_path") or "").split("://", 1)[-1]
        if patch and Path(patch).parent != path.parent:
            violations.append(f"{name}: documented in {patch}, not in its own folder's YAML")

        if layer == "marts":
            for column in node["columns"].values():
                if not (column.get("description") or "").strip():
                    violations.append(f"{name}: column {column['name']} has no description")
            if mart_columns is not None and name in mart_columns:
                for column in mart_columns[name]:
                    if not (node["columns"].get(column, {}).get("description") or "").strip():
                        violations.append(f"{name}: column {column} is not described in YAML")

        # A staging model of a table with no key in spec/input.md (reenrollments: "has none")
        # cannot have a primary-key test: its rows may legitimately repeat. Downstream models
        # give such rows a key (int_enrollments_unioned.enrollment_id).
        keyless = layer == "staging" and any(
            source_name == SOURCE_NAME and table in TABLES and not TABLES[table].keys
            for source_name, table in (tuple(s) for s in node["sources"])
        )
        if not keyless and not _has_primary_key_test(node, tests.get(node["unique_id"], [])):
            violations.append(
                f"{name}: no primary-key test (unique + not_null on one column, "
                "unique_combination, or a not_null constraint + unique)"
            )

        sql = sql_text(raw)
        for label, pattern in FORBIDDEN_SYNTAX.items():
            if pattern.search(sql):
                violations.append(
                    f"{name}: engine-specific syntax {label!r} in the model "
                    "(use a dispatched macro in macros/)"
                )
        for spec in window_specs(sql):
            if re.search(r"\bdesc\b", spec) and not re.search(r"\bnulls\b", spec):
                compact = " ".join(spec.split())
                violations.append(
                    f"{name}: window ordering by a desc column without nulls last/first: "
                    f"over ({compact})"
                )

    for missing in sorted(expected_staging - staging_names):
        violations.append(f"{missing}: missing staging model for source table")
    for extra in sorted(staging_names - expected_staging):
        violations.append(f"{extra}: staging model for no PowerSchool source table")
    for missing in sorted(MARTS - mart_names):
        violations.append(f"{missing}: missing mart (interface.md)")

    final = models.get(FINAL_MART)
    if final is not None and not final["contract"]["enforced"]:
        violations.append(f"{FINAL_MART}: contract must be enforced")
    return violations


def manifest_project(manifest: dict) -> str:
    return manifest["metadata"].get("project_name") or "ctseds"


# --- running dbt ------------------------------------------------------------------------


def _dbt(project_dir: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(work / "profiles"),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"dbt {args[0]} failed:\n{result.stdout[-4000:]}{result.stderr}"
    return result


def _parse(project_dir: Path, work: Path) -> dict:
    write_profiles(Target(kind="duckdb", warehouse=work / "w.duckdb"), work / "profiles")
    _dbt(project_dir, work, "parse", "--no-partial-parse")
    return json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def project_manifest(tmp_path_factory) -> dict:
    return _parse(PROJECT_DIR, tmp_path_factory.mktemp("conventions"))


@pytest.fixture(scope="module")
def built_mart_columns(tmp_path_factory) -> dict[str, list[str]]:
    """Columns of the marts as built (`dbt build --empty` on empty raw tables)."""
    import duckdb

    work = tmp_path_factory.mktemp("conventions_build")
    target = Target(kind="duckdb", warehouse=work / "w.duckdb")
    write_profiles(target, work / "profiles")
    con = duckdb.connect(str(target.warehouse))
    try:
        con.execute(f"create schema {target.raw_schema}")
        for table in TABLES.values():
            columns = ", ".join(f'"{c.name}" varchar' for c in table.columns)
            con.execute(f"create table {target.raw_schema}.{table.name} ({columns})")
    finally:
        con.close()
    _dbt(
        PROJECT_DIR,
        work,
        "build",
        "--empty",
        "--exclude",
        "resource_type:test",
        "resource_type:unit_test",
        "--vars",
        json.dumps({"as_of": "2026-11-16"}),
    )
    con = duckdb.connect(str(target.warehouse), read_only=True)
    try:
        return {
            mart: [
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [target.schema, mart],
                ).fetchall()
            ]
            for mart in MARTS
        }
    finally:
        con.close()


# --- tests ------------------------------------------------------------------------------


def test_project_follows_conventions(project_manifest, built_mart_columns):
    assert all(built_mart_columns.values()), built_mart_columns
    violations = check_conventions(project_manifest, built_mart_columns)
    assert not violations, "Convention violations:\n" + "\n".join(violations)


BAD_MART = """\
select
    id,
    dcid::varchar as dcid_text
from {{ source('powerschool', 'students') }}
qualify row_number() over (partition by id order by entrydate desc) = 1
"""

BAD_INTERMEDIATE = """\
select *
from {{ ref('stg_powerschool__person') }}
where first_name ilike 'a%'
"""

BAD_STAGING = """\
select * from {{ ref('stg_powerschool__person') }}
"""


def test_checks_catch_a_broken_project(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("models", "macros", "seeds", "tests/dbt"):
        if (PROJECT_DIR / name).is_dir():
            shutil.copytree(PROJECT_DIR / name, project / name)
    shutil.copy(PROJECT_DIR / "dbt_project.yml", project)
    (project / "models/marts/fct_bad.sql").write_text(BAD_MART, encoding="utf-8")
    (project / "models/intermediate/int_contacts.sql").write_text(
        BAD_INTERMEDIATE, encoding="utf-8"
    )
    (project / "models/staging/powerschool/stg_powerschool__extra.sql").write_text(
        BAD_STAGING, encoding="utf-8"
    )

    violations = check_conventions(_parse(project, tmp_path / "work"))
    report = "\n".join(violations)

    expected = {
        "fct_bad": [
            "source() outside models/staging/",
            "marts hold only",
            "description must state the grain",
            "no primary-key test",
            "engine-specific syntax 'qualify'",
            "engine-specific syntax '::'",
            "window ordering by a desc column without nulls",
        ],
        "int_contacts": [
            "intermediate name must match",
            "engine-specific syntax 'ilike'",
            "description must state the grain",
            "no primary-key test",
        ],
        "stg_powerschool__extra": [
            "staging model depends on something other than a source",
            "staging model for no PowerSchool source table",
        ],
    }
    for model, fragments in expected.items():
        for fragment in fragments:
            assert any(v.startswith(f"{model}: ") and fragment in v for v in violations), (
                f"expected a violation {fragment!r} for {model}; got:\n{report}"
            )
    # Only the added models are reported: the checks do not misfire on the real ones.
    assert all(v.split(":", 1)[0] in expected for v in violations), report


def test_sql_text_ignores_jinja_comments_and_literals():
    raw = (
        "{#- qualify ~ :: -#} select 'a::b ~ c' as x, -- qualify\n"
        "{{ regex_match('x', '^a~$') }} as y /* ilike */ from t"
    )
    text = sql_text(raw)
    assert not any(p.search(text) for p in FORBIDDEN_SYNTAX.values()), text
