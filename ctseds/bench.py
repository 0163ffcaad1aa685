"""`ctseds bench`: the scale benchmark (docs/benchmark.md).

    ctseds bench --students N[,N...] --target duckdb|postgres [--repeat K] [--seed S]
                 [--data-dir DIR] [--as-of D] [--results FILE]

For each size N: generate (or reuse) the synthetic extract folder DIR/<seed>-<N>/extracts, then
K times: load (ctseds.loader.load_extracts), dbt build (ctseds.dbt_invoke.dbt_build, unit tests
excluded unless --with-unit-tests; data tests included), export (ctseds.exporter.export) and the
BASELINE — one hand-written SQL statement over the raw tables (ctseds/baseline_sql.py) streamed
to a CSV file with the engine's own COPY. The baseline's records must equal the export's (parsed
with Python's csv module); otherwise the benchmark fails (exit 1) naming the first differing
record index and column, never a value.

Prints a table per size (stage, median seconds, rows, rows/s, ratio to the baseline) and merges
the measurements into FILE (default bench/results.json): per target and size, every stage's
times, medians, rows, peak RSS, dbt's slowest nodes, machine info and the issue's targets.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

from ctseds.errors import CtsedsError, UsageError
from ctseds.targets import PROJECT_DIR, Target

DEFAULT_DATA_DIR = PROJECT_DIR / "bench" / "data"
DEFAULT_RESULTS = PROJECT_DIR / "bench" / "results.json"
STAGES = ("load", "build", "export", "baseline")
DERIVED = ("build_export", "total")  # build+export; load+build+export
TABLE_COLUMNS = ("stage", "seconds", "rows", "rows/s", "vs baseline")
GB = 1_000_000_000

# The issue's targets.
RATIO_LIMIT = 2.0  # build+export within 2.0x the baseline (500,000 students)
TOTAL_LIMIT_S = 60.0  # DuckDB: load+build+export within 60 s (500,000 students)
RSS_LIMIT = 3 * GB  # DuckDB: peak RSS under 3 GB (500,000 students)
GROWTH_LIMIT = 12.0  # 50,000 -> 500,000: build+export time at most x12
TARGET_SIZE = 500_000
SMALL_SIZE = 50_000


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- arguments


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: exit 2, one line
        raise UsageError(f"ctseds bench: {message}")


def _sizes(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: sizes are whole numbers >= 1")
        if int(part) not in out:
            out.append(int(part))
    return out


def _positive(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number >= 1")
    return int(text)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    from ctseds import generator

    p = _Parser(
        prog="ctseds bench",
        description="Time load, dbt build and export against a one-statement SQL baseline.",
    )
    p.add_argument("--students", type=_sizes, required=True, metavar="N[,N...]")
    p.add_argument("--target", choices=("duckdb", "postgres"), default="duckdb")
    p.add_argument("--repeat", type=_positive, default=1, metavar="K", help="runs per size")
    p.add_argument("--seed", type=_int, default=generator.DEFAULT_SEED, metavar="S")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        metavar="DIR",
        help="extract folders are DIR/<seed>-<N>/extracts (default bench/data)",
    )
    p.add_argument(
        "--as-of",
        type=_date,
        default=date.fromisoformat(generator.DEFAULT_AS_OF),
        metavar="YYYY-MM-DD",
        help=f"report date D (default {generator.DEFAULT_AS_OF}, the generator's)",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        metavar="FILE",
        help="JSON file the measurements are merged into (default bench/results.json)",
    )
    p.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="DuckDB file (default DIR/<seed>-<N>/warehouse.duckdb)",
    )
    p.add_argument("--raw-schema", default=None, help="raw schema (default as `ctseds load`)")
    p.add_argument("--schema", default=None, help="model schema (default as `ctseds build`)")
    p.add_argument(
        "--with-unit-tests",
        action="store_true",
        help="include dbt unit tests in the timed build (default: excluded)",
    )
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


# --------------------------------------------------------------------------- memory


def _ru_maxrss(who: int) -> int:
    """ru_maxrss in bytes (Linux reports kilobytes, macOS bytes)."""
    value = resource.getrusage(who).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


def _reset_hwm() -> bool:
    """Reset this process's peak-RSS mark (Linux /proc/self/clear_refs), for per-stage peaks."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _hwm() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------- machine info


def machine_info(target: Target | None = None) -> dict[str, Any]:
    import duckdb

    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "duckdb": duckdb.__version__,
    }
    try:
        from dbt.version import __version__ as dbt_version

        info["dbt_core"] = dbt_version
    except Exception:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["memory_bytes"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    if target is not None and target.kind == "postgres":
        try:
            import psycopg2

            from ctseds.db import connect

            info["psycopg2"] = psycopg2.__version__.split()[0]
            conn = connect(target)
            try:
                with conn.cursor() as cur:
                    cur.execute("show server_version")
                    info["postgres_server"] = cur.fetchone()[0]
                    for name in ("work_mem", "shared_buffers", "max_parallel_workers_per_gather"):
                        cur.execute(f"show {name}")
                        info[f"postgres_{name}"] = cur.fetchone()[0]
            finally:
                conn.close()
        except Exception as exc:  # informational only
            info["postgres_server"] = f"unknown ({type(exc).__name__})"
    return info


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


# --------------------------------------------------------------------------- data


def extract_dir(data_dir: Path, seed: int, students: int) -> Path:
    return Path(data_dir) / f"{seed}-{students}" / "extracts"


def ensure_extracts(data_dir: Path, seed: int, students: int) -> tuple[Path, dict[str, Any]]:
    """The extract folder for (seed, students): reused when complete, else generated.

    Generation runs in a child process (its memory shows in RUSAGE_CHILDREN, not in the
    measured stages). A marker file written last makes a half-written folder count as absent.
    """
    folder = extract_dir(data_dir, seed, students)
    marker = folder.parent / "generated.json"
    if marker.is_file():
        try:
            meta = json.loads(marker.read_text(encoding="utf-8"))
            if meta.get("seed") == seed and meta.get("students") == students:
                from ctseds.tables import TABLES

                if all((folder / t.file_name).is_file() for t in TABLES.values()):
                    return folder, {**meta, "reused": True}
        except (OSError, ValueError):
            pass
    folder.mkdir(parents=True, exist_ok=True)
    if marker.exists():
        marker.unlink()
    _say(f"[bench] generating {students} students (seed {seed}) into {folder}")
    code = (
        "import json, sys; from ctseds.generator import generate; "
        "rows = generate(sys.argv[1], students=int(sys.argv[2]), seed=int(sys.argv[3])); "
        "print(json.dumps(rows))"
    )
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(students), str(seed)],
        capture_output=True,
        text=True,
        cwd=str(PROJECT_DIR),
    )
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise CtsedsError(
            f"Generating {students} students (seed {seed}) into {folder} failed: {tail}"
        )
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    meta = {"seed": seed, "students": students, "rows": rows, "generate_seconds": round(seconds, 3)}
    marker.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder, {**meta, "reused": False}


# --------------------------------------------------------------------------- comparison


def compare_csv(expected: Path, actual: Path, header: tuple[str, ...]) -> int:
    """Compare two CSV files record by record (streamed); return the data record count.

    Raises CtsedsError at the first difference with its record index (0 = header) and column
    name, never a value. Parsing with the csv module removes the only framing differences
    allowed between the engine COPY and the export (`""` for empty strings, LF line ends).
    """
    csv.field_size_limit(64 * 1024 * 1024)
    with (
        open(expected, encoding="utf-8", newline="") as fe,
        open(actual, encoding="utf-8", newline="") as fa,
    ):
        n = -1
        for n, (a, b) in enumerate(zip_longest(csv.reader(fe), csv.reader(fa))):
            if a == b:
                continue
            if a is None or b is None:
                short = expected.name if a is None else actual.name
                raise CtsedsError(
                    f"The baseline and the export differ at record {n}: {short} ends there "
                    f"({'baseline' if a is None else 'export'} has more records)."
                )
            for i in range(max(len(a), len(b))):
                va = a[i] if i < len(a) else None
                vb = b[i] if i < len(b) else None
                if va != vb:
                    name = header[i] if i < len(header) else f"#{i + 1}"
                    raise CtsedsError(
                        f"The baseline and the export differ at record {n} (0 = header), "
                        f"column {name}. The pipeline and the baseline disagree on the report "
                        "rules: compare the two files (bench data folder) to find out which one "
                        "is wrong."
                    )
    return max(n, 0)


# --------------------------------------------------------------------------- dbt timing


def dbt_node_timing(target: Target, top: int = 10) -> dict[str, Any]:
    """Per-node execution times from dbt's run_results.json of the last build."""
    from ctseds.dbt_invoke import target_dir

    path = target_dir(target) / "run_results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    nodes = []
    by_type: dict[str, float] = {}
    for r in data.get("results", []):
        uid = str(r.get("unique_id", "?"))
        secs = float(r.get("execution_time") or 0.0)
        kind = uid.split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0.0) + secs
        nodes.append((secs, uid))
    nodes.sort(reverse=True)
    return {
        "elapsed_seconds": round(float(data.get("elapsed_time") or 0.0), 3),
        "node_seconds_by_type": {k: round(v, 3) for k, v in sorted(by_type.items())},
        "slowest_nodes": [{"node": uid, "seconds": round(s, 3)} for s, uid in nodes[:top]],
    }


# --------------------------------------------------------------------------- one size


def _target_for(args: argparse.Namespace, students: int) -> Target:
    kwargs: dict[str, Any] = {"kind": args.target}
    if args.warehouse is not None:
        kwargs["warehouse"] = args.warehouse
    else:
        kwargs["warehouse"] = Path(args.data_dir) / f"{args.seed}-{students}" / "warehouse.duckdb"
    if args.raw_schema:
        kwargs["raw_schema"] = args.raw_schema
    if args.schema:
        kwargs["schema"] = args.schema
    return Target(**kwargs)


def _timed(fn: Any, peaks: dict[str, list[int]], stage: str) -> tuple[float, Any]:
    _reset_hwm()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    hwm = _hwm()
    if hwm is not None:
        peaks.setdefault(stage, []).append(hwm)
    return seconds, result


def run_size(args: argparse.Namespace, students: int) -> dict[str, Any]:
    from ctseds.baseline_sql import HEADER, PG_SETTINGS, copy_baseline
    from ctseds.db import connect
    from ctseds.dbt_invoke import dbt_build
    from ctseds.exporter import export
    from ctseds.loader import load_extracts
    from ctseds.locking import warehouse_lock

    folder, gen = ensure_extracts(args.data_dir, args.seed, students)
    target = _target_for(args, students)
    out_dir = folder.parent / f"out-{args.target}"
    out_dir.mkdir(parents=True, exist_ok=True)
    export_path = out_dir / "export.csv"
    baseline_path = out_dir / "baseline.csv"
    command = "build" if args.with_unit_tests else "build --exclude-resource-type unit_test"
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    rows: dict[str, int] = {}
    peaks: dict[str, list[int]] = {}
    load_before = _load_average()
    nodes = 0
    timing: dict[str, Any] = {}
    with warehouse_lock(target):
        for rep in range(args.repeat):
            label = f"[bench] {students} students, run {rep + 1}/{args.repeat}"
            secs, counts = _timed(lambda: load_extracts(folder, target), peaks, "load")
            times["load"].append(secs)
            rows["load"] = int(sum(counts.values()))
            _say(f"{label}: load {secs:.2f} s ({rows['load']} raw rows)")

            secs, built = _timed(
                lambda: dbt_build(target, args.as_of, runner="dbt", command=command),
                peaks,
                "build",
            )
            times["build"].append(secs)
            nodes = int(built.get("nodes", 0))
            timing = dbt_node_timing(target)
            if timing:
                timing["wall_seconds"] = round(secs, 3)
                timing["outside_nodes_seconds"] = round(secs - timing["elapsed_seconds"], 3)
            _say(f"{label}: dbt build {secs:.2f} s ({nodes} nodes)")

            secs, summary = _timed(
                lambda: export(target, export_path, as_of=args.as_of), peaks, "export"
            )
            times["export"].append(secs)
            rows["export"] = int(summary["rows"])
            rows["build"] = rows["export"]
            _say(f"{label}: export {secs:.2f} s ({rows['export']} rows)")

            conn = connect(target)
            try:
                secs, copied = _timed(
                    lambda c=conn: copy_baseline(target, c, baseline_path, args.as_of),
                    peaks,
                    "baseline",
                )
            finally:
                conn.close()
            times["baseline"].append(secs)
            _say(f"{label}: baseline {secs:.2f} s")

            records = compare_csv(export_path, baseline_path, HEADER)
            rows["baseline"] = records
            if copied is not None and copied != records:
                raise CtsedsError(
                    f"The baseline COPY reported {copied} rows but its file holds {records}."
                )
            _say(f"{label}: baseline equals the export ({records} records)")
    load_after = _load_average()

    per_run_be = [b + e for b, e in zip(times["build"], times["export"], strict=True)]
    per_run_total = [
        lo + b + e for lo, b, e in zip(times["load"], times["build"], times["export"], strict=True)
    ]
    stages: dict[str, Any] = {}
    for name, values in (
        *((s, times[s]) for s in STAGES),
        ("build_export", per_run_be),
        ("total", per_run_total),
    ):
        med = statistics.median(values)
        n_rows = rows["load"] if name == "load" else rows["export"]
        stages[name] = {
            "seconds": [round(v, 3) for v in values],
            "median_seconds": round(med, 3),
            "rows": n_rows,
            "rows_per_second": round(n_rows / med, 1) if med > 0 else None,
        }
    base = stages["baseline"]["median_seconds"]
    ratio = round(stages["build_export"]["median_seconds"] / base, 2) if base > 0 else None
    stage_peaks = {k: max(v) for k, v in peaks.items()}
    peak_self = max([_ru_maxrss(resource.RUSAGE_SELF), *stage_peaks.values()])
    return {
        "students": students,
        "seed": args.seed,
        "as_of": args.as_of.isoformat(),
        "repeat": args.repeat,
        "extracts": {"folder": str(folder), **gen},
        "dbt_command": command,
        "baseline_settings": list(PG_SETTINGS) if args.target == "postgres" else [],
        "dbt_nodes": nodes,
        "stages": stages,
        "ratio_build_export_to_baseline": ratio,
        "baseline_equals_export": True,
        "peak_rss_bytes": {
            "process": peak_self,
            "pipeline": max(
                (stage_peaks[k] for k in ("load", "build", "export") if k in stage_peaks),
                default=None,
            ),
            "children": _ru_maxrss(resource.RUSAGE_CHILDREN),
            "per_stage": stage_peaks,
        },
        "dbt_timing_last_run": timing,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------- output


def format_table(kind: str, result: dict[str, Any]) -> str:
    st = result["stages"]
    base = st["baseline"]["median_seconds"]
    lines = [
        f"{result['students']} students on {kind} (median of {result['repeat']}, "
        f"as_of {result['as_of']}, seed {result['seed']}; load average "
        f"{result.get('load_average_before')} -> {result.get('load_average_after')})",
        f"{TABLE_COLUMNS[0]:<14}{TABLE_COLUMNS[1]:>10}{TABLE_COLUMNS[2]:>12}"
        f"{TABLE_COLUMNS[3]:>12}{TABLE_COLUMNS[4]:>13}",
    ]
    labels = {
        "load": "load",
        "build": "build",
        "export": "export",
        "build_export": "build+export",
        "baseline": "baseline",
        "total": "total (l+b+e)",
    }
    for name in ("load", "build", "export", "build_export", "baseline", "total"):
        s = st[name]
        ratio = ""
        if name in ("build", "export", "build_export", "baseline", "total") and base > 0:
            ratio = f"{s['median_seconds'] / base:.2f}x"
        rps = "" if s["rows_per_second"] is None else f"{s['rows_per_second']:,.0f}"
        lines.append(
            f"{labels[name]:<14}{s['median_seconds']:>10.2f}{s['rows']:>12,}{rps:>12}{ratio:>13}"
        )
    peaks = result["peak_rss_bytes"]
    pipe = peaks.get("pipeline")
    pipe_text = "n/a" if pipe is None else f"{pipe / GB:.2f} GB"
    lines.append(
        f"peak RSS: load/build/export {pipe_text}, whole process {peaks['process'] / GB:.2f} GB;"
        " baseline equals export: yes"
    )
    return "\n".join(lines)


def evaluate_targets(runs: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def size(kind: str, n: int) -> dict[str, Any] | None:
        return runs.get(kind, {}).get("sizes", {}).get(str(n))

    def add(name: str, kind: str, limit: Any, measured: Any, met: Any, note: str = "") -> None:
        out.append(
            {
                "target": name,
                "engine": kind,
                "limit": limit,
                "measured": measured,
                "met": met,
                "note": note,
            }
        )

    for kind in ("duckdb", "postgres"):
        big = size(kind, TARGET_SIZE)
        small = size(kind, SMALL_SIZE)
        missing = f"{TARGET_SIZE} students not measured on {kind}"
        ratio = big["ratio_build_export_to_baseline"] if big else None
        add(
            f"{kind}: build+export within {RATIO_LIMIT}x baseline at {TARGET_SIZE}",
            kind,
            RATIO_LIMIT,
            ratio,
            None if ratio is None else ratio <= RATIO_LIMIT,
            "" if big else missing,
        )
        total = big["stages"]["total"]["median_seconds"] if big else None
        load = big["stages"]["load"]["median_seconds"] if big else None
        if kind == "duckdb":
            add(
                f"duckdb: load+build+export within {TOTAL_LIMIT_S:.0f} s at {TARGET_SIZE}",
                kind,
                TOTAL_LIMIT_S,
                total,
                None if total is None else total <= TOTAL_LIMIT_S,
                "" if big else missing,
            )
            peak = None
            if big:
                peak = big["peak_rss_bytes"].get("pipeline") or big["peak_rss_bytes"]["process"]
            add(
                f"duckdb: peak RSS under 3 GB at {TARGET_SIZE}",
                kind,
                RSS_LIMIT,
                peak,
                None if peak is None else peak < RSS_LIMIT,
                "" if big else missing,
            )
        else:
            add(
                f"postgres: load at {TARGET_SIZE} (reported)",
                kind,
                None,
                load,
                None,
                "" if big else missing,
            )
            add(
                f"postgres: load+build+export at {TARGET_SIZE} (reported)",
                kind,
                None,
                total,
                None,
                "" if big else missing,
            )
        growth = None
        if big and small:
            a = small["stages"]["build_export"]["median_seconds"]
            b = big["stages"]["build_export"]["median_seconds"]
            growth = round(b / a, 2) if a > 0 else None
        add(
            f"{kind}: build+export growth {SMALL_SIZE} -> {TARGET_SIZE} at most x{GROWTH_LIMIT:g}",
            kind,
            GROWTH_LIMIT,
            growth,
            None if growth is None else growth <= GROWTH_LIMIT,
            "" if growth is not None else "needs both sizes measured",
        )
    return out


HISTORY = 5  # earlier measurements of a size kept (summaries) in results.json


def _summary(res: dict[str, Any]) -> dict[str, Any]:
    return {
        "measured_at": res.get("measured_at"),
        "repeat": res.get("repeat"),
        "median_seconds": {k: v["median_seconds"] for k, v in res["stages"].items()},
        "ratio_build_export_to_baseline": res.get("ratio_build_export_to_baseline"),
        "peak_rss_bytes": (res.get("peak_rss_bytes") or {}).get("pipeline"),
        "load_average_before": res.get("load_average_before"),
        "load_average_after": res.get("load_average_after"),
    }


def write_results(path: Path, kind: str, machine: dict[str, Any], sizes: list[dict]) -> dict:
    """Merge this run's sizes into the results file (per engine and size) and rewrite it."""
    path = Path(path)
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
    if not isinstance(data.get("runs"), dict):
        data = {"runs": {}}
    run = data["runs"].setdefault(kind, {"sizes": {}})
    run["machine"] = machine
    for res in sizes:
        key = str(res["students"])
        old = run.setdefault("sizes", {}).get(key)
        history = list(old.get("history", [])) if isinstance(old, dict) else []
        if isinstance(old, dict) and "stages" in old:  # keep a short summary of older runs
            history.append(_summary(old))
        run["sizes"][key] = {**res, "history": history[-HISTORY:]}
    data["schema_version"] = 1
    data["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    data["targets"] = evaluate_targets(data["runs"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return data


# --------------------------------------------------------------------------- entry point


def main(argv: list[str]) -> int:
    """Run the benchmark; 0 on success. Raises CtsedsError (exit 1) when the baseline and
    the export differ or a stage fails, UsageError (exit 2) for bad options."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    probe = _target_for(args, args.students[0])
    machine = machine_info(probe)
    results: list[dict[str, Any]] = []
    for n in sorted(args.students):
        res = run_size(args, n)
        results.append(res)
        print(format_table(args.target, res), flush=True)
        print(flush=True)
        write_results(args.results, args.target, machine, [res])
    data = write_results(args.results, args.target, machine, [])
    for t in data["targets"]:
        if t["engine"] != args.target:
            continue
        state = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        if t["limit"] is None:
            state = "reported" if t["measured"] is not None else "not measured"
        print(f"target: {t['target']}: {state} (measured {t['measured']})")
    print(f"results: {Path(args.results).absolute()}")
    return 0


if __name__ == "__main__":
    from ctseds.cli import main as cli_main

    sys.exit(cli_main(["bench", *sys.argv[1:]]))
