"""Roster files as districts have them (issue 16): one row per school folded into one person,
UTF-16 read, a zip where a CSV belongs named as one, and Windows backslash paths inside a zip."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest

from auditor.engine.roster_diff import plan_sync
from auditor.model.types import Person, PersonStatus
from connectors.roster.base import RosterFileError
from connectors.roster.generic_csv import CsvMapping, MappedCsvSource
from connectors.roster.oneroster_csv import OneRosterCsvSource

MOODLE = Path(__file__).resolve().parents[4] / "shared" / "formats" / "moodle-enrol_oneroster"
# Clever's staff.csv shape: one row per school a teacher works at.
CLEVER = (
    "School_id,Staff_id,Teacher_email,First_name,Last_name,Title,Status\n"
    "North HS,T100,rlee@d203.org,Robin,Lee,Music Teacher,Active\n"
    "South MS,T100,rlee@d203.org,Robin,Lee,Music Teacher,Active\n"
    "North HS,T200,kpatel@d203.org,Kim,Patel,Coach,Active\n"
)
MAPPING = CsvMapping(
    columns={
        "building": "School_id",
        "employee_id": "Staff_id",
        "email": "Teacher_email",
        "given_name": "First_name",
        "family_name": "Last_name",
        "role": "Title",
        "status": "Status",
    }
)


def source(tmp_path: Path, text: str | bytes, name: str = "staff.csv") -> MappedCsvSource:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return MappedCsvSource(path, MAPPING, today=date(2026, 9, 1))


def test_one_row_per_school_is_one_person_with_every_building(tmp_path: Path) -> None:
    entries = source(tmp_path, CLEVER).fetch()
    assert [(e.email, e.building, e.buildings) for e in entries] == [
        ("rlee@d203.org", "North HS", ("North HS", "South MS")),
        ("kpatel@d203.org", "North HS", ()),
    ]


def test_rows_of_one_person_that_disagree_are_still_an_error(tmp_path: Path) -> None:
    text = CLEVER.replace(
        "South MS,T100,rlee@d203.org,Robin,Lee,Music Teacher",
        "South MS,T100,rlee@d203.org,Robin,Lee,Band Director",
    )
    with pytest.raises(RosterFileError) as info:
        source(tmp_path, text).fetch()
    assert (
        info.value.message
        == "staff.csv, line 3, column 'Title': 'rlee@d203.org' also appears on line 2 with a different role"
    )


def test_a_person_at_two_schools_keeps_the_one_the_registry_has(tmp_path: Path) -> None:
    robin = Person(
        id="p1", name="Robin Lee", email="rlee@d203.org", role="Music Teacher", building="South MS"
    )

    def building_after(text: str) -> str:
        plan = plan_sync(
            [robin], source(tmp_path, text).fetch(), referenced_person_ids=set(), today=date(2026, 9, 1)
        )
        changes = {c.field: c.new for u in plan.updates for c in u.changes}
        return str(changes.get("building", robin.building))

    assert building_after(CLEVER) == "South MS"  # North HS is listed first, South MS too
    only_north = "".join(line for line in CLEVER.splitlines(keepends=True) if not line.startswith("South"))
    assert building_after(only_north) == "North HS"  # no longer at South MS: the roster's building


def test_utf16_staff_export_is_read(tmp_path: Path) -> None:
    entries = source(tmp_path, CLEVER.replace("\n", "\r\n").encode("utf-16"), "staff16.csv").fetch()
    assert [e.email for e in entries] == ["rlee@d203.org", "kpatel@d203.org"]


def test_a_zip_given_as_a_csv_says_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(RosterFileError) as info:
        source(tmp_path, (MOODLE / "Test_full_data_set.zip").read_bytes(), "staff.zip").fetch()
    assert "is a zip archive, not a CSV file" in info.value.message and "unzip it" in info.value.hint


def test_windows_backslash_paths_in_a_oneroster_zip(tmp_path: Path) -> None:
    original = MOODLE / "Test_full_data_set.zip"
    windows = tmp_path / "windows.zip"
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(windows, "w") as out:
        for info in src.infolist():
            if not info.is_dir():
                out.writestr("OneRoster Export\\" + info.filename.rsplit("/", 1)[-1], src.read(info))
    today = date(2026, 9, 1)
    assert (
        OneRosterCsvSource(windows, today=today).fetch() == OneRosterCsvSource(original, today=today).fetch()
    )
    assert PersonStatus.ACTIVE in {e.status for e in OneRosterCsvSource(windows, today=today).fetch()}
