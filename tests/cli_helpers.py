"""Helpers for tests that run `ctseds` as a real process (exit codes and stderr are the real
ones) against throwaway warehouses. Every CLI process inherits the environment, so with the
fixture `prefect_api` active it reports to the session's Prefect server."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from ctseds.db import connect, quote_ident
from ctseds.targets import Target

CTSEDS = str(Path(sys.executable).with_name("ctseds"))
PYTHON = sys.executable

HOSTILE_STUDENT = "1' or '1'='1"
HOSTILE_SCHOOL = "1; drop table students"


def cli_env(prefect_home: Path | None = None, extra: dict | None = None) -> dict:
    env = dict(os.environ)  # PREFECT_API_URL: the session's server (fixture prefect_api)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if prefect_home is not None:
        prefect_home.mkdir(parents=True, exist_ok=True)
        env["PREFECT_HOME"] = str(prefect_home)
    if extra:
        env.update(extra)
    return env


def run_cli(*args: str, prefect_home: Path | None = None, env: dict | None = None,
            timeout: int = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CTSEDS, *args], env=cli_env(prefect_home, env), capture_output=True, text=True,
        timeout=timeout, cwd=cwd,
    )


def popen_cli(*args: str, prefect_home: Path | None = None, env: dict | None = None,
              **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [CTSEDS, *args], env=cli_env(prefect_home, env), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, **kw,
    )


def clean_failure(code: int, stderr: str, expected: int = 1) -> str:
    """Exit status `expected`, exactly one `error:` paragraph, no traceback; returns it."""
    assert code == expected, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_of(out: Path) -> tuple[Path, Path, Path]:
    stem = out.name[: -len(".csv")]
    return out, out.with_name(f"{stem}.exceptions.csv"), out.with_name(f"{stem}.summary.json")


def target_args(t: Target) -> list[str]:
    if t.kind == "duckdb":
        return ["--warehouse", str(t.warehouse)]
    return ["--target", "postgres", "--raw-schema", t.raw_schema, "--schema", t.schema]


def table_counts(t: Target) -> dict[str, int]:
    """Row count of every table and view in the raw and model schemas."""
    conn = connect(t)
    try:
        cur = conn.cursor()
        cur.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (%s, %s) order by 1, 2".replace(
                "%s", "?" if t.kind == "duckdb" else "%s"),
            (t.raw_schema, t.schema),
        )
        names = [(r[0], r[1]) for r in cur.fetchall()]
        counts = {}
        for schema, name in names:
            cur.execute(f"select count(*) from {quote_ident(schema)}.{quote_ident(name)}")
            counts[f"{schema}.{name}"] = cur.fetchone()[0]
        return counts
    finally:
        conn.close()


def build_state(t: Target) -> list[str]:
    conn = connect(t)
    try:
        cur = conn.cursor()
        cur.execute(f"select as_of from {quote_ident(t.schema)}.ctseds_build_state")
        return sorted(str(r[0]) for r in cur.fetchall())
    finally:
        conn.close()


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def rewrite_csv(path: Path, edit) -> None:
    """Rewrite an extract file through `edit(rows)` (rows include the header)."""
    rows = read_csv(path)
    rows = edit(rows) or rows
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def check_hostile_files(out: Path, args: list[str], reason: str) -> None:
    """A run whose only selection was one hostile value: header-only export, the value
    listed as not found, nothing in scope."""
    export, exc, summary = files_of(out)
    assert export.read_bytes().count(b"\r\n") == 1  # header only: nothing matched
    rows = read_csv(exc)[1:]
    assert [r[6] for r in rows] == [reason], rows
    value = args[1]
    if reason == "student_not_in_scope":
        assert rows[0][1] == value
    else:
        assert rows[0][2] == value
    s = json.loads(summary.read_text())
    assert s["rows"] == 0 and s["students_in_scope"] == 0
