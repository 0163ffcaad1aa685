"""Linters: SQLFluff (dbt templater, .sqlfluff) on the models and ruff on the Python code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctseds.targets import PROJECT_DIR, Target, write_profiles

BIN = Path(sys.executable).parent
# .sqlfluff points the dbt templater at this profiles dir (relative to the config file).
SQLFLUFF_PROFILES = Path("target/sqlfluff_profiles")


def _write_lint_profile(project_dir: Path) -> None:
    """The DuckDB profile the dbt templater compiles with (`make lint` writes the same)."""
    profiles = project_dir / SQLFLUFF_PROFILES
    write_profiles(Target(kind="duckdb", warehouse=profiles / "lint.duckdb"), profiles)


def _sqlfluff_lint(project_dir: Path, *paths: str) -> subprocess.CompletedProcess:
    _write_lint_profile(project_dir)
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    return subprocess.run(
        [str(BIN / "sqlfluff"), "lint", *paths, "--disable-progress-bar", "--nocolor"],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


# `sqlfluff lint models` on the whole project runs in `make lint`, which `make test` runs
# before pytest: it is not repeated here (it takes half a minute).


def test_ruff_clean():
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "ctseds", "flows", "tests"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"


_LONG_LINE = "    , " + " || ' ' || ".join(["persons.middle_name"] * 5) + " as middle_names\n"
BADLY_STYLED_MODEL = (
    "WITH Persons AS (\n"
    "  SELECT * FROM {{ ref('stg_powerschool__person') }}\n"
    ")\n"
    "SELECT Persons.person_id , UPPER(Persons.first_name) first_name_upper, NULL AS nothing\n"
    "    , persons.last_name\n" + _LONG_LINE + "from Persons\n"
)


@pytest.mark.slow
def test_sqlfluff_reports_a_badly_styled_model(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("models", "macros", "seeds"):
        shutil.copytree(PROJECT_DIR / name, project / name)
    for name in ("dbt_project.yml", ".sqlfluff", ".sqlfluffignore"):
        shutil.copy(PROJECT_DIR / name, project / name)
    bad = project / "models/intermediate/int_persons_styled.sql"
    bad.write_text(BADLY_STYLED_MODEL, encoding="utf-8")

    result = _sqlfluff_lint(project, str(bad.relative_to(project)))

    assert result.returncode == 1, result.stdout + result.stderr
    # Upper-case keywords, identifiers, functions and literals; implicit alias; spacing;
    # 2-space indent; leading commas; a line over 120 characters.
    for rule in ("CP01", "CP02", "CP03", "CP04", "AL02", "LT01", "LT02", "LT04", "LT05"):
        assert f"| {rule} |" in result.stdout, f"{rule} not reported:\n{result.stdout}"
