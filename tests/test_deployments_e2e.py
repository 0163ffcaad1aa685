"""End to end: a real Prefect server, `ctseds serve`, and runs started through the Prefect API.

A throwaway `prefect server start` (own PREFECT_HOME, loopback, free port) and `ctseds serve`
(the deployments `nightly-refresh` and `export`) run as subprocesses. The test starts runs the
way the UI does — parameters as JSON: `as_of` as text, school numbers as numbers or text — and
checks the files, the artifact and that a bad date is refused. All data is generated
(synthetic). Both subprocesses (and their process groups) are always stopped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

BIN = Path(sys.executable).parent
FLOW = "ct-seds-student-contacts"
AS_OF = "2026-11-16"
STUDENTS = 150
SCHOOL_AS_NUMBER = 111  # sent as a JSON number
SCHOOL_AS_TEXT = "640112211"  # sent as a JSON string
RUN_TIMEOUT = 300  # seconds, per flow run


# --------------------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _base_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var in list(env):
        if var.startswith(("PREFECT_API_", "CTSEDS_", "PG")):
            env.pop(var)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def _start(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    fh = open(log, "wb")  # noqa: SIM115 - closed in _stop
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # own process group: the server's and runner's children too
    )
    proc._log = fh  # type: ignore[attr-defined]
    return proc


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM the process group we started, then SIGKILL after `timeout`; reap it."""
    if proc is None:
        return
    pgid = proc.pid  # start_new_session: the group id is the leader's pid
    try:
        if _group_alive(pgid):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(pgid):
                break
            time.sleep(0.2)
        if _group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        proc._log.close()  # type: ignore[attr-defined]
    assert not _group_alive(pgid), f"processes of group {pgid} are still running"


def _tail(log: Path, n: int = 60) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def _wait_healthy(proc: subprocess.Popen, api: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"prefect server exited ({proc.returncode}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {timeout} s:\n{_tail(log)}")


def _wait_deployments(client, serve: subprocess.Popen, log: Path, timeout: float = 120):
    from prefect.exceptions import ObjectNotFound

    names = (f"{FLOW}/nightly-refresh", f"{FLOW}/export")
    found: dict[str, object] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < len(names):
        if serve.poll() is not None:
            pytest.fail(f"ctseds serve exited ({serve.returncode}):\n{_tail(log)}")
        for name in names:
            if name not in found:
                try:
                    found[name] = client.read_deployment_by_name(name)
                except ObjectNotFound:
                    pass
        if len(found) < len(names):
            time.sleep(0.5)
    assert len(found) == len(names), f"deployments not registered: {found}\n{_tail(log)}"
    return found


# --------------------------------------------------------------------------- checks


def _run(name: str, parameters: dict, serve_log: Path):
    from prefect.deployments import run_deployment

    t0 = time.monotonic()
    fr = run_deployment(name=name, parameters=parameters, timeout=RUN_TIMEOUT)
    print(f"[e2e] {name}: {fr.state.type if fr.state else None} in {time.monotonic() - t0:.1f} s")
    assert fr.state is not None and fr.state.is_final(), (
        f"{name} did not finish in {RUN_TIMEOUT} s: {fr.state}\n{_tail(serve_log)}"
    )
    return fr


def _enrolled_on(extracts: Path, d: date) -> dict[str, set[str]]:
    """School number → SASIDs of the students enrolled there on D (students + reenrollments)."""

    def rows(name: str) -> list[dict[str, str]]:
        with open(extracts / name, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def covers(entry: str, exit_: str) -> bool:
        return (
            bool(entry)
            and date.fromisoformat(entry) <= d
            and (not exit_ or d <= date.fromisoformat(exit_))
        )

    students = rows("students.csv")
    sasid = {s["ID"]: s["State_StudentNumber"] for s in students}
    by_school: dict[str, set[str]] = {}
    for s in students:
        if covers(s["EntryDate"], s["ExitDate"]):
            by_school.setdefault(s["SchoolID"], set()).add(s["State_StudentNumber"])
    for r in rows("reenrollments.csv"):
        if covers(r["EntryDate"], r["ExitDate"]) and r["StudentID"] in sasid:
            by_school.setdefault(r["SchoolID"], set()).add(sasid[r["StudentID"]])
    return by_school


def _artifact_of(client, flow_run_id):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    return client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    )


# --------------------------------------------------------------------------- the test


def test_deployments_served_and_run_through_the_api(tmp_path: Path):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from ctseds.dbt_invoke import target_dir
    from ctseds.generator import generate
    from ctseds.targets import Target

    t_start = time.monotonic()
    extracts = tmp_path / "extracts"
    generate(extracts, students=STUDENTS)
    warehouse = (tmp_path / "warehouse" / "ctseds.duckdb").absolute()
    exports = tmp_path / "exports"
    exports.mkdir()
    work = tmp_path / "work"  # cwd of the served runs: nothing lands in the repository
    work.mkdir()

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    server = serve = None
    try:
        server_env = _base_env(tmp_path / "prefect-server-home")
        server = _start(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            server_env,
            work,
            server_log,
        )
        _wait_healthy(server, api, server_log)
        print(f"[e2e] server healthy after {time.monotonic() - t_start:.1f} s")

        serve_env = _base_env(tmp_path / "prefect-serve-home")
        serve_env.update(
            PREFECT_API_URL=api,
            PREFECT_RUNNER_POLL_FREQUENCY="2",
            CTSEDS_EXPORT_DIR=str(exports),
            CTSEDS_WAREHOUSE=str(warehouse),
            CTSEDS_EXTRACTS=str(extracts),
            CTSEDS_NIGHTLY_CRON="0 2 1 1 *",  # no scheduled run during the test
        )
        serve = _start([str(BIN / "ctseds"), "serve"], serve_env, work, serve_log)

        with (
            temporary_settings(updates={PREFECT_API_URL: api}),
            get_client(sync_client=True) as client,
        ):
            deps = _wait_deployments(client, serve, serve_log)
            print(f"[e2e] deployments registered after {time.monotonic() - t_start:.1f} s")
            assert deps[f"{FLOW}/nightly-refresh"].parameters.get("extracts") == str(extracts)

            # 1. nightly-refresh: loads $CTSEDS_EXTRACTS into the warehouse, builds, no export.
            nightly = _run(f"{FLOW}/nightly-refresh", {"as_of": AS_OF}, serve_log)
            assert nightly.state.is_completed(), f"{nightly.state}\n{_tail(serve_log)}"
            assert warehouse.exists()
            assert list(exports.iterdir()) == []

            # 2. export, parameters shaped as the UI / run_deployment send them (JSON).
            params = {
                "as_of": AS_OF,
                "schools": [SCHOOL_AS_NUMBER, SCHOOL_AS_TEXT],
                "include_portal_notifications": False,
            }
            fr = _run(f"{FLOW}/export", params, serve_log)
            assert fr.state.is_completed(), f"{fr.state}\n{_tail(serve_log)}"
            assert fr.parameters["as_of"] == AS_OF

            stem = f"{FLOW}-{AS_OF}-{fr.name}"
            out = exports / f"{stem}.csv"
            files = [out, exports / f"{stem}.exceptions.csv", exports / f"{stem}.summary.json"]
            assert sorted(p.name for p in exports.iterdir()) == sorted(p.name for p in files)
            for p in files:
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, (p, oct(p.stat().st_mode))

            # as_of arrived as text and was used as a date; school numbers as text.
            summary = json.loads(files[2].read_text(encoding="utf-8"))
            assert summary["as_of"] == AS_OF
            assert summary["parameters"]["as_of"] == AS_OF
            assert summary["parameters"]["schools"] == [str(SCHOOL_AS_NUMBER), SCHOOL_AS_TEXT]
            assert summary["parameters"]["include_portal_notifications"] is False

            # 13 columns (no portal column); only the selected schools' students.
            data = out.read_bytes()
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
            header, body = rows[0], rows[1:]
            assert len(header) == 13, header
            assert "Can Receive Parent Portal Notifications" not in header
            assert body and all(len(r) == 13 for r in body)
            assert summary["rows"] == len(body)
            code = header.index("Student Code")
            enrolled = _enrolled_on(extracts, date.fromisoformat(AS_OF))
            num_students = enrolled.get(str(SCHOOL_AS_NUMBER), set())
            txt_students = enrolled.get(SCHOOL_AS_TEXT, set())
            exported = {r[code] for r in body}
            assert exported <= num_students | txt_students, exported - (num_students | txt_students)
            assert exported & num_students, "no student of the school sent as a number"
            assert exported & txt_students, "no student of the school sent as text"
            others = set().union(
                *(
                    v
                    for k, v in enrolled.items()
                    if k not in (str(SCHOOL_AS_NUMBER), SCHOOL_AS_TEXT)
                )
            )
            assert others - num_students - txt_students, "the selection must leave students out"

            # The artifact: counts, path and checksum — no personal data.
            arts = _artifact_of(client, fr.id)
            assert len(arts) == 1, arts
            text = arts[0].data
            assert isinstance(text, str)
            sha = hashlib.sha256(data).hexdigest()
            assert summary["sha256"] == sha
            assert sha in text
            assert str(out) in text
            assert f"rows: {len(body)}" in text
            assert f"exceptions: {summary['exceptions']}" in text
            for reason, count in summary["exceptions_by_reason"].items():
                assert f"| {reason} | {count} |" in text
            personal = {"Parent Name", "Email", "Home Phone", "Work Phone", "Mobile/Cell Phone"}
            cols = [header.index(c) for c in personal]
            values = {r[i].strip() for r in body for i in cols if r[i].strip()}
            assert values
            leaked = sorted(v for v in values if v in text)
            assert not leaked, leaked[:5]

            # 3. a bad date: refused by the API (parameter schema) or a Failed run; no file.
            before = sorted(p.name for p in exports.iterdir())
            bad_params = {"as_of": "2026-13-45", "schools": [SCHOOL_AS_NUMBER]}
            try:
                bad = _run(f"{FLOW}/export", bad_params, serve_log)
            except Exception as exc:  # rejected when the run is created
                msg = str(exc)
                assert "as_of" in msg or "2026-13-45" in msg or "date" in msg.lower(), msg
            else:
                assert bad.state.is_failed(), bad.state
                why = bad.state.message or ""
                assert "as_of" in why or "2026-13-45" in why, why
            assert sorted(p.name for p in exports.iterdir()) == before
    finally:
        try:
            _stop(serve)
        finally:
            _stop(server)
            import shutil

            shutil.rmtree(
                target_dir(Target(kind="duckdb", warehouse=warehouse)), ignore_errors=True
            )
    # Timing is reported, never asserted (performance belongs to `ctseds bench`).
    print(f"end-to-end deployment test: {time.monotonic() - t_start:.1f} s")
