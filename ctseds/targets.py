"""Where the pipeline runs: the embedded DuckDB file or a PostgreSQL database.

The CLI turns its target options into a `Target`, and `write_profiles` makes the dbt
profile from it, so users never edit a profile to run `ctseds`. PostgreSQL credentials
come only from the standard libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE) and are referenced through `env_var()`, never written to disk.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

TargetKind = Literal["duckdb", "postgres"]

DEFAULT_WAREHOUSE = Path("warehouse/ctseds.duckdb")
DEFAULT_RAW_SCHEMA = "powerschool"  # where raw PowerSchool tables live (input.md)
DEFAULT_SCHEMA = "ctseds"  # where dbt builds the models
PROJECT_DIR = Path(__file__).resolve().parent.parent  # the dbt project root (repo root)

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _env_schema(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class Target:
    kind: TargetKind = "duckdb"
    warehouse: Path = DEFAULT_WAREHOUSE
    raw_schema: str = field(
        default_factory=lambda: _env_schema("CTSEDS_RAW_SCHEMA", DEFAULT_RAW_SCHEMA)
    )
    schema: str = field(default_factory=lambda: _env_schema("CTSEDS_SCHEMA", DEFAULT_SCHEMA))

    def __post_init__(self) -> None:
        from ctseds.errors import UsageError

        if self.kind not in ("duckdb", "postgres"):
            raise UsageError(f"--target must be duckdb or postgres, not {self.kind!r}.")
        for label, value in (("raw schema", self.raw_schema), ("schema", self.schema)):
            if not _SCHEMA_RE.match(value):
                raise UsageError(
                    f"The {label} name {value!r} is not allowed: use lower-case letters, digits "
                    "and underscores (at most 63), starting with a letter or underscore."
                )
        # Absolute, so dbt (which resolves relative DuckDB paths against its working
        # directory) and the loader always open the same file.
        object.__setattr__(self, "warehouse", Path(self.warehouse).expanduser().resolve())

    @property
    def label(self) -> str:
        """A description safe for logs (no credentials)."""
        if self.kind == "duckdb":
            return f"duckdb:{self.warehouse}"
        host = os.environ.get("PGHOST", "localhost")
        port = os.environ.get("PGPORT", "5432")
        db = os.environ.get("PGDATABASE", os.environ.get("PGUSER", ""))
        return f"postgres:{host}:{port}/{db}"

    def profile(self, threads: int = 1) -> dict:
        """The dbt profile (one output named after the target kind)."""
        if self.kind == "duckdb":
            output: dict = {
                "type": "duckdb",
                "path": str(self.warehouse),
                "schema": self.schema,
                "threads": threads,
            }
        else:
            output = {
                "type": "postgres",
                "host": "{{ env_var('PGHOST', 'localhost') }}",
                "port": "{{ env_var('PGPORT', '5432') | as_number }}",
                "user": "{{ env_var('PGUSER', 'postgres') }}",
                "password": "{{ env_var('PGPASSWORD', '') }}",
                "dbname": "{{ env_var('PGDATABASE', env_var('PGUSER', 'postgres')) }}",
                "schema": self.schema,
                "threads": threads,
                "connect_timeout": 10,
                "retries": 0,
            }
        return {"ctseds": {"target": self.kind, "outputs": {self.kind: output}}}

    def dbt_vars(self) -> dict:
        """Vars every dbt invocation gets from the target (report vars are added by callers)."""
        return {"raw_schema": self.raw_schema}


def write_profiles(target: Target, profiles_dir: Path, threads: int = 1) -> Path:
    """Write profiles.yml for `target` into `profiles_dir` and return the file path."""
    profiles_dir.mkdir(parents=True, exist_ok=True)
    path = profiles_dir / "profiles.yml"
    path.write_text(yaml.safe_dump(target.profile(threads), sort_keys=False), encoding="utf-8")
    return path
