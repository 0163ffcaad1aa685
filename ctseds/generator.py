"""Synthetic PowerSchool district for demos and tests (`ctseds generate`).

Writes the 13-file extract folder of spec/input.md. Everything is synthetic: names and streets
come from Faker (locale en_US), e-mail domains are example.com / example.org, phone numbers are
in the fictional 555-01xx range.

Determinism: one `random.Random(seed)` and one Faker instance seeded with `seed_instance(seed)`;
no time-based values, no dependence on dict/set iteration order. Same seed and size give
byte-identical files.

Bounded memory: rows are generated one household at a time and written at once. Only counters,
small look-up tables (code set IDs, the shared PhoneNumber rows — at most a few thousand, since
every number is in the 555-01xx range) and pools of Faker values drawn at start are kept. 500,000
students run in well under a gigabyte.

Shape of the district (report date DEFAULT_AS_OF = 2026-11-16, school year 2026-08-26 →
2027-06-12; PowerSchool's ExitDate is the day after the last day):

* Schools — grade bands as in a mid-size Connecticut district: three K-5 elementary schools
  (about 46 % of students: 6 of 13 grades, split 40/35/25 %), one 6-8 middle school (23 %),
  one 9-12 high school (about 30 %) and a post-secondary transition program with
  State_ExcludeFromReporting = 1 (about 1 % of students; CT-SEDS excludes such out-placed
  programs). School numbers mix short local numbers and 9-digit CT-like numbers; 999999 is
  PowerSchool's "Graduated Students" school. A few students are enrolled at school 115, a new
  program with no Schools row yet (must still be reported).
* Students (random part) — about 87 % enrolled all year, 4 % entered late (after the
  first day, by D), 2.5 % transferred mid-year inside the district (old school in
  ReEnrollments, new school on Students), 2.5 % exited before D (moved away), 1.5 %
  pre-registered (EntryDate after D), 1.5 % graduated (SchoolID 999999, EntryDate = ExitDate,
  last year's enrollment in ReEnrollments), 0.5 % no-shows (ExitDate = EntryDate), 0.3 % with
  a missing EntryDate (conversion damage). 60 % of returning students (grade 1 and up) also
  have last year's enrollment in ReEnrollments. These are the proportions a district sees
  around mid-November. 0.4 % carry State_ExcludeFromReporting = 1; SASIDs are 10 digits
  (about 10 % start with 0), 0.3 % blank, 0.3 % malformed, 0.5 % typed with surrounding
  spaces.
* Households — 55 % one student, 33 % two, 12 % three (siblings share every contact of the
  household). 1 % of households have no contact at all; otherwise 1 contact 12 %, 2 contacts
  58 %, 3 contacts 20 %, 4 contacts 10 %. Contact 1 is usually the mother (also father, guardian,
  foster parent, grandmother), contact 2 the other parent (or a step-parent), contact 3 a relative
  (grandparent, aunt/uncle, sometimes a code that maps only through ReportedValue), contact 4 an
  emergency contact (neighbour, friend, sibling, doctor: relationships that never map).
* Relationship rows — custodial parents IsCustodial = 1, relatives mostly 0 or missing; 6 % of
  associations have an older, ended detail row too, 2 % a future one, 1 % two current rows
  (IsActive breaks the tie), 0.5 % only a past row, 0.4 % are excluded at relationship level,
  0.3 % of associations are entered twice. 0.8 % of contacts are inactive, 0.5 % excluded, 0.1 %
  have no name.
* Phones — 0 to 5 per contact (mostly 2-3), every type (Home, Mobile, Cell, Work, Daytime, Fax),
  written the ways people type them, several preferred, 5 % with no WhenCreated, numbers entered
  in one sitting share a WhenCreated. About 3 % unusable ('n/a', too short).
* E-mail — 0 to 3 per contact (no e-mail 15 %), 2 % invalid; parents often share one family
  address (the EmailAddress row is shared).
* Addresses — the household's Home address (CT towns, ZIPs with a leading zero, 30 % ZIP+4, some
  without the hyphen), 20 % also a past Home address (ended), 3 % a future one (moving), 10 % a
  Mailing address (PO box), 8 % a Work address (never used), 12 % of non-resident parents live in
  NY, MA or RI; 1 % of states 'Not Set', rare bad ZIPs; 6 % of contacts have no address.

The first students are hand-shaped "showcase" cases (see `_showcase`) so that, for
DEFAULT_AS_OF and no selection, every reason code of spec/report.md appears at least once and the
export holds a row with every column 1-11 and 13 filled as well as rows where each of Email,
Address, City, State, ZIP, the three phones and Student Lives Here is blank; this does not depend
on the random draws.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from pathlib import Path

from faker import Faker

from ctseds.tables import TABLES

DEFAULT_AS_OF = "2026-11-16"
DEFAULT_SEED = 20261116
DEFAULT_STUDENTS = 600

YEAR_START = date(2026, 8, 26)
YEAR_END = date(2027, 6, 12)  # ExitDate: the day after the last day
LAST_START = date(2025, 8, 27)
LAST_END = date(2026, 6, 13)
D = date(2026, 11, 16)

# (School_Number, Name, State_ExcludeFromReporting, DCID)
SCHOOLS = (
    (111, "Maple Hill Elementary School", 0, 11),
    (112, "Oak Ridge Elementary School", 0, 12),
    (113, "Riverside Elementary School", 0, 13),
    (640112211, "Northfield Middle School", 0, 21),
    (640113311, "Harbor View High School", 0, 31),
    (640119911, "Harbor View Transition Academy", 1, 41),
    (999999, "Graduated Students", 0, 99),
)
ELEMENTARY = (111, 112, 113)
MIDDLE = 640112211
HIGH = 640113311
EXCLUDED_SCHOOL = 640119911
GRADUATED = 999999
NO_ROW_SCHOOL = 115  # enrolled students, but no Schools row

# CodeSet rows: (CodeSetID, CodeType, Code, DisplayValue, ReportedValue)
_CODESET = (
    (101, "Relationship", "Mother", "Mother", ""),
    (102, "Relationship", "Father", "Father", ""),
    (103, "Relationship", "Guardian", "Guardian", ""),
    (104, "Relationship", "Legal Guardian", "Legal Guardian", ""),
    (105, "Relationship", "Stepmother", "Stepmother", ""),
    (106, "Relationship", "Stepfather", "Stepfather", ""),
    (107, "Relationship", "Grandmother", "Grandmother", ""),
    (108, "Relationship", "Grandfather", "Grandfather", ""),
    (109, "Relationship", "Aunt", "Aunt", ""),
    (110, "Relationship", "Uncle", "Uncle", ""),
    (111, "Relationship", "Foster Parent", "Foster Parent", ""),
    (112, "Relationship", "Other", "Other", ""),
    (113, "Relationship", "Surrogate Parent", "Surrogate Parent", ""),
    (114, "Relationship", "Agency Representative", "Agency Representative", ""),
    (115, "Relationship", "Grandma", "Grandma", "OR"),  # maps only through ReportedValue
    (116, "Relationship", "Tutor-Parent", "Tutor/Parent", " m "),  # ReportedValue, trimmed
    (117, "Relationship", "Sibling", "Sibling", ""),
    (118, "Relationship", "Self", "Self", ""),
    (119, "Relationship", "Friend", "Friend", ""),
    (120, "Relationship", "Neighbor", "Neighbor", ""),
    (121, "Relationship", "Doctor", "Doctor", ""),
    (122, "Relationship", "Babysitter", "Babysitter", "BS"),  # ReportedValue not a parent type
    (201, "Phone", "Home", "Home", ""),
    (202, "Phone", "Mobile", "Mobile", ""),
    (203, "Phone", "Cell", "Cell", ""),
    (204, "Phone", "Work", "Work", ""),
    (205, "Phone", "Daytime", "Daytime", ""),
    (206, "Phone", "Fax", "Fax", ""),
    (301, "Address", "Home", "Home", ""),
    (302, "Address", "Mailing", "Mailing", ""),
    (303, "Address", "Work", "Work", ""),
    (401, "State", "CT", "Connecticut", "CT"),
    (402, "State", "NY", "New York", "NY"),
    (403, "State", "MA", "Massachusetts", "MA"),
    (404, "State", "RI", "Rhode Island", "RI"),
    (405, "State", "Not Set", "Not Set", ""),
    (406, "State", "Conn", "Conn.", ""),  # invalid state code
    (501, "Email", "Current", "Current", ""),
    (502, "Email", "Work", "Work", ""),
)
REL = {c[2]: c[0] for c in _CODESET if c[1] == "Relationship"}
PHONE = {c[2]: c[0] for c in _CODESET if c[1] == "Phone"}
ADDR = {c[2]: c[0] for c in _CODESET if c[1] == "Address"}
STATE = {c[2]: c[0] for c in _CODESET if c[1] == "State"}
EMAIL = {c[2]: c[0] for c in _CODESET if c[1] == "Email"}

# Connecticut towns (public place names) with a ZIP code (leading zero).
_CT_TOWNS = (
    ("Hartford", "06103"), ("West Hartford", "06107"), ("New Haven", "06511"),
    ("Bridgeport", "06604"), ("Stamford", "06901"), ("Waterbury", "06702"),
    ("Norwalk", "06851"), ("Danbury", "06810"), ("New Britain", "06051"),
    ("Bristol", "06010"), ("Meriden", "06450"), ("Milford", "06460"),
    ("Middletown", "06457"), ("Norwich", "06360"), ("Shelton", "06484"),
    ("Torrington", "06790"), ("New London", "06320"), ("Enfield", "06082"),
    ("Glastonbury", "06033"), ("Manchester", "06040"),
)
_AREA = ("860", "203", "475", "959")

GRADE_WEIGHTS = (1,) * 13  # K..12, about equal cohorts


def _headers(table: str) -> list[str]:
    return [c.header for c in TABLES[table].columns]


def _d(x: date | None) -> str:
    return "" if x is None else x.isoformat()


def _ts(x: datetime | None) -> str:
    return "" if x is None else x.strftime("%Y-%m-%d %H:%M:%S")


def _ascii(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in s.lower() if ch.isalnum())


def _phone_forms(digits: str, ext: str, style: int) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    if style == 0:
        s = f"({a}) {b}-{c}"
    elif style == 1:
        s = f"{a}.{b}.{c}"
    elif style == 2:
        s = f"{a}-{b}-{c}"
    else:
        s = digits
    if ext:
        s += (f" x{ext}", f" ext. {ext}", f" Ext {ext}", f" x{ext}")[style]
    return s


class _Writer:
    """Thirteen csv writers plus ID counters; rows go to disk immediately."""

    def __init__(self, out_dir: Path, stack: ExitStack) -> None:
        self.w: dict[str, csv.writer] = {}
        self.cols: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}
        for name in TABLES:  # fixed order (tuple order of tables.py)
            f = stack.enter_context(
                open(out_dir / TABLES[name].file_name, "w", encoding="utf-8", newline="",
                     buffering=1 << 16)
            )
            w = csv.writer(f, lineterminator="\r\n")
            cols = _headers(name)
            w.writerow(cols)
            self.w[name], self.cols[name], self.rows[name] = w, cols, 0
        self.next = {
            "student": 1001, "dcid": 70001, "student_number": 200001, "person": 5001,
            "sca": 900001, "scd": 1, "paa": 1, "pa": 1, "peaa": 1, "ea": 1, "ppna": 1, "pn": 1,
            "sasid": 0,
        }
        self.phone_ids: dict[tuple[str, str], int] = {}

    def put(self, table: str, **values: object) -> None:
        # csv writes None as an empty field and ints as plain decimals.
        self.w[table].writerow([values.get(col) for col in self.cols[table]])
        self.rows[table] += 1

    def take(self, key: str) -> int:
        v = self.next[key]
        self.next[key] = v + 1
        return v


class _District:
    """Builder used by the showcase and the random households."""

    def __init__(self, wr: _Writer, rng: random.Random, fake: Faker, seed: int) -> None:
        self.wr, self.rng, self.fake = wr, rng, fake
        self.students = 0
        # SASIDs: a Feistel permutation of 0..10**10-1 (unique, about 10 % start with 0).
        self._keys = [rng.randrange(1, 10**5) for _ in range(4)]
        pool = 400
        self.first_f = [fake.first_name_female() for _ in range(pool)]
        self.first_m = [fake.first_name_male() for _ in range(pool)]
        self.last = [fake.last_name() for _ in range(pool * 2)]
        self.streets = [fake.street_address() for _ in range(pool * 2)]
        self.cities = [fake.city() for _ in range(100)]
        # A few names Faker's en_US lists lack: accents, apostrophes, hyphens (about 1 %).
        self.first_f += ["María José", "Zoë", "Anne-Marie", "Thị Lan"]
        self.first_m += ["José", "Văn Minh", "Jean-Luc", "Ángel"]
        self.last += ["Peña", "O'Neil", "Nguyễn", "Müller-Schmidt", "D'Angelo", "Ní Bhriain"]
        self.companies = [fake.company() for _ in range(100)]

    # -- identifiers -------------------------------------------------------------------------
    def sasid(self) -> str:
        left, right = divmod(self.wr.take("sasid"), 10**5)
        for k in self._keys:
            left, right = right, (left + pow(right + k, 3, 99_991) * 7 + k) % 10**5
        return f"{left * 10**5 + right:010d}"

    # -- rows --------------------------------------------------------------------------------
    def student(
        self, school: int, entry: date | None, exit_: date | None, *, sasid: str | None = None,
        first: str, last: str, exclude: int | None = None, reenroll: tuple = (),
        own_person: bool = True,
    ) -> tuple[int, int, int | None]:
        wr = self.wr
        sid, dcid, num = wr.take("student"), wr.take("dcid"), wr.take("student_number")
        pid = self.person(first, last) if own_person else None
        if sasid is None:
            sasid = self.sasid()
        status = "0"
        if entry is not None and entry > D:
            status = "-1"  # pre-registered
        elif exit_ is not None and exit_ <= D:
            status = "2"  # left
        if school == GRADUATED:
            status = "3"
        wr.put(
            "students", ID=sid, DCID=dcid, Student_Number=num, State_StudentNumber=sasid,
            SchoolID=school, EntryDate=_d(entry), ExitDate=_d(exit_),
            State_ExcludeFromReporting=exclude, Enroll_Status=status or "0",
            Person_ID=pid, First_Name=first, Last_Name=last,
        )
        for r_school, r_entry, r_exit in reenroll:
            rid = wr.rows["reenrollments"] + 1
            wr.put(
                "reenrollments", StudentID=sid, SchoolID=r_school, EntryDate=_d(r_entry),
                ExitDate=_d(r_exit), DCID=800000 + rid, ID=600000 + rid,
            )
        self.students += 1
        return sid, dcid, pid

    def person(
        self, first: str | None, last: str | None, *, middle: str | None = None,
        active: int | None = 1, exclude: int | None = 0, pid: int | None = None,
    ) -> int:
        if pid is None:
            pid = self.wr.take("person")
        self.wr.put(
            "person", ID=pid, FirstName=first, LastName=last, DCID=pid + 100000,
            MiddleName=middle, IsActive=active, ExcludeFromStateReporting=exclude,
        )
        return pid

    def link(
        self, dcid: int, pid: int, priority: int | None, details: list[dict],
    ) -> int:
        aid = self.wr.take("sca")
        first_rel = details[0].get("rel") if details else None
        self.wr.put(
            "studentcontactassoc", StudentContactAssocID=aid, StudentDCID=dcid, PersonID=pid,
            ContactPriorityOrder=priority, CurrRelTypeCodeSetID=first_rel,
        )
        for d in details:
            self.wr.put(
                "studentcontactdetail", StudentContactDetailID=self.wr.take("scd"),
                StudentContactAssocID=aid, RelationshipTypeCodeSetID=d.get("rel"),
                IsCustodial=d.get("cust"), LivesWithFlg=d.get("lives"),
                IsActive=d.get("active", 1), StartDate=_d(d.get("start")),
                EndDate=_d(d.get("end")), ExcludeFromStateReportingFlg=d.get("excl", 0),
                IsEmergency=d.get("emerg", 0), ReceivesMailFlg=d.get("mail", 1),
                SchoolPickupFlg=d.get("pickup", 1),
            )
        return aid

    def phone(
        self, pid: int, type_id: int, *, entered: str | None, digits: str, ext: str = "",
        preferred: int | None = 0, when: datetime | None = None, priority: int | None = None,
    ) -> None:
        wr = self.wr
        key = (digits, ext)
        pnid = wr.phone_ids.get(key)
        if pnid is None:
            pnid = wr.take("pn")
            wr.phone_ids[key] = pnid
            wr.put("phonenumber", PhoneNumberID=pnid, PhoneNumber=digits, PhoneNumberExt=ext,
                   IsSMS=1 if type_id in (PHONE["Mobile"], PHONE["Cell"]) else 0)
        wr.put(
            "personphonenumberassoc", PersonPhoneNumberAssocID=wr.take("ppna"), PersonID=pid,
            PhoneNumberID=pnid, PhoneTypeCodeSetID=type_id, PhoneNumberAsEntered=entered,
            IsPreferred=preferred, PhoneNumberPriorityOrder=priority, WhenCreated=_ts(when),
        )

    def email_row(self, address: str) -> int:
        eid = self.wr.take("ea")
        self.wr.put("emailaddress", EmailAddressID=eid, EmailAddress=address)
        return eid

    def email(
        self, pid: int, eid: int, *, when: datetime | None, primary: int = 1,
        priority: int | None = 1, type_id: int | None = None,
    ) -> None:
        self.wr.put(
            "personemailaddressassoc", PersonEmailAddressAssocID=self.wr.take("peaa"),
            PersonID=pid, EmailAddressID=eid, EmailTypeCodeSetID=type_id or EMAIL["Current"],
            IsPrimaryEmailAddress=primary, EmailAddressPriorityOrder=priority,
            WhenCreated=_ts(when),
        )

    def address_row(
        self, street: str | None, city: str | None, state_id: int | None, zip_: str | None,
        *, unit: str | None = None, line2: str | None = None,
    ) -> int:
        aid = self.wr.take("pa")
        self.wr.put(
            "personaddress", PersonAddressID=aid, Street=street, City=city,
            StatesCodeSetID=state_id, PostalCode=zip_, LineTwo=line2, Unit=unit,
        )
        return aid

    def address(
        self, pid: int, addr_id: int, type_id: int, *, start: date | None = None,
        end: date | None = None, priority: int | None = 1, when: datetime | None = None,
    ) -> None:
        self.wr.put(
            "personaddressassoc", PersonAddressAssocID=self.wr.take("paa"), PersonID=pid,
            PersonAddressID=addr_id, AddressTypeCodeSetID=type_id, AddressPriorityOrder=priority,
            StartDate=_d(start), EndDate=_d(end), WhenCreated=_ts(when),
        )


# ----------------------------------------------------------------------------------------------
# Showcase: hand-shaped first students (deterministic, independent of the random draws)
# ----------------------------------------------------------------------------------------------

def _showcase(ds: _District, limit: int) -> None:
    """Every reason code of report.md for DEFAULT_AS_OF, and the blank/filled column cases."""
    t0 = datetime(2024, 8, 20, 9, 15, 0)
    t1 = datetime(2025, 3, 2, 14, 5, 30)
    t2 = datetime(2026, 9, 1, 8, 0, 0)
    y = (ELEMENTARY[0], YEAR_START, YEAR_END)
    cur = dict(rel=REL["Mother"], cust=1, lives=1, start=date(2019, 8, 28))

    def room() -> bool:
        return ds.students < limit

    # 1. Full row: every column 1-11 and 13 filled; siblings share this mother (two rows).
    if not room():
        return
    _, dcid_a, _ = ds.student(*y, first="Mateo", last="Peña", sasid="0012345678")
    mom = ds.person("María José", "Peña")
    ds.link(dcid_a, mom, 1, [cur])
    ds.phone(mom, PHONE["Home"], entered="(860) 555-0142", digits="8605550142", when=t0)
    ds.phone(mom, PHONE["Work"], entered="203-555-0100 ext. 7", digits="2035550100", ext="7",
             when=t0)
    ds.phone(mom, PHONE["Mobile"], entered="860.555.0143", digits="8605550143", preferred=1,
             when=t1)
    ds.phone(mom, PHONE["Cell"], entered="8605550144 x12", digits="8605550144", ext="12",
             preferred=1, when=t1)  # equal WhenCreated, both preferred: higher assoc ID wins
    ds.phone(mom, PHONE["Fax"], entered="860-555-0199", digits="8605550199", when=t2)
    ds.email(mom, ds.email_row("jose.pena@example.org"), when=t1)
    ds.email(mom, ds.email_row("old.pena@example.com"), when=None)  # NULL = oldest
    home = ds.address_row("12 Oak St\nRear", "Hartford", STATE["CT"], "06103",
                          unit="Unit 2", line2='Apt 4, Bldg "B"')
    ds.address(mom, home, ADDR["Home"], start=date(2020, 1, 1), when=t0)
    ds.address(mom, ds.address_row("9 Elm Rd", "Hartford", STATE["CT"], "06105"), ADDR["Home"],
               start=date(2015, 1, 1), end=date(2019, 12, 31), when=t0)  # past
    ds.address(mom, ds.address_row("77 Future Ln", "Glastonbury", STATE["CT"], "06033"),
               ADDR["Home"], start=date(2027, 1, 1), when=t2)  # future
    ds.address(mom, ds.address_row("1 Office Park", "Hartford", STATE["CT"], "06103"),
               ADDR["Work"], when=t2)  # Work type: never used
    if room():
        _, dcid_b, _ = ds.student(ELEMENTARY[0], YEAR_START, YEAR_END, first="Lucía",
                                  last="Peña")
        ds.link(dcid_b, mom, 1, [cur])
        dad = ds.person("José", "Peña")  # only a mobile phone: e-mail and address blank
        for dc in (dcid_a, dcid_b):
            ds.link(dc, dad, 2, [dict(rel=REL["Father"], cust=1, lives=1)])
        ds.phone(dad, PHONE["Mobile"], entered="(203) 555-0177", digits="2035550177", when=t1)

    # 2. Father with the blanks: no e-mail, no address (no_address), no phones, lives elsewhere.
    if not room():
        return
    _, dcid, own = ds.student(MIDDLE, YEAR_START, YEAR_END, first="Liam", last="O'Neil")
    dad = ds.person("Sean", "O'Neil")
    ds.link(dcid, dad, 1, [dict(rel=REL["Father"], cust=1, lives=0, start=date(2018, 9, 1))])
    ds.phone(dad, PHONE["Daytime"], entered="860-555-0150", digits="8605550150", when=t1)
    # contact_is_student: the student's own Person row linked as a contact.
    ds.link(dcid, own, 2, [dict(rel=REL["Self"], cust=1, lives=1, start=YEAR_START)])
    # contact_missing: a PersonID with no Person row.
    ghost = ds.wr.take("person")
    ds.link(dcid, ghost, 3, [dict(rel=REL["Aunt"], cust=1, lives=0)])
    # Mother: address without street (Address blank, City filled), state Not Set, ZIP missing.
    m2 = ds.person("Anne-Marie", "O'Neil")
    ds.link(dcid, m2, 2, [dict(rel=REL["Mother"], cust=1, lives=1)])
    ds.address(m2, ds.address_row(None, "New London", STATE["Not Set"], None), ADDR["Home"],
               when=t1)
    ds.email(m2, ds.email_row("am.oneil@example.com"), when=t1)
    ds.phone(m2, PHONE["Home"], entered="n/a", digits="", preferred=1, when=t2)  # phone_invalid
    ds.phone(m2, PHONE["Home"], entered="", digits="8605550151", ext="", when=t1)  # digits only
    ds.phone(m2, PHONE["Mobile"], entered="555-01", digits="55501", when=t2)  # too short
    ds.phone(m2, PHONE["Mobile"], entered=None, digits="8605550152", ext="1234", when=t0)

    # 3. Pair exclusions, one per reason, on one student.
    if not room():
        return
    _, dcid, _ = ds.student(HIGH, YEAR_START, YEAR_END, first="Nguyễn Thị", last="Lan")
    p = ds.person("Lan", "Nguyễn Thị")  # reported: mother via ReportedValue-only code
    ds.link(dcid, p, 1, [dict(rel=REL["Tutor-Parent"], cust=1, lives=1)])
    ds.email(p, ds.email_row("no-at-sign.example.com"), when=t2)  # email_invalid (latest)
    ds.email(p, ds.email_row("lan.nguyen@example.org"), when=t1)
    p = ds.person("Past", "Only")  # no_current_relationship: past + future detail only
    ds.link(dcid, p, 2, [dict(rel=REL["Father"], cust=1, lives=0, start=date(2015, 1, 1),
                              end=date(2026, 6, 30)),
                         dict(rel=REL["Father"], cust=1, lives=0, start=date(2027, 1, 1))])
    p = ds.person("Rel", "Excluded")
    ds.link(dcid, p, 3, [dict(rel=REL["Father"], cust=1, lives=0, excl=1)])
    p = ds.person("Contact", "Excluded", exclude=1)
    ds.link(dcid, p, 4, [dict(rel=REL["Guardian"], cust=1, lives=0)])
    p = ds.person("Inactive", "Person", active=0)
    ds.link(dcid, p, 5, [dict(rel=REL["Grandmother"], cust=1, lives=0)])
    p = ds.person("No", "Type")
    ds.link(dcid, p, 6, [dict(rel=None, cust=1, lives=0)])
    p = ds.person("Wrong", "Codetype")  # detail points at a Phone CodeSet row
    ds.link(dcid, p, 7, [dict(rel=PHONE["Home"], cust=1, lives=0)])
    p = ds.person("Big", "Brother")
    ds.link(dcid, p, 8, [dict(rel=REL["Sibling"], cust=1, lives=1)])
    p = ds.person("Non", "Custodial")
    ds.link(dcid, p, 9, [dict(rel=REL["Aunt"], cust=0, lives=0)])
    p = ds.person("Blank", "Custody")
    ds.link(dcid, p, 10, [dict(rel=REL["Uncle"], cust=None, lives=0)])
    p = ds.person(None, "  ")
    ds.link(dcid, p, 11, [dict(rel=REL["Guardian"], cust=1, lives=0)])
    p = ds.person("Dup", "Licate")  # duplicate_association: same PersonID twice
    ds.link(dcid, p, 12, [dict(rel=REL["Grandma"], cust=1, lives=0)])
    ds.link(dcid, p, 13, [dict(rel=REL["Grandma"], cust=1, lives=0)])
    ds.phone(p, PHONE["Cell"], entered="0203 555 0100", digits="02035550100", when=t1)

    # 4. Field warnings on one student's contacts.
    if not room():
        return
    _, dcid, _ = ds.student(ELEMENTARY[1], YEAR_START, YEAR_END, first="Ava", last="Kowalski")
    long_last = "Kowalski-" + "Wiśniewska" * 13  # over 128 characters
    p = ds.person("Marta", long_last)
    ds.link(dcid, p, 1, [dict(rel=REL["Mother"], cust=1, lives=1)])
    ds.address(p, ds.address_row("1200 " + "Long Meadow Brook Farm " * 3 + "Road",
                                 "Windsor Locks Center of the Universe and Surrounding Villages "
                                 "Of Connecticut", STATE["Conn"], "6103"), ADDR["Home"], when=t1)
    long_email = "a" * 60 + "@example.com"  # 72 characters: invalid
    ds.email(p, ds.email_row(long_email), when=t2)
    ds.email(p, ds.email_row("a@b"), when=t1)
    p = ds.person("Tomasz", "Kowalski")
    ds.link(dcid, p, 2, [dict(rel=REL["Father"], cust=1, lives=0)])
    ds.address(p, ds.address_row("45 Park Ave", "Brooklyn", STATE["NY"], "112011234"),
               ADDR["Mailing"], when=t1)
    ds.address(p, ds.address_row("46 Park Ave", "Brooklyn", STATE["NY"], "11201-1234"),
               ADDR["Mailing"], priority=None, when=t2)

    # 5. Student-level exclusions and edge students.
    specs = (
        dict(school=HIGH, sasid=None, exclude=1),             # student_excluded
        dict(school=EXCLUDED_SCHOOL, sasid=None),             # school_excluded
        dict(school=MIDDLE, sasid=""),                        # missing_sasid
        dict(school=MIDDLE, sasid="12345"),                   # invalid_sasid
        dict(school=HIGH, sasid="AB12345678"),                # invalid_sasid
        dict(school=HIGH, sasid=" 0123456789 "),              # cleaned, valid
        dict(school=NO_ROW_SCHOOL, sasid=None),               # no Schools row: stays in
    )
    for spec in specs:
        if not room():
            return
        _, dcid, _ = ds.student(spec["school"], YEAR_START, YEAR_END, sasid=spec["sasid"],
                                exclude=spec.get("exclude"), first="Showcase", last="Student")
        p = ds.person(ds.fake.first_name_female(), "Student")
        ds.link(dcid, p, 1, [cur])

    # 6. No contact at all (no_reportable_contact); mid-year transfer; effective-detail ties.
    if not room():
        return
    ds.student(ELEMENTARY[2], YEAR_START, YEAR_END, first="Noah", last="Alone")
    if not room():
        return
    _, dcid, _ = ds.student(ELEMENTARY[2], date(2026, 10, 5), YEAR_END, first="Emma",
                            last="Mover", reenroll=((ELEMENTARY[0], YEAR_START, date(2026, 10, 5)),
                                                    (ELEMENTARY[0], LAST_START, LAST_END)))
    p = ds.person("Grace", "Mover")
    ds.link(dcid, p, None, [
        dict(rel=REL["Grandmother"], cust=1, lives=1, active=0, start=date(2026, 1, 1)),
        dict(rel=REL["Guardian"], cust=1, lives=0, active=1, start=date(2025, 1, 1)),
        dict(rel=REL["Guardian"], cust=1, lives=1, active=1, start=date(2025, 1, 1), end=D),
    ])
    ds.address(p, ds.address_row("3 Pine St", "Norwich", STATE["CT"], "06360-1234"),
               ADDR["Home"], when=t1)


# ----------------------------------------------------------------------------------------------
# Random households
# ----------------------------------------------------------------------------------------------

class _Random:
    def __init__(self, ds: _District) -> None:
        self.ds, self.rng = ds, ds.rng

    def when(self, lo_year: int = 2016) -> datetime | None:
        r = self.rng
        if r.random() < 0.05:
            return None
        base = datetime(lo_year, 1, 1)
        span = int((datetime(2026, 11, 15) - base).total_seconds())
        return base + timedelta(seconds=r.randrange(span))

    def school_for(self) -> tuple[int, int]:
        r = self.rng
        grade = r.randrange(13)
        if r.random() < 0.01:
            return EXCLUDED_SCHOOL, 12
        if r.random() < 0.003:
            return NO_ROW_SCHOOL, grade
        if grade <= 5:
            return r.choices(ELEMENTARY, weights=(40, 35, 25))[0], grade
        if grade <= 8:
            return MIDDLE, grade
        return HIGH, grade

    def sasid(self) -> str | None:
        r = self.rng
        x = r.random()
        if x < 0.003:
            return ""
        if x < 0.006:
            return r.choice(("12345", "AB12345678", "123456789", "12345678901", "N/A"))
        if x < 0.011:
            return " " + self.ds.sasid() + r.choice(("", " ", "  "))
        return None

    def student(self, last: str) -> int:
        ds, r = self.ds, self.rng
        school, grade = self.school_for()
        first = r.choice(ds.first_f if r.random() < 0.49 else ds.first_m)
        reenroll: list[tuple[int, date | None, date | None]] = []
        if grade >= 1 and school not in (EXCLUDED_SCHOOL, NO_ROW_SCHOOL) and r.random() < 0.6:
            prev = school if grade not in (6, 9) else (
                r.choice(ELEMENTARY) if grade == 6 else MIDDLE)
            reenroll.append((prev, LAST_START, LAST_END))
        x = r.random()
        entry: date | None = YEAR_START
        exit_: date | None = YEAR_END
        if x < 0.86:
            pass
        elif x < 0.90:  # late entry, by D
            entry = YEAR_START + timedelta(days=r.randrange(1, (D - YEAR_START).days + 1))
        elif x < 0.925:  # mid-year transfer inside the district
            t = YEAR_START + timedelta(days=r.randrange(10, (D - YEAR_START).days + 1))
            old = r.choice([s for s in (*ELEMENTARY, MIDDLE, HIGH) if s != school])
            reenroll.append((old, YEAR_START, t))
            entry = t
        elif x < 0.95:  # exited before D
            exit_ = YEAR_START + timedelta(days=r.randrange(5, (D - YEAR_START).days + 1))
        elif x < 0.965:  # pre-registered
            entry = D + timedelta(days=r.randrange(1, 60))
        elif x < 0.98:  # graduated
            school, entry, exit_ = GRADUATED, LAST_END, LAST_END
            reenroll = [(HIGH, LAST_START, LAST_END)]
        elif x < 0.985:  # no-show: ExitDate = EntryDate
            exit_ = entry
        elif x < 0.988:  # missing EntryDate
            entry = None
        exclude = 1 if r.random() < 0.004 else (0 if r.random() < 0.5 else None)
        _, dcid, _ = ds.student(school, entry, exit_, sasid=self.sasid(), first=first,
                                last=last, exclude=exclude, reenroll=tuple(reenroll))
        return dcid

    def contact_roles(self, n: int) -> list[str]:
        r = self.rng
        first = r.choices(("Mother", "Father", "Guardian", "Legal Guardian", "Foster Parent",
                           "Grandmother", "Surrogate Parent", "Agency Representative"),
                          weights=(78, 12, 3, 2, 2, 2, 0.5, 0.5))[0]
        second = r.choices(("Father", "Mother", "Stepfather", "Stepmother", "Tutor-Parent"),
                           weights=(80, 5, 8, 5, 2))[0]
        third = r.choices(("Grandmother", "Grandfather", "Aunt", "Uncle", "Grandma", "Other"),
                          weights=(35, 20, 15, 15, 10, 5))[0]
        fourth = r.choices(("Neighbor", "Friend", "Sibling", "Doctor", "Other", "Babysitter"),
                           weights=(30, 30, 15, 5, 15, 5))[0]
        return [first, second, third, fourth][:n]

    def household(self, n_students: int) -> None:
        ds, r = self.ds, self.rng
        last = r.choice(ds.last)
        dcids = [self.student(last) for _ in range(n_students)]
        if r.random() < 0.01:
            return  # no contact at all
        n_contacts = r.choices((1, 2, 3, 4), weights=(12, 58, 20, 10))[0]
        roles = self.contact_roles(n_contacts)
        town, town_zip = r.choice(_CT_TOWNS)
        home_id = self._home_address(town, town_zip)
        family_email: int | None = None
        if r.random() < 0.25:
            family_email = ds.email_row(f"{_ascii(last)}.family{r.randrange(1000)}@example.com")
        for i, role in enumerate(roles):
            female = role in ("Mother", "Stepmother", "Grandmother", "Aunt", "Grandma") or (
                role not in ("Father", "Stepfather", "Grandfather", "Uncle") and r.random() < 0.5)
            first = r.choice(ds.first_f if female else ds.first_m)
            plast = last if i < 2 and r.random() < 0.8 else r.choice(ds.last)
            x = r.random()
            active = 0 if x < 0.008 else (None if x < 0.3 else 1)
            y = r.random()
            excl = 1 if y < 0.005 else (None if y < 0.5 else 0)
            if r.random() < 0.001:
                first, plast = None, None
            middle = r.choice(ds.first_f if female else ds.first_m) if r.random() < 0.2 else None
            pid = ds.person(first, plast, middle=middle, active=active, exclude=excl)
            lives_home = i < 2 and not (i == 1 and r.random() < 0.2)
            for dcid in dcids:
                self._link(dcid, pid, i + 1, role, lives_home)
            self._phones(pid, r.choices((0, 1, 2, 3, 4, 5), weights=(5, 20, 35, 25, 10, 5))[0])
            self._emails(pid, first or "x", plast or "y", family_email if i < 2 else None)
            self._addresses(pid, home_id if lives_home else None)

    def _link(self, dcid: int, pid: int, priority: int, role: str, lives: bool) -> None:
        ds, r = self.ds, self.rng
        parent = role in ("Mother", "Father", "Guardian", "Legal Guardian", "Foster Parent",
                          "Stepmother", "Stepfather", "Tutor-Parent", "Surrogate Parent",
                          "Agency Representative")
        cust: int | None
        if parent:
            cust = 1 if r.random() < 0.95 else 0
        else:
            cust = r.choice((0, 0, None, 1))
        start = date(2014 + r.randrange(12), 1 + r.randrange(12), 1)
        cur = dict(rel=REL[role], cust=cust, lives=1 if lives else 0,
                   start=start if r.random() < 0.9 else None, excl=1 if r.random() < 0.004 else 0,
                   emerg=0 if parent else 1)
        details = []
        x = r.random()
        if x < 0.005:  # only a past row
            cur["end"] = date(2026, 6, 30)
            details = [cur]
        elif x < 0.065:  # an ended row, then the current one
            details = [dict(cur, start=date(2012, 9, 1), end=start - timedelta(days=1)), cur]
        elif x < 0.085:  # a future row too
            details = [cur, dict(cur, start=date(2027, 1, 1), cust=1)]
        elif x < 0.095:  # two current rows, IsActive breaks the tie
            details = [dict(cur, active=0, rel=REL["Other"]), cur]
        else:
            details = [cur]
        ds.link(dcid, pid, priority if r.random() < 0.97 else None, details)
        if r.random() < 0.003:  # the same person entered twice for the student
            ds.link(dcid, pid, priority + 1, [dict(cur)])

    def _phones(self, pid: int, n: int) -> None:
        ds, r = self.ds, self.rng
        batch = self.when()
        types = ("Mobile", "Home", "Cell", "Work", "Daytime", "Fax")
        for j in range(n):
            t = r.choices(types, weights=(35, 25, 15, 15, 6, 4))[0]
            type_id = PHONE[t]
            if r.random() < 0.002:
                type_id = REL["Other"]  # assoc pointing at a Relationship CodeSet row
            digits = r.choice(_AREA) + "55501" + f"{r.randrange(100):02d}"
            ext = ""
            if t == "Work" and r.random() < 0.3:
                ext = r.choice(("7", "12", "101", "204", "1234"))
            x = r.random()
            if x < 0.015:
                entered: str | None = "n/a"
                digits, ext = "", ""
            elif x < 0.03:
                entered = "555-01"
                digits, ext = "55501", ""
            elif x < 0.10:
                entered = None if r.random() < 0.5 else ""  # only the digits table has it
            else:
                entered = _phone_forms(digits, ext, r.randrange(4))
            when = batch if r.random() < 0.5 else self.when()
            preferred: int | None = 1 if (j == 0 and r.random() < 0.5) or r.random() < 0.1 else 0
            if r.random() < 0.2:
                preferred = None
            ds.phone(pid, type_id, entered=entered, digits=digits, ext=ext,
                     preferred=preferred, when=when, priority=j + 1 if r.random() < 0.8 else None)

    def _emails(self, pid: int, first: str, last: str, family: int | None) -> None:
        ds, r = self.ds, self.rng
        n = r.choices((0, 1, 2, 3), weights=(15, 60, 20, 5))[0]
        for j in range(n):
            if j == 0 and family is not None and r.random() < 0.7:
                eid = family
            else:
                x = r.random()
                if x < 0.01:
                    addr = "no-at-sign.example.com"
                elif x < 0.02:
                    addr = "a@b"
                else:
                    dom = "example.com" if r.random() < 0.6 else "example.org"
                    addr = f"{_ascii(first)}.{_ascii(last)}{r.randrange(100)}@{dom}"
                    if r.random() < 0.05:
                        addr = addr.capitalize()
                eid = ds.email_row(addr)
            ds.email(pid, eid, when=self.when(), primary=1 if j == 0 else 0,
                     priority=j + 1, type_id=EMAIL["Work" if j == 2 else "Current"])

    def _home_address(self, town: str, town_zip: str) -> int:
        ds, r = self.ds, self.rng
        street = r.choice(ds.streets)
        unit = None
        if " Apt. " in street or " Suite " in street:
            street, _, unit = street.partition(" Apt. ") if " Apt. " in street else \
                street.partition(" Suite ")
            unit = ("Apt " if r.random() < 0.7 else "Unit ") + unit
        line2 = "Rear" if r.random() < 0.03 else None
        zip_ = town_zip
        x = r.random()
        if x < 0.2:
            zip_ = f"{town_zip}-{r.randrange(10000):04d}"
        elif x < 0.3:
            zip_ = f"{town_zip}{r.randrange(10000):04d}"
        elif x < 0.305:
            zip_ = town_zip[1:]  # leading zero lost by a spreadsheet
        elif x < 0.31:
            zip_ = ""
        state = STATE["CT"]
        y = r.random()
        if y < 0.01:
            state = STATE["Not Set"]
        elif y < 0.012:
            state = STATE["Conn"]
        return ds.address_row(street, town, state, zip_, unit=unit, line2=line2)

    def _addresses(self, pid: int, home_id: int | None) -> None:
        ds, r = self.ds, self.rng
        if r.random() < 0.06:
            return
        when = self.when()
        if home_id is None:
            if r.random() < 0.12:
                st = r.choice(("NY", "MA", "RI"))
                home_id = ds.address_row(r.choice(ds.streets), r.choice(ds.cities), STATE[st],
                                         f"{r.randrange(1000, 3000):05d}")
            else:
                town, z = r.choice(_CT_TOWNS)
                home_id = ds.address_row(r.choice(ds.streets), town, STATE["CT"], z)
        moved_in = date(2016 + r.randrange(10), 1 + r.randrange(12), 1)
        ds.address(pid, home_id, ADDR["Home"], start=moved_in if r.random() < 0.7 else None,
                   priority=1 if r.random() < 0.9 else None, when=when)
        if r.random() < 0.2:  # previous home, ended
            town, z = r.choice(_CT_TOWNS)
            old = ds.address_row(r.choice(ds.streets), town, STATE["CT"], z)
            ds.address(pid, old, ADDR["Home"], start=date(2010, 7, 1),
                       end=moved_in - timedelta(days=1), priority=1, when=self.when(2010))
        if r.random() < 0.03:  # moving after D
            town, z = r.choice(_CT_TOWNS)
            new = ds.address_row(r.choice(ds.streets), town, STATE["CT"], z)
            ds.address(pid, new, ADDR["Home"], start=D + timedelta(days=r.randrange(1, 90)),
                       priority=1, when=self.when())
        if r.random() < 0.10:
            town, z = r.choice(_CT_TOWNS)
            box = ds.address_row(f"PO Box {r.randrange(1, 9999)}", town, STATE["CT"], z)
            ds.address(pid, box, ADDR["Mailing"], priority=2, when=self.when())
        if r.random() < 0.08:
            town, z = r.choice(_CT_TOWNS)
            work = ds.address_row(r.choice(ds.streets), town, STATE["CT"], z,
                                  line2=r.choice(ds.companies))
            ds.address(pid, work, ADDR["Work"], priority=3, when=self.when())


def generate(
    out_dir: Path,
    students: int = DEFAULT_STUDENTS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write the extract folder into out_dir; return file name → data rows written."""
    if students < 0:
        raise ValueError("students must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    with ExitStack() as stack:
        wr = _Writer(out_dir, stack)
        for num, name, excl, dcid in SCHOOLS:
            wr.put("schools", School_Number=num, DCID=dcid, Name=name,
                   State_ExcludeFromReporting=excl)
        for cid, ctype, code, display, reported in _CODESET:
            wr.put("codeset", CodeSetID=cid, CodeType=ctype, Code=code, DisplayValue=display,
                   ReportedValue=reported, Description=display)
        ds = _District(wr, rng, fake, seed)
        _showcase(ds, students)
        rand = _Random(ds)
        step = max(10_000, students // 20)
        next_report = step
        while ds.students < students:
            size = rng.choices((1, 2, 3), weights=(55, 33, 12))[0]
            rand.household(min(size, students - ds.students))
            if progress is not None and ds.students >= next_report:
                progress(f"{ds.students} of {students} students written")
                next_report += step
        rows = {TABLES[name].file_name: wr.rows[name] for name in TABLES}
    if progress is not None:
        progress(f"{students} students written to {len(rows)} files")
    return rows
