"""Write the export, exceptions and summary files from the built warehouse (report.md §1, §2, §6).

The marts hold the district-wide result (no selection). The selection (schools, students) is
applied here with bound parameters only: the values go into temporary tables
(`sel_schools`, `sel_identifiers`) through `executemany`, and every query joins them.

Files: for DIR/NAME.csv, DIR/NAME.csv, DIR/NAME.exceptions.csv and DIR/NAME.summary.json, each
first written under a temporary name in DIR (mode 0600), flushed and fsync'd, then renamed into
place, the export last. On any failure the temporary files are removed and the previous files
stay as they were. Export rows are streamed (server-side cursor / fetchmany), never held whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ctseds
from ctseds.errors import CtsedsError, UsageError
from ctseds.targets import Target

Progress = Callable[[str], None] | None

EXPORT_HEADER: tuple[str, ...] = (
    "Parent Name",
    "Parent Type",
    "Student Code",
    "Email",
    "Address",
    "City",
    "State",
    "ZIP Code",
    "Home Phone",
    "Work Phone",
    "Mobile/Cell Phone",
    "Language",
    "Student Lives Here",
    "Can Receive Parent Portal Notifications",
)
MART_COLUMNS: tuple[str, ...] = (
    "parent_name",
    "parent_type",
    "student_code",
    "email",
    "address",
    "city",
    "state",
    "zip_code",
    "home_phone",
    "work_phone",
    "mobile_cell_phone",
    "language",
    "student_lives_here",
    "can_receive_parent_portal_notifications",
)
EXCEPTIONS_HEADER: tuple[str, ...] = (
    "Student Code",
    "Student Number",
    "School Number",
    "Contact ID",
    "Parent Name",
    "Severity",
    "Reason",
    "Detail",
)
STUDENT_REASONS: tuple[str, ...] = (
    "student_excluded",
    "school_excluded",
    "missing_sasid",
    "invalid_sasid",
)
STUDENT_REASON_DETAIL = {
    "student_excluded": "Students.State_ExcludeFromReporting = 1",
    "school_excluded": "every covering enrollment at a selected school is at an excluded school",
    "missing_sasid": "State_StudentNumber is missing",
    "invalid_sasid": "State_StudentNumber is not 10 digits",
}
EXPORTS_MART = "ct_seds_student_contacts"
EXCEPTIONS_MART = "ct_seds_student_contacts_exceptions"
SCOPED = "int_students_scoped"
IDENTIFIED = "int_students_identified"
BUILD_STATE = "ctseds_build_state"
FETCH_SIZE = 10000

_WS = re.compile(r"[\r\n\t]")
_SPACES = re.compile(r" {2,}")
_PLAIN_INT = re.compile(r"^[0-9]+$")
_BIGINT_MAX = 2**63 - 1


# --------------------------------------------------------------------------- text rules


def clean(value: Any) -> str:
    """report.md §0 clean(): CR/LF/TAB → space, collapse spaces, trim spaces at both ends."""
    if value is None:
        return ""
    text = _WS.sub(" ", str(value))
    return _SPACES.sub(" ", text).strip(" ")


def fmt(value: Any) -> str:
    """A database value as written in a file: NULL → '', integers as plain decimal."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return str(value)


# --------------------------------------------------------------------------- CSV framing


def csv_field(value: Any) -> str:
    text = fmt(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_record(fields: Sequence[Any]) -> bytes:
    """One RFC 4180 record: comma-separated, minimal quoting, CRLF, UTF-8 (no BOM)."""
    return (",".join(csv_field(f) for f in fields) + "\r\n").encode("utf-8")


_SPECIAL = re.compile(r'[",\r\n]')


def csv_field_sql(expr: str) -> str:
    """SQL (DuckDB and PostgreSQL) writing one text field the way csv_field does: NULL and ''
    empty, quoted (inner quotes doubled) only when it holds a comma, quote, CR or LF."""
    special = " or ".join(
        f"strpos({expr}, {ch}) > 0" for ch in ("','", "'\"'", "chr(13)", "chr(10)")
    )
    return (
        f"case when {expr} is null then '' when {special} "
        f"then '\"' || replace({expr}, '\"', '\"\"') || '\"' else {expr} end"
    )


def csv_record_sql(exprs: Sequence[str]) -> str:
    """SQL for one whole record of text columns, CRLF included (see csv_record)."""
    return " || ',' || ".join(csv_field_sql(e) for e in exprs) + " || chr(13) || chr(10)"


def text_record(fields: Sequence[str | None]) -> bytes:
    """csv_record for rows of text or NULL (the export rows), with a fast path for the
    usual row that needs no quoting at all: one regex search instead of one per field."""
    parts = ["" if f is None else f for f in fields]
    if _SPECIAL.search("".join(parts)) is None:
        return (",".join(parts) + "\r\n").encode("utf-8")
    return csv_record(fields)


# --------------------------------------------------------------------------- selection


class Selection:
    """Cleaned, de-duplicated parameter lists (None = everything)."""

    def __init__(self, schools: Iterable[Any] | None, students: Iterable[Any] | None) -> None:
        self.schools: list[str] | None = None  # display values, order of first appearance
        self.school_ints: list[int] = []
        if schools is not None:
            self.schools = []
            seen: set[object] = set()
            for raw in schools:
                text = clean(raw)
                if not text:
                    raise UsageError("A --school value is empty: give a school number.")
                key: object
                if _PLAIN_INT.match(text) and int(text) <= _BIGINT_MAX:
                    key = int(text)
                    text = str(key)
                else:
                    key = ("text", text)
                if key in seen:
                    continue
                seen.add(key)
                self.schools.append(text)
                if isinstance(key, int):
                    self.school_ints.append(key)
        self.students: list[str] | None = None
        if students is not None:
            self.students = []
            for raw in students:
                text = clean(raw)
                if not text:
                    raise UsageError("A --student value is empty: give a student identifier.")
                if text not in self.students:
                    self.students.append(text)

    @property
    def is_empty(self) -> bool:
        return self.schools is None and self.students is None


# --------------------------------------------------------------------------- database access


class _Warehouse:
    """A thin layer over the DB-API connection: bound parameters, streaming, table names."""

    def __init__(self, target: Target, conn: Any) -> None:
        from ctseds.db import placeholder, quote_ident

        self.target = target
        self.conn = conn
        self.ph = placeholder(target)
        self._q = quote_ident
        self.prefix = self._q(target.schema)
        if target.kind == "duckdb":
            catalog = self.one("select current_database()")[0]
            self.prefix = f"{self._q(catalog)}.{self._q(target.schema)}"

    def rel(self, name: str) -> str:
        return f"{self.prefix}.{self._q(name)}"

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self.target.kind == "duckdb":
            self.conn.execute(sql, list(params))
        else:
            with self.conn.cursor() as cur:
                cur.execute(sql, tuple(params))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.target.kind == "duckdb":
            return self.conn.execute(sql, list(params)).fetchall()
        with self.conn.cursor() as cur:
            cur.execute(sql, tuple(params))
            return cur.fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple:
        rows = self.all(sql, params)
        return rows[0] if rows else ()

    def many(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.target.kind == "duckdb":
            self.conn.executemany(sql, [list(r) for r in rows])
        else:
            with self.conn.cursor() as cur:
                cur.executemany(sql, rows)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple]:
        """Rows in batches: DuckDB fetchmany, PostgreSQL a server-side (named) cursor."""
        if self.target.kind == "duckdb":
            res = self.conn.execute(sql, list(params))
            while True:
                batch = res.fetchmany(FETCH_SIZE)
                if not batch:
                    return
                yield from batch
        else:
            cur = self.conn.cursor(name="ctseds_export_rows")
            cur.itersize = FETCH_SIZE
            try:
                cur.execute(sql, tuple(params))
                while True:
                    batch = cur.fetchmany(FETCH_SIZE)
                    if not batch:
                        return
                    yield from batch
            finally:
                cur.close()

    def table_exists(self, name: str) -> bool:
        row = self.one(
            "select count(*) from information_schema.tables "
            f"where table_schema = {self.ph} and table_name = {self.ph}",
            (self.target.schema, name),
        )
        return bool(row and row[0])


def _db_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = []
    try:
        import duckdb

        types.append(duckdb.Error)
    except Exception:
        pass
    try:
        import psycopg2

        types.append(psycopg2.Error)
    except Exception:
        pass
    return tuple(types)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


# --------------------------------------------------------------------------- build state


def check_build_state(wh: _Warehouse, as_of: date) -> dict[str, str]:
    """The last complete build; CtsedsError when there is none or it was for another D."""
    d = as_of.isoformat()
    if not wh.table_exists(BUILD_STATE):
        raise CtsedsError(
            f"There is no complete build in {wh.target.label} (schema {wh.target.schema}): "
            f"run `ctseds build --as-of {d}` (or `ctseds run`) first, then export."
        )
    rows = wh.all(f"select as_of, finished_at, invocation_id from {wh.rel(BUILD_STATE)}")
    if not rows:
        raise CtsedsError(
            f"There is no complete build in {wh.target.label} (schema {wh.target.schema}): the "
            f"last dbt build did not finish successfully. Run `ctseds build --as-of {d}` and "
            "export again."
        )
    built = sorted({fmt(r[0]) for r in rows})
    if built != [d]:
        raise CtsedsError(
            f"The warehouse was built for as_of {', '.join(built)}, not {d}; nothing was "
            f"written. Run `ctseds build --as-of {d}` first (or export with --as-of "
            f"{built[0]})."
        )
    for name in (EXPORTS_MART, EXCEPTIONS_MART, SCOPED, IDENTIFIED):
        if not wh.table_exists(name):
            raise CtsedsError(
                f"The model {name} is missing from schema {wh.target.schema} although a build "
                f"is recorded. Run `ctseds build --as-of {d}` again."
            )
    last = max(rows, key=lambda r: fmt(r[1]))
    return {"as_of": d, "finished_at": fmt(last[1]), "invocation_id": fmt(last[2])}


# --------------------------------------------------------------------------- exceptions


def _blank_key(value: Any, numeric: bool = False) -> tuple:
    text = fmt(value)
    if text == "":
        return (0,)
    if numeric:
        if _PLAIN_INT.match(text):
            return (1, int(text), "")
        return (2, 0, text)
    return (1, text)


def exception_sort_key(row: Sequence[Any]) -> tuple:
    """§6 order: Student Code, Student Number (text), School Number, Contact ID (numeric),
    Reason — blanks first on every key, text by code point; then the other columns."""
    code, number, school, contact, name, severity, reason, detail = row
    return (
        _blank_key(code),
        _blank_key(number),
        _blank_key(school, numeric=True),
        _blank_key(contact, numeric=True),
        _blank_key(reason),
        _blank_key(name),
        _blank_key(severity),
        _blank_key(detail),
    )


def _prepare_selection(wh: _Warehouse, sel: Selection) -> None:
    p = wh.ph
    wh.run("create temp table sel_schools (school_number bigint)")
    wh.run("create temp table sel_identifiers (identifier varchar)")
    wh.many(
        f"insert into sel_schools (school_number) values ({p})", [(s,) for s in sel.school_ints]
    )
    wh.many(
        f"insert into sel_identifiers (identifier) values ({p})",
        [(s,) for s in (sel.students or [])],
    )
    ident = wh.rel(IDENTIFIED)
    wh.run(
        "create temp table sel_matches as "
        "select x.identifier, i.student_dcid from sel_identifiers x "
        f"join {ident} i on x.identifier = cast(i.student_number as varchar) "
        "or x.identifier = i.student_code"
    )
    ambiguous = wh.all(
        "select identifier, count(distinct student_dcid) from sel_matches "
        "group by identifier having count(distinct student_dcid) > 1 order by identifier"
    )
    if ambiguous:
        which = "; ".join(f"{a[0]!r} matches {a[1]} students" for a in ambiguous[:5])
        raise CtsedsError(
            f"A --student identifier matches more than one student ({which}): nothing was "
            "written. Give the Student_Number instead of the SASID (or the other way round) so "
            "that each identifier names one student."
        )
    school_filter = (
        "true"
        if sel.schools is None
        else "s.school_number in (select school_number from sel_schools)"
    )
    student_filter = (
        "true"
        if sel.students is None
        else "s.student_dcid in (select student_dcid from sel_matches)"
    )
    wh.run(
        "create temp table sel_students as "
        "select student_dcid, student_number, student_code, school_any, school_ok, "
        "case when student_excluded = 1 then 'student_excluded' "
        "when has_school_ok = 0 then 'school_excluded' "
        "when sasid_reason is not null then sasid_reason end as reason "
        "from (select s.student_dcid, "
        "max(cast(s.student_number as varchar)) as student_number, "
        "max(s.student_code) as student_code, "
        "min(s.school_number) as school_any, "
        "min(case when s.is_school_excluded then null else s.school_number end) as school_ok, "
        # A covering enrollment with no school number (no Schools row) is not excluded
        # (report.md 2.4): the flag, not school_ok (NULL then), decides.
        "max(case when s.is_school_excluded then 0 else 1 end) as has_school_ok, "
        "max(case when s.is_student_excluded then 1 else 0 end) as student_excluded, "
        "max(s.sasid_reason) as sasid_reason "
        f"from {wh.rel(SCOPED)} s where {school_filter} and {student_filter} "
        "group by s.student_dcid) agg"
    )


_EXCEPTION_COLUMNS = (
    "student_code", "student_number", "school_number", "contact_id",
    "parent_name", "severity", "reason", "detail",
)


def exception_order_sql(kind: str) -> str:
    """ORDER BY for sel_exceptions that sorts exactly like exception_sort_key (report.md 6:
    Student Code, Student Number as text, School Number and Contact ID numerically, Reason;
    blanks first; text by code point), on DuckDB (byte order) and PostgreSQL (COLLATE "C")."""

    def coll(x: str) -> str:
        return f'{x} collate "C"' if kind == "postgres" else x

    def blank(x: str) -> str:
        return f"case when {x} is null or {x} = '' then 0 else 1 end"

    def text(x: str) -> list[str]:
        return [blank(x), coll(x)]

    def number(x: str) -> list[str]:
        plain = f"{x} ~ '^[0-9]+$'" if kind == "postgres" else f"regexp_full_match({x}, '[0-9]+')"
        digits = f"ltrim({x}, '0')"  # numeric order of any length: by size, then digits
        return [
            f"case when {x} is null or {x} = '' then 0 when {plain} then 1 else 2 end",
            f"case when {plain} then length({digits}) end",
            coll(f"case when {plain} then {digits} end"),
            coll(f"case when {plain} then null else {x} end"),
        ]

    keys = [
        *text("student_code"), *text("student_number"), *number("school_number"),
        *number("contact_id"), *text("reason"), *text("parent_name"), *text("severity"),
        *text("detail"),
    ]
    return ", ".join(keys)


def _exception_rows(wh: _Warehouse, sel: Selection) -> tuple[list[str], dict[str, int]]:
    """The exceptions file's records, framed and sorted by the database, and the counts by
    reason. Built in a temp table so that 100,000s of rows never pass through Python rows."""
    mart = wh.rel(EXCEPTIONS_MART)
    reasons = ", ".join(f"'{r}'" for r in STUDENT_REASONS)  # constants, not user values
    fallback = " ".join(
        f"when '{r}' then '{d.replace(chr(39), chr(39) * 2)}'"
        for r, d in STUDENT_REASON_DETAIL.items()
    )
    wh.run(
        "create temp table sel_exceptions ("
        + ", ".join(f"{c} varchar" for c in _EXCEPTION_COLUMNS)
        + ")"
    )
    wh.run(
        "insert into sel_exceptions "
        "select st.student_code, st.student_number, cast(st.school_any as varchar), null, null, "
        f"'excluded', st.reason, coalesce(d.detail, case st.reason {fallback} else '' end) "
        "from sel_students st left join (select student_dcid, reason, min(detail) as detail "
        f"from {mart} group by student_dcid, reason) d "
        "on d.student_dcid = st.student_dcid and d.reason = st.reason "
        "where st.reason is not null"
    )
    wh.run(
        "insert into sel_exceptions "
        "select e.student_code, cast(e.student_number as varchar), "
        "cast(st.school_ok as varchar), cast(e.contact_id as varchar), "
        "e.parent_name, e.severity, e.reason, e.detail "
        f"from {mart} e join sel_students st on st.student_dcid = e.student_dcid "
        f"where st.reason is null and e.reason not in ({reasons})"
    )
    extra: list[tuple] = []  # rows about the parameters themselves (few; bound values)
    if sel.schools is not None:
        found = {
            int(r[0])
            for r in wh.all(
                f"select distinct s.school_number from {wh.rel(SCOPED)} s "
                "join sel_schools x on x.school_number = s.school_number"
            )
        }
        for school in sel.schools:
            if not (_PLAIN_INT.match(school) and int(school) in found):
                extra.append(
                    (
                        None,
                        None,
                        school,
                        None,
                        None,
                        "warning",  # no student or pair is left out (report.md 6)
                        "school_not_found",
                        "no enrollment covering the report date at this school",
                    )
                )
    if sel.students is not None:
        in_scope = {
            r[0]
            for r in wh.all(
                "select distinct m.identifier from sel_matches m "
                "join sel_students st on st.student_dcid = m.student_dcid"
            )
        }
        for ident in sel.students:
            if ident not in in_scope:
                extra.append(
                    (
                        None,
                        ident,
                        None,
                        None,
                        None,
                        "warning",  # no student or pair is left out (report.md 6)
                        "student_not_in_scope",
                        "the identifier matches no in-scope student",
                    )
                )
    marks = ", ".join([wh.ph] * len(_EXCEPTION_COLUMNS))
    wh.many(f"insert into sel_exceptions values ({marks})", extra)
    by_reason = dict(
        sorted(
            (str(r), int(n))
            for r, n in wh.all("select reason, count(*) from sel_exceptions group by reason")
        )
    )
    lines = [
        r[0]
        for r in wh.all(
            f"select {csv_record_sql(_EXCEPTION_COLUMNS)} from sel_exceptions "
            f"order by {exception_order_sql(wh.target.kind)}"
        )
    ]
    return lines, by_reason


# --------------------------------------------------------------------------- file writing


def output_paths(out: Path) -> tuple[Path, Path, Path]:
    out = Path(out)
    if out.suffix.lower() != ".csv" or out.name.lower() == ".csv":
        raise UsageError(
            f"--out must name a .csv file (for example exports/contacts.csv), not {str(out)!r}."
        )
    if out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a folder: give a .csv file name.")
    stem = out.name[: -len(out.suffix)]
    return out, out.with_name(f"{stem}.exceptions.csv"), out.with_name(f"{stem}.summary.json")


class _TempFile:
    """A 0600 file under a temporary name in the final folder; `commit` renames it."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path = final.with_name(f".{final.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(self.fd, 0o600)
        self.sha = hashlib.sha256()
        self.buf = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) >= 1 << 18:
            self._drain()

    def _drain(self) -> None:
        data = bytes(self.buf)
        self.buf.clear()
        self.sha.update(data)  # hashing whole chunks gives the same digest, faster
        offset = 0
        while offset < len(data):
            offset += os.write(self.fd, data[offset:])

    def finish(self) -> None:
        self._drain()
        os.fsync(self.fd)
        os.close(self.fd)
        self.closed = True

    def commit(self) -> None:
        os.replace(self.path, self.final)

    def discard(self) -> None:
        if not self.closed:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.closed = True
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_outputs(
    out: Path,
    export_header: Sequence[str],
    export_rows: Iterable[Sequence[Any]],
    exception_rows: Sequence[Sequence[Any]],
    make_summary: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    on_row: Callable[[Sequence[Any]], None] | None = None,
) -> dict[str, Any]:
    """Write the three files atomically (temp → fsync → rename, export last).

    `make_summary` gets {"rows", "sha256", "exceptions", paths} and returns the summary object.
    `on_row` sees every export row before it is written (used to count students).
    """
    export_path, exceptions_path, summary_path = output_paths(out)
    folder = export_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CtsedsError(
            f"Cannot create the output folder {folder}: {exc.strerror or exc}. Choose another "
            "--out path."
        ) from None
    temps: list[_TempFile] = []
    try:
        try:
            tex = _TempFile(export_path)
            temps.append(tex)
            tx = _TempFile(exceptions_path)
            temps.append(tx)
            ts = _TempFile(summary_path)
            temps.append(ts)
        except OSError as exc:
            raise CtsedsError(
                f"Cannot write in the output folder {folder}: {exc.strerror or exc}. Check the "
                "folder's permissions or choose another --out path."
            ) from None
        tex.write(csv_record(export_header))
        rows = 0
        for row in export_rows:
            if on_row is not None:
                on_row(row)
            # A str is a record the database already framed (csv_record_sql).
            tex.write(row.encode("utf-8") if isinstance(row, str) else text_record(row))
            rows += 1
        tex.finish()
        tx.write(csv_record(EXCEPTIONS_HEADER))
        for row in exception_rows:
            tx.write(row.encode("utf-8") if isinstance(row, str) else csv_record(row))
        tx.finish()
        info = {
            "rows": rows,
            "sha256": tex.sha.hexdigest(),
            "exceptions_sha256": tx.sha.hexdigest(),
            "exceptions": len(exception_rows),
            "export_path": str(export_path),
            "exceptions_path": str(exceptions_path),
            "summary_path": str(summary_path),
        }
        summary = make_summary(info)
        ts.write((json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        ts.finish()
        tx.commit()
        ts.commit()
        tex.commit()  # the export last
        temps.clear()
        _fsync_dir(folder)
        return summary
    except OSError as exc:
        raise CtsedsError(
            f"Writing the output files in {folder} failed: {exc.strerror or exc}. The previous "
            "files, if any, were left as they were. Check free space and permissions."
        ) from None
    finally:
        for t in temps:
            t.discard()


# --------------------------------------------------------------------------- export


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def export(
    target: Target,
    out: Path,
    *,
    as_of: date,
    schools: list[str] | None = None,
    students: list[str] | None = None,
    include_portal_notifications: bool = True,
    progress: Progress = None,
) -> dict[str, Any]:
    """Write NAME.csv, NAME.exceptions.csv and NAME.summary.json; return the summary."""
    from ctseds.db import connect, require_warehouse_file

    started_at = _now()
    t0 = time.monotonic()
    out = Path(out).expanduser().absolute()
    output_paths(out)  # usage check before touching the database
    sel = Selection(schools, students)
    header = EXPORT_HEADER if include_portal_notifications else EXPORT_HEADER[:-1]
    columns = MART_COLUMNS if include_portal_notifications else MART_COLUMNS[:-1]

    require_warehouse_file(target)
    conn = connect(target)
    db_errors = _db_error_types()
    try:
        if target.kind == "postgres":
            conn.set_session(isolation_level="REPEATABLE READ")
        wh = _Warehouse(target, conn)
        try:
            build = check_build_state(wh, as_of)
            _prepare_selection(wh, sel)
            exceptions, by_reason = _exception_rows(wh, sel)
            in_scope = int(wh.one("select count(*) from sel_students")[0])
            selected = (
                f"from {wh.rel(EXPORTS_MART)} c "
                "join sel_students st on st.student_dcid = c.student_dcid "
                "where st.reason is null"
            )
            # The database frames each record (see csv_record_sql): Python only writes bytes.
            sql = f"select {csv_record_sql([f'c.{wh._q(c)}' for c in columns])} {selected} " \
                "order by c.export_order"
            reported = int(wh.one(f"select count(distinct c.student_dcid) {selected}")[0])

            def rows() -> Iterator[str]:
                for (line,) in wh.stream(sql):
                    yield line

            def make_summary(info: dict[str, Any]) -> dict[str, Any]:
                summary: dict[str, Any] = {
                    "as_of": as_of.isoformat(),
                    "parameters": {
                        "as_of": as_of.isoformat(),
                        "schools": sel.schools,
                        "students": sel.students,
                        "include_portal_notifications": bool(include_portal_notifications),
                    },
                    "students_in_scope": in_scope,
                    "students_reported": reported,
                    "rows": info["rows"],
                    "exceptions": info["exceptions"],
                    "exceptions_by_reason": by_reason,
                    "sha256": info["sha256"],
                    "exceptions_sha256": info["exceptions_sha256"],
                    "files": {
                        "export": info["export_path"],
                        "exceptions": info["exceptions_path"],
                        "summary": info["summary_path"],
                    },
                    "target": target.label,
                    "build": build,
                    "started_at": started_at,
                    "finished_at": _now(),
                    "version": ctseds.__version__,
                }
                if in_scope == 0:
                    summary["note"] = (
                        f"No student is in scope on {as_of.isoformat()}: the export has only "
                        "its header. Typical cause: the report date falls outside the school "
                        "year."
                    )
                return summary

            summary = write_outputs(out, header, rows(), exceptions, make_summary)
        except db_errors as exc:
            raise CtsedsError(
                f"Reading the warehouse {target.label} failed: {_first_line(exc)}. Nothing was "
                "written. Run `ctseds build` again and retry the export."
            ) from None
    finally:
        try:
            conn.close()
        except Exception:
            pass
    if progress:
        progress(
            f"[export] {summary['rows']} rows, {summary['exceptions']} exceptions in "
            f"{time.monotonic() - t0:.1f} s"
        )
    return summary
