"""One run at a time per warehouse.

DuckDB: an exclusive `fcntl.flock` on `<warehouse>.lock` beside the warehouse file.
PostgreSQL: a session advisory lock whose key is derived from (database, model schema), held
on a dedicated connection for the duration. Later runs wait (or give up after `timeout`).
Nothing is printed; a timeout raises `CtsedsError`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ctseds.errors import CtsedsError
from ctseds.targets import Target

_POLL = 0.1  # seconds between attempts when a timeout is set


def lock_path(target: Target) -> Path:
    return target.warehouse.with_name(target.warehouse.name + ".lock")


def advisory_key(database: str, schema: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock from (database, model schema)."""
    digest = hashlib.sha256(f"ctseds\x00{database}\x00{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def warehouse_lock(
    target: Target, wait: bool = True, timeout: float | None = None
) -> Iterator[None]:
    """Hold the warehouse lock of `target` for the `with` block.

    wait=False: fail at once when another run holds the lock. timeout: wait at most that many
    seconds (None = wait as long as it takes).
    """
    if target.kind == "duckdb":
        with _file_lock(target, wait, timeout):
            yield
    else:
        with _advisory_lock(target, wait, timeout):
            yield


def _busy(target: Target, waited: float | None) -> CtsedsError:
    what = (
        f"the DuckDB warehouse {target.warehouse}"
        if target.kind == "duckdb"
        else f"PostgreSQL schema {target.schema} ({target.label})"
    )
    how = "is being used by another ctseds run"
    if waited:
        how += f" and was still locked after {waited:g} s"
    return CtsedsError(
        f"The warehouse {what} {how}. Wait for the other run to finish and try again."
    )


@contextmanager
def _file_lock(target: Target, wait: bool, timeout: float | None) -> Iterator[None]:
    path = lock_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CtsedsError(
            f"Cannot create the lock file {path}: {exc.strerror or exc}. Check that the "
            "warehouse folder is writable."
        ) from None
    try:
        if wait and timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + ((timeout or 0.0) if wait else 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _busy(target, timeout if wait else None) from None
                    time.sleep(_POLL)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _advisory_lock(target: Target, wait: bool, timeout: float | None) -> Iterator[None]:
    from ctseds.db import connect

    conn = connect(target)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select current_database()")
            key = advisory_key(cur.fetchone()[0], target.schema)
            if wait and timeout is None:
                cur.execute("select pg_advisory_lock(%s)", (key,))
            else:
                deadline = time.monotonic() + ((timeout or 0.0) if wait else 0.0)
                while True:
                    cur.execute("select pg_try_advisory_lock(%s)", (key,))
                    if cur.fetchone()[0]:
                        break
                    if time.monotonic() >= deadline:
                        raise _busy(target, timeout if wait else None)
                    time.sleep(_POLL)
        try:
            yield
        finally:
            try:
                with conn.cursor() as cur:
                    cur.execute("select pg_advisory_unlock(%s)", (key,))
            except Exception:  # the lock goes with the session anyway
                pass
    finally:
        conn.close()
