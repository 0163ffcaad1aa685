"""A throwaway PostgreSQL server for the test session.

`PgServer.start()` runs initdb + pg_ctl in a fresh temporary folder (as an unprivileged user
when the tests run as root, because PostgreSQL refuses to run as root), listens on 127.0.0.1
on a free port with trust authentication, and creates one database. `stop()` shuts it down
and removes the folder. Failures raise `PgServerError` with a clear message.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "postgres"
DATABASE = "ctseds_test"


class PgServerError(RuntimeError):
    pass


def _version_key(path: str) -> tuple[int, ...]:
    name = Path(path).parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(p) for p in name.split(".") if p.isdigit()) or (0,)


def find_bindir() -> Path | None:
    """The folder holding initdb/pg_ctl: env PG_BINDIR, Debian's layout, then PATH."""
    env = os.environ.get("PG_BINDIR")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def ensure_postgres_installed() -> Path:
    bindir = find_bindir()
    if bindir:
        return bindir
    if os.geteuid() != 0:
        raise PgServerError(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found and the tests are not "
            "running as root, so they cannot be installed automatically. Install PostgreSQL "
            "(Debian/Ubuntu: sudo apt-get install -y postgresql) or set PG_BINDIR to the folder "
            "holding initdb and pg_ctl."
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PgServerError(
                f"Installing PostgreSQL failed ({' '.join(cmd)} exited {proc.returncode}):\n"
                + proc.stderr[-2000:]
            )
    bindir = find_bindir()
    if not bindir:
        raise PgServerError("apt-get installed postgresql but initdb/pg_ctl were not found.")
    return bindir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PgServerError("Running as root but neither a 'postgres' nor a 'nobody' user exists.")


class PgServer:
    def __init__(self) -> None:
        self.bindir: Path | None = None
        self.root: Path | None = None
        self.port: int | None = None
        self.user: pwd.struct_passwd | None = None
        self.started = False

    @property
    def datadir(self) -> Path:
        assert self.root
        return self.root / "data"

    @property
    def env(self) -> dict[str, str]:
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": SUPERUSER,
            "PGDATABASE": DATABASE,
        }

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]  # type: ignore[operator]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user.pw_name, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "LD_PRELOAD"}
        env.update(LC_ALL="C", LANG="C")
        return subprocess.run(
            cmd, cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout
        )

    def start(self) -> dict[str, str]:
        self.bindir = ensure_postgres_installed()
        if os.geteuid() == 0:
            self.user = _unprivileged_user()
        # /tmp is traversable by everyone (the unprivileged server user must reach its folder).
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="ctseds-pg-", dir=base))
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.root, 0o700)
        proc = self._run(
            [
                "initdb",
                "-D",
                str(self.datadir),
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C",
                "--auth=trust",
                "--no-sync",
            ]
        )
        if proc.returncode != 0:
            raise PgServerError(f"initdb failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        last_err = ""
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = _free_port()
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=50 -c shared_buffers=64MB"
            )
            proc = self._run(
                [
                    "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    opts,
                ]
            )
            if proc.returncode == 0:
                self.started = True
                break
            last_err = proc.stderr + self._log_tail()
        else:
            raise PgServerError(f"pg_ctl start failed:\n{last_err[-3000:]}")
        self._create_database()
        return self.env

    def _log_tail(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-2000:]  # type: ignore[operator]
        except OSError:
            return ""

    def _create_database(self) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=SUPERUSER,
                    dbname="postgres",
                    connect_timeout=5,
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(
                    f"create database {DATABASE} encoding 'UTF8' lc_collate 'C' lc_ctype 'C' "
                    "template template0"
                )
        finally:
            conn.close()

    def stop(self) -> None:
        try:
            if self.started:
                self._run(
                    ["pg_ctl", "stop", "-D", str(self.datadir), "-m", "immediate", "-w"], timeout=60
                )
                self.started = False
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None
