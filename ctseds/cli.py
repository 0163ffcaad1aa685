"""The `ctseds` command (docs: README.md).

Exit status: 0 success, 1 a run failed (`CtsedsError`: one paragraph on stderr, no traceback
unless --debug), 2 usage error. Progress lines go to stderr, result paths to stdout.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import re
import shutil
import sys
import time
import traceback
from datetime import date
from pathlib import Path
from typing import Any

from ctseds import __version__
from ctseds import progress as progress_mod
from ctseds.errors import CtsedsError, UsageError

DEMO_NAME = "ct-seds-student-contacts"
DEMO_WAREHOUSE = Path("warehouse/demo.duckdb")
DEMO_EXTRACTS = Path("warehouse/demo-extract")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with a one-line message
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


def _parse_date(text: str) -> date:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid date") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks and dbt/Prefect logs")

    tgt = argparse.ArgumentParser(add_help=False)
    g = tgt.add_argument_group("target options")
    g.add_argument(
        "--target",
        choices=("duckdb", "postgres"),
        default="duckdb",
        help="warehouse engine (default duckdb)",
    )
    g.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="DuckDB database file (default warehouse/ctseds.duckdb or $CTSEDS_WAREHOUSE)",
    )
    g.add_argument(
        "--raw-schema",
        default=None,
        help="schema of the raw PowerSchool tables (default powerschool or $CTSEDS_RAW_SCHEMA)",
    )
    g.add_argument(
        "--schema", default=None, help="schema dbt builds into (default ctseds or $CTSEDS_SCHEMA)"
    )

    run = argparse.ArgumentParser(add_help=False)
    r = run.add_argument_group("run options")
    r.add_argument(
        "--as-of",
        type=_parse_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="report date D (default: today's local date)",
    )
    r.add_argument(
        "--school",
        action="append",
        default=None,
        metavar="NUMBER",
        help="report on this school only (repeatable)",
    )
    r.add_argument(
        "--student",
        action="append",
        default=None,
        metavar="ID",
        help="report on this student only: Student_Number or SASID (repeatable)",
    )
    r.add_argument(
        "--no-portal-column",
        action="store_true",
        help="leave out column 14 (Can Receive Parent Portal Notifications)",
    )

    p = _Parser(
        prog="ctseds", description="PowerSchool extracts to the CT-SEDS Student Contacts file."
    )
    p.add_argument("--version", action="version", version=f"ctseds {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    s = sub.add_parser(
        "demo", parents=[common], help="generate a sample district and run the whole job on DuckDB"
    )
    s.add_argument(
        "--out-dir",
        type=Path,
        default=Path("exports"),
        help="folder for the three files (default exports/)",
    )
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser(
        "generate", parents=[common], help="write a synthetic PowerSchool extract folder"
    )
    s.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for the 13 CSV files (created; existing files are replaced)")
    s.add_argument("--students", type=_positive_int, default=600, metavar="N",
                   help="number of students (default 600)")
    s.add_argument("--seed", type=_int, default=None, metavar="S",
                   help="random seed: the same seed and size give the same bytes")
    s.set_defaults(func=cmd_generate)

    s = sub.add_parser(
        "load", parents=[common, tgt], help="load an extract folder into the raw schema"
    )
    s.add_argument("--extracts", type=Path, required=True, metavar="DIR",
                   help="folder with the 13 PowerSchool CSV files (docs/input.md)")
    s.set_defaults(func=cmd_load)

    s = sub.add_parser("build", parents=[common, run, tgt], help="dbt build for report date D")
    s.set_defaults(func=cmd_build)

    s = sub.add_parser(
        "export", parents=[common, run, tgt], help="write the three files from the built warehouse"
    )
    s.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="the export .csv file; NAME.exceptions.csv and NAME.summary.json "
                   "are written beside it")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser(
        "run", parents=[common, run, tgt], help="load + build + export as one Prefect flow run"
    )
    s.add_argument("--extracts", type=Path, default=None, metavar="DIR",
                   help="load this folder of PowerSchool CSV files first (default: use the "
                   "raw tables already in the warehouse)")
    s.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="the export .csv file; NAME.exceptions.csv and NAME.summary.json "
                   "are written beside it")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser(
        "serve", parents=[common], help="serve the Prefect deployments until stopped"
    )
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("bench", parents=[common], help="the scale benchmark", add_help=False)
    s.add_argument("bench_args", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser(
        "docs", parents=[common, tgt], help="dbt docs generate (into the private target folder)"
    )
    s.add_argument("--as-of", type=_parse_date, default=None, metavar="YYYY-MM-DD")
    s.set_defaults(func=cmd_docs)
    return p


# --------------------------------------------------------------------------- helpers


def _target(args: argparse.Namespace) -> Any:
    from ctseds.targets import DEFAULT_WAREHOUSE, Target

    kwargs: dict[str, Any] = {"kind": args.target}
    kwargs["warehouse"] = args.warehouse or Path(
        os.environ.get("CTSEDS_WAREHOUSE") or DEFAULT_WAREHOUSE
    )
    if args.raw_schema:
        kwargs["raw_schema"] = args.raw_schema
    if args.schema:
        kwargs["schema"] = args.schema
    return Target(**kwargs)


def _check_out(out: Path) -> Path:
    from ctseds.exporter import output_paths

    output_paths(out)
    return out.expanduser().absolute()


def _print_files(summary: dict[str, Any]) -> None:
    files = summary.get("files", {})
    for key in ("export", "exceptions", "summary"):
        if key in files:
            print(files[key])


def _quiet_prefect_console(debug: bool) -> None:
    """Prefect's console handler: quiet and without tracebacks (unless --debug).

    The CLI prints its own progress lines; Prefect's INFO logs still reach the Prefect API.
    """

    class _NoTraceback(logging.Formatter):
        def __init__(self, inner: logging.Formatter | None) -> None:
            super().__init__()
            self.inner = inner or logging.Formatter("%(message)s")

        def format(self, record: logging.LogRecord) -> str:
            rec = copy.copy(record)
            rec.exc_info = None
            rec.exc_text = None
            rec.stack_info = None
            return self.inner.format(rec)

    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    for lg in loggers:
        for h in getattr(lg, "handlers", []):
            if isinstance(h, PrefectConsoleHandler) and not getattr(h, "_ctseds", False):
                h._ctseds = True  # type: ignore[attr-defined]
                if not debug:
                    # The CLI reports failures itself (one paragraph); Prefect's own lines
                    # still reach the Prefect API.
                    h.setLevel(logging.CRITICAL)
                    h.setFormatter(_NoTraceback(h.formatter))


def _run_flow(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    from prefect.logging.configuration import setup_logging

    from flows.ct_seds_flow import ct_seds_student_contacts

    try:
        setup_logging()
    except Exception:
        pass
    _quiet_prefect_console(args.debug)
    return ct_seds_student_contacts(**params)


# --------------------------------------------------------------------------- commands


def cmd_generate(args: argparse.Namespace) -> int:
    from ctseds import generator

    kwargs: dict[str, Any] = {"students": args.students, "progress": progress_mod.stderr}
    if args.seed is not None:
        kwargs["seed"] = args.seed
    t0 = time.monotonic()
    generator.generate(args.out, **kwargs)
    progress_mod.stderr(f"[generate] {args.out} in {time.monotonic() - t0:.1f} s")
    print(Path(args.out).absolute())
    return 0


def _load(target: Any, extracts: Path) -> dict[str, int]:
    from ctseds.loader import load_extracts

    t0 = time.monotonic()
    counts = load_extracts(extracts, target, progress_mod.staged("load", progress_mod.stderr))
    progress_mod.stderr(
        f"[load] {len(counts)} tables, {sum(counts.values())} rows in {time.monotonic() - t0:.1f} s"
    )
    return counts


def cmd_load(args: argparse.Namespace) -> int:
    from ctseds.locking import warehouse_lock

    target = _target(args)
    with warehouse_lock(target):
        _load(target, args.extracts)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from ctseds.dbt_invoke import dbt_build
    from ctseds.locking import warehouse_lock

    target = _target(args)
    with warehouse_lock(target):
        dbt_build(target, args.as_of, progress=progress_mod.stderr, runner="dbt")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ctseds.db import require_warehouse_file
    from ctseds.exporter import export
    from ctseds.locking import warehouse_lock

    out = _check_out(args.out)
    target = _target(args)
    require_warehouse_file(target)  # before the lock file is made beside it
    with warehouse_lock(target):
        summary = export(
            target,
            out,
            as_of=args.as_of,
            schools=args.school,
            students=args.student,
            include_portal_notifications=not args.no_portal_column,
            progress=progress_mod.stderr,
        )
    _print_files(summary)
    return 0


def _flow_params(
    args: argparse.Namespace, target: Any, out: Path, extracts: Path | None
) -> dict[str, Any]:
    return {
        "as_of": args.as_of,
        "schools": args.school,
        "students": args.student,
        "include_portal_notifications": not args.no_portal_column,
        "target": target.kind,
        "extracts": str(Path(extracts).absolute()) if extracts else None,
        "out": str(out),
        "export": True,
        "warehouse": str(target.warehouse),
        "raw_schema": target.raw_schema,
        "model_schema": target.schema,
    }


def cmd_run(args: argparse.Namespace) -> int:
    out = _check_out(args.out)
    target = _target(args)
    if args.extracts is not None and not args.extracts.is_dir():
        raise CtsedsError(
            f"The extract folder {args.extracts} does not exist or is not a folder. Give the "
            "folder holding the PowerSchool CSV files."
        )
    progress_mod.attach_stderr_handler()
    summary = _run_flow(args, _flow_params(args, target, out, args.extracts))
    _print_files(summary)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ctseds import generator
    from ctseds.targets import Target

    as_of = date.fromisoformat(generator.DEFAULT_AS_OF)
    out_dir = Path(args.out_dir).expanduser().absolute()
    out = out_dir / f"{DEMO_NAME}-{as_of.isoformat()}.csv"
    target = Target(kind="duckdb", warehouse=DEMO_WAREHOUSE)
    progress_mod.attach_stderr_handler()
    # The sample extract stays beside the demo warehouse, so that it can be looked at and
    # used with the other commands (see the lines printed at the end).
    extracts = DEMO_EXTRACTS.absolute()
    shutil.rmtree(extracts, ignore_errors=True)
    t0 = time.monotonic()
    generator.generate(extracts, progress=progress_mod.stderr)
    progress_mod.stderr(f"[generate] sample district in {time.monotonic() - t0:.1f} s")
    args.as_of = as_of
    args.school = None
    args.student = None
    args.no_portal_column = False
    summary = _run_flow(args, _flow_params(args, target, out, extracts))
    print("Files written:")
    _print_files(summary)
    print(
        f"Report date {summary['as_of']}: {summary['rows']} rows for "
        f"{summary['students_reported']} students ({summary['students_in_scope']} in scope), "
        f"{summary['exceptions']} exceptions."
    )
    top = sorted(summary["exceptions_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    if top:
        print("Top exception reasons: " + ", ".join(f"{k} {v}" for k, v in top))
    print(f"Sample extract (synthetic): {extracts}")
    print(
        f"Demo warehouse: {target.warehouse} (add --warehouse {DEMO_WAREHOUSE} to ctseds "
        "build/export to use it; their default is warehouse/ctseds.duckdb)"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.deployments import serve

    if not os.environ.get("PREFECT_API_URL"):
        progress_mod.stderr(
            "[serve] PREFECT_API_URL is not set: Prefect uses a temporary local server. For the "
            "UI, start `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api."
        )
    serve()
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    try:
        from ctseds import bench  # type: ignore[attr-defined]
    except ImportError:
        print("error: the benchmark is not implemented yet.", file=sys.stderr)
        return 1
    return int(bench.main(list(args.bench_args)) or 0)


def cmd_docs(args: argparse.Namespace) -> int:
    from ctseds.dbt_invoke import dbt_build, target_dir
    from ctseds.locking import warehouse_lock

    target = _target(args)
    with warehouse_lock(target):
        dbt_build(target, args.as_of, progress=progress_mod.stderr, command="docs generate")
    print(target_dir(target) / "index.html")
    return 0


# --------------------------------------------------------------------------- entry point


def _unexpected(exc: BaseException) -> tuple[str, int]:
    """A clean message for database errors that escaped the modules' own handling."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())[:300]
    low = text.lower()
    if "lock" in low and ("duckdb" in type(exc).__module__ or "file" in low):
        return (
            "The DuckDB warehouse file is in use by another process (it holds the file lock). "
            "Wait for that run to finish or close the program that has it open, then try again.",
            1,
        )
    if (
        "psycopg2" in type(exc).__module__
        or "could not connect" in low
        or "connection refused" in low
    ):
        return (
            f"PostgreSQL failed: {text} Check PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE "
            "and that the server is running.",
            1,
        )
    if "prefect api" in low or "ephemeral" in low:
        return (
            f"Prefect is not available: {text} Start a Prefect server (`prefect server start`) "
            "and set PREFECT_API_URL, or try again when the machine is less busy.",
            1,
        )
    return (
        f"Unexpected failure ({name}): {text}. Run the command again with --debug for details.",
        1,
    )


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary Prefect server (no PREFECT_API_URL) may need more than Prefect's default
    # 20 s to start on a busy machine or with a fresh database.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] == ["bench"]:  # the benchmark parses its own options
        args = argparse.Namespace(func=cmd_bench, bench_args=argv[1:], debug="--debug" in argv)
    else:
        args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    if not os.environ.get("PREFECT_API_URL") and not debug:
        # The temporary server's own services log tracebacks while it shuts down at the end of
        # a successful run (events still in flight); they say nothing about the run.
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    if hasattr(args, "as_of") and args.as_of is None:
        args.as_of = date.today()  # computed once per run
    try:
        return args.func(args)
    except UsageError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CtsedsError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; no export file was written or replaced.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - turn anything else into one paragraph
        if debug:
            traceback.print_exc()
        message, code = _unexpected(exc)
        print(f"error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
