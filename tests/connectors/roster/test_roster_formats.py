"""Roster files as districts have them (issue 16): one row per school folded into one person,
UTF-16 read, a zip where a CSV belongs named as one, and Windows backslash paths inside a zip."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from auditor.engine.roster_diff import SyncPlan, apply_plan, plan_sync
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


# -- the folded buildings stored on the person (a set: the order a file lists them in is no change) --

TWO_SCHOOLS = ("South MS", "North HS")


def _plan(
    person: Person, text: str, tmp_path: Path, baseline: dict[str, tuple[str, str]] | None = None
) -> SyncPlan:
    return plan_sync(
        [person], source(tmp_path, text).fetch(), referenced_person_ids={person.id},
        today=date(2026, 9, 1), baseline=baseline, create_missing=True,
    )  # fmt: skip


def _after(person: Person, plan: SyncPlan) -> Person:
    [after] = [p for p in apply_plan([person], plan, datetime(2026, 9, 1, tzinfo=UTC)) if p.id == person.id]
    return after


def _robin(*buildings: str) -> Person:
    building, listed = Person.building_fields(buildings)
    return Person(
        id="p1", name="Robin Lee", email="rlee@d203.org", role="Music Teacher", building=building,
        buildings=listed, employee_id="T100",
    )  # fmt: skip


def test_a_folded_entry_gives_the_person_every_building_the_registrys_first(tmp_path: Path) -> None:
    robin = _robin("South MS")
    plan = _plan(robin, CLEVER, tmp_path)
    after = _after(robin, plan)
    assert (after.building, after.buildings) == ("South MS", ("South MS", "North HS"))
    assert plan.role_changes == ()
    assert (
        "Robin Lee (p1): building South MS -> South MS; North HS, taken from the roster." in plan.describe()
    )
    # The next sync lists the schools the other way round: no change, and no role change either.
    swapped = (
        CLEVER.replace("North HS,T100", "X")
        .replace("South MS,T100", "North HS,T100")
        .replace("X", "South MS,T100")
    )
    assert swapped.index("South MS,T100") < swapped.index("North HS,T100")
    again = _plan(after, swapped, tmp_path, baseline=dict(plan.seen))
    assert (again.updates, again.role_changes, again.differing) == ((), (), ())
    assert plan.seen == again.seen  # the baseline does not depend on the order either


def test_someone_new_from_a_per_school_export_is_created_with_both_buildings(tmp_path: Path) -> None:
    other = Person(id="p9", name="Kim Patel", email="kpatel@d203.org", employee_id="T200")
    plan = _plan(other, CLEVER, tmp_path)
    created = [p for p in apply_plan([other], plan, datetime(2026, 9, 1, tzinfo=UTC)) if p.id != "p9"]
    assert [(p.email, p.building, p.buildings) for p in created] == [
        ("rlee@d203.org", "North HS", ("North HS", "South MS"))
    ]


def test_a_school_added_or_dropped_is_a_building_change_and_leaving_both_a_role_change(
    tmp_path: Path,
) -> None:
    robin = _robin(*TWO_SCHOOLS)
    seen_two = {"p1": ("music teacher", "north hs; south ms")}
    only_north = "".join(line for line in CLEVER.splitlines(keepends=True) if not line.startswith("South"))
    # The roster listed both; now only North HS: it says she left South MS.
    plan = _plan(robin, only_north, tmp_path, baseline=seen_two)
    after = _after(robin, plan)
    assert (after.building, after.buildings) == ("North HS", ())
    assert plan.role_changes == ()
    assert (
        "Robin Lee (p1): building South MS; North HS -> North HS, taken from the roster." in plan.describe()
    )
    # A school added to the one the roster listed (or a baseline stored before buildings were kept,
    # which held the first school only) is a building change too, not a role change.
    plan = _plan(_robin("North HS"), CLEVER, tmp_path, baseline={"p1": ("music teacher", "north hs")})
    assert [(c.field, c.new) for u in plan.updates for c in u.changes] == [
        ("buildings", ("North HS", "South MS"))
    ]
    assert plan.role_changes == ()
    # Moved to two other schools: a role change, with every building named.
    moved = CLEVER.replace("North HS,T100", "Kennedy JH,T100").replace("South MS,T100", "Jefferson JH,T100")
    plan = _plan(robin, moved, tmp_path, baseline=seen_two)
    [change] = plan.role_changes
    assert (change.old_building, change.new_building) == ("South MS; North HS", "Kennedy JH; Jefferson JH")
    assert (_after(robin, plan).building, _after(robin, plan).buildings) == (
        "Kennedy JH",
        ("Kennedy JH", "Jefferson JH"),
    )


def test_a_first_sync_naming_one_of_their_buildings_keeps_the_registrys_list(tmp_path: Path) -> None:
    """A directory that keeps one building a person (Graph's officeLocation, an HR export) cannot say
    they left the others; the registry's list stands until this source lists them at several."""
    robin = _robin(*TWO_SCHOOLS)
    only_north = "".join(line for line in CLEVER.splitlines(keepends=True) if not line.startswith("South"))
    plan = _plan(robin, only_north, tmp_path)
    assert plan.updates == ()
    assert plan.differing == (("p1", "Robin Lee", "South MS; North HS", "North HS"),)
    # ... and once the roster is its baseline, an unchanged roster leaves an edited registry alone.
    again = _plan(robin, only_north, tmp_path, baseline=dict(plan.seen))
    assert again.updates == ()
