"""Two `ctseds run` processes started together on one warehouse, with different report dates
and outputs: both finish and each file equals the one a lone run gives (issue: bad input,
faults, concurrency). Runs queue on the warehouse lock (a file lock beside the DuckDB file,
an advisory lock per schema on PostgreSQL), so neither sees the other's half-built tables.

The references are lone runs of the plain commands (`ctseds load`, `build`, `export`, no
Prefect), so the flow runs are also checked against a second path through the pipeline.
The PostgreSQL warehouse the pair leaves behind also serves the hostile-parameter checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import (
    HOSTILE_SCHOOL,
    HOSTILE_STUDENT,
    build_state,
    check_hostile_files,
    files_of,
    popen_cli,
    run_cli,
    table_counts,
    target_args,
)

from ctseds.targets import Target

STUDENTS = 150
D1 = "2026-11-16"
D2 = "2026-10-01"

_CREATED: list[Target] = []


@pytest.fixture(scope="module", autouse=True)
def _shared_prefect_and_cleanup(prefect_api):
    """Every CLI process reports to the session's Prefect server; at the end, remove the
    private dbt target folders of the throwaway warehouses."""
    yield
    import shutil

    from ctseds.dbt_invoke import target_dir

    for t in _CREATED:
        shutil.rmtree(target_dir(t), ignore_errors=True)


def duck(warehouse: Path) -> Target:
    t = Target(kind="duckdb", warehouse=warehouse, raw_schema="powerschool", schema="ctseds")
    _CREATED.append(t)
    return t


@pytest.fixture(scope="module")
def lone(tmp_path_factory) -> dict:
    """A generated district and the files of lone plain runs for D1 and D2 (DuckDB)."""
    from ctseds.generator import generate

    base = tmp_path_factory.mktemp("lone")
    extracts = base / "extracts"
    generate(extracts, students=STUDENTS)
    t = duck(base / "wh" / "lone.duckdb")
    proc = run_cli("load", "--extracts", str(extracts), *target_args(t))
    assert proc.returncode == 0, proc.stderr[-3000:]
    refs = {}
    for d in (D1, D2):
        proc = run_cli("build", "--as-of", d, *target_args(t))
        assert proc.returncode == 0, proc.stderr[-3000:]
        refs[d] = base / d / "c.csv"
        proc = run_cli("export", "--as-of", d, "--out", str(refs[d]), *target_args(t))
        assert proc.returncode == 0, proc.stderr[-3000:]
    return {"extracts": extracts, "refs": refs}


def _pair(lone: dict, t: Target, base: Path) -> dict:
    outs = {D1: base / "d1" / "c.csv", D2: base / "d2" / "c.csv"}
    procs = {
        d: popen_cli("run", "--extracts", str(lone["extracts"]), "--as-of", d,
                     "--out", str(o), *target_args(t), prefect_home=base / f"ph-{d}")
        for d, o in outs.items()
    }
    results = {d: (p.wait(900), p.stdout.read(), p.stderr.read()) for d, p in procs.items()}
    return {"outs": outs, "results": results, "target": t}


def _check_pair(res: dict, lone: dict) -> None:
    for d, (rc, _, err) in res["results"].items():
        assert rc == 0, f"{d}: {err[-3000:]}"
    for d, out in res["outs"].items():
        ref = lone["refs"][d]
        assert ref.read_bytes().count(b"\r\n") > 10, "the reference must have rows"
        for got, want in zip(files_of(out)[:2], files_of(ref)[:2], strict=True):
            assert got.read_bytes() == want.read_bytes(), f"{d}: {got.name} differs from lone run"
        assert json.loads(files_of(out)[2].read_text())["as_of"] == d


@pytest.mark.slow
def test_two_runs_on_one_duckdb_warehouse(lone, tmp_path):
    t = duck(tmp_path / "wh" / "shared.duckdb")
    _check_pair(_pair(lone, t, tmp_path), lone)


@pytest.fixture(scope="module")
def pg_pair(pg_env, lone, tmp_path_factory):
    from conftest import _drop_pg_target, _make_pg_target

    base = tmp_path_factory.mktemp("pgpair")
    t = _make_pg_target(base)
    _CREATED.append(t)
    try:
        yield _pair(lone, t, base)
    finally:
        _drop_pg_target(t)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_runs_on_one_postgres_schema(pg_pair, lone):
    """Also: `ctseds run` on PostgreSQL gives the bytes of the DuckDB run, for two dates."""
    _check_pair(pg_pair, lone)


@pytest.mark.slow
@pytest.mark.postgres
def test_hostile_cli_parameters_postgres(pg_pair, tmp_path):
    t = pg_pair["target"]
    as_of = build_state(t)[0]
    before = table_counts(t)
    for args, reason in (
        (["--student", HOSTILE_STUDENT], "student_not_in_scope"),
        (["--school", HOSTILE_SCHOOL], "school_not_found"),
        (["--school", "111); drop table ctseds_build_state; --"], "school_not_found"),
    ):
        out = tmp_path / f"{reason}.csv"
        proc = run_cli("export", "--as-of", as_of, "--out", str(out), *args, *target_args(t))
        assert proc.returncode == 0, proc.stderr
        check_hostile_files(out, args, reason)
    assert table_counts(t) == before
