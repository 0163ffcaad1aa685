"""Run `dbt build` (in-process) for a target and report date D.

Every invocation gets:
- a profile written by `targets.write_profiles` into a private temporary folder (PostgreSQL
  credentials stay `env_var()` references, never written out);
- `--vars` with `as_of` (YYYY-MM-DD), `raw_schema` and any extra vars;
- a target and log folder private to the warehouse
  (`<project>/target/<kind>-<hash of the warehouse>`), so runs against different warehouses
  never share dbt's target folder (manifest, partial parse, run_results).

Two runners: the plain `dbtRunner` (for `ctseds build`) and prefect-dbt's `PrefectDbtRunner`
(inside the flow: each dbt node becomes a Prefect task). Failures become a `CtsedsError` that
names the failed nodes and counts, never the failure messages (a test failure message may
echo data values).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from ctseds.errors import CtsedsError
from ctseds.targets import PROJECT_DIR, Target, write_profiles

Progress = Callable[[str], None] | None

FAILED = {"error", "fail", "runtime error"}
MAX_NAMED = 10  # failed nodes named in a message


def _quiet_environment() -> None:
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ.setdefault("DBT_DO_NOT_TRACK", "1")


def warehouse_key(target: Target) -> str:
    """A short, stable hash naming the warehouse (no credentials)."""
    if target.kind == "duckdb":
        ident = f"duckdb\x00{target.warehouse}"
    else:
        host = os.environ.get("PGHOST") or "localhost"
        port = os.environ.get("PGPORT") or "5432"
        db = os.environ.get("PGDATABASE") or os.environ.get("PGUSER") or ""
        ident = f"postgres\x00{host}\x00{port}\x00{db}\x00{target.schema}\x00{target.raw_schema}"
    return hashlib.sha256(ident.encode()).hexdigest()[:12]


def target_dir(target: Target) -> Path:
    """dbt's target path for this warehouse (absolute)."""
    return PROJECT_DIR / "target" / f"{target.kind}-{warehouse_key(target)}"


def log_dir(target: Target) -> Path:
    return target_dir(target) / "logs"


def threads_for(target: Target) -> int:
    return 1 if target.kind == "duckdb" else 4


def dbt_args(
    command: str,
    target: Target,
    as_of: date,
    profiles_dir: Path,
    *,
    select: list[str] | None = None,
    extra_vars: dict[str, Any] | None = None,
) -> list[str]:
    vars_: dict[str, Any] = {"as_of": as_of.isoformat(), **target.dbt_vars()}
    if extra_vars:
        vars_.update(extra_vars)
    args = [
        *command.split(),
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(profiles_dir),
        "--target",
        target.kind,
        "--target-path",
        str(target_dir(target)),
        "--log-path",
        str(log_dir(target)),
        "--threads",
        str(threads_for(target)),
        "--vars",
        json.dumps(vars_, sort_keys=True),
    ]
    if select:
        args += ["--select", *select]
    return args


def release_duckdb() -> None:
    """Close the connections dbt keeps open, so the DuckDB file is not left locked in-process.

    dbt-duckdb keeps its DuckDB instance in a class-level environment after the run
    (dbt-core#11980); close it so the exporter (or another process) can open the file.
    """
    try:
        from dbt.adapters.factory import cleanup_connections

        cleanup_connections()
    except Exception:
        pass
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except Exception:
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            try:
                env.close()
            except Exception:
                pass
            DuckDBConnectionManager._ENV = None
    import gc

    gc.collect()


def _one_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summarize_results(res: Any) -> tuple[int, list[str], int]:
    """(nodes run, failed node ids, skipped count) from a dbtRunnerResult."""
    results = getattr(getattr(res, "result", None), "results", None) or []
    failed: list[str] = []
    skipped = 0
    for r in results:
        status = str(getattr(r, "status", "")).lower()
        node = getattr(r, "node", None)
        uid = getattr(node, "unique_id", None) or getattr(r, "unique_id", "?")
        if status in FAILED:
            failed.append(uid)
        elif status == "skipped":
            skipped += 1
    return len(results), sorted(failed), skipped


_CONNECTION_LOST = re.compile(
    r"connection|server closed|terminating|could not connect|no such file or directory|"
    r"admin shutdown|database system is shutting down",
    re.IGNORECASE,
)


def _lost_connection(res: Any) -> bool:
    """Whether a failed node failed because the database went away (messages are only
    searched for these words, never shown: they may quote data)."""
    results = getattr(getattr(res, "result", None), "results", None) or []
    return any(
        str(getattr(r, "status", "")).lower() in FAILED
        and _CONNECTION_LOST.search(str(getattr(r, "message", "") or ""))
        for r in results
    )


# The kinds the staging typing macros name in their own errors (macros/typing.sql `_invalid`).
_UNTYPED_KINDS = ("integer", "date", "timestamp", "flag")
_UNTYPED = re.compile(rf"ctseds: not a valid ({'|'.join(_UNTYPED_KINDS)})\b")


def _untyped_kinds(res: Any) -> list[str]:
    """The kinds named by the staging typing macros' own errors (macros/typing.sql): a raw
    value that does not parse. The messages hold only the kind, never the value."""
    results = getattr(getattr(res, "result", None), "results", None) or []
    found = set()
    for r in results:
        found.update(_UNTYPED.findall(str(getattr(r, "message", "") or "")))
    return sorted(found)


def _failure_message(target: Target, as_of: date, res: Any) -> str:
    n, failed, skipped = _summarize_results(res)
    logs = log_dir(target) / "dbt.log"
    if failed:
        named = ", ".join(failed[:MAX_NAMED])
        more = f" and {len(failed) - MAX_NAMED} more" if len(failed) > MAX_NAMED else ""
        untyped = _untyped_kinds(res)
        if untyped:
            cause = (
                f"a raw PowerSchool table holds a value that is not a valid "
                f"{' or '.join(untyped)} (see docs/input.md); the failed staging model names the "
                "table. Correct the value in that table (or in the extract, then load it "
                "again) and run `ctseds build` (or `ctseds run`) again."
            )
        elif target.kind == "postgres" and _lost_connection(res):
            cause = (
                "the connection to PostgreSQL was lost during the build: check that the server "
                "is running and reachable (PGHOST, PGPORT), then run `ctseds build` (or "
                "`ctseds run`) again."
            )
        else:
            cause = (
                "a failing test usually means the extract or a seed (relationship crosswalk, "
                "parent types) needs fixing. Fix it and run `ctseds build` (or `ctseds run`) "
                "again."
            )
        return (
            f"dbt build for as_of {as_of.isoformat()} on {target.label} failed: "
            f"{len(failed)} of {n} nodes failed ({named}{more}), {skipped} skipped. "
            "Nothing was exported and the previous build state was cleared. "
            f"See {logs} for details; {cause}"
        )
    exc = getattr(res, "exception", None)
    detail = f": {type(exc).__name__}: {redact(_one_line(exc))}" if exc is not None else ""
    hint = ""
    text = str(exc or "")
    if "lock" in text.lower() and target.kind == "duckdb":
        hint = (
            " The DuckDB file seems to be in use by another process: close it (DuckDB shell, "
            "notebook) or wait for the other run."
        )
    elif target.kind == "postgres" and ("connect" in text.lower() or "server" in text.lower()):
        hint = (
            " Check PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and that the server is running."
        )
    return (
        f"dbt build for as_of {as_of.isoformat()} on {target.label} did not run{detail}.{hint} "
        f"See {logs} for details, fix the cause and run `ctseds build` again."
    )


def _check_raw_tables(target: Target) -> None:
    """A build over missing raw tables fails in every staging model; say what to do instead."""
    from ctseds.db import missing_raw_tables

    missing = missing_raw_tables(target)
    if missing:
        raise CtsedsError(
            f"There are no PowerSchool tables {', '.join(missing)} in the raw schema "
            f"{target.raw_schema} of {target.label}: nothing was "
            "built. Load an extract first (`ctseds load --extracts DIR`, or `ctseds run "
            "--extracts DIR ...`), or point --raw-schema (or $CTSEDS_RAW_SCHEMA) at the schema "
            "that holds your replicated PowerSchool tables."
        )


def _check_project() -> None:
    if not (PROJECT_DIR / "dbt_project.yml").exists():
        raise CtsedsError(
            f"The dbt project is missing at {PROJECT_DIR} (no dbt_project.yml). Reinstall ctseds "
            "from its repository."
        )


def dbt_build(
    target: Target,
    as_of: date,
    *,
    select: list[str] | None = None,
    progress: Progress = None,
    runner: str = "dbt",
    extra_vars: dict[str, Any] | None = None,
    command: str = "build",
    unit_tests: bool = False,
) -> dict[str, Any]:
    """Run `dbt <command>` (default build) for `target` and report date `as_of`.

    runner="dbt": plain dbtRunner; runner="prefect": PrefectDbtRunner (each node a task when
    called inside a flow run). dbt unit tests run only with unit_tests=True (the test suite).
    Returns {"nodes": n, "seconds": s}. Raises CtsedsError on failure.
    """
    if runner not in ("dbt", "prefect"):
        raise ValueError(f"unknown runner {runner!r}")
    _quiet_environment()
    _check_project()
    if command == "build" and not select:
        _check_raw_tables(target)
    stage = "build" if command == "build" else command.split()[0]
    started = time.monotonic()
    tdir = target_dir(target)
    tdir.mkdir(parents=True, exist_ok=True)
    log_dir(target).mkdir(parents=True, exist_ok=True)
    if progress:
        progress(f"[{stage}] dbt {command} for as_of {as_of.isoformat()} on {target.label}")
    try:
        log_start = (log_dir(target) / "dbt.log").stat().st_size
    except OSError:
        log_start = 0
    with tempfile.TemporaryDirectory(prefix="ctseds-profiles-") as pdir:
        profiles_dir = Path(pdir)
        write_profiles(target, profiles_dir, threads=threads_for(target))
        args = dbt_args(command, target, as_of, profiles_dir, select=select, extra_vars=extra_vars)
        if command == "build" and not unit_tests:
            # Unit tests check the SQL logic with fixed fixtures, not the district's data:
            # the test suite runs them; production builds skip them (dbt's advice).
            args += ["--exclude-resource-type", "unit_test"]
        try:
            if runner == "dbt":
                res = _run_plain(args, progress)
            else:
                res = _run_prefect(args, profiles_dir, tdir)
        finally:
            if target.kind == "duckdb":
                release_duckdb()
    if not res.success:
        _scrub_failure_logs(target, log_start)
        raise CtsedsError(_failure_message(target, as_of, res))
    n, _, _ = _summarize_results(res)
    seconds = time.monotonic() - started
    if progress:
        progress(f"[{stage}] {n} nodes in {seconds:.1f} s")
    return {"nodes": n, "seconds": round(seconds, 3)}


def _run_plain(args: list[str], progress: Progress) -> Any:
    from dbt.cli.main import dbtRunner

    done = {"n": 0}

    def on_event(event: Any) -> None:
        # Count finished nodes; name failures (node ids only, never messages).
        try:
            if event.info.name != "NodeFinished":
                return
            done["n"] += 1
            info = event.data.node_info
            status = str(info.node_status).lower()
            if progress and status in FAILED:
                progress(f"[build] {info.unique_id}: {status}")
        except Exception:
            pass

    # dbt prints nothing on the console (its messages may quote test fixtures or values);
    # everything goes to dbt.log in the private log folder, our progress lines to stderr.
    return dbtRunner(callbacks=[on_event]).invoke(
        ["--log-level", "none", "--log-level-file", "debug", *args]
    )


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
# The typing macros' own constant errors hold no value: kept.
_KEEP = {f"ctseds: not a valid {kind}" for kind in _UNTYPED_KINDS}


def redact(text: Any) -> Any:
    """A dbt/database message with every quoted part replaced by '...'.

    Database errors quote the offending value (DuckDB `Could not convert string 'x'`,
    PostgreSQL `invalid input syntax for type bigint: "x"`), and that value may be a name,
    an e-mail, a phone or an address: it must never reach the Prefect logs (report.md 7).
    """
    if not isinstance(text, str):
        return text

    def hide(m: re.Match) -> str:
        quoted = m.group(0)
        return quoted if quoted[1:-1] in _KEEP else quoted[0] + "..." + quoted[0]

    return _QUOTED.sub(hide, text)


def _scrub_failure_logs(target: Target, log_start: int) -> None:
    """After a failed build, redact quoted values in what this invocation added to dbt.log and
    in run_results.json's messages: database errors quote the offending value, which may be
    personal data (report.md 7). Node names, statuses and SQL structure stay readable."""
    log = log_dir(target) / "dbt.log"
    try:
        with log.open("r+b") as f:
            f.seek(log_start)
            tail = f.read().decode("utf-8", "replace")
            f.seek(log_start)
            f.write(redact(tail).encode("utf-8"))
            f.truncate()
    except OSError:
        pass
    results = target_dir(target) / "run_results.json"
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
        for r in data.get("results") or []:
            if isinstance(r, dict) and isinstance(r.get("message"), str):
                r["message"] = redact(r["message"])
        results.write_text(json.dumps(data), encoding="utf-8")
    except (OSError, ValueError):
        pass


def _run_prefect(args: list[str], profiles_dir: Path, tdir: Path) -> Any:
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    class _RedactingRunner(PrefectDbtRunner):
        """Every dbt event message sent to Prefect (task logs, node status) is redacted."""

        @staticmethod
        def get_dbt_event_msg(event: Any) -> str:
            return redact(PrefectDbtRunner.get_dbt_event_msg(event))

    settings = PrefectDbtSettings(
        project_dir=PROJECT_DIR, profiles_dir=profiles_dir, target_path=tdir
    )
    runner = _RedactingRunner(settings=settings, raise_on_failure=False, disable_assets=True)
    try:
        return runner.invoke(args)
    except ValueError as exc:
        # prefect-dbt raises ValueError when dbt itself raised (no node results).
        text = str(exc)
        if text.startswith("Failed to invoke dbt command") and "': " in text:
            text = text.split("': ", 1)[1]  # drop the echoed command line
        text = redact(text)

        class _Res:
            success = False
            result = None
            exception = RuntimeError(text)

        return _Res()
