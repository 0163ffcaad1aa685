"""Staging types every column the same way whatever the spelling or storage of the input.

- An extract saved "the messy way" (BOM, CRLF, upper-case headers in another order, quoted
  fields, M/D/YYYY dates, US timestamps with AM/PM, `12.0` IDs, TRUE/y flags, spaces around
  typed values) stages to exactly the rows of its clean twin, on both engines.
- PostgreSQL tables that already hold native types (bigint, date, timestamptz, boolean,
  smallint) stage to exactly the rows of the text-loaded tables, whatever the session time zone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from ctseds.db import connect
from ctseds.dbt_invoke import dbt_build
from ctseds.generator import generate
from ctseds.loader import load_extracts
from ctseds.tables import TABLES

AS_OF = dt.date(2026, 11, 16)
STAGING = [f"stg_powerschool__{name}" for name in TABLES]


def _rows(target, relation: str) -> list[tuple]:
    conn = connect(target)
    try:
        cur = conn.cursor()
        cur.execute(f"select * from {relation}")
        rows = cur.fetchall()
    finally:
        conn.close()
    return sorted(rows, key=repr)


def _staged(target) -> dict[str, list[tuple]]:
    return {name: _rows(target, f"{_staged_prefix(target)}.{name}") for name in STAGING}


def _staged_prefix(target) -> str:
    # The DuckDB catalog is named after the file (ctseds), like the schema: qualify fully.
    if target.kind == "duckdb":
        return f'"{target.warehouse.stem}".{target.schema}'
    return target.schema


def _messy_value(kind: str, value: str, i: int) -> str:
    if value == "":
        return value
    if kind == "int":
        return f" {value}.0 " if i % 2 else f"{value}.0"
    if kind == "date":
        d = dt.date.fromisoformat(value)
        return f"{d.month}/{d.day}/{d.year}"
    if kind == "timestamp":
        t = dt.datetime.fromisoformat(value)
        if t.microsecond:
            return value.replace(" ", "T")
        hour12 = t.hour % 12 or 12
        meridiem = "AM" if t.hour < 12 else "PM"
        return f"{t.month}/{t.day}/{t.year} {hour12}:{t.minute:02d}:{t.second:02d} {meridiem}"
    if kind == "flag":
        spelled = {"1": ("TRUE", "y", "True"), "0": ("false", "N", "FALSE")}[value]
        return f" {spelled[i % 3]} "
    return value  # text stays exactly as it was


def _write_messy_twin(clean: Path, messy: Path) -> None:
    """Rewrite every file of `clean` with the same values spelled the messy way."""
    messy.mkdir()
    for table in TABLES.values():
        with (clean / table.file_name).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            rows = list(reader)
        kinds = [table.column(h).kind for h in header]
        order = list(reversed(range(len(header))))  # another column order
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
        writer.writerow([header[j].upper() for j in order])
        for i, row in enumerate(rows):
            writer.writerow([_messy_value(kinds[j], row[j], i + j) for j in order])
        (messy / table.file_name).write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))


@pytest.fixture(autouse=True)
def _only_staging_tests(monkeypatch):
    """Build staging with its own tests only (not tests that also read later models)."""
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")


@pytest.fixture(scope="module")
def clean_extract(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "extract"
    generate(folder, students=120, seed=7)
    return folder


def _second_target(target, tmp_path: Path):
    if target.kind == "duckdb":
        return replace(target, warehouse=tmp_path / "messy" / "ctseds.duckdb")
    suffix = uuid.uuid4().hex[:8]
    return replace(
        target, raw_schema=f"{target.raw_schema}_m{suffix}", schema=f"{target.schema}_m{suffix}"
    )


def _drop_schemas(target) -> None:
    if target.kind != "postgres":
        return
    conn = connect(target)
    try:
        conn.autocommit = True
        conn.cursor().execute(
            f"drop schema if exists {target.raw_schema} cascade; "
            f"drop schema if exists {target.schema} cascade"
        )
    finally:
        conn.close()


def test_messy_twin_stages_to_the_same_rows(target, clean_extract, tmp_path):
    messy = tmp_path / "messy-extract"
    _write_messy_twin(clean_extract, messy)
    raw_bytes = (messy / "students.csv").read_bytes()
    assert raw_bytes.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw_bytes

    load_extracts(clean_extract, target)
    dbt_build(target, AS_OF, select=["staging"])
    twin = _second_target(target, tmp_path)
    try:
        load_extracts(messy, twin)
        dbt_build(twin, AS_OF, select=["staging"])
        clean_rows, messy_rows = _staged(target), _staged(twin)
    finally:
        _drop_schemas(twin)
    for name in STAGING:
        assert clean_rows[name], f"{name} is empty: the fixture does not exercise it"
        assert messy_rows[name] == clean_rows[name], name


def test_leading_zeros_survive_staging(target, clean_extract):
    load_extracts(clean_extract, target)
    dbt_build(target, AS_OF, select=["staging"])
    conn = connect(target)
    try:
        cur = conn.cursor()
        schema = _staged_prefix(target)
        cur.execute(
            f"select count(*) from {schema}.stg_powerschool__students "
            "where state_student_number like '0%'"
        )
        assert cur.fetchone()[0] > 0
        cur.execute(
            f"select count(*) from {schema}.stg_powerschool__personaddress "
            "where postal_code like '0%'"
        )
        assert cur.fetchone()[0] > 0
    finally:
        conn.close()


# Native PostgreSQL types for each kind of column (flags alternate boolean and smallint).
_NATIVE = {"int": "bigint", "date": "date", "timestamp": "timestamptz", "text": "text"}


def _native_expr(column, flag_index: int) -> tuple[str, str]:
    name = column.name
    if column.kind == "flag":
        if flag_index % 2:
            typ = "boolean"
            expr = f"case when lower(trim({name})) in ('1','true','y') then true " \
                   f"when lower(trim({name})) in ('0','false','n') then false end"
        else:
            typ = "smallint"
            expr = f"case when lower(trim({name})) in ('1','true','y') then 1 " \
                   f"when lower(trim({name})) in ('0','false','n') then 0 end"
        return typ, expr
    typ = _NATIVE[column.kind]
    if column.kind == "int":
        return typ, f"cast(regexp_replace(trim({name}), '[.]0$', '') as bigint)"
    if column.kind == "timestamp":
        # The instant whose UTC wall-clock time is the extract's naive value.
        return typ, f"cast(trim({name}) as timestamp) at time zone 'UTC'"
    if column.kind == "date":
        return typ, f"cast(trim({name}) as date)"
    return typ, name


def _native_tables():
    """(table, [(column, native type, expression over the text column)]) for every table."""
    flag_index = 0
    for name, table in TABLES.items():
        cols = []
        for column in table.columns:
            typ, expr = _native_expr(column, flag_index)
            flag_index += column.kind == "flag"
            cols.append((column.name, typ, expr))
        yield name, cols


def test_native_types_on_postgres_stage_like_text(pg_target, clean_extract, tmp_path, monkeypatch):
    load_extracts(clean_extract, pg_target)
    dbt_build(pg_target, AS_OF, select=["staging"])
    text_rows = _staged(pg_target)

    native = _second_target(pg_target, tmp_path)
    conn = connect(pg_target)
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute(f"create schema {native.raw_schema}")
        for name, cols in _native_tables():
            cur.execute(
                f"create table {native.raw_schema}.{name} ("
                + ", ".join(f"{c} {t}" for c, t, _ in cols)
                + ")"
            )
            cur.execute(
                f"insert into {native.raw_schema}.{name} select "
                + ", ".join(e for _, _, e in cols)
                + f" from {pg_target.raw_schema}.{name}"
            )
        cur.execute(
            "select data_type from information_schema.columns where table_schema = %s "
            "and table_name = 'personphonenumberassoc' and column_name = 'whencreated'",
            (native.raw_schema,),
        )
        assert cur.fetchone()[0] == "timestamp with time zone"
    finally:
        conn.close()
    try:
        # A session time zone far from UTC: timestamptz must still stage as UTC wall time.
        monkeypatch.setenv("PGOPTIONS", "-c TimeZone=America/New_York")
        dbt_build(native, AS_OF, select=["staging"])
        native_rows = _staged(native)
    finally:
        _drop_schemas(native)
    for name in STAGING:
        assert native_rows[name] == text_rows[name], name


_DUCKDB_NATIVE_BUILD = """
import datetime, sys
import duckdb
from pathlib import Path
# The machine's time zone really is far from UTC here (else the test proves nothing).
zone = duckdb.connect().execute("select current_setting('TimeZone')").fetchone()[0]
assert zone == "America/New_York", zone
from ctseds.dbt_invoke import dbt_build
from ctseds.targets import Target
dbt_build(Target(kind="duckdb", warehouse=Path(sys.argv[1])), datetime.date(2026, 11, 16),
          select=["staging"])
"""


def test_native_types_on_duckdb_stage_like_text(duckdb_target, clean_extract, tmp_path):
    """The same on DuckDB: tables replicated with native types (TIMESTAMPTZ included) stage
    like the text-loaded ones on a machine whose time zone is not UTC (input.md: converted
    to UTC, then compared as naive)."""
    import os
    import subprocess
    import sys

    import duckdb

    from ctseds.dbt_invoke import target_dir

    load_extracts(clean_extract, duckdb_target)
    dbt_build(duckdb_target, AS_OF, select=["staging"])
    text_rows = _staged(duckdb_target)

    native = _second_target(duckdb_target, tmp_path)
    native.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(native.warehouse))
    try:
        con.execute(f"attach '{duckdb_target.warehouse}' as src (read_only)")
        con.execute(f"create schema {native.raw_schema}")
        for name, cols in _native_tables():
            select = ", ".join(f"cast({e} as {t}) as {c}" for c, t, e in cols)
            con.execute(
                f"create table {native.raw_schema}.{name} as select {select} "
                f"from src.{duckdb_target.raw_schema}.{name}"
            )
        kind = con.execute(
            "select data_type from information_schema.columns where table_schema = ? "
            "and table_name = 'personphonenumberassoc' and column_name = 'whencreated'",
            [native.raw_schema],
        ).fetchone()[0]
        assert kind == "TIMESTAMP WITH TIME ZONE"
    finally:
        con.close()
    env = dict(os.environ, TZ="America/New_York")
    proc = subprocess.run(
        [sys.executable, "-c", _DUCKDB_NATIVE_BUILD, str(native.warehouse)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    try:
        assert proc.returncode == 0, proc.stderr[-3000:]
        native_rows = _staged(native)
    finally:
        import shutil

        shutil.rmtree(target_dir(native), ignore_errors=True)
    for name in STAGING:
        assert native_rows[name] == text_rows[name], name


@pytest.mark.parametrize(
    "table,column,value,kind,model",
    [
        ("studentcontactdetail", "iscustodial", "yes", "flag", "studentcontactdetail"),
        ("studentcontactassoc", "contactpriorityorder", "0.6", "integer", "studentcontactassoc"),
        ("students", "entrydate", "infinity", "date", "students"),
        ("personphonenumberassoc", "whencreated", "infinity", "timestamp",
         "personphonenumberassoc"),
    ],
    ids=["flag-yes", "int-0.6", "date-infinity", "timestamp-infinity"],
)
def test_untypable_value_in_a_warehouse_table_fails_the_build(
    target, clean_extract, table, column, value, kind, model
):
    """Tables already in the warehouse are not checked by the loader: a value staging cannot
    type fails the build and names the model and the kind, never the value (it would
    otherwise become NULL, or 0.6 would round to 1 on DuckDB and fail on PostgreSQL)."""
    from ctseds.errors import CtsedsError

    load_extracts(clean_extract, target)
    conn = connect(target)
    try:
        if target.kind == "postgres":
            conn.autocommit = True
        cur = conn.cursor()
        cur.execute(
            f"update {target.raw_schema}.{table} set {column} = '{value}' "
            f"where {column} is not null"
        )
        assert cur.rowcount != 0
    finally:
        conn.close()
    with pytest.raises(CtsedsError) as info:
        dbt_build(target, AS_OF, select=["staging"])
    msg = str(info.value)
    assert f"stg_powerschool__{model}" in msg
    assert f"not a valid {kind}" in msg
    assert value not in msg.replace("not a valid", "")
