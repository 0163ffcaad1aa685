"""The `ctseds` command run as a real process: exit statuses, messages, end-to-end runs.

All data is generated (synthetic). PostgreSQL tests use the session server of conftest.py.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cli_helpers import clean_failure, run_cli

AS_OF = "2026-11-16"
STUDENTS = 150


def assert_clean_failure(proc, code: int = 1) -> str:
    return clean_failure(proc.returncode, proc.stderr, expected=code)


def _forget(warehouse: Path | None = None, target=None) -> None:
    """Remove dbt's private target folder of a throwaway test warehouse."""
    import shutil

    from ctseds.dbt_invoke import target_dir
    from ctseds.targets import Target

    target = target or Target(kind="duckdb", warehouse=warehouse)
    shutil.rmtree(target_dir(target), ignore_errors=True)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- usage errors


def test_bad_as_of_is_a_usage_error(tmp_path: Path):
    proc = run_cli("export", "--out", str(tmp_path / "x.csv"), "--as-of", "2026-13-01",
                   "--warehouse", str(tmp_path / "w.duckdb"))
    assert proc.returncode == 2
    assert "YYYY-MM-DD" in proc.stderr or "valid date" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("build", "--as-of", "16/11/2026", "--warehouse", str(tmp_path / "w.duckdb"))
    assert proc.returncode == 2
    assert list(tmp_path.iterdir()) == []


def test_out_must_name_a_csv_file(tmp_path: Path):
    for cmd in ("export", "run"):
        proc = run_cli(cmd, "--out", str(tmp_path / "x.txt"), "--as-of", AS_OF,
                       "--warehouse", str(tmp_path / "w.duckdb"))
        line = assert_clean_failure(proc, code=2)
        assert ".csv" in line
    assert list(tmp_path.iterdir()) == []


def test_unknown_command_and_missing_out(tmp_path: Path):
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("export").returncode == 2


def test_bench_stub_or_benchmark_exists():
    proc = run_cli("bench", "--help")
    assert proc.returncode in (0, 1)
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- expected failures


def _raw_rows(warehouse: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'powerschool' order by 1").fetchall()]
        return {n: con.execute(f"select count(*) from powerschool.{n}").fetchone()[0]
                for n in names}
    finally:
        con.close()


def test_load_refuses_a_missing_file_or_column_and_keeps_the_raw_tables(tmp_path: Path):
    import csv
    import shutil

    from ctseds.generator import generate

    good = tmp_path / "good"
    generate(good, students=20)
    wh = tmp_path / "w.duckdb"
    assert run_cli("load", "--extracts", str(good), "--warehouse", str(wh)).returncode == 0
    before = _raw_rows(wh)
    assert len(before) == 13 and before["students"] == 20

    no_person = tmp_path / "no-person"
    shutil.copytree(good, no_person)
    (no_person / "person.csv").unlink()
    line = assert_clean_failure(run_cli("load", "--extracts", str(no_person), "--warehouse",
                                        str(wh)))
    assert "person.csv" in line
    assert _raw_rows(wh) == before

    no_sasid = tmp_path / "no-sasid"
    shutil.copytree(good, no_sasid)
    with (good / "students.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    drop = rows[0].index("State_StudentNumber")
    with (no_sasid / "students.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([r[:drop] + r[drop + 1:] for r in rows])
    line = assert_clean_failure(run_cli("load", "--extracts", str(no_sasid), "--warehouse",
                                        str(wh)))
    assert "students.csv" in line and "State_StudentNumber" in line
    assert _raw_rows(wh) == before


def test_build_or_export_without_data_says_what_to_do(tmp_path: Path):
    """A first `ctseds build` or `ctseds export` on a warehouse that was never loaded: exit 1,
    a message that says to load first, and no empty warehouse file left behind."""
    wh = tmp_path / "wh" / "never.duckdb"
    line = assert_clean_failure(run_cli("build", "--as-of", AS_OF, "--warehouse", str(wh)))
    assert "no PowerSchool tables" in line and "ctseds load --extracts" in line
    assert not wh.exists()
    out = tmp_path / "out" / "x.csv"
    line = assert_clean_failure(
        run_cli("export", "--as-of", AS_OF, "--warehouse", str(wh), "--out", str(out)))
    assert "no DuckDB warehouse" in line and str(wh) in line
    assert not wh.exists() and not out.parent.exists()


def test_postgres_unreachable(tmp_path: Path):
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(_closed_port()), "PGUSER": "nobody",
           "PGDATABASE": "nothing"}
    out = tmp_path / "out" / "x.csv"
    for args in (
        ("export", "--target", "postgres", "--out", str(out), "--as-of", AS_OF),
        ("build", "--target", "postgres", "--as-of", AS_OF),
    ):
        proc = run_cli(*args, env=env, cwd=tmp_path)
        line = assert_clean_failure(proc)
        assert "PostgreSQL" in line and "PGPORT" in line
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_locked_duckdb_file(tmp_path: Path):
    import duckdb

    wh = tmp_path / "w.duckdb"
    con = duckdb.connect(str(wh))  # another process (this one) holds the file lock
    try:
        proc = run_cli("export", "--out", str(tmp_path / "x.csv"), "--as-of", AS_OF,
                       "--warehouse", str(wh))
        line = assert_clean_failure(proc)
        assert "in use" in line
    finally:
        con.close()
    assert not (tmp_path / "x.csv").exists()


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def cli_built(tmp_path_factory):
    """generate → load → build → export with the plain commands (DuckDB)."""
    base = tmp_path_factory.mktemp("cli")
    extracts = base / "extracts"
    wh = base / "wh" / "w.duckdb"
    assert run_cli("generate", "--out", str(extracts), "--students", str(STUDENTS)).returncode == 0
    proc = run_cli("load", "--extracts", str(extracts), "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stderr
    assert "[load]" in proc.stderr
    proc = run_cli("build", "--as-of", AS_OF, "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stderr
    assert "[build]" in proc.stderr and "nodes in" in proc.stderr
    out = base / "plain" / "contacts.csv"
    proc = run_cli("export", "--as-of", AS_OF, "--warehouse", str(wh), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "[export]" in proc.stderr
    assert proc.stdout.split() == [
        str(out), str(out.with_name("contacts.exceptions.csv")),
        str(out.with_name("contacts.summary.json")),
    ]
    yield base, extracts, wh, out
    _forget(wh)


@pytest.mark.slow
def test_export_for_another_as_of_exits_1(cli_built, tmp_path: Path):
    _, _, wh, _ = cli_built
    out = tmp_path / "x.csv"
    proc = run_cli("export", "--as-of", "2026-11-20", "--warehouse", str(wh), "--out", str(out))
    line = assert_clean_failure(proc)
    assert AS_OF in line and "ctseds build --as-of 2026-11-20" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_export_options_from_the_command_line(cli_built, tmp_path: Path):
    _, _, wh, out = cli_built
    part = tmp_path / "p.csv"
    proc = run_cli("export", "--as-of", AS_OF, "--warehouse", str(wh), "--out", str(part),
                   "--no-portal-column", "--school", "111", "--school", "111",
                   "--student", "nobody-here")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(part.with_name("p.summary.json").read_text())
    assert summary["parameters"] == {"as_of": AS_OF, "schools": ["111"],
                                     "students": ["nobody-here"],
                                     "include_portal_notifications": False}
    assert summary["rows"] == 0 and summary["students_in_scope"] == 0
    header = part.read_bytes().split(b"\r\n")[0].decode()
    assert header.count(",") == 12
    assert summary["exceptions_by_reason"] == {"student_not_in_scope": 1}


@pytest.mark.slow
def test_run_is_one_flow_run_and_matches_the_plain_export(cli_built, prefect_api,
                                                         tmp_path: Path):
    _, extracts, _, plain = cli_built
    wh = tmp_path / "wh" / "run.duckdb"
    out = tmp_path / "run" / "contacts.csv"
    proc = run_cli("run", "--extracts", str(extracts), "--out", str(out), "--as-of", AS_OF,
                   "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stderr
    for stage in ("[flow]", "[load]", "[build]", "[export]"):
        assert stage in proc.stderr
    _forget(wh)
    assert out.read_bytes() == plain.read_bytes()
    assert (out.with_name("contacts.exceptions.csv").read_bytes()
            == plain.with_name("contacts.exceptions.csv").read_bytes())
    assert out.with_name("contacts.summary.json").exists()
    # `ctseds run` on PostgreSQL: test_concurrency.py compares it with lone DuckDB runs.


@pytest.mark.slow
def test_no_student_in_scope_gives_header_only(cli_built, tmp_path: Path):
    _, extracts, _, _ = cli_built
    wh = tmp_path / "summer.duckdb"
    day = "2027-07-20"  # between school years
    assert run_cli("load", "--extracts", str(extracts), "--warehouse", str(wh)).returncode == 0
    proc = run_cli("build", "--as-of", day, "--warehouse", str(wh))
    _forget(wh)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "summer.csv"
    proc = run_cli("export", "--as-of", day, "--warehouse", str(wh), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().count(b"\r\n") == 1
    summary = json.loads(out.with_name("summer.summary.json").read_text())
    assert summary["students_in_scope"] == 0 and summary["rows"] == 0
    assert "No student is in scope on 2027-07-20" in summary["note"]


@pytest.mark.slow
def test_demo_writes_the_files_and_says_where_everything_is(prefect_api, tmp_path: Path):
    proc = run_cli("demo", "--out-dir", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _forget(tmp_path / "warehouse" / "demo.duckdb")
    lines = proc.stdout.splitlines()
    files = [Path(ln) for ln in lines if ln.startswith(str(tmp_path / "out"))]
    assert [f.name for f in files] == [
        "ct-seds-student-contacts-2026-11-16.csv",
        "ct-seds-student-contacts-2026-11-16.exceptions.csv",
        "ct-seds-student-contacts-2026-11-16.summary.json",
    ]
    summary = json.loads(files[2].read_text())
    assert summary["rows"] > 0 and files[0].read_bytes().count(b"\r\n") == summary["rows"] + 1
    extract = tmp_path / "warehouse" / "demo-extract"
    assert f"Sample extract (synthetic): {extract}" in lines
    assert len(list(extract.glob("*.csv"))) == 13
    assert any(ln.startswith(f"Demo warehouse: {tmp_path / 'warehouse' / 'demo.duckdb'}")
               for ln in lines)
