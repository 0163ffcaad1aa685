"""The Prefect flow `ct-seds-student-contacts`: load (optional) → dbt build → export.

`ctseds run` calls this flow (one flow run per job); `ctseds serve` serves it as the
deployments `nightly-refresh` and `export` (flows/deployments.py). Each dbt node shows up as a
Prefect task (prefect-dbt's PrefectDbtRunner). The run holds the warehouse lock from start to
end, so runs on the same warehouse queue. Each run leaves an artifact with counts, the export
path and its checksum — never a row of data.
"""

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BeforeValidator

from ctseds import progress as progress_mod
from ctseds.errors import CtsedsError, UsageError

FLOW_NAME = "ct-seds-student-contacts"
ARTIFACT_KEY = "ct-seds-student-contacts"
DEFAULT_EXPORT_DIR = "exports"
FILE_PREFIX = "ct-seds-student-contacts"


def _as_text(value: Any) -> Any:
    """School numbers / student identifiers may arrive as JSON numbers: accept them as text."""
    if isinstance(value, bool):
        raise ValueError("expected a number or text, not true/false")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        raise ValueError(f"{value!r} is not a whole number")
    return value


def _as_date(value: Any) -> Any:
    """A report date given as text must be YYYY-MM-DD (the UI and run_deployment send text)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
        return date.fromisoformat(text)
    return value


SchoolNumber = Annotated[str, BeforeValidator(_as_text)]
StudentId = Annotated[str, BeforeValidator(_as_text)]
ReportDate = Annotated[date | None, BeforeValidator(_as_date)]


def _safe_name(text: str) -> str:
    """A file-name part: no path separators, no leading dot, at most 100 characters."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:100]
    return name.strip("-.") or "run"


def export_folder() -> Path:
    """The export folder of deployment runs: $CTSEDS_EXPORT_DIR or exports/ (absolute)."""
    return Path(os.environ.get("CTSEDS_EXPORT_DIR") or DEFAULT_EXPORT_DIR).expanduser().absolute()


def deployment_export_path(as_of: date, run_name: str | None) -> Path:
    """The export file of a deployment run (`export`, or any run started from the UI/API):
    always <export folder>/ct-seds-student-contacts-<D>-<flow run name>.csv. A deployment run
    never writes where a user-supplied `out` points (no `..`, no absolute path)."""
    name = f"{FILE_PREFIX}-{as_of.isoformat()}-{_safe_name(run_name or 'run')}"
    return export_folder() / f"{name}.csv"


def export_path(out: str | None, as_of: date, run_name: str | None) -> Path:
    """The export file: `out` when it names a .csv file, else
    <folder>/ct-seds-student-contacts-<D>[-<flow run name>].csv with folder = `out` or
    $CTSEDS_EXPORT_DIR or exports/."""
    if out and out.lower().endswith(".csv"):
        return Path(out).expanduser().absolute()
    if out and Path(out).suffix and not Path(out).expanduser().is_dir():
        raise UsageError(
            f"out must name a .csv file or a folder, not {out!r} (for example "
            "exports/contacts.csv or exports)."
        )
    folder = Path(out or os.environ.get("CTSEDS_EXPORT_DIR") or DEFAULT_EXPORT_DIR)
    name = f"{FILE_PREFIX}-{as_of.isoformat()}"
    if run_name:
        name += f"-{_safe_name(run_name)}"
    return (folder.expanduser() / f"{name}.csv").absolute()


@task(name="load-extracts", cache_policy=NO_CACHE, persist_result=False)
def load_task(extracts: str, target: Any) -> dict[str, int]:
    """Load the extract folder into the raw schema (all or nothing)."""
    from ctseds.loader import load_extracts

    logger = get_run_logger()

    def progress(msg: str) -> None:
        logger.info(msg)
        progress_mod.to_logger(msg)

    counts = load_extracts(Path(extracts), target, progress_mod.staged("load", progress))
    total = sum(counts.values()) if isinstance(counts, dict) else 0
    progress(f"[load] {len(counts)} tables, {total} rows")
    return counts


@task(name="export-files", cache_policy=NO_CACHE, persist_result=False)
def export_task(
    target: Any,
    out: str,
    as_of: date,
    schools: list[str] | None,
    students: list[str] | None,
    include_portal_notifications: bool,
) -> dict[str, Any]:
    """Write the export, exceptions and summary files."""
    from ctseds.exporter import export

    logger = get_run_logger()

    def progress(msg: str) -> None:
        logger.info(msg)
        progress_mod.to_logger(msg)

    return export(
        target,
        Path(out),
        as_of=as_of,
        schools=schools,
        students=students,
        include_portal_notifications=include_portal_notifications,
        progress=progress,
    )


def _artifact(summary: dict[str, Any] | None, as_of: date, build: dict | None, kind: str) -> None:
    lines = [f"# CT-SEDS Student Contacts — {as_of.isoformat()}", ""]
    lines.append(f"- target: `{kind}`")
    if build:
        lines.append(f"- dbt nodes: {build.get('nodes')} ({build.get('seconds')} s)")
    if summary is None:
        lines.append("- export: not written (load/build only)")
    else:
        lines += [
            f"- export file: `{summary['files']['export']}`",
            f"- sha256: `{summary['sha256']}`",
            f"- rows: {summary['rows']}",
            f"- students in scope: {summary['students_in_scope']}",
            f"- students reported: {summary['students_reported']}",
            f"- exceptions: {summary['exceptions']}",
        ]
        if summary.get("note"):
            lines.append(f"- note: {summary['note']}")
        lines += ["", "| reason | count |", "|---|---|"]
        for reason, count in summary["exceptions_by_reason"].items():
            lines.append(f"| {reason} | {count} |")
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown="\n".join(lines) + "\n",
        description="Counts, export path and checksum (no data rows).",
    )


@flow(name=FLOW_NAME, validate_parameters=True, log_prints=False)
def ct_seds_student_contacts(
    as_of: ReportDate = None,
    schools: list[SchoolNumber] | None = None,
    students: list[StudentId] | None = None,
    include_portal_notifications: bool = True,
    target: Literal["duckdb", "postgres"] = "duckdb",
    extracts: str | None = None,
    out: str | None = None,
    export: bool = True,
    warehouse: str | None = None,
    raw_schema: str | None = None,
    model_schema: str | None = None,
) -> dict[str, Any]:
    """Load, build and export the CT-SEDS Student Contacts file for report date D.

    Args:
        as_of: Report date D (YYYY-MM-DD). Empty means today (the local date of the machine
            running the flow).
        schools: School numbers to report on. Empty means all schools.
        students: Student identifiers (Student_Number or SASID). Empty means all students.
        include_portal_notifications: Include column 14, "Can Receive Parent Portal
            Notifications".
        target: Warehouse engine: the embedded DuckDB file or PostgreSQL (libpq PG* variables).
        extracts: Folder with the PowerSchool extract CSV files to load first. Empty means use
            what is already in the warehouse (or $CTSEDS_EXTRACTS for nightly-refresh).
        out: Export .csv file, or the folder for it (file named after D and this flow run).
            Empty means $CTSEDS_EXPORT_DIR or exports/. Ignored in deployment runs: they
            always write into the export folder, named after D and the flow run.
        export: Write the three files after the build (false: load/build only).
        warehouse: DuckDB warehouse file. Empty means $CTSEDS_WAREHOUSE or
            warehouse/ctseds.duckdb.
        raw_schema: Schema of the raw PowerSchool tables. Empty means $CTSEDS_RAW_SCHEMA or
            powerschool.
        model_schema: Schema dbt builds into. Empty means $CTSEDS_SCHEMA or ctseds.
    """
    from prefect.runtime import deployment, flow_run

    from ctseds.dbt_invoke import dbt_build
    from ctseds.exporter import Selection, output_paths
    from ctseds.locking import warehouse_lock
    from ctseds.targets import DEFAULT_WAREHOUSE, Target

    logger = get_run_logger()

    def progress(msg: str) -> None:
        logger.info(msg)
        progress_mod.to_logger(msg)

    # Validate everything before any work.
    d = as_of or date.today()
    kwargs: dict[str, Any] = {"kind": target}
    kwargs["warehouse"] = Path(warehouse or os.environ.get("CTSEDS_WAREHOUSE") or DEFAULT_WAREHOUSE)
    if raw_schema:
        kwargs["raw_schema"] = raw_schema
    if model_schema:
        kwargs["schema"] = model_schema
    tgt = Target(**kwargs)
    Selection(schools, students)  # empty values are usage errors
    extracts = extracts or None
    if extracts is not None and not Path(extracts).is_dir():
        raise CtsedsError(
            f"The extract folder {extracts} does not exist or is not a folder. Give the folder "
            "holding the PowerSchool CSV files."
        )
    out_file: Path | None = None
    if export:
        if deployment.id:
            # Started from a deployment (UI/API): the files always go into the export folder,
            # named after D and the flow run; a user-supplied path is never followed.
            if out:
                logger.warning(
                    "[flow] the out parameter is ignored in deployment runs: the files go into "
                    "the export folder %s",
                    export_folder(),
                )
            out_file = deployment_export_path(d, flow_run.get_name())
        else:
            out_file = export_path(
                out, d, flow_run.get_name() if not (out or "").lower().endswith(".csv") else None
            )
        output_paths(out_file)
    progress(
        f"[flow] run {flow_run.get_name()} for as_of {d.isoformat()} on {tgt.label}"
        + (f", export to {out_file}" if out_file else ", no export")
    )

    summary: dict[str, Any] | None = None
    with warehouse_lock(tgt):
        if extracts:
            load_task(extracts, tgt)
        build = dbt_build(tgt, d, progress=progress, runner="prefect")
        if out_file is not None:
            summary = export_task(
                tgt, str(out_file), d, schools, students, include_portal_notifications
            )
    _artifact(summary, d, build, tgt.kind)
    if summary is None:
        return {"as_of": d.isoformat(), "build": build, "exported": False}
    return summary


__all__ = [
    "ct_seds_student_contacts",
    "deployment_export_path",
    "export_path",
    "UsageError",
]
