"""Adversarial tests: try to break ctseds with bad extracts, hostile parameters, kills, a
database that goes away, a second process on the warehouse, concurrent runs and personal data
leaking into logs.

Every district here is synthetic (ctseds.generator) with planted "canary" values that must
never show up outside the export and exceptions files. The CLI is always a real process
(`.venv/bin/ctseds`) so exit codes and stderr are the real ones; every one of them reports to
the session's Prefect server (fixture prefect_api), whose database the privacy tests scan.
Concurrent runs (and hostile parameters on PostgreSQL) are in test_concurrency.py.

Cost: the flow runs dominate (a dbt build with a Prefect task per node takes about 25 s
even for a small district), so builds are shared through module-scoped fixtures: one lone
`ctseds run` of the canary district for 2026-11-16 (the privacy run and the reference file),
one flow run for 2026-10-01 (the hostile-parameter flow run), one build stopped by
PostgreSQL going away and one build made to fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cli_helpers import (
    CTSEDS,
    HOSTILE_SCHOOL,
    HOSTILE_STUDENT,
    PYTHON,
    build_state,
    check_hostile_files,
    clean_failure,
    cli_env,
    files_of,
    popen_cli,
    read_csv,
    rewrite_csv,
    run_cli,
    sha256,
    table_counts,
    target_args,
)

from ctseds.db import connect, quote_ident
from ctseds.tables import TABLES
from ctseds.targets import Target

STUDENTS = 150
D1 = "2026-11-16"
D2 = "2026-10-01"

# Canary values planted into the generated district (report.md section 7: never in logs,
# Prefect artifacts or error messages).
CANARY_NAME = "Zqxcanaryname"
CANARY_EMAIL = "zqx.canary@example.org"
CANARY_PHONE = "860-555-0199 x777"
CANARY_STREET = "77 Zqxcanary Lane"
CANARY_TOKENS = [
    CANARY_NAME,
    CANARY_EMAIL,
    CANARY_PHONE,
    CANARY_STREET,
    "zqxcanary",  # case-folded part of the name and street
    "zqx.canary",
    "0199 x777",
]
MISSING_PERSON_ID = "99999991"  # referenced by a StudentContactAssoc row, no Person row


_CREATED_TARGETS: list[Target] = []


# --------------------------------------------------------------------------- helpers


def no_canary(text: str | bytes, where: str) -> None:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    low = data.lower()
    for token in CANARY_TOKENS:
        assert token.lower().encode() not in low, f"canary {token!r} found in {where}"


def duck(warehouse: Path) -> Target:
    t = Target(kind="duckdb", warehouse=warehouse, raw_schema="powerschool", schema="ctseds")
    _CREATED_TARGETS.append(t)
    return t


def copy_warehouse(src: Path, dst: Path) -> Target:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return duck(dst)


def raw_snapshot(t: Target) -> dict[str, str]:
    """A digest of every raw table's rows (order-independent)."""
    conn = connect(t)
    try:
        cur = conn.cursor()
        out = {}
        for name in TABLES:
            cur.execute(f"select * from {quote_ident(t.raw_schema)}.{quote_ident(name)}")
            rows = sorted(repr(tuple(r)) for r in cur.fetchall())
            out[name] = f"{len(rows)}:" + hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return out
    finally:
        conn.close()


def plant_canaries(ex: Path) -> None:
    """Canary values on person 5002 (a reported showcase contact) and a dangling reference."""

    def person(rows):
        h = rows[0]
        for r in rows[1:]:
            if r[h.index("ID")] == "5002":
                r[h.index("FirstName")] = CANARY_NAME

    def email(rows):
        h = rows[0]
        for r in rows[1:]:
            if r[h.index("EmailAddressID")] == "1":
                r[h.index("EmailAddress")] = CANARY_EMAIL

    def phone(rows):
        h = rows[0]
        for r in rows[1:]:
            if r[h.index("PersonID")] == "5002":
                r[h.index("PhoneNumberAsEntered")] = CANARY_PHONE
                break

    def address(rows):
        h = rows[0]
        for r in rows[1:]:
            if r[h.index("PersonAddressID")] == "1":
                r[h.index("Street")] = CANARY_STREET

    def dangling(rows):
        h = rows[0]
        row = dict(zip(h, ["" for _ in h], strict=True))
        row.update(StudentContactAssocID="999999001", StudentDCID="70001",
                   PersonID=MISSING_PERSON_ID, ContactPriorityOrder="9")
        rows.append([row[c] for c in h])

    rewrite_csv(ex / "person.csv", person)
    rewrite_csv(ex / "emailaddress.csv", email)
    rewrite_csv(ex / "personphonenumberassoc.csv", phone)
    rewrite_csv(ex / "personaddress.csv", address)
    rewrite_csv(ex / "studentcontactassoc.csv", dangling)


def scan_tree(folder: Path, where: str, skip: set[Path] = frozenset()) -> int:
    n = 0
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p not in skip:
            no_canary(p.read_bytes(), f"{where}: {p}")
            n += 1
    return n


@pytest.fixture(scope="module", autouse=True)
def _forget_dbt_targets(prefect_api):
    """Every CLI process here reports to the session's Prefect server (prefect_api). At the
    end, remove the private dbt target folders of the throwaway warehouses."""
    yield
    from ctseds.dbt_invoke import target_dir

    for t in _CREATED_TARGETS:
        shutil.rmtree(target_dir(t), ignore_errors=True)


# --------------------------------------------------------------------------- shared builds


@pytest.fixture(scope="module")
def district(tmp_path_factory, prefect_api):
    """The canary district and one lone `ctseds run` for D1 on DuckDB (debug off)."""
    from ctseds.generator import generate

    base = tmp_path_factory.mktemp("adv")
    ex = base / "extracts"
    generate(ex, students=STUDENTS)
    plant_canaries(ex)
    wh = base / "lone" / "wh.duckdb"
    t = duck(wh)
    out = base / "lone" / "out" / "contacts.csv"
    home = base / "lone" / "prefect-home"
    t0 = time.monotonic()
    proc = run_cli("run", "--extracts", str(ex), "--out", str(out), "--as-of", D1,
                   *target_args(t), prefect_home=home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_name = proc.stderr.split("[flow] run ", 1)[1].split()[0]
    return {"base": base, "extracts": ex, "target": t, "out": out, "proc": proc,
            "prefect_home": home, "prefect_db": prefect_api["database"],
            "flow_run_name": run_name, "seconds": time.monotonic() - t0}


@pytest.fixture(scope="module")
def loaded_targets(district, tmp_path_factory, request):
    """Per engine, a target with the canary district loaded (no build): for bad-load tests."""
    from ctseds.loader import load_extracts

    base = tmp_path_factory.mktemp("loaded")
    made: dict[str, Target] = {}

    def get(kind: str) -> Target:
        if kind in made:
            return made[kind]
        if kind == "duckdb":
            t = duck(base / "wh.duckdb")
        else:
            request.getfixturevalue("pg_env")
            from conftest import _make_pg_target

            t = _make_pg_target(base)
        load_extracts(district["extracts"], t)
        made[kind] = t
        return t

    yield get
    if "postgres" in made:
        from conftest import _drop_pg_target

        _drop_pg_target(made["postgres"])


@pytest.fixture(scope="module")
def flow_d2(prefect_harness, district, tmp_path_factory):
    """The flow run as the `export` deployment, for D2, with hostile parameters and an `out`
    pointing outside the export folder."""
    from flows.ct_seds_flow import ct_seds_student_contacts

    base = tmp_path_factory.mktemp("flow")
    t = copy_warehouse(district["target"].warehouse, base / "wh" / "flow.duckdb")
    before = table_counts(t)
    exports = base / "exports"
    escape = exports / ".." / "escaped" / "x.csv"
    saved = {k: os.environ.get(k) for k in ("PREFECT__RUNTIME__DEPLOYMENT__ID",
                                            "CTSEDS_EXPORT_DIR")}
    os.environ["PREFECT__RUNTIME__DEPLOYMENT__ID"] = "00000000-0000-0000-0000-00000000e0e0"
    os.environ["CTSEDS_EXPORT_DIR"] = str(exports)
    try:
        state = ct_seds_student_contacts(
            as_of=D2, students=[HOSTILE_STUDENT], schools=[HOSTILE_SCHOOL],
            warehouse=str(t.warehouse), out=str(escape), return_state=True,
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    after = table_counts(t)
    return {"state": state, "target": t, "exports": exports, "escape": escape,
            "before": before, "after": after, "base": base}


# --------------------------------------------------------------------------- bad extracts


def _bad_cases(ex: Path) -> dict:
    """name -> (mutate(folder), expected substrings of the error line)."""
    person = read_csv(ex / "person.csv")
    header = person[0]
    n_person = len(person)

    def empty(d):
        (d / "person.csv").write_bytes(b"")

    def latin1(d):
        p = d / "person.csv"
        p.write_bytes(p.read_bytes() + "77777777,Jos\xe9,Latin,,,1,0\n".encode("latin-1"))

    def garbage(d):
        (d / "person.csv").write_bytes(bytes(random.Random(7).randrange(256) for _ in range(4096)))

    def garbage_no_nul(d):
        (d / "person.csv").write_bytes(bytes(range(1, 256)) * 16)

    def duplicate(d):
        rewrite_csv(d / "person.csv", lambda rows: rows.insert(5, list(rows[2])))

    def bad_int_beside_canary(d):
        def edit(rows):
            for r in rows[1:]:
                if r[header.index("FirstName")] == CANARY_NAME:
                    r[header.index("IsActive")] = CANARY_NAME
        rewrite_csv(d / "person.csv", edit)

    def ragged_canary_row(d):
        p = d / "person.csv"
        p.write_bytes(p.read_bytes() + f"88888888,{CANARY_NAME},Extra,,,1,0,{CANARY_EMAIL}\n"
                      .encode())

    def unterminated_quote(d):
        p = d / "personaddress.csv"
        p.write_bytes(p.read_bytes() + f'424242,"{CANARY_STREET},Hartford,401,06103\n'.encode())

    canary_line = next(i for i, r in enumerate(person, 1)
                       if r[header.index("FirstName")] == CANARY_NAME)
    return {
        "empty-no-header": (empty, ["person.csv", "header"]),
        "latin1": (latin1, ["person.csv", f"line {n_person + 1}", "UTF-8"]),
        "binary-garbage": (garbage, ["person.csv", "line"]),
        "binary-no-nul": (garbage_no_nul, ["person.csv", "line", "UTF-8"]),
        "duplicate-key": (duplicate, ["person.csv", "ID", "person", "repeated", "lines 3 and 6"]),
        "bad-flag-next-to-canary": (
            bad_int_beside_canary, ["person.csv", f"line {canary_line}", "column IsActive"]),
        "ragged-row-with-canary": (ragged_canary_row, ["person.csv", f"line {n_person + 1}"]),
        "unterminated-quote-with-canary": (unterminated_quote, ["personaddress.csv", "line"]),
    }


BAD_CASES = [
    "empty-no-header", "latin1", "binary-garbage", "binary-no-nul", "duplicate-key",
    "bad-flag-next-to-canary", "ragged-row-with-canary", "unterminated-quote-with-canary",
]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_extract_fails_cleanly_and_loads_nothing(case, engine, district, loaded_targets,
                                                     tmp_path):
    t = loaded_targets(engine)
    before = raw_snapshot(t)
    folder = tmp_path / "bad"
    shutil.copytree(district["extracts"], folder)
    mutate, expected = _bad_cases(district["extracts"])[case]
    mutate(folder)
    proc = run_cli("load", "--extracts", str(folder), *target_args(t))
    line = clean_failure(proc.returncode, proc.stderr)
    for part in expected:
        assert part in line, line
    no_canary(proc.stderr + proc.stdout, "load error")
    assert raw_snapshot(t) == before  # nothing half-loaded


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_header_only_and_one_megabyte_name_load(engine, district, request, tmp_path):
    """A header-only file is a table with no rows; a 1 MB name is valid text and loads whole."""
    if engine == "duckdb":
        t = duck(tmp_path / "wh.duckdb")
    else:
        request.getfixturevalue("pg_env")
        from conftest import _drop_pg_target, _make_pg_target

        t = _make_pg_target(tmp_path)
        request.addfinalizer(lambda: _drop_pg_target(t))
    folder = tmp_path / "ex"
    shutil.copytree(district["extracts"], folder)
    big = "N" * (1 << 20)

    def edit(rows):
        rows[1][rows[0].index("LastName")] = big
    rewrite_csv(folder / "person.csv", edit)
    hdr = (folder / "reenrollments.csv").read_text().splitlines()[0]
    (folder / "reenrollments.csv").write_text(hdr + "\r\n")
    sch = (folder / "schools.csv").read_text().splitlines()[0]
    (folder / "schools.csv").write_text(sch + "\n")
    proc = run_cli("load", "--extracts", str(folder), *target_args(t))
    assert proc.returncode == 0, proc.stderr
    assert big not in proc.stderr
    conn = connect(t)
    try:
        cur = conn.cursor()
        cur.execute(f"select max(length(lastname)) from {t.raw_schema}.person")
        assert cur.fetchone()[0] == 1 << 20
        for name in ("reenrollments", "schools"):
            cur.execute(f"select count(*) from {t.raw_schema}.{name}")
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()


@pytest.mark.slow
def test_missing_person_is_an_exception_not_an_error(district):
    _, exc, _ = files_of(district["out"])
    rows = read_csv(exc)
    hits = [r for r in rows[1:] if r[3] == MISSING_PERSON_ID]
    assert hits, "no exceptions row for the dangling PersonID"
    assert [(r[5], r[6]) for r in hits] == [("excluded", "contact_missing")]
    assert hits[0][4] == ""  # no Person row: Parent Name blank


# --------------------------------------------------------------------------- hostile parameters


@pytest.mark.slow
@pytest.mark.parametrize(
    "args,reason",
    [
        (["--student", HOSTILE_STUDENT], "student_not_in_scope"),
        (["--student", "%"], "student_not_in_scope"),
        (["--student", "2000__"], "student_not_in_scope"),
        (["--school", HOSTILE_SCHOOL], "school_not_found"),
        (["--school", "111 or 1=1"], "school_not_found"),
    ],
    ids=["sql-quote", "like-percent", "like-underscore", "sql-semicolon", "or-true"],
)
def test_hostile_cli_parameters_duckdb(args, reason, district, tmp_path):
    t = copy_warehouse(district["target"].warehouse, tmp_path / "wh.duckdb")
    before = table_counts(t)
    out = tmp_path / "out" / "h.csv"
    proc = run_cli("export", "--as-of", D1, "--out", str(out), *args, *target_args(t))
    assert proc.returncode == 0, proc.stderr
    check_hostile_files(out, args, reason)
    assert table_counts(t) == before


@pytest.mark.slow
def test_hostile_parameters_through_the_flow(flow_d2):
    state = flow_d2["state"]
    assert state.is_completed(), state
    summary = state.result()
    assert summary["exceptions_by_reason"] == {"school_not_found": 1, "student_not_in_scope": 1}
    assert summary["rows"] == 0
    # raw tables untouched; every model table still there (rebuilt for D2)
    before, after = flow_d2["before"], flow_d2["after"]
    assert {k: v for k, v in after.items() if k.startswith("powerschool.")} == {
        k: v for k, v in before.items() if k.startswith("powerschool.")}
    assert set(after) == set(before)
    assert after["ctseds.ct_seds_student_contacts"] > 0
    assert build_state(flow_d2["target"]) == [D2]


@pytest.mark.slow
def test_export_deployment_never_writes_outside_the_export_folder(flow_d2):
    """Fault found: the `export` deployment wrote wherever `out` pointed (`..`, absolute
    paths). Fixed in flows/ct_seds_flow.py (ct_seds_student_contacts, deployment_export_path)."""
    state, exports = flow_d2["state"], flow_d2["exports"]
    summary = state.result()
    export = Path(summary["files"]["export"])
    assert export.parent == exports.absolute()
    assert export.name.startswith(f"ct-seds-student-contacts-{D2}-")
    assert not flow_d2["escape"].parent.exists()
    assert sorted(p.name for p in exports.iterdir()) == sorted(
        p.name for p in files_of(export))
    for p in files_of(export):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_deployment_export_path_ignores_user_paths(monkeypatch, tmp_path):
    from datetime import date

    from flows.ct_seds_flow import _safe_name, deployment_export_path

    monkeypatch.setenv("CTSEDS_EXPORT_DIR", str(tmp_path / "exports"))
    d = date(2026, 11, 16)
    for run_name in ("brave-otter", "../../etc/passwd", "/abs/x.csv", "..", "a/../../b",
                     "x" * 400, ""):
        p = deployment_export_path(d, run_name)
        assert p.parent == tmp_path / "exports", run_name
        assert p.name.startswith("ct-seds-student-contacts-2026-11-16-")
        assert p.suffix == ".csv" and len(p.name) < 200
        assert "/" not in _safe_name(run_name) and not _safe_name(run_name).startswith(".")


# --------------------------------------------------------------------------- faults: kills


def _export_args(t: Target, out: Path, *extra: str) -> list[str]:
    return ["export", "--as-of", D1, "--out", str(out), *extra, *target_args(t)]


def _final_names_ok(folder: Path, out: Path, old: dict[str, str]) -> None:
    """Only the three final names (plus temporary files); the export and exceptions files
    unchanged (same input → same bytes); the summary complete (its timestamps may differ)."""
    finals = {p.name for p in files_of(out)}
    for p in folder.iterdir():
        assert p.name in finals or (p.name.startswith(".") and p.name.endswith(".tmp")), p
    for p in files_of(out)[:2]:
        if p.name in old:
            assert sha256(p) == old[p.name], f"{p.name} changed or half-written"
    summary = files_of(out)[2]
    if summary.exists():
        s = json.loads(summary.read_text())
        if files_of(out)[0].name in old:
            assert s["sha256"] == old[files_of(out)[0].name]


@pytest.mark.slow
def test_sigkill_during_export_at_random_delays(district, tmp_path):
    t = copy_warehouse(district["target"].warehouse, tmp_path / "wh.duckdb")
    out = tmp_path / "out" / "k.csv"
    t0 = time.monotonic()
    proc = run_cli(*_export_args(t, out))
    full = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    old = {p.name: sha256(p) for p in files_of(out)}
    rng = random.Random(20261116)
    outcomes = []
    for _ in range(8):
        delay = rng.uniform(0.5 * full, 1.05 * full)
        p = subprocess.Popen([CTSEDS, *_export_args(t, out)], env=cli_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        outcomes.append(p.wait())
        # the same input gives the same bytes, so a finished export equals the old one too
        _final_names_ok(out.parent, out, old)
    # at least one kill really interrupted a process
    assert any(rc == -signal.SIGKILL for rc in outcomes), outcomes


_KILL_HOOK = r"""
import os, signal, sys
import ctseds.exporter as ex
point = os.environ["ADV_KILL_POINT"]
if point == "mid-write":
    real = ex._TempFile._drain
    def drain(self):
        if self.final.name.endswith(".csv") and not self.final.name.endswith(".exceptions.csv"):
            data = bytes(self.buf)
            os.write(self.fd, data[: max(1, len(data) // 2)])
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self)
    ex._TempFile._drain = drain
else:
    n = int(point.split(":")[1])
    real_replace = os.replace
    calls = {"n": 0}
    def replace(a, b):
        calls["n"] += 1
        if calls["n"] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(a, b)
    ex.os.replace = replace
from ctseds.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("point", ["mid-write", "rename:1", "rename:3"])
def test_sigkill_at_exact_points_keeps_the_previous_export(point, district, tmp_path):
    """Deterministic kill points: half the export written, before the first rename, before
    the export's own rename. The previous export (other bytes: no portal column) stays."""
    t = copy_warehouse(district["target"].warehouse, tmp_path / "wh.duckdb")
    out = tmp_path / "out" / "k.csv"
    proc = run_cli(*_export_args(t, out, "--no-portal-column"))
    assert proc.returncode == 0, proc.stderr
    old_export = sha256(out)
    p = subprocess.run([PYTHON, "-c", _KILL_HOOK, *_export_args(t, out)],
                       env=cli_env(extra={"ADV_KILL_POINT": point}), capture_output=True)
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    assert sha256(out) == old_export
    assert read_csv(out)[0][-1] != "Can Receive Parent Portal Notifications"
    _final_names_ok(out.parent, out, {})
    if point == "mid-write":
        assert any(q.name.endswith(".tmp") for q in out.parent.iterdir())


# --------------------------------------------------------------------------- faults: database


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_stopped_during_build(district, tmp_path):
    from pg_server import PgServer

    server = PgServer()
    try:
        env = server.start()
        pg = {k: v for k, v in os.environ.items() if k.startswith("PG")}
        extra = {k: "" for k in pg}
        extra.update(env)
        out = tmp_path / "out" / "pg.csv"
        p = popen_cli("run", "--target", "postgres", "--extracts", str(district["extracts"]),
                      "--out", str(out), "--as-of", D1, prefect_home=tmp_path / "ph",
                      env=extra)
        lines: list[str] = []
        building = threading.Event()

        def reader():
            for line in p.stderr:
                lines.append(line)
                if line.startswith("[build]") or "[build]" in line:
                    building.set()
        th = threading.Thread(target=reader, daemon=True)
        th.start()
        assert building.wait(240), "".join(lines)[-3000:]
        time.sleep(6)  # well inside the build (about 140 nodes)
        assert p.poll() is None, "".join(lines)[-3000:]
        server.stop()
        rc = p.wait(300)
        th.join(10)
        err = "".join(lines)
        line = clean_failure(rc, err)
        assert "postgres" in line.lower()
        assert "server" in line.lower(), line  # says the database went away, not "fix a seed"
        assert not out.parent.exists() or not any(
            q.name in {f.name for f in files_of(out)} for q in out.parent.iterdir())
        no_canary(err + p.stdout.read(), "stderr of the stopped-PostgreSQL run")
    finally:
        server.stop()


_HOLDER = (
    "import duckdb, sys, time\n"
    "c = duckdb.connect(sys.argv[1])\n"
    "print('ok', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


@pytest.mark.slow
def test_second_process_holding_the_duckdb_warehouse(district, tmp_path):
    t = copy_warehouse(district["target"].warehouse, tmp_path / "wh" / "held.duckdb")
    out = tmp_path / "out" / "held.csv"
    holder = subprocess.Popen([PYTHON, "-c", _HOLDER, str(t.warehouse), "120"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        for args in (["run", "--out", str(out), "--as-of", D1],
                     ["build", "--as-of", D1],
                     ["export", "--out", str(out), "--as-of", D1]):
            proc = run_cli(*args, *target_args(t), prefect_home=tmp_path / "ph", timeout=300)
            line = clean_failure(proc.returncode, proc.stderr)
            assert str(t.warehouse) in line, (args[0], line)
            assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    # never a corrupt warehouse: after the holder is gone the same warehouse exports fine
    assert build_state(t) == [D1]
    proc = run_cli(*_export_args(t, out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == district["out"].read_bytes()


# --------------------------------------------------------------------------- privacy


@pytest.mark.slow
def test_canaries_reach_the_export_and_nowhere_else(district):
    from ctseds.dbt_invoke import target_dir

    out = district["out"]
    export, exc, summary = files_of(out)
    text = export.read_text(encoding="utf-8")
    for canary in (CANARY_NAME, CANARY_EMAIL, CANARY_STREET):
        assert canary in text, f"{canary} was not exported: the canary would prove nothing"
    for p in (export, exc, summary):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    proc = district["proc"]
    no_canary(proc.stdout + proc.stderr, "stdout/stderr of ctseds run")
    no_canary(summary.read_bytes(), "summary file")
    n = scan_tree(target_dir(district["target"]), "dbt target/log folder")
    assert n > 3
    scan_tree(district["prefect_home"], "Prefect home of the run (settings, results)")
    db = _prefect_db_bytes(district["prefect_db"])
    no_canary(db, "Prefect server database (flow and task runs, logs, artifacts)")
    # the Prefect database really holds this run's logs and artifact (else the scan is empty)
    assert district["flow_run_name"].encode() in db
    assert b"[export]" in db and b"sha256" in db


def _prefect_db_bytes(database: Path) -> bytes:
    """The Prefect server's SQLite database with its write-ahead log."""
    return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))


@pytest.mark.slow
def test_failed_load_does_not_echo_canaries(district, prefect_api, tmp_path):
    folder = tmp_path / "ex"
    shutil.copytree(district["extracts"], folder)

    def edit(rows):
        h = rows[0]
        for r in rows[1:]:
            if r[h.index("FirstName")] == CANARY_NAME:
                r[h.index("ID")] = CANARY_NAME  # an ID that is no integer
    rewrite_csv(folder / "person.csv", edit)
    home = tmp_path / "ph"
    proc = run_cli("run", "--extracts", str(folder), "--out", str(tmp_path / "o" / "x.csv"),
                   "--as-of", D1, "--warehouse", str(tmp_path / "w.duckdb"), prefect_home=home)
    line = clean_failure(proc.returncode, proc.stderr)
    assert "person.csv" in line and "column ID" in line
    no_canary(proc.stdout + proc.stderr, "stderr of the failed load")
    scan_tree(home, "Prefect home of the failed load")
    no_canary(_prefect_db_bytes(prefect_api["database"]), "Prefect server after the failed load")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_failed_dbt_build_does_not_echo_canaries(district, prefect_api, tmp_path):
    """Tables already in the warehouse are not validated by the loader: a value that does not
    parse fails the build (staging cast), and the database error quotes the value."""
    from ctseds.dbt_invoke import target_dir

    t = copy_warehouse(district["target"].warehouse, tmp_path / "wh.duckdb")
    conn = connect(t)
    try:
        conn.execute(f"update powerschool.person set id = '{CANARY_NAME}' where id = '5002'")
        conn.execute(f"update powerschool.phonenumber set phonenumberid = '{CANARY_PHONE}' "
                     "where phonenumberid = '1'")
    finally:
        conn.close()
    home = tmp_path / "ph"
    out = tmp_path / "o" / "x.csv"
    proc = run_cli("run", "--out", str(out), "--as-of", D1, *target_args(t), prefect_home=home)
    line = clean_failure(proc.returncode, proc.stderr)
    assert "stg_powerschool__person" in line
    no_canary(proc.stdout + proc.stderr, "stderr of the failed build")
    assert not out.parent.exists()
    scan_tree(home, "Prefect home of the failed build")
    no_canary(_prefect_db_bytes(prefect_api["database"]), "Prefect logs of the failed build")
    scan_tree(target_dir(t), "dbt target/log folder of the failed build")


def test_redact_and_scrub_failure_logs(tmp_path):
    """The fix for the leak above, for both runners and both engines' error styles."""
    from ctseds import dbt_invoke

    msg = (f"Conversion Error: Could not convert string '{CANARY_NAME}' to INT64 / "
           f'invalid input syntax for type bigint: "{CANARY_EMAIL}"')
    no_canary(dbt_invoke.redact(msg), "redacted message")
    assert "INT64" in dbt_invoke.redact(msg) and "bigint" in dbt_invoke.redact(msg)
    t = duck(tmp_path / "w.duckdb")
    logs = dbt_invoke.log_dir(t)
    logs.mkdir(parents=True, exist_ok=True)
    try:
        old = "earlier run: where code = 'Relationship'\n"
        (logs / "dbt.log").write_text(old + msg + "\n")
        (dbt_invoke.target_dir(t) / "run_results.json").write_text(
            json.dumps({"results": [{"unique_id": "model.x", "message": msg}]}))
        dbt_invoke._scrub_failure_logs(t, len(old))
        text = (logs / "dbt.log").read_text()
        assert text.startswith(old)  # earlier runs' lines untouched
        no_canary(text, "scrubbed dbt.log")
        no_canary((dbt_invoke.target_dir(t) / "run_results.json").read_text(), "run_results")
    finally:
        shutil.rmtree(dbt_invoke.target_dir(t), ignore_errors=True)
