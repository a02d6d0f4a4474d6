"""HR exports read through a column mapping: value maps, date formats, all-or-nothing errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from auditor.model.errors import ConnectorError
from auditor.model.types import PersonKind, PersonStatus, RosterEntry
from connectors.roster.base import RosterFileError
from connectors.roster.generic_csv import CsvMapping, MappedCsvSource

TODAY = date(2026, 11, 20)

# What a district would put in its configuration file under [roster.sources.hr.mapping].
MAPPING = {
    "columns": {
        "employee_id": "Employee #",
        "email": "Work Email",
        "given_name": "First Name",
        "family_name": "Last Name",
        "role": "Position Title",
        "building": "Location",
        "status": "Employment Status",
        "role_began_on": "Position Start",
        "left_on": "Termination Date",
        "kind": "Worker Type",
    },
    "status_values": {"Terminated": "departed", "LOA": "on_leave", "Active": "active", "Retired": "departed"},
    "kind_values": {"Sub": "employee", "Coach (Volunteer)": "volunteer"},
    "date_formats": ["%m/%d/%Y", "%Y-%m-%d"],
}

HEADER = (
    "Employee #,Last Name,First Name,Work Email,Position Title,Location,Employment Status,"
    "Position Start,Termination Date,Worker Type\n"
)


def write(tmp_path: Path, body: str, name: str = "hr.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def source(path: Path) -> MappedCsvSource:
    return MappedCsvSource(path, CsvMapping.from_dict(MAPPING), today=TODAY)


def test_mapped_export_becomes_roster_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "1001,Doe,Jane,JDoe@Springfield.k12.us,Communications Director,District Office,Active,08/01/2024,,\n"
        "1002,Smith,Bob,bsmith@springfield.k12.us,Teacher,Lincoln High,Terminated,08/20/2015,10/31/2026,\n"
        "1003,Gray,Cal,cgray@springfield.k12.us,Teacher,Lincoln High,LOA,2019-08-20,,Sub\n"
        # Status still says active but the termination date has passed: departed.
        "1004,Old,Al,al@springfield.k12.us,Aide,Washington,Active,08/20/2015,11/01/2026,\n"
        '1005,"Lee, Jr.",Kim,,Head Coach,Lincoln High,active,2020-03-01,,Coach (Volunteer)\n',
    )
    entries = source(path).fetch()
    assert entries[0] == RosterEntry(
        source_id="1001",
        email="jdoe@springfield.k12.us",
        name="Jane Doe",
        kind=PersonKind.EMPLOYEE,
        role="Communications Director",
        building="District Office",
        status=PersonStatus.ACTIVE,
        employee_id="1001",
        role_began_on=date(2024, 8, 1),
    )
    assert [(e.employee_id, e.status, e.left_on) for e in entries[1:4]] == [
        ("1002", PersonStatus.DEPARTED, date(2026, 10, 31)),
        ("1003", PersonStatus.ON_LEAVE, None),
        ("1004", PersonStatus.DEPARTED, date(2026, 11, 1)),
    ]
    assert (entries[4].name, entries[4].email, entries[4].kind) == ("Kim Lee, Jr.", "", PersonKind.VOLUNTEER)


@pytest.mark.parametrize(
    ("row", "message", "column"),
    [
        (
            "1003,Gray,Cal,cgray@x.us,Teacher,LHS,Sabbatical,2019-08-20,,\n",
            "hr.csv, line 3, column 'Employment Status': 'Sabbatical' is not a known status",
            "Employment Status",
        ),
        (
            "1003,Gray,Cal,cgray@x.us,Teacher,LHS,Active,20.08.2019,,\n",
            "hr.csv, line 3, column 'Position Start': '20.08.2019' is not a date in the format "
            "%m/%d/%Y or %Y-%m-%d",
            "Position Start",
        ),
        (
            "1003,Gray,Cal,cgray at x.us,Teacher,LHS,Active,,,\n",
            "hr.csv, line 3, column 'Work Email': 'cgray at x.us' is not an email address",
            "Work Email",
        ),
        (
            "1001,Gray,Cal,cgray@x.us,Teacher,LHS,Active,,,\n",
            "hr.csv, line 3, column 'Employee #': '1001' also appears on line 2",
            "Employee #",
        ),
        (
            "1003,Gray,Cal,cgray@x.us,Teacher,LHS,Active,,\n",
            "hr.csv, line 3, column 'Worker Type': has 9 cells but the header names 10",
            "Worker Type",
        ),
        (
            ",Gray,Cal,,Teacher,LHS,Active,,,\n",
            "hr.csv, line 3, column 'Work Email': is empty: each row needs an email or an employee id",
            "Work Email",
        ),
    ],
)
def test_a_bad_row_names_line_and_column_and_nothing_is_returned(
    tmp_path: Path, row: str, message: str, column: str
) -> None:
    good = "1001,Doe,Jane,jdoe@x.us,Teacher,LHS,Active,,,\n"
    src = source(write(tmp_path, good + row + "1009,Last,Row,last@x.us,Teacher,LHS,Active,,,\n"))
    result: list[RosterEntry] | None = None
    with pytest.raises(RosterFileError) as info:
        result = src.fetch()
    assert result is None  # all-or-nothing: not even the good first row
    assert str(info.value) == message
    assert (info.value.line, info.value.column) == (3, column)


def test_unknown_status_hint_lists_the_known_words(tmp_path: Path) -> None:
    with pytest.raises(RosterFileError) as info:
        source(write(tmp_path, "1,D,J,j@x.us,T,L,Sabbatical,,,\n")).fetch()
    assert "add it to status_values" in info.value.hint and "'loa'" in info.value.hint


def test_missing_mapped_column_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_text("Employee #,Work Email\n1,a@x.us\n", encoding="utf-8")
    with pytest.raises(RosterFileError) as info:
        source(path).fetch()
    assert (info.value.line, info.value.column) == (1, "First Name")
    assert str(info.value) == "hr.csv, line 1, column 'First Name': is missing from the header"


def test_semicolon_latin1_export_and_minimal_mapping(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("Mail;Nom;Adulte\nzoe@x.us;Zoé Roux;non\n".encode("latin-1"))
    mapping = CsvMapping.from_dict(
        {
            "columns": {"email": "Mail", "name": "Nom", "adult": "Adulte"},
            "delimiter": ";",
            "encoding": "latin-1",
            "full_snapshot": False,
        }
    )
    src = MappedCsvSource(path, mapping, today=TODAY)
    with pytest.raises(
        RosterFileError, match=r"^export.csv, line 2, column 'Adulte': 'non' is not yes or no"
    ):
        src.fetch()
    path.write_bytes("Mail;Nom;Adulte\nzoe@x.us;Zoé Roux;no\n".encode("latin-1"))
    snap = src.snapshot()
    assert snap.full is False
    assert snap.entries == (
        RosterEntry(source_id="zoe@x.us", email="zoe@x.us", name="Zoé Roux", adult=False),
    )


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "1,D,J,j@x.us,T,L,Active,,,\n")
    path.write_bytes(path.read_bytes() + "2,Roux,Zoé,z@x.us,T,L,Active,,,\n".encode("latin-1"))
    with pytest.raises(RosterFileError, match=r"^hr.csv, line 3: is not valid utf-8 text"):
        source(path).fetch()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"columns": {"mail": "x"}}, "roster mapping: unknown field(s) mail"),
        ({"columns": {"name": "x"}}, "roster mapping: map at least one of email and employee_id"),
        ({"columns": {"email": "x"}, "status_values": {"Gone": "vanished"}}, "roster mapping: status value"),
        ({"columns": {"email": "x"}, "colums": {}}, "roster mapping: unknown key(s) colums"),
    ],
)
def test_bad_mappings_are_configuration_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConnectorError) as info:
        CsvMapping.from_dict(data)
    assert str(info.value).startswith(message)
