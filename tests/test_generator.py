"""Tests of the synthetic district generator (ctseds/generator.py).

Also holds `_reference_report`, a small pure-Python reading of spec/report.md (no selection),
used only to check that the generated demo district shows every reason code and that the
hand-written rule-matrix fixture agrees with a second reading of the rules.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import subprocess
import sys
import tracemalloc
from datetime import date, datetime
from pathlib import Path

import pytest

from ctseds.generator import DEFAULT_AS_OF, generate
from ctseds.tables import TABLES

FIXTURE = Path(__file__).parent / "fixtures" / "rule_matrix"

EXPORT_HEADER = [
    "Parent Name", "Parent Type", "Student Code", "Email", "Address", "City", "State",
    "ZIP Code", "Home Phone", "Work Phone", "Mobile/Cell Phone", "Language",
    "Student Lives Here", "Can Receive Parent Portal Notifications",
]
EXCEPTIONS_HEADER = [
    "Student Code", "Student Number", "School Number", "Contact ID", "Parent Name", "Severity",
    "Reason", "Detail",
]
ALL_REASONS = [
    "student_excluded", "school_excluded", "missing_sasid", "invalid_sasid", "contact_missing",
    "contact_is_student", "no_current_relationship", "relationship_excluded",
    "contact_excluded", "contact_inactive", "no_relationship_type", "unmapped_relationship",
    "no_custody", "contact_has_no_name", "duplicate_association", "no_reportable_contact",
    "name_truncated", "phone_invalid", "email_invalid", "address_truncated", "city_truncated",
    "state_invalid", "zip_invalid", "no_address",
]
WARNINGS = {
    "name_truncated", "phone_invalid", "email_invalid", "address_truncated", "city_truncated",
    "state_invalid", "zip_invalid", "no_address", "no_reportable_contact",
}
PARENT_TYPES = ["M", "F", "LG", "ESP", "OR", "PAREP", "S", "OTH"]
CROSSWALK = {
    "mother": "M", "father": "F", "guardian": "LG", "legal guardian": "LG", "stepmother": "OR",
    "stepfather": "OR", "grandmother": "OR", "grandfather": "OR", "grandparent": "OR",
    "aunt": "OR", "uncle": "OR", "foster parent": "OTH", "foster mother": "OTH",
    "foster father": "OTH", "surrogate parent": "ESP", "agency representative": "PAREP",
    "other": "OTH",
}


# ------------------------------------------------------------------------------------------
# A second reading of report.md (no selection), for checks only
# ------------------------------------------------------------------------------------------

def _read(folder: Path, table: str) -> list[dict[str, str | None]]:
    with open(folder / TABLES[table].file_name, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    head = [h.strip().lower() for h in rows[0]]
    out = []
    for r in rows[1:]:
        d: dict[str, str | None] = {}
        for col in TABLES[table].columns:
            v = r[head.index(col.name)] if col.name in head else ""
            if col.kind != "text":
                v = v.strip()
            d[col.name] = v if v != "" else None
        out.append(d)
    return out


def _int(v):
    return None if v is None else int(v.removesuffix(".0"))


def _date(v):
    if v is None:
        return None
    if "/" in v:
        m, d, y = v.split("/")
        return date(int(y), int(m), int(d))
    return date.fromisoformat(v)


def _ts(v):
    return None if v is None else datetime.fromisoformat(v)


def _flag(v):
    return None if v is None else int(v.lower() in ("1", "true", "y"))


def clean(x):
    if x is None:
        return None
    x = re.sub(" +", " ", re.sub("[\r\n\t]", " ", x)).strip(" ")
    return x or None


def trim(x):
    if x is None:
        return None
    return x.strip(" \t\r\n") or None


def _code(x):
    t = trim(x)
    return None if t is None else t.lower()


def _newest_key(ts):  # ascending sort key: newest first, missing oldest
    return (0, -ts.timestamp()) if ts is not None else (1, 0)


def _lowest(schools):  # lowest school number; an enrollment may have none (blank SchoolID)
    numbers = [x for x in schools if x is not None]
    return min(numbers) if numbers else None


def _reference_report(folder: Path, as_of: date):
    t = {name: _read(folder, name) for name in TABLES}
    codes = {_int(c["codesetid"]): c for c in t["codeset"]}

    def code_row(cid, ctype):
        c = codes.get(_int(cid))
        if c is None or _code(c["codetype"]) != ctype.lower():
            return None
        return c

    schools = {_int(s["school_number"]): _flag(s["state_excludefromreporting"]) or 0
               for s in t["schools"]}
    students = {_int(s["id"]): s for s in t["students"]}
    enroll: dict[int, list[tuple]] = {}
    for s in t["students"]:
        enroll.setdefault(_int(s["id"]), []).append((s["schoolid"], s["entrydate"], s["exitdate"]))
    for r in t["reenrollments"]:
        sid = _int(r["studentid"])
        if sid in students:
            enroll[sid].append((r["schoolid"], r["entrydate"], r["exitdate"]))
    covering: dict[int, list[int]] = {}
    for sid, lst in enroll.items():
        for school, e, x in lst:
            e, x = _date(e), _date(x)
            if e is None or (x is not None and x <= e):
                continue
            if e <= as_of and (x is None or as_of < x):
                covering.setdefault(sid, []).append(_int(school))
    persons = {_int(p["id"]): p for p in t["person"]}
    details: dict[int, list] = {}
    for d in t["studentcontactdetail"]:
        details.setdefault(_int(d["studentcontactassocid"]), []).append(d)
    assocs: dict[int, list] = {}
    for a in t["studentcontactassoc"]:
        assocs.setdefault(_int(a["studentdcid"]), []).append(a)

    def name_of(p):
        parts = [x for x in (clean(p["firstname"]), clean(p["lastname"])) if x]
        return " ".join(parts)[:128], len(" ".join(parts)) > 128

    phones: dict[int, list] = {}
    pn = {_int(p["phonenumberid"]): p for p in t["phonenumber"]}
    for a in t["personphonenumberassoc"]:
        phones.setdefault(_int(a["personid"]), []).append(a)
    emails: dict[int, list] = {}
    ea = {_int(e["emailaddressid"]): e for e in t["emailaddress"]}
    for a in t["personemailaddressassoc"]:
        emails.setdefault(_int(a["personid"]), []).append(a)
    addrs: dict[int, list] = {}
    pa = {_int(p["personaddressid"]): p for p in t["personaddress"]}
    for a in t["personaddressassoc"]:
        addrs.setdefault(_int(a["personid"]), []).append(a)

    def phone_col(pid, types, exc):
        cands = []
        for a in phones.get(pid, []):
            c = code_row(a["phonetypecodesetid"], "Phone")
            if c is None or _code(c["code"]) not in types:
                continue
            v = clean(a["phonenumberasentered"])
            if v is None:
                row = pn.get(_int(a["phonenumberid"]))
                digits = "".join(ch for ch in (row or {}).get("phonenumber") or "" if ch in
                                 "0123456789")
                if digits:
                    ext = clean(row.get("phonenumberext"))
                    v = digits + (" x" + ext if ext else "")
            if v is None:
                continue
            key = (-(_flag(a["ispreferred"]) or 0), _newest_key(_ts(a["whencreated"])),
                   -_int(a["personphonenumberassocid"]))
            cands.append((key, v))
        cands.sort()
        valid = [v for _, v in cands
                 if sum(ch in "0123456789" for ch in v) >= 7 and len(v) <= 32]
        if cands and cands[0][1] not in valid:
            exc.append("phone_invalid")
        return valid[0] if valid else ""

    def email_col(pid, exc):
        cands = []
        for a in emails.get(pid, []):
            row = ea.get(_int(a["emailaddressid"]))
            v = clean(row["emailaddress"]) if row else None
            if v is None:
                continue
            cands.append(((_newest_key(_ts(a["whencreated"])),
                           -_int(a["personemailaddressassocid"])), v))
        cands.sort()
        valid = [v for _, v in cands
                 if re.fullmatch(r"[^@ ]+@[^@ ]+\.[^@ ]+", v) and len(v) <= 64]
        if cands and cands[0][1] not in valid:
            exc.append("email_invalid")
        return valid[0] if valid else ""

    def address_cols(pid, exc):
        cands = []
        for a in addrs.get(pid, []):
            row = pa.get(_int(a["personaddressid"]))
            s, e = _date(a["startdate"]), _date(a["enddate"])
            c = code_row(a["addresstypecodesetid"], "Address")
            if row is None or (s and s > as_of) or (e and e < as_of) or c is None:
                continue
            pos = {"home": 0, "mailing": 1}.get(_code(c["code"]))
            if pos is None:
                continue
            pri = _int(a["addresspriorityorder"])
            cands.append(((pos, pri is None, pri or 0, _newest_key(_ts(a["whencreated"])),
                           -_int(a["personaddressassocid"])), row))
        if not cands:
            exc.append("no_address")
            return ["", "", "", ""]
        row = min(cands, key=lambda c: c[0])[1]
        line1 = " ".join(x for x in (clean(row["street"]), clean(row["unit"])) if x)
        line2 = clean(row["linetwo"])
        addr = "\n".join(x for x in (line1, line2) if x)
        if len(addr) > 64:
            addr = addr[:64]
            exc.append("address_truncated")
        city = clean(row["city"]) or ""
        if len(city) > 64:
            city = city[:64]
            exc.append("city_truncated")
        sc = code_row(row["statescodesetid"], "State")
        st = trim(sc["code"]) if sc else None
        if st is None or st.lower() == "not set":
            st = ""
        elif re.fullmatch("[A-Za-z]{2}", st):
            st = st.upper()
        else:
            st = ""
            exc.append("state_invalid")
        z = clean(row["postalcode"])
        if z is None:
            z = ""
        elif re.fullmatch("[0-9]{5}(-[0-9]{4})?", z):
            pass
        elif re.fullmatch("[0-9]{9}", z):
            z = z[:5] + "-" + z[5:]
        else:
            z = ""
            exc.append("zip_invalid")
        return [addr, city, st, z]

    export, excs = [], []
    for sid in sorted(covering):
        s = students[sid]
        code = clean(s["state_studentnumber"])
        num = str(_int(s["student_number"]))
        cov = covering[sid]
        not_excl = [x for x in cov if not schools.get(x, 0)]
        reason = None
        if _flag(s["state_excludefromreporting"]):
            reason = "student_excluded"
        elif not not_excl:
            reason = "school_excluded"
        elif code is None:
            reason = "missing_sasid"
        elif not re.fullmatch("[0-9]{10}", code):
            reason = "invalid_sasid"
        if reason:
            excs.append([code or "", num, _lowest(cov), None, "", "excluded", reason])
            continue
        school = _lowest(not_excl)
        dcid = _int(s["dcid"])
        eligible = []
        for a in assocs.get(dcid, []):
            pid = _int(a["personid"])
            p = persons.get(pid)
            eff = [d for d in details.get(_int(a["studentcontactassocid"]), [])
                   if (_date(d["startdate"]) is None or _date(d["startdate"]) <= as_of)
                   and (_date(d["enddate"]) is None or _date(d["enddate"]) >= as_of)]
            eff.sort(key=lambda d: (-(_flag(d["isactive"]) or 0),
                                    -(_date(d["startdate"]) or date.min).toordinal(),
                                    -_int(d["studentcontactdetailid"])))
            d = eff[0] if eff else None
            rel = code_row(d["relationshiptypecodesetid"], "Relationship") if d else None
            ptype = None
            if rel is not None:
                cand = CROSSWALK.get(_code(rel["code"])) or trim(rel["reportedvalue"])
                ptype = next((x for x in PARENT_TYPES if cand and x.lower() == cand.lower()),
                             None)
            pname = name_of(p)[0] if p else ""
            if p is None:
                r = "contact_missing"
            elif pid == _int(s["person_id"]):
                r = "contact_is_student"
            elif d is None:
                r = "no_current_relationship"
            elif _flag(d["excludefromstatereportingflg"]):
                r = "relationship_excluded"
            elif _flag(p["excludefromstatereporting"]):
                r = "contact_excluded"
            elif _flag(p["isactive"]) == 0:
                r = "contact_inactive"
            elif rel is None:
                r = "no_relationship_type"
            elif ptype is None:
                r = "unmapped_relationship"
            elif _flag(d["iscustodial"]) != 1:
                r = "no_custody"
            elif not pname:
                r = "contact_has_no_name"
            else:
                r = None
            if r:
                excs.append([code, num, school, pid, pname, "excluded", r])
                continue
            pri = _int(a["contactpriorityorder"])
            eligible.append(((pri is None, pri or 0, _int(a["studentcontactassocid"])),
                             pid, p, d, ptype, pri))
        eligible.sort(key=lambda e: e[0])
        seen = set()
        rows = 0
        for _, pid, p, d, ptype, pri in eligible:
            pname, cut = name_of(p)
            if pid in seen:
                excs.append([code, num, school, pid, pname, "excluded", "duplicate_association"])
                continue
            seen.add(pid)
            w: list[str] = ["name_truncated"] if cut else []
            em = email_col(pid, w)
            ad = address_cols(pid, w)
            home = phone_col(pid, {"home"}, w)
            work = phone_col(pid, {"work"}, w)
            mob = phone_col(pid, {"mobile", "cell"}, w)
            lives = "Y" if _flag(d["liveswithflg"]) == 1 else ""
            row = [pname, ptype, code, em, *ad, home, work, mob, "", lives, ""]
            export.append(((code, pri is None, pri or 0, pname, pid, dcid), row))
            rows += 1
            for reason in w:
                excs.append([code, num, school, pid, pname, "warning", reason])
        if rows == 0:
            excs.append([code, num, school, None, "", "warning", "no_reportable_contact"])
    export.sort(key=lambda e: e[0])

    def xkey(e):
        return tuple((v is not None and v != "", v if v is not None else "")
                     for v in (e[0], e[1], e[2], e[3], e[6]))

    excs.sort(key=xkey)
    return [r for _, r in export], [
        [e[0], e[1], "" if e[2] is None else str(e[2]), "" if e[3] is None else str(e[3]),
         e[4], e[5], e[6]]
        for e in excs
    ]


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


# ------------------------------------------------------------------------------------------
# Generator tests
# ------------------------------------------------------------------------------------------

def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    ra = generate(a, students=300, seed=7)
    rb = generate(b, students=300, seed=7)
    generate(c, students=300, seed=8)
    assert ra == rb
    da, db, dc = _digests(a), _digests(b), _digests(c)
    assert sorted(da) == sorted(TABLES[t].file_name for t in TABLES)
    assert da == db
    assert da != dc
    assert da["students.csv"] != dc["students.csv"]
    assert ra["students.csv"] == 300


def test_headers_keys_and_format(tmp_path: Path) -> None:
    rows = generate(tmp_path, students=300)
    for name, table in TABLES.items():
        raw = (tmp_path / table.file_name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert raw.endswith(b"\r\n")
        data = _csv_rows(tmp_path / table.file_name)
        header = data[0]
        assert header == [c.header for c in table.columns], name
        assert len(data) - 1 == rows[table.file_name]
        for r in data[1:]:
            assert len(r) == len(header)
        for key in table.keys:
            i = header.index(key)
            values = [r[i] for r in data[1:]]
            assert all(re.fullmatch("[0-9]+", v) for v in values), (name, key)
            assert len(set(values)) == len(values), (name, key)
    students = _csv_rows(tmp_path / "students.csv")
    assert any(r[3].startswith("0") and len(r[3]) == 10 for r in students[1:])
    zips = [r[4] for r in _csv_rows(tmp_path / "personaddress.csv")[1:]]
    assert any(z.startswith("06") for z in zips)


def test_default_demo_shows_every_reason_and_column_shape(tmp_path: Path) -> None:
    generate(tmp_path)  # default size and seed
    export, excs = _reference_report(tmp_path, date.fromisoformat(DEFAULT_AS_OF))
    reasons = {e[6] for e in excs}
    assert set(ALL_REASONS) <= reasons, sorted(set(ALL_REASONS) - reasons)
    filled = [i for i in range(13) if i != 11]  # columns 1-11 and 13
    assert any(all(r[i] for i in filled) for r in export)
    for col in ("Email", "Address", "City", "State", "ZIP Code", "Home Phone", "Work Phone",
                "Mobile/Cell Phone", "Student Lives Here"):
        i = EXPORT_HEADER.index(col)
        assert any(r[i] == "" for r in export), col
    assert len(export) > 400


def test_emails_and_phones_are_fictional(tmp_path: Path) -> None:
    generate(tmp_path, students=300)
    for r in _csv_rows(tmp_path / "emailaddress.csv")[1:]:
        if "@" in r[1] and "." in r[1].split("@")[-1]:
            assert r[1].strip().lower().endswith(("@example.com", "@example.org")), r[1]
    for r in _csv_rows(tmp_path / "phonenumber.csv")[1:]:
        digits = r[1]
        if len(digits) == 10:
            assert digits[3:8] == "55501" or digits == "5558675309", digits


_RSS_SCRIPT = """
import resource, sys
from pathlib import Path
from ctseds.generator import generate
rows = generate(Path(sys.argv[1]), students=int(sys.argv[2]), seed=3)
assert rows["students.csv"] == int(sys.argv[2])
# VmHWM is this program's own peak (KiB). ru_maxrss would also count the pytest process
# this one was forked from: Linux keeps it across exec.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print(int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_kib(folder: Path, students: int) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(folder), str(students)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return int(out.stdout.split()[-1])


@pytest.mark.slow
def test_memory_stays_bounded(tmp_path: Path) -> None:
    """Peak RSS of a 20,000-student run: small, and hardly more than a 1,000-student run."""
    small = _peak_rss_kib(tmp_path / "small", 1_000)
    big = _peak_rss_kib(tmp_path / "big", 20_000)
    assert big < 150 * 1024, big
    assert big - small < 20 * 1024, (small, big)  # streaming: nothing grows with the size


def test_tracemalloc_peak_small_run(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        generate(tmp_path, students=500, seed=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 1024 * 1024, peak


def test_progress_messages(tmp_path: Path) -> None:
    seen: list[str] = []
    generate(tmp_path, students=50, progress=seen.append)
    assert seen and "50" in seen[-1]


# ------------------------------------------------------------------------------------------
# Rule-matrix fixture: well-formed, and agrees with the second reading above
# ------------------------------------------------------------------------------------------

def test_rule_matrix_framing() -> None:
    for name, header in (("export.csv", EXPORT_HEADER), ("exceptions.csv", EXCEPTIONS_HEADER)):
        raw = (FIXTURE / "expected" / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert raw.endswith(b"\r\n")
        assert b'""' not in raw.replace(b'""B""', b"")  # empty fields never written as ""
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        assert rows[0] == header
        assert all(len(r) == len(header) for r in rows)
    assert len(list((FIXTURE / "extract").glob("*.csv"))) == 13


def test_rule_matrix_agrees_with_reference_reading() -> None:
    export, excs = _reference_report(FIXTURE / "extract", date(2026, 11, 16))
    exp_export = _csv_rows(FIXTURE / "expected" / "export.csv")[1:]
    exp_excs = [r[:7] for r in _csv_rows(FIXTURE / "expected" / "exceptions.csv")[1:]]
    assert export == exp_export
    assert excs == exp_excs
    assert set(ALL_REASONS) <= {r[6] for r in exp_excs}
    for r in exp_excs:
        assert r[5] == ("warning" if r[6] in WARNINGS else "excluded")
