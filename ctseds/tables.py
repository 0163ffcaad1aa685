"""The PowerSchool tables the pipeline reads (authoritative list: spec/input.md).

One place names every table, column, column kind and primary key; the loader validates
against it and the staging models type what it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["int", "date", "timestamp", "flag", "text"]


@dataclass(frozen=True)
class Column:
    header: str  # spelling in input.md; files match it case-insensitively
    kind: Kind
    required: bool

    @property
    def name(self) -> str:
        """Raw-table column name: the header in lower case."""
        return self.header.lower()


@dataclass(frozen=True)
class Table:
    name: str  # raw table name and file stem (lower case)
    columns: tuple[Column, ...]
    keys: tuple[str, ...]  # headers of unique, non-missing key columns (each unique alone)

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    def column(self, header: str) -> Column:
        for col in self.columns:
            if col.header.lower() == header.lower():
                return col
        raise KeyError(header)


def _cols(required: str, optional: str = "") -> tuple[Column, ...]:
    """Parse 'Name:kind' lists; kind defaults to int for *ID/…Number columns given explicitly."""
    out: list[Column] = []
    for spec, req in ((required, True), (optional, False)):
        for item in spec.split():
            header, kind = item.split(":")
            out.append(Column(header, kind, req))  # type: ignore[arg-type]
    return tuple(out)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "students",
            _cols(
                "ID:int DCID:int Student_Number:int State_StudentNumber:text SchoolID:int "
                "EntryDate:date ExitDate:date",
                "State_ExcludeFromReporting:flag Enroll_Status:text Person_ID:int "
                "First_Name:text Last_Name:text",
            ),
            ("ID", "DCID"),
        ),
        Table(
            "reenrollments",
            _cols("StudentID:int SchoolID:int EntryDate:date ExitDate:date", "DCID:int ID:int"),
            (),
        ),
        Table(
            "schools",
            _cols("School_Number:int", "DCID:int Name:text State_ExcludeFromReporting:flag"),
            ("School_Number",),
        ),
        Table(
            "person",
            _cols(
                "ID:int FirstName:text LastName:text",
                "DCID:int MiddleName:text IsActive:flag ExcludeFromStateReporting:flag",
            ),
            ("ID",),
        ),
        Table(
            "studentcontactassoc",
            _cols(
                "StudentContactAssocID:int StudentDCID:int PersonID:int",
                "ContactPriorityOrder:int CurrRelTypeCodeSetID:int",
            ),
            ("StudentContactAssocID",),
        ),
        Table(
            "studentcontactdetail",
            _cols(
                "StudentContactDetailID:int StudentContactAssocID:int "
                "RelationshipTypeCodeSetID:int IsCustodial:flag LivesWithFlg:flag",
                "IsActive:flag StartDate:date EndDate:date ExcludeFromStateReportingFlg:flag "
                "IsEmergency:flag ReceivesMailFlg:flag SchoolPickupFlg:flag",
            ),
            ("StudentContactDetailID",),
        ),
        Table(
            "personaddressassoc",
            _cols(
                "PersonAddressAssocID:int PersonID:int PersonAddressID:int "
                "AddressTypeCodeSetID:int",
                "AddressPriorityOrder:int StartDate:date EndDate:date WhenCreated:timestamp",
            ),
            ("PersonAddressAssocID",),
        ),
        Table(
            "personaddress",
            _cols(
                "PersonAddressID:int Street:text City:text StatesCodeSetID:int PostalCode:text",
                "LineTwo:text Unit:text CountryCodeSetID:int",
            ),
            ("PersonAddressID",),
        ),
        Table(
            "personemailaddressassoc",
            _cols(
                "PersonEmailAddressAssocID:int PersonID:int EmailAddressID:int",
                "EmailTypeCodeSetID:int IsPrimaryEmailAddress:flag "
                "EmailAddressPriorityOrder:int WhenCreated:timestamp",
            ),
            ("PersonEmailAddressAssocID",),
        ),
        Table(
            "emailaddress",
            _cols("EmailAddressID:int EmailAddress:text"),
            ("EmailAddressID",),
        ),
        Table(
            "personphonenumberassoc",
            _cols(
                "PersonPhoneNumberAssocID:int PersonID:int PhoneNumberID:int "
                "PhoneTypeCodeSetID:int",
                "PhoneNumberAsEntered:text IsPreferred:flag PhoneNumberPriorityOrder:int "
                "WhenCreated:timestamp",
            ),
            ("PersonPhoneNumberAssocID",),
        ),
        Table(
            "phonenumber",
            _cols("PhoneNumberID:int PhoneNumber:text", "PhoneNumberExt:text IsSMS:flag"),
            ("PhoneNumberID",),
        ),
        Table(
            "codeset",
            _cols(
                "CodeSetID:int CodeType:text Code:text",
                "DisplayValue:text ReportedValue:text Description:text",
            ),
            ("CodeSetID",),
        ),
    )
}

# Value patterns of input.md, applied after removing spaces at both ends.
INT_PATTERN = r"^[0-9]+(\.0)?$"
DATE_PATTERNS = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$")
TIMESTAMP_PATTERNS = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?$",
    r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?( [AaPp][Mm])?$",
)
FLAG_TRUE = ("1", "true", "y")
FLAG_FALSE = ("0", "false", "n")
