"""`ctseds bench` smoke runs (small sizes, one repetition) and the baseline statement.

No wall-clock assertion anywhere: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from ctseds import bench
from ctseds.baseline_sql import HEADER, baseline_query, copy_baseline
from ctseds.errors import CtsedsError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "rule_matrix"
AS_OF = date(2026, 11, 16)
SMOKE_STUDENTS = 300


def _smoke(target, tmp_path: Path, capsys) -> tuple[dict, str]:
    results = tmp_path / "results.json"
    argv = [
        "--students",
        str(SMOKE_STUDENTS),
        "--target",
        target.kind,
        "--repeat",
        "1",
        "--data-dir",
        str(tmp_path / "data"),
        "--results",
        str(results),
        "--warehouse",
        str(target.warehouse),
        "--raw-schema",
        target.raw_schema,
        "--schema",
        target.schema,
    ]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    return json.loads(results.read_text(encoding="utf-8")), out


def _check(data: dict, out: str, kind: str) -> None:
    header_lines = [ln for ln in out.splitlines() if ln.startswith("stage")]
    assert header_lines, out
    for col in bench.TABLE_COLUMNS:
        assert col in header_lines[0]
    for label in ("load", "build", "export", "build+export", "baseline", "total"):
        assert any(ln.startswith(label) for ln in out.splitlines()), label

    size = data["runs"][kind]["sizes"][str(SMOKE_STUDENTS)]
    assert size["baseline_equals_export"] is True
    for stage in (*bench.STAGES, *bench.DERIVED):
        s = size["stages"][stage]
        assert len(s["seconds"]) == 1
        assert s["median_seconds"] >= 0
        assert s["rows"] > 0
    assert size["stages"]["baseline"]["rows"] == size["stages"]["export"]["rows"]
    assert size["peak_rss_bytes"]["process"] > 0
    machine = data["runs"][kind]["machine"]
    for key in ("cpu_count", "python", "duckdb"):
        assert machine[key]
    assert {t["engine"] for t in data["targets"]} == {"duckdb", "postgres"}
    assert all("met" in t and "measured" in t for t in data["targets"])


def test_bench_smoke_duckdb(duckdb_target, tmp_path: Path, capsys):
    data, out = _smoke(duckdb_target, tmp_path, capsys)
    _check(data, out, "duckdb")
    # the extract folder is reused for the same seed and size
    folder, meta = bench.ensure_extracts(
        tmp_path / "data", bench.build_parser().get_default("seed"), SMOKE_STUDENTS
    )
    assert meta["reused"] is True and (folder / "students.csv").is_file()


def test_bench_smoke_postgres(pg_target, tmp_path: Path, capsys):
    data, out = _smoke(pg_target, tmp_path, capsys)
    _check(data, out, "postgres")


def test_baseline_matches_rule_matrix(target):
    """The baseline statement, run on the raw tables, gives the rule matrix's expected export."""
    from ctseds.db import connect
    from ctseds.loader import load_extracts

    load_extracts(FIXTURE / "extract", target)
    out = target.warehouse.parent / f"baseline-{target.kind}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(target)
    try:
        copied = copy_baseline(target, conn, out, AS_OF)
    finally:
        conn.close()
    records = bench.compare_csv(FIXTURE / "expected" / "export.csv", out, HEADER)
    assert records > 0
    if copied is not None:
        assert copied == records


def _write(path: Path, rows: list[list[str]], lineterminator: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator=lineterminator).writerows(rows)


def test_compare_csv_ignores_framing_and_names_column(tmp_path: Path):
    header = list(HEADER[:3])
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    _write(a, [header, ["Ann Lee", "M", "0012345678"], ["", "F", "x\ny"]], "\r\n")
    with b.open("w", encoding="utf-8", newline="") as f:  # COPY style: "" and LF
        f.write(",".join(header) + '\nAnn Lee,M,0012345678\n"",F,"x\ny"\n')
    assert bench.compare_csv(a, b, HEADER) == 2

    _write(b, [header, ["Ann Lee", "M", "0012345678"], ["", "OTH", "x\ny"]], "\n")
    with pytest.raises(CtsedsError) as err:
        bench.compare_csv(a, b, HEADER)
    msg = str(err.value)
    assert "record 2" in msg and "Parent Type" in msg
    assert "OTH" not in msg and "Ann" not in msg

    _write(b, [header, ["Ann Lee", "M", "0012345678"]], "\n")
    with pytest.raises(CtsedsError, match="record 2"):
        bench.compare_csv(a, b, HEADER)


def test_baseline_is_one_statement():
    for kind in ("duckdb", "postgres"):
        sql = baseline_query(kind, '"powerschool"', AS_OF).strip()
        assert sql.lower().startswith("with")
        assert ";" not in sql
        for name in HEADER:
            assert f'"{name}"' in sql


def test_bench_usage_errors():
    from ctseds.errors import UsageError

    with pytest.raises(UsageError):
        bench.main(["--students", "0"])
    with pytest.raises(UsageError):
        bench.main(["--target", "duckdb"])  # --students is required
    assert bench.main(["--help"]) == 0
