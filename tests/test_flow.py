"""The Prefect flow `ct-seds-student-contacts` and its deployments (real Prefect API via the
session harness, real DuckDB and PostgreSQL). All data is generated (synthetic)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from flows.ct_seds_flow import ARTIFACT_KEY, ct_seds_student_contacts, export_path

AS_OF = "2026-11-16"
STUDENTS = 120


# --------------------------------------------------------------------------- no API needed


def test_parameter_form_has_types_and_descriptions():
    schema = ct_seds_student_contacts.parameters.model_dump()
    props = schema["properties"]
    for name in ("as_of", "schools", "students", "include_portal_notifications", "target",
                 "extracts", "out", "export"):
        assert name in props, name
        assert props[name].get("description"), name
    assert props["include_portal_notifications"]["default"] is True
    assert "duckdb" in json.dumps(props["target"]) and "postgres" in json.dumps(props["target"])
    assert "date" in json.dumps(props["as_of"])


def test_parameters_arriving_as_text_or_numbers_are_converted():
    params = ct_seds_student_contacts.validate_parameters(
        {"as_of": "2026-11-16", "schools": [111, "0112"], "students": [200001, "0012345678"],
         "include_portal_notifications": "false", "target": "postgres"}
    )
    assert params["as_of"] == date(2026, 11, 16)
    assert params["schools"] == ["111", "0112"]
    assert params["students"] == ["200001", "0012345678"]
    assert params["include_portal_notifications"] is False


@pytest.mark.parametrize(
    "bad",
    [{"as_of": "2026-02-30"}, {"as_of": "11/16/2026"}, {"target": "sqlite"},
     {"schools": [1.5]}, {"schools": [True]}, {"include_portal_notifications": "maybe"}],
)
def test_bad_parameters_are_refused(bad):
    from prefect.exceptions import ParameterTypeError

    with pytest.raises(ParameterTypeError):
        ct_seds_student_contacts.validate_parameters(bad)


def test_export_file_names(monkeypatch, tmp_path: Path):
    d = date(2026, 11, 16)
    assert export_path(str(tmp_path / "a.csv"), d, "x").name == "a.csv"
    p = export_path(str(tmp_path), d, "brave-otter")
    assert p == tmp_path / "ct-seds-student-contacts-2026-11-16-brave-otter.csv"
    monkeypatch.setenv("CTSEDS_EXPORT_DIR", str(tmp_path / "exp"))
    assert export_path(None, d, "r").parent == tmp_path / "exp"
    from ctseds.errors import UsageError

    with pytest.raises(UsageError):
        export_path(str(tmp_path / "x.txt"), d, "r")


def test_deployments_are_declared(monkeypatch):
    from flows.deployments import build_deployments

    monkeypatch.setenv("CTSEDS_EXTRACTS", "/data/extracts")
    nightly, export = build_deployments()
    assert (nightly.name, export.name) == ("nightly-refresh", "export")
    assert nightly.schedules and "0 2 * * *" in json.dumps(
        [s.schedule.model_dump(mode="json") for s in nightly.schedules]
    )
    assert not export.schedules
    assert nightly.parameters == {"export": False, "extracts": "/data/extracts"}
    assert export.parameters["export"] is True
    for dep in (nightly, export):
        assert dep.concurrency_limit in (1,) or getattr(dep.concurrency_limit, "limit", None) == 1 \
            or getattr(dep, "concurrency_options", None) is not None


# --------------------------------------------------------------------------- real flow runs


@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> Path:
    from ctseds.generator import generate

    folder = tmp_path_factory.mktemp("flow-extracts") / "extracts"
    generate(folder, students=STUDENTS)
    return folder


def _forget(target) -> None:
    """Remove dbt's private target folder of a throwaway test warehouse."""
    import shutil

    from ctseds.dbt_invoke import target_dir

    shutil.rmtree(target_dir(target), ignore_errors=True)


def _artifact_and_tasks(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200
        )
    return arts, tasks


def _names_in(export_file: Path) -> set[str]:
    rows = list(csv.reader(io.StringIO(export_file.read_text(encoding="utf-8"), newline="")))
    return {r[0] for r in rows[1:] if r[0]} | {r[3] for r in rows[1:] if r[3]}


def _check_run(state, out: Path) -> None:
    assert state.is_completed(), state
    summary = state.result()
    assert Path(summary["files"]["export"]) == out
    for p in (out, out.with_name(out.stem + ".exceptions.csv"),
              out.with_name(out.stem + ".summary.json")):
        assert p.exists(), p
    import time

    # Task runs reach the API through events (eventually consistent): poll a little.
    deadline = time.monotonic() + 60
    while True:
        arts, tasks = _artifact_and_tasks(state.state_details.flow_run_id)
        names = [t.name for t in tasks]
        if any(n.startswith("export-files") for n in names) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [a.key for a in arts] == [ARTIFACT_KEY]
    body = arts[0].data
    assert summary["sha256"] in body and str(out) in body and str(summary["rows"]) in body
    for name in _names_in(out):  # parent names and emails never in the artifact
        assert name not in body
    assert any(n.startswith("export-files") for n in names), sorted(names)[:5]
    assert sum(1 for n in names if "ct_seds_student_contacts" in n) >= 1  # dbt nodes as tasks


@pytest.mark.slow
def test_flow_on_duckdb(prefect_harness, extracts, tmp_path: Path):
    """Load, build and export in one flow run; `out` names a folder, so the file is named
    after D and the flow run. (A run with export=False — the nightly refresh — is the
    deployment run of test_deployments_e2e.py.)"""
    wh = tmp_path / "wh" / "flow.duckdb"
    folder = tmp_path / "exports"
    state = ct_seds_student_contacts(
        as_of=AS_OF, schools=None, extracts=str(extracts), warehouse=str(wh), out=str(folder),
        return_state=True,
    )
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 3, files
    from ctseds.targets import Target

    _forget(Target(kind="duckdb", warehouse=wh))
    export_file = next(p for p in folder.glob("*.csv") if not p.name.endswith(".exceptions.csv"))
    assert export_file.name.startswith("ct-seds-student-contacts-2026-11-16-")
    _check_run(state, export_file)


@pytest.mark.slow
@pytest.mark.postgres
def test_flow_on_postgres(prefect_harness, pg_target, extracts, tmp_path: Path):
    out = tmp_path / "pg" / "contacts.csv"
    state = ct_seds_student_contacts(
        as_of=AS_OF, schools=["111", 640112211], target="postgres", extracts=str(extracts),
        out=str(out), raw_schema=pg_target.raw_schema, model_schema=pg_target.schema,
        return_state=True,
    )
    _forget(pg_target)
    _check_run(state, out)
    summary = json.loads(out.with_name("contacts.summary.json").read_text())
    assert summary["parameters"]["schools"] == ["111", "640112211"]


def test_bad_values_fail_before_any_work(prefect_harness, tmp_path: Path):
    wh = tmp_path / "never.duckdb"
    try:
        state = ct_seds_student_contacts(as_of="2026-02-30", warehouse=str(wh), return_state=True)
        assert state.is_failed()
    except Exception as exc:  # Prefect may raise the parameter error at call time
        assert "as_of" in str(exc) or "date" in str(exc).lower()
    assert not wh.exists()
    state = ct_seds_student_contacts(
        as_of=AS_OF, warehouse=str(wh), out=str(tmp_path / "x.txt"), return_state=True
    )
    assert state.is_failed()
    assert not wh.exists() and not (tmp_path / "x.txt").exists()
    state = ct_seds_student_contacts(
        as_of=AS_OF, warehouse=str(wh), extracts=str(tmp_path / "missing"), return_state=True
    )
    assert state.is_failed()
    assert not wh.exists()
