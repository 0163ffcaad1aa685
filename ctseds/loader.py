"""Load a folder of PowerSchool extract files into the raw schema (spec/input.md).

Flow:
1. Quick checks in Python for every file, before touching the warehouse: the file exists, its
   bytes hold no NUL and are valid UTF-8, and its header names every required column once.
2. DuckDB parses each file (RFC 4180, every field as text, strict field counts) and checks
   values and keys with one SQL scan (cheap canonical-spelling tests first, regular
   expressions only for other spellings).
3. Everything is written in one transaction, rolled back on any error, so the previous raw
   tables stay exactly as they were:
   - DuckDB target: each file is parsed straight into its raw table inside the transaction;
   - PostgreSQL target: a worker thread validates file after file with an in-memory DuckDB and
     writes a normalized CSV, while the main thread COPYs the files already validated
     (TRUNCATE + COPY into tables of the expected shape, so dependent views survive; a table
     that is missing or of another shape is (re)created).
4. Only when a check fails is the file examined again in file order (a temporary table whose
   rowid is the record index, then Python's csv module) to name the physical line.

Raw tables keep the original text of every field (empty field -> NULL); staging types them.
Error messages name files, line numbers, columns and key values (IDs) only, never the value
of a cell (report.md section 7). DuckDB ignores empty fields after the last header column
(`1,2,` under a two-column header); every other wrong field count is an error.

The caller holds the warehouse lock (ctseds.locking); load_extracts does not take it.
"""

from __future__ import annotations

import codecs
import csv
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctseds.db import connect, quote_ident
from ctseds.errors import CtsedsError
from ctseds.tables import TABLES, Column, Table
from ctseds.targets import Target

Progress = Callable[[str], None]

_CHUNK = 16 * 1024 * 1024
_MAX_LINE = 64 * 1024 * 1024  # DuckDB max_line_size (a record may hold long text)

# Value checks (SQL, DuckDB dialect) applied to the value with spaces removed at both ends.
# They implement the patterns of tables.py plus the range rules of input.md (real calendar
# dates, hours 0-23 or 1-12 with AM/PM, minutes and seconds 0-59).
_INT_RE = r"[0-9]+(\.0)?"
_DATE_ISO_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE_US_RE = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
_TS_ISO_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?"
)
_TS_US_RE = (
    r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} "
    r"((([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)"
    r"|((0?[1-9]|1[0-2]):[0-5][0-9](:[0-5][0-9])? [AaPp][Mm]))"
)

_FLAG_RE = r"(?i:1|0|true|false|y|n)"

_EXPECTED = {
    "int": "not a valid integer (expected digits only, optionally followed by .0, "
    "at most 9223372036854775807)",
    "date": "not a valid date (expected YYYY-MM-DD or M/D/YYYY, a real calendar date)",
    "timestamp": "not a valid timestamp (expected YYYY-MM-DD HH:MM[:SS[.ffffff]] or "
    "M/D/YYYY H:MM[:SS] with an optional AM/PM, a real date and time)",
    "flag": "not a valid flag (expected 1/0, true/false or y/n)",
}


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _spaced(pattern: str) -> str:
    """Whole value: optional spaces, optionally the pattern, optional spaces.

    Matching the raw value with spaces allowed around it avoids trimming every value; an
    empty or all-space value matches (it is NULL for typing).
    """
    return _lit(f"^ *({pattern})? *$")


def _date_bad(c: str, t: str) -> str:
    """SQL: the date text (column `c`, trimmed `t`) has no date shape or is no real date."""
    return (
        f"(NOT regexp_matches({c}, {_spaced(_DATE_ISO_RE + '|' + _DATE_US_RE)}) OR ("
        f"{t} <> '' AND (CASE WHEN contains({c}, '-') "
        f"THEN try_cast({t} AS DATE) IS NULL OR contains({c}, '0000-') "
        f"ELSE try_strptime({t}, '%m/%d/%Y') IS NULL OR contains({c}, '/0000') END)))"
    )


def _bad_sql(column: Column) -> str:
    """SQL that is true when the raw value of a typed column cannot be typed.

    Each check starts with a cheap test that accepts the canonical spelling (a value that
    casts and prints back unchanged); only other values pay for the regular expressions.
    """
    c = quote_ident(column.name)
    t = f"trim({c})"  # DuckDB's trim() removes spaces only
    kind = column.kind
    if kind == "int":
        canonical = (
            f"coalesce(CAST(try_cast({c} AS BIGINT) AS VARCHAR) = {c} "
            f"AND NOT starts_with({c}, '-'), false)"
        )
        # Digits, optional .0; long values must also fit a 64-bit integer.
        return (
            f"({c} IS NOT NULL AND NOT {canonical} AND "
            f"(NOT regexp_matches({c}, {_spaced(_INT_RE)}) OR "
            f"(length({c}) > 18 AND {t} <> '' AND try_cast({c} AS BIGINT) IS NULL)))"
        )
    if kind == "flag":
        common = ", ".join(
            _lit(v)
            for v in (
                "0",
                "1",
                "y",
                "n",
                "Y",
                "N",
                "true",
                "false",
                "TRUE",
                "FALSE",
                "True",
                "False",
            )
        )
        return (
            f"({c} IS NOT NULL AND {c} NOT IN ({common}) AND "
            f"NOT regexp_matches({c}, {_spaced(_FLAG_RE)}))"
        )
    # DuckDB also prints `infinity`, 5-digit years and `(BC)` dates back unchanged: the
    # canonical shortcut only takes values of the plain YYYY-MM-DD... shape.
    if kind == "date":
        canonical = (
            f"coalesce(length({c}) = 10 AND substr({c}, 5, 1) = '-' "
            f"AND CAST(try_cast({c} AS DATE) AS VARCHAR) = {c}, false)"
        )
        return f"({c} IS NOT NULL AND NOT {canonical} AND {_date_bad(c, t)})"
    if kind == "timestamp":
        canonical = (
            f"coalesce(substr({c}, 5, 1) = '-' AND NOT contains({c}, '(') "
            f"AND CAST(try_cast({c} AS TIMESTAMP) AS VARCHAR) = {c}, false)"
        )
        date_part = (
            f"(CASE WHEN contains({c}, '/') THEN split_part({t}, ' ', 1) ELSE left({t}, 10) END)"
        )
        return (
            f"({c} IS NOT NULL AND NOT {canonical} AND "
            f"(NOT regexp_matches({c}, {_spaced(_TS_ISO_RE + '|' + _TS_US_RE)}) OR "
            f"({t} <> '' AND {_date_bad(date_part, date_part)})))"
        )
    raise ValueError(kind)


def _key_norm_sql(col: str) -> str:
    """Typed key value: '12', ' 12 ', '12.0' and '012' compare equal (validated before)."""
    return f"try_cast({quote_ident(col)} AS BIGINT)"


@dataclass
class _FileInfo:
    table: Table
    path: Path
    header: list[str]  # as read (BOM removed)
    index: dict[str, int]  # lower-case column name -> field position
    # What DuckDB parses: the file itself, or its copy with uniform line ends
    # (_uniform_line_ends). Messages always name `path` and its lines.
    source: Path | None = None

    @property
    def parse_path(self) -> Path:
        return self.source or self.path


# ---------------------------------------------------------------------------------------
# Python checks: bytes, header, line numbers


def _line_of_offset(path: Path, offset: int) -> int:
    line = 1
    done = 0
    with path.open("rb") as f:
        while done < offset:
            chunk = f.read(min(_CHUNK, offset - done))
            if not chunk:
                break
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def _check_bytes(path: Path) -> bool:
    """No NUL byte, valid UTF-8 (a byte-order mark is fine). Returns whether the file holds
    both CRLF and bare LF line breaks (mixed record ends, or LF inside quoted CRLF records)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    base = 0
    crlf = lf = 0
    last = b""
    with path.open("rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            lf += chunk.count(b"\n")
            crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
            nul = chunk.find(b"\x00") if chunk else -1
            if nul >= 0:
                line = _line_of_offset(path, base + nul)
                raise CtsedsError(
                    f"{path.name} line {line}: the file contains a NUL byte (binary data), so it "
                    "is not a CSV text file. Export the table again as UTF-8 CSV."
                )
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                line = _line_of_offset(path, base - pending + exc.start)
                raise CtsedsError(
                    f"{path.name} line {line}: the file is not valid UTF-8 text (for example a "
                    "Latin-1/Windows-1252 export, or binary data). Export the table again as "
                    "UTF-8 CSV."
                ) from None
            if not chunk:
                return 0 < crlf < lf
            base += len(chunk)


def _open_text(path: Path):
    return path.open("r", encoding="utf-8-sig", newline="")


def _csv_reader(f):
    return csv.reader(f, delimiter=",", quotechar='"', doublequote=True, strict=True)


def _read_header(table: Table, path: Path) -> _FileInfo:
    csv.field_size_limit(_MAX_LINE)
    with _open_text(path) as f:
        reader = _csv_reader(f)
        try:
            header = next(reader, None)
        except csv.Error:
            raise CtsedsError(
                f"{path.name} line 1: the header row is not valid CSV (RFC 4180 quoting). "
                "Check the file."
            ) from None
    if not header or all(not h.strip() for h in header):
        raise CtsedsError(
            f"{path.name} has no header row (line 1 is empty or missing). The first line must "
            f"name the columns, for example {', '.join(c.header for c in table.columns[:3])}."
        )
    index: dict[str, int] = {}
    known = {c.name for c in table.columns}
    for pos, raw in enumerate(header):
        name = raw.strip().lower()
        if not name or name not in known:
            continue  # extra columns are ignored (input.md), repeated ones too
        if name in index:
            raise CtsedsError(
                f"{path.name} line 1: the column {raw.strip()} appears more than once in the "
                "header (names are matched without regard to case). Keep one."
            )
        index[name] = pos
    missing = [c.header for c in table.columns if c.required and c.name not in index]
    if missing:
        cols = ", ".join(missing)
        plural = "columns" if len(missing) > 1 else "column"
        raise CtsedsError(
            f"{path.name} is missing the required {plural} {cols} in its header (line 1). "
            "Nothing was loaded. Add the column to the extract (names are matched without "
            "regard to case; no aliases)."
        )
    return _FileInfo(table, path, header, index)


def _record_lines(info: _FileInfo, wanted: set[int]) -> dict[int, int]:
    """Physical start line of the data records with the given 0-based indexes.

    Records are counted like DuckDB counts them: the header is skipped and empty lines are
    not records.
    """
    out: dict[int, int] = {}
    if not wanted:
        return out
    last = max(wanted)
    with _open_text(info.path) as f:
        reader = _csv_reader(f)
        prev_end = 0
        idx = -1
        for row in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if not row:
                continue
            idx += 1
            if idx == 0:
                continue  # the header
            rec = idx - 1
            if rec in wanted:
                out[rec] = start
                if rec >= last:
                    break
    return out


def _line(info: _FileInfo, rec: int) -> str:
    try:
        found = _record_lines(info, {rec}).get(rec)
    except csv.Error:
        found = None
    return f"line {found}" if found else f"data record {rec + 1}"


def _diagnose_parse_error(info: _FileInfo, duck_message: str) -> CtsedsError:
    """DuckDB refused the file: find the first bad record with Python (no cell values)."""
    ncols = len(info.header)
    csv.field_size_limit(_MAX_LINE)
    with _open_text(info.path) as f:
        reader = _csv_reader(f)
        prev_end = 0
        first = True
        while True:
            start = prev_end + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                return CtsedsError(
                    f"{info.path.name} line {start}: the record starting on this line is not "
                    "valid CSV (RFC 4180: a field with commas, quotes or line breaks must be "
                    'enclosed in double quotes, and a quote inside it written as ""). Nothing '
                    "was loaded."
                )
            prev_end = reader.line_num
            if not row:
                continue
            if first:
                first = False
                continue
            if len(row) != ncols:
                return CtsedsError(
                    f"{info.path.name} line {start}: the record has {len(row)} fields but the "
                    f"header has {ncols}. Check for an unquoted comma or a missing field. "
                    "Nothing was loaded."
                )
    m = re.search(r"Line: (\d+)", duck_message)
    where = f" near line {m.group(1)}" if m else ""
    return CtsedsError(
        f"{info.path.name}: the file could not be read as CSV{where} (RFC 4180 quoting, "
        "comma-separated, UTF-8). Nothing was loaded."
    )


# ---------------------------------------------------------------------------------------
# DuckDB parsing and validation


def _read_csv_sql(info: _FileInfo) -> str:
    ncols = len(info.header)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols)) + "}"
    src = (
        f"read_csv({_lit(str(info.parse_path))}, header = true, delim = ',', quote = '\"', "
        f"escape = '\"', auto_detect = false, columns = {columns}, strict_mode = true, "
        f"null_padding = false, ignore_errors = false, all_varchar = true, "
        f"encoding = 'utf-8', max_line_size = {_MAX_LINE})"
    )
    select = []
    for col in info.table.columns:
        pos = info.index.get(col.name)
        expr = f"c{pos}" if pos is not None else "CAST(NULL AS VARCHAR)"
        select.append(f"{expr} AS {quote_ident(col.name)}")
    return f"SELECT {', '.join(select)} FROM {src}"


def _validate(con: Any, info: _FileInfo, rel: str) -> int:
    """Check values and keys of the parsed table `rel`; return its row count."""
    table = info.table
    typed = [c for c in table.columns if c.kind != "text" and c.name in info.index]
    if typed:
        cases = " ".join(f"WHEN {_bad_sql(c)} THEN {_lit(c.header)}" for c in typed)
        where = " OR ".join(_bad_sql(c) for c in typed)
        row = con.execute(
            f"SELECT rowid, CASE {cases} END FROM {rel} WHERE {where} ORDER BY rowid LIMIT 1"
        ).fetchone()
        if row:
            rec, header = row
            kind = table.column(header).kind
            raise CtsedsError(
                f"{info.path.name} {_line(info, rec)}, column {header}: the value is "
                f"{_EXPECTED[kind]}. Nothing was loaded; correct the extract and load again."
            )
    for key in table.keys:
        col = quote_ident(table.column(key).name)
        row = con.execute(
            f"SELECT rowid FROM {rel} WHERE {col} IS NULL OR trim({col}) = '' "
            "ORDER BY rowid LIMIT 1"
        ).fetchone()
        if row:
            raise CtsedsError(
                f"{info.path.name} {_line(info, row[0])}: the key column {key} of table "
                f"{table.name} is empty. Every row needs a {key}. Nothing was loaded."
            )
        norm = _key_norm_sql(table.column(key).name)
        dup = con.execute(
            f"SELECT {norm} AS k FROM {rel} GROUP BY k HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if dup:
            rec, first, value = con.execute(
                f"SELECT rowid, first_rowid, trim({col}) FROM ("
                f"SELECT rowid, {col}, "
                f"row_number() OVER (PARTITION BY {norm} ORDER BY rowid) AS rn, "
                f"min(rowid) OVER (PARTITION BY {norm}) AS first_rowid FROM {rel}"
                ") WHERE rn = 2 ORDER BY rowid LIMIT 1"
            ).fetchone()
            try:
                lines = _record_lines(info, {rec, first})
            except csv.Error:
                lines = {}
            where = (
                f"lines {lines[first]} and {lines[rec]}"
                if first in lines and rec in lines
                else f"data records {first + 1} and {rec + 1}"
            )
            raise CtsedsError(
                f"{info.path.name}: the key {key} = {value} of table {table.name} is repeated "
                f"({where}). Each {key} must be unique (12 and 12.0 are the same key). "
                "Nothing was loaded."
            )
    return con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]


def _fast_check(con: Any, info: _FileInfo, rel: str) -> int | None:
    """The row count when every value and key is fine, else None (_validate then says why).

    Uses WHERE clauses (DuckDB evaluates AND/OR lazily there, not in FILTER clauses).
    """
    table = info.table
    typed = [c for c in table.columns if c.kind != "text" and c.name in info.index]
    if typed:
        where = " OR ".join(_bad_sql(c) for c in typed)
        if con.execute(f"SELECT 1 FROM {rel} WHERE {where} LIMIT 1").fetchone():
            return None
    parts = ["count(*)"]
    for key in table.keys:
        col = quote_ident(table.column(key).name)
        if con.execute(
            f"SELECT 1 FROM {rel} WHERE {col} IS NULL OR trim({col}) = '' LIMIT 1"
        ).fetchone():
            return None
        parts.append(f"count(DISTINCT {_key_norm_sql(table.column(key).name)})")
    row = con.execute(f"SELECT {', '.join(parts)} FROM {rel}").fetchone()
    return row[0] if all(n == row[0] for n in row[1:]) else None


def _diagnose(con: Any, info: _FileInfo) -> CtsedsError:
    """Re-parse one file into a temporary table (rowid = record index in file order) and
    return the error for its first problem."""
    rel = f"temp.main.{quote_ident('_ctseds_diagnose_' + info.table.name)}"
    con.execute(f"DROP TABLE IF EXISTS {rel}")
    _parse_into(con, info, rel)
    try:
        _validate(con, info, rel)
    except CtsedsError as exc:
        return exc
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rel}")
    return CtsedsError(f"{info.path.name}: the file failed validation. Nothing was loaded.")


def _parse_into(con: Any, info: _FileInfo, rel: str) -> None:
    import duckdb

    cols = ", ".join(f"{quote_ident(c.name)} VARCHAR" for c in info.table.columns)
    create = "CREATE TEMP TABLE" if rel.startswith("temp.") else "CREATE TABLE"
    con.execute(f"{create} {rel} ({cols})")  # rowid = record index in file order
    try:
        con.execute(f"INSERT INTO {rel} {_read_csv_sql(info)}")
    except duckdb.Error as exc:
        raise _diagnose_parse_error(info, str(exc)) from None


# ---------------------------------------------------------------------------------------
# Entry point


def load_extracts(
    extracts_dir: Path, target: Target, progress: Progress | None = None
) -> dict[str, int]:
    """Validate the 13 extract files in `extracts_dir` and load them into the raw schema.

    Returns rows loaded per table. All-or-nothing: on any error (CtsedsError) the raw tables
    are left exactly as they were.
    """
    extracts_dir = Path(extracts_dir)
    if not extracts_dir.is_dir():
        raise CtsedsError(
            f"The extracts folder {extracts_dir} does not exist or is not a folder. Pass the "
            "folder holding the 13 PowerSchool CSV files."
        )
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="ctseds-extracts-") as work:
        infos = _check_files(extracts_dir, Path(work))
        if target.kind == "duckdb":
            return _load_duckdb(infos, target, say)
        return _load_postgres(infos, target, say)


def _strict_parse_fails(info: _FileInfo) -> bool:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SELECT count(*) FROM ({_read_csv_sql(info)})").fetchone()
        return False
    except duckdb.Error:
        return True
    finally:
        con.close()


def _uniform_line_ends(info: _FileInfo, folder: Path) -> Path:
    """A copy of a file whose records end with both CRLF and LF (rows appended by another
    tool), which DuckDB's strict parser refuses, with LF record ends only. Field values,
    quoted line breaks included, are kept exactly, and records map one to one, so messages
    still name the original file's lines."""
    out = folder / info.path.name
    csv.field_size_limit(_MAX_LINE)
    with _open_text(info.path) as src, out.open("w", encoding="utf-8", newline="") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        try:
            for row in _csv_reader(src):
                if row:
                    writer.writerow(row)
        except csv.Error:
            raise _diagnose_parse_error(info, "") from None
    return out


def _check_files(extracts_dir: Path, work: Path) -> list[_FileInfo]:
    missing = [t.file_name for t in TABLES.values() if not (extracts_dir / t.file_name).is_file()]
    if missing:
        raise CtsedsError(
            f"The extracts folder {extracts_dir} is missing {', '.join(missing)}. All 13 files "
            f"are needed ({', '.join(t.file_name for t in TABLES.values())}); a table with no "
            "rows is a file with only its header row. Nothing was loaded."
        )
    infos = []
    for table in TABLES.values():
        path = extracts_dir / table.file_name
        try:
            mixed = _check_bytes(path)
            info = _read_header(table, path)
            if mixed and _strict_parse_fails(info):
                info.source = _uniform_line_ends(info, work)
            infos.append(info)
        except OSError as exc:
            raise CtsedsError(
                f"Cannot read {path}: {exc.strerror or type(exc).__name__}. Nothing was loaded."
            ) from None
        except UnicodeDecodeError:  # defensive: _check_bytes should have caught it
            raise CtsedsError(f"{path.name} is not valid UTF-8 text. Nothing was loaded.") from None
    return infos


def _write_failed(target: Target, exc: BaseException) -> CtsedsError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    # Database messages may quote a value; keep only the words around quoted parts.
    first = re.sub(r"'[^']*'", "'...'", first)
    return CtsedsError(
        f"Loading the raw tables into schema {target.raw_schema} of {target.label} failed: "
        f"{first}. Nothing was changed."
    )


def _load_duckdb(infos: list[_FileInfo], target: Target, say: Progress) -> dict[str, int]:
    """Parse each file straight into its raw table inside one transaction; check it with one
    scan; on any problem roll back, then diagnose the file for a precise message."""
    import duckdb

    con = connect(target)
    counts: dict[str, int] = {}
    try:
        # Fast string compression (FSST) costs more time than the raw tables are worth.
        try:
            con.execute("SET disabled_compression_methods = 'fsst,dict_fsst'")
        except duckdb.Error:
            pass
        # Fully qualified: a schema named like the file's catalog would be ambiguous.
        catalog = con.execute("SELECT current_database()").fetchone()[0]
        schema = f"{quote_ident(catalog)}.{quote_ident(target.raw_schema)}"
        failed: _FileInfo | None = None
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for info in infos:
                started = time.monotonic()
                rel = f"{schema}.{quote_ident(info.table.name)}"
                con.execute(f"DROP TABLE IF EXISTS {rel}")
                _parse_into(con, info, rel)
                rows = _fast_check(con, info, rel)
                if rows is None:
                    failed = info
                    break
                counts[info.table.name] = rows
                say(f"loaded {info.path.name}: {rows} rows in {time.monotonic() - started:.1f}s")
            if failed is None:
                con.execute("COMMIT")
        except BaseException as exc:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            if isinstance(exc, duckdb.Error):
                raise _write_failed(target, exc) from None
            raise
        if failed is not None:
            con.execute("ROLLBACK")
            try:
                raise _diagnose(con, failed)
            except duckdb.Error as exc:
                raise CtsedsError(
                    f"{failed.path.name}: the file could not be processed "
                    f"({type(exc).__name__}). Nothing was loaded."
                ) from None
    finally:
        try:
            con.execute("RESET disabled_compression_methods")
        except Exception:
            pass
        con.close()
    return counts


def _pg_shape(cur: Any, schema: str, table: str) -> tuple[str | None, list[tuple[str, str]]]:
    cur.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    )
    row = cur.fetchone()
    if not row:
        return None, []
    cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    )
    return row[0], [(r[0], r[1]) for r in cur.fetchall()]


def _prepare_files(
    infos: list[_FileInfo], tmpdir: Path, results: queue.Queue, stop: threading.Event
) -> None:
    """Producer (own thread): parse and validate each file with an in-memory DuckDB, write
    a normalized CSV, and queue ("file", info, rows, seconds, path); then ("done",). An
    error is queued as ("error", exception) and ends the work."""
    import duckdb

    try:
        duck = duckdb.connect(":memory:")
    except BaseException as exc:  # pragma: no cover - DuckDB cannot start
        results.put(("error", exc))
        return
    try:
        duck.execute(f"SET temp_directory = {_lit(str(tmpdir / 'spill'))}")
        for info in infos:
            if stop.is_set():
                return
            started = time.monotonic()
            rel = quote_ident(info.table.name)
            try:
                _parse_into(duck, info, rel)
                rows = _fast_check(duck, info, rel)
                if rows is None:
                    rows = _validate(duck, info, rel)  # raises with the first problem
                out = tmpdir / f"{info.table.name}.csv"
                duck.execute(
                    f"COPY {rel} TO {_lit(str(out))} (FORMAT csv, HEADER false, "
                    "DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULLSTR '', FORCE_QUOTE *)"
                )
                duck.execute(f"DROP TABLE {rel}")
            except duckdb.Error as exc:
                raise CtsedsError(
                    f"{info.path.name}: the file could not be processed "
                    f"({type(exc).__name__}). Nothing was loaded."
                ) from None
            results.put(("file", info, rows, time.monotonic() - started, out))
        results.put(("done",))
    except BaseException as exc:
        results.put(("error", exc))
    finally:
        duck.close()


def _load_postgres(infos: list[_FileInfo], target: Target, say: Progress) -> dict[str, int]:
    """DuckDB (a worker thread) validates file after file while PostgreSQL copies the ones
    already validated, all inside one PostgreSQL transaction that is rolled back on any
    error."""
    import psycopg2

    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="ctseds-load-") as tmp:
        tmpdir = Path(tmp)
        conn = connect(target)
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        worker = threading.Thread(
            target=_prepare_files, args=(infos, tmpdir, results, stop), daemon=True
        )
        worker.start()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(target.raw_schema)}")
                while True:
                    item = results.get()
                    if item[0] == "error":
                        raise item[1]
                    if item[0] == "done":
                        break
                    _, info, rows, prep_secs, path = item
                    started = time.monotonic()
                    _pg_replace(cur, target, info, path)
                    path.unlink()
                    counts[info.table.name] = rows
                    secs = prep_secs + time.monotonic() - started
                    say(f"loaded {info.path.name}: {rows} rows in {secs:.1f}s")
            conn.commit()
        except psycopg2.Error as exc:
            conn.rollback()
            raise _write_failed(target, exc) from None
        except BaseException:
            conn.rollback()
            raise
        finally:
            stop.set()
            worker.join()
            conn.close()
    return counts


def _pg_replace(cur: Any, target: Target, info: _FileInfo, path: Path) -> None:
    """TRUNCATE + COPY when the table has the expected shape, else (re)create it."""
    name = info.table.name
    rel = f"{quote_ident(target.raw_schema)}.{quote_ident(name)}"
    expected = [(c.name, "text") for c in info.table.columns]
    kind, shape = _pg_shape(cur, target.raw_schema, name)
    if kind == "BASE TABLE" and shape == expected:
        cur.execute(f"TRUNCATE TABLE {rel}")
    else:
        if kind == "VIEW":
            cur.execute(f"DROP VIEW {rel} CASCADE")
        elif kind is not None:
            cur.execute(f"DROP TABLE {rel} CASCADE")
        cols = ", ".join(f"{quote_ident(c)} text" for c, _ in expected)
        cur.execute(f"CREATE TABLE {rel} ({cols})")
    col_list = ", ".join(quote_ident(c) for c, _ in expected)
    with path.open("rb") as f:
        cur.copy_expert(
            f"COPY {rel} ({col_list}) FROM STDIN WITH (FORMAT csv, "
            "DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULL '')",
            f,
            size=1024 * 1024,
        )
