"""OneRoster 1.1 and 1.2 CSV exports, as folders and as zips, with the reference's real headers."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest

from auditor.model.errors import InputError
from auditor.model.types import PersonKind, PersonStatus, RosterEntry
from connectors.roster.base import RosterFileError
from connectors.roster.oneroster_csv import OneRosterCsvSource

TODAY = date(2026, 11, 20)

USERS_1P1 = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)
USERS_1P2 = (
    "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,"
    "identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,"
    "preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n"
)
ROLES_1P2 = (
    "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,"
    "userProfileSourcedId\n"
)
ORGS = (
    "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    "dist1,,,Springfield Public Schools,district,SPS,\n"
    "lhs,,,Lincoln High School,school,LHS,dist1\n"
    "wms,,,Washington Middle School,school,WMS,dist1\n"
)


def manifest(version: str, users: str = "bulk", **files: str) -> str:
    rows = [
        "propertyName,value",
        "manifest.version,1.0",
        f"oneroster.version,{version}",
        f"file.users,{users}",
    ]
    rows += [f"file.{k},{v}" for k, v in files.items()]
    rows += ["source.systemName,PowerSchool", "source.systemCode,PS"]
    return "\n".join(rows) + "\n"


def write_folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def write_zip(path: Path, files: dict[str, str], prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(prefix + name, text)
    return path


def v1p1_files(users_mode: str = "bulk", rows: str = "") -> dict[str, str]:
    return {
        "manifest.csv": manifest("1.1", users_mode, orgs="bulk"),
        "orgs.csv": ORGS,
        "users.csv": USERS_1P1
        + (
            rows
            or (
                # Two orgs in one quoted cell, district first: the school names the building.
                'u1,,,true,"dist1,lhs",teacher,jdoe,{LDAP:1001},Jane,Doe,,E1001,JDoe@Springfield.K12.US,,,,,\n'
                "u2,,,false,wms,aide,bsmith,,Bob,Smith,,E1002,bsmith@springfield.k12.us,,,,,\n"
                "u3,,,true,lhs,student,kid,,Kim,Lee,,S5001,kim.lee@students.springfield.k12.us,,,,10,\n"
                "u4,,,true,dist1,administrator,adm,,Ann,Admin,,E1003,ann@springfield.k12.us,,,,,\n"
            )
        ),
    }


def test_v1p1_folder_maps_every_field(tmp_path: Path) -> None:
    entries = OneRosterCsvSource(write_folder(tmp_path / "or11", v1p1_files()), today=TODAY).fetch()
    assert entries[0] == RosterEntry(
        source_id="u1",
        email="jdoe@springfield.k12.us",
        name="Jane Doe",
        kind=PersonKind.EMPLOYEE,
        role="teacher",
        building="Lincoln High School",
        status=PersonStatus.ACTIVE,
        employee_id="E1001",
    )
    # enabledUser=false: access curtailed, record active -> on leave (the documented default).
    assert entries[1].status is PersonStatus.ON_LEAVE
    assert entries[1].building == "Washington Middle School"
    assert (entries[2].kind, entries[2].grade, entries[2].role) == (PersonKind.STUDENT, "10", "student")
    # Only the district org: it is the building of last resort.
    assert entries[3].building == "Springfield Public Schools"


def test_v1p1_zip_with_wrapping_folder_reads_the_same_as_the_folder(tmp_path: Path) -> None:
    folder = OneRosterCsvSource(write_folder(tmp_path / "f", v1p1_files()), today=TODAY)
    zipped = OneRosterCsvSource(write_zip(tmp_path / "or.zip", v1p1_files(), "export/"), today=TODAY)
    assert zipped.fetch() == folder.fetch()
    assert zipped.full_snapshot is True
    assert zipped.version == "1.1"


def test_v1p1_delta_marks_tobedeleted_departed_and_is_not_a_full_snapshot(tmp_path: Path) -> None:
    rows = (
        "u1,active,2026-11-01T10:00:00Z,true,lhs,teacher,,,Jane,Doe,,E1001,jdoe@springfield.k12.us,,,,,\n"
        "u2,tobedeleted,2026-11-15T08:30:00.000Z,true,wms,aide,,,Bob,Smith,,E1002,bsmith@springfield.k12.us,,,,,\n"
        "u3,inactive,2026-11-16T00:00:00Z,true,wms,aide,,,Al,Old,,E1004,al@springfield.k12.us,,,,,\n"
    )
    source = OneRosterCsvSource(write_zip(tmp_path / "d.zip", v1p1_files("delta", rows)), today=TODAY)
    entries = source.fetch()
    assert source.full_snapshot is False
    assert [(e.email, e.status, e.left_on) for e in entries] == [
        ("jdoe@springfield.k12.us", PersonStatus.ACTIVE, None),
        ("bsmith@springfield.k12.us", PersonStatus.DEPARTED, date(2026, 11, 15)),
        ("al@springfield.k12.us", PersonStatus.DEPARTED, date(2026, 11, 16)),
    ]
    snap = source.snapshot()
    assert snap.full is False and len(snap.entries) == 3


def v1p2_files(roles: str, users: str = "") -> dict[str, str]:
    return {
        "manifest.csv": manifest("1.2", "bulk", roles="bulk", orgs="bulk", userProfiles="absent"),
        "orgs.csv": ORGS,
        # Column order differs from the reference on purpose: parsing is by header name.
        "users.csv": USERS_1P2
        + (
            users
            or (
                "u1,,,true,jdoe,,Jane,Doe,,E1001,jdoe@springfield.k12.us,,,,,,,Janie,,,lhs,she/her\n"
                "u2,,,TRUE,bsmith,,Bob,Smith,,E1002,bsmith@springfield.k12.us,,,,,,,,,,wms,\n"
                "u3,,,true,cgray,,Cal,Gray,,E1003,cgray@springfield.k12.us,,,,,,,,,,lhs,\n"
                "u4,,,false,dnew,,Dee,New,,E1004,dnew@springfield.k12.us,,,,,,,,,,,\n"
            )
        ),
        "roles.csv": ROLES_1P2 + roles,
    }


def test_v1p2_roles_choose_the_current_primary_role_and_its_dates(tmp_path: Path) -> None:
    roles = (
        # u1 was a teacher at Washington until June, is now principal at Lincoln (primary) + coach.
        "r1,,,u1,primary,teacher,2019-08-20,2026-06-30,wms,\n"
        "r2,,,u1,secondary,aide,2026-07-01,,lhs,\n"
        "r3,,,u1,primary,principal,2026-07-01,,lhs,\n"
        # u2's only role ended: no longer here, since the end date.
        "r4,,,u2,primary,teacher,2015-08-20,2026-10-31,wms,\n"
        # u3's role ends today: still held today.
        "r5,,,u3,primary,counselor,2020-01-01,2026-11-20,lhs,\n"
        # u4 starts next month: hired for that role; enabledUser false until then.
        "r6,,,u4,primary,teacher,2026-12-01,,wms,\n"
    )
    source = OneRosterCsvSource(write_folder(tmp_path / "or12", v1p2_files(roles)), today=TODAY)
    by_email = {e.email: e for e in source.fetch()}
    assert source.version == "1.2"
    jane = by_email["jdoe@springfield.k12.us"]
    assert (jane.name, jane.role, jane.building, jane.role_began_on, jane.status) == (
        "Janie Doe",
        "principal",
        "Lincoln High School",
        date(2026, 7, 1),
        PersonStatus.ACTIVE,
    )
    bob = by_email["bsmith@springfield.k12.us"]
    assert (bob.status, bob.left_on, bob.role, bob.building) == (
        PersonStatus.DEPARTED,
        date(2026, 10, 31),
        "teacher",
        "Washington Middle School",
    )
    cal = by_email["cgray@springfield.k12.us"]
    assert (cal.status, cal.role, cal.left_on) == (PersonStatus.ACTIVE, "counselor", None)
    dee = by_email["dnew@springfield.k12.us"]
    assert (dee.status, dee.role, dee.building) == (
        PersonStatus.ON_LEAVE,
        "teacher",
        "Washington Middle School",
    )


def test_v1p2_student_role_and_disabled_means_departed_when_configured(tmp_path: Path) -> None:
    users = "s1,,,false,kid,,Kim,Lee,,S5001,Kim.Lee@Students.Springfield.k12.us,,,,09,,,,,,lhs,\n"
    roles = "r1,,,s1,primary,student,2026-08-20,,lhs,\n"
    path = write_zip(tmp_path / "s.zip", v1p2_files(roles, users))
    entry = OneRosterCsvSource(path, today=TODAY, disabled_means=PersonStatus.DEPARTED).fetch()[0]
    assert (entry.email, entry.kind, entry.grade, entry.status) == (
        "kim.lee@students.springfield.k12.us",
        PersonKind.STUDENT,
        "09",
        PersonStatus.DEPARTED,
    )


def test_bad_boolean_names_file_line_and_column(tmp_path: Path) -> None:
    rows = (
        "u1,,,true,lhs,teacher,,,Jane,Doe,,E1,j@x.us,,,,,\n"
        '"u2",,,"maybe",lhs,teacher,,,"Multi\nLine",Doe,,E2,k@x.us,,,,,\n'
    )
    source = OneRosterCsvSource(write_folder(tmp_path / "bad", v1p1_files(rows=rows)), today=TODAY)
    with pytest.raises(RosterFileError) as info:
        source.fetch()
    assert str(info.value) == "users.csv, line 3, column 'enabledUser': 'maybe' is not true or false"
    assert isinstance(info.value, InputError)
    assert (info.value.file, info.value.line, info.value.column) == ("users.csv", 3, "enabledUser")


def test_bad_end_date_in_roles_is_named(tmp_path: Path) -> None:
    roles = "r1,,,u1,primary,teacher,2019-08-20,30/06/2026,wms,\n"
    source = OneRosterCsvSource(write_folder(tmp_path / "b", v1p2_files(roles)), today=TODAY)
    with pytest.raises(
        RosterFileError, match=r"^roles.csv, line 2, column 'endDate': '30/06/2026' is not a date"
    ):
        source.fetch()


def test_missing_header_column_is_named(tmp_path: Path) -> None:
    files = v1p1_files()
    files["users.csv"] = files["users.csv"].replace(",email,", ",mail,")
    with pytest.raises(RosterFileError) as info:
        OneRosterCsvSource(write_folder(tmp_path / "h", files), today=TODAY).fetch()
    assert (info.value.file, info.value.line, info.value.column) == ("users.csv", 1, "email")


def test_row_with_too_few_cells_is_named(tmp_path: Path) -> None:
    rows = "u1,,,true,lhs,teacher,,,Jane,Doe,,E1,j@x.us\n"
    with pytest.raises(RosterFileError, match=r"line 2, column 'sms': has 13 cells but the header names 18"):
        OneRosterCsvSource(write_folder(tmp_path / "s", v1p1_files(rows=rows)), today=TODAY).fetch()


def test_unsupported_version_and_missing_manifest(tmp_path: Path) -> None:
    files = v1p1_files()
    files["manifest.csv"] = manifest("1.0")
    with pytest.raises(RosterFileError, match=r"names OneRoster version '1\.0'"):
        OneRosterCsvSource(write_folder(tmp_path / "v", files), today=TODAY).fetch()
    del files["manifest.csv"]
    with pytest.raises(RosterFileError, match=r"^manifest.csv: is missing from m.zip"):
        OneRosterCsvSource(write_zip(tmp_path / "m.zip", files), today=TODAY).fetch()


def test_not_a_zip_and_not_there(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(RosterFileError, match="is neither a folder nor a zip file"):
        OneRosterCsvSource(tmp_path / "x.zip").fetch()
    with pytest.raises(RosterFileError, match="does not exist"):
        OneRosterCsvSource(tmp_path / "nope").fetch()


def test_byte_order_mark_from_excel_is_ignored(tmp_path: Path) -> None:
    files = v1p1_files()
    root = write_folder(tmp_path / "bom", files)
    (root / "users.csv").write_bytes(b"\xef\xbb\xbf" + files["users.csv"].encode())
    assert OneRosterCsvSource(root, today=TODAY).fetch()[0].source_id == "u1"
