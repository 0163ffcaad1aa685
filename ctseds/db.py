"""Database connections for a `Target`, with errors a user can act on.

`connect(target)` returns a DB-API connection: DuckDB (the warehouse file) or psycopg2
(PostgreSQL through the standard libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE). Failures become one-paragraph `CtsedsError`s that never contain credentials.
"""

from __future__ import annotations

import os
from typing import Any

from ctseds.errors import CtsedsError
from ctseds.targets import Target

CONNECT_TIMEOUT = 10  # seconds, PostgreSQL only


def _pg_location() -> str:
    host = os.environ.get("PGHOST") or ""
    port = os.environ.get("PGPORT") or "5432"
    db = os.environ.get("PGDATABASE") or os.environ.get("PGUSER") or "(default)"
    if not host:
        return f"the default local socket (PGHOST is not set) port {port}, database {db}"
    if host.startswith("/"):
        return f"socket directory {host} port {port}, database {db}"
    return f"{host}:{port}, database {db}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def connect(target: Target) -> Any:
    """Open a DB-API connection to `target` (DuckDB file or PostgreSQL)."""
    if target.kind == "duckdb":
        return _connect_duckdb(target)
    return _connect_postgres()


def _connect_duckdb(target: Target) -> Any:
    import duckdb

    path = target.warehouse
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CtsedsError(
            f"Cannot create the folder {path.parent} for the DuckDB warehouse file: "
            f"{exc.strerror or exc}. Choose another --warehouse path or fix the permissions."
        ) from None
    try:
        return duckdb.connect(str(path))
    except duckdb.Error as exc:
        msg = str(exc)
        if "Could not set lock on file" in msg or "Conflicting lock" in msg:
            raise CtsedsError(
                f"The DuckDB warehouse file {path} is in use by another process (it holds the "
                "file lock). Wait for that run to finish, or close the program that has the file "
                "open (for example a DuckDB shell or a notebook), then try again."
            ) from None
        raise CtsedsError(
            f"Cannot open the DuckDB warehouse file {path}: {_first_line(exc)}. Check that the "
            "path points to a DuckDB database file (or to a new file) that you may write."
        ) from None


def _connect_postgres() -> Any:
    import psycopg2

    try:
        conn = psycopg2.connect(connect_timeout=CONNECT_TIMEOUT)
    except psycopg2.OperationalError as exc:
        raise CtsedsError(
            f"Cannot connect to PostgreSQL at {_pg_location()}: {_first_line(exc)}. Check the "
            "PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE environment variables and that "
            "the server is running and accepts connections from this machine."
        ) from None
    except psycopg2.Error as exc:
        raise CtsedsError(
            f"Cannot connect to PostgreSQL at {_pg_location()}: {_first_line(exc)}."
        ) from None
    conn.set_client_encoding("UTF8")
    return conn


def placeholder(target: Target) -> str:
    """The bound-parameter marker of the target's driver: '?' (DuckDB) or '%s' (psycopg2)."""
    return "?" if target.kind == "duckdb" else "%s"


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (works for DuckDB and PostgreSQL)."""
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def require_warehouse_file(target: Target) -> None:
    """Refuse to work on a DuckDB warehouse file that does not exist (instead of creating an
    empty one): exporting or building needs data loaded first."""
    if target.kind == "duckdb" and not target.warehouse.exists():
        raise CtsedsError(
            f"There is no DuckDB warehouse at {target.warehouse}. Load and build it first "
            "(`ctseds run --extracts DIR --out FILE`, or `ctseds load` then `ctseds build`), or "
            "point --warehouse (or $CTSEDS_WAREHOUSE) at the right file; `ctseds demo` uses "
            "warehouse/demo.duckdb."
        )


def missing_raw_tables(target: Target) -> list[str]:
    """The PowerSchool tables (spec/input.md) missing from the target's raw schema."""
    from ctseds.tables import TABLES

    if target.kind == "duckdb" and not target.warehouse.exists():
        return list(TABLES)
    conn = connect(target)
    try:
        cur = conn.cursor()
        cur.execute(
            "select table_name from information_schema.tables where table_schema = "
            + placeholder(target),
            (target.raw_schema,),
        )
        present = {str(r[0]) for r in cur.fetchall()}
    finally:
        conn.close()
    return [name for name in TABLES if name not in present]
