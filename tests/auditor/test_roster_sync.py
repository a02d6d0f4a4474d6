"""plan_sync / apply_plan: exact plans for departures, role changes, absences, creations; idempotence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.roster_diff import (
    ABSENT_REASON,
    DEPARTED_REASON,
    Departure,
    FieldChange,
    PersonUpdate,
    RoleChange,
    SyncPlan,
    apply_plan,
    plan_sync,
)
from auditor.model.types import Person, PersonKind, PersonStatus, RoleRules, RosterEntry, fold

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def make_person(**overrides: Any) -> Person:
    values: dict[str, Any] = {
        "id": "p-jane",
        "name": "Jane Doe",
        "email": "jdoe@springfield.k12.us",
        "role": "Teacher",
        "building": "Lincoln High",
        "employee_id": "1001",
    }
    values.update(overrides)
    return Person(**values)


def make_entry(**overrides: Any) -> RosterEntry:
    values: dict[str, Any] = {
        "source_id": "u1",
        "email": "jdoe@springfield.k12.us",
        "name": "Jane Doe",
        "role": "Teacher",
        "building": "Lincoln High",
        "employee_id": "1001",
    }
    values.update(overrides)
    return RosterEntry(**values)


def plan(people: list[Person], entries: list[RosterEntry], **kw: Any) -> SyncPlan:
    """A sync after an earlier one that found the registry as it is (the roster said then what the
    registry says now), so a different role or building is the roster changing its mind."""
    kw.setdefault("referenced_person_ids", set())
    kw.setdefault("baseline", {p.id: (fold(p.role), fold(p.building)) for p in people})
    return plan_sync(people, entries, today=TODAY, **kw)


def test_unchanged_person_gives_an_empty_plan() -> None:
    result = plan([make_person()], [make_entry(email="JDoe@Springfield.K12.US")])
    assert result.is_empty
    assert result.summary is not None and (result.summary.matched, result.summary.updated) == (1, 0)
    assert result.describe() == []


def test_roster_departure_uses_the_left_date_and_flags_referenced_owners() -> None:
    result = plan(
        [make_person()],
        [make_entry(status=PersonStatus.DEPARTED, left_on=date(2026, 10, 31), role="Principal")],
        referenced_person_ids={"p-jane"},
    )
    assert result.updates == (
        PersonUpdate(
            "p-jane",
            "Jane Doe",
            (
                FieldChange("status", PersonStatus.ACTIVE, PersonStatus.DEPARTED),
                FieldChange("departed_on", None, date(2026, 10, 31)),
            ),
        ),
    )
    assert result.departures == (Departure("p-jane", "Jane Doe", date(2026, 10, 31), DEPARTED_REASON, True),)
    assert result.role_changes == ()  # a departed person's last role is not a role change
    assert result.describe() == [
        "Jane Doe (p-jane) departed on 2026-10-31: listed as departed by the roster; "
        "they are still named on district accounts."
    ]


def test_role_and_building_change_records_the_role_start_date() -> None:
    result = plan(
        [make_person()],
        [
            make_entry(
                role="Assistant Principal", building="Washington Middle", role_began_on=date(2026, 7, 1)
            )
        ],
    )
    assert result.updates[0].changes == (
        FieldChange("role", "Teacher", "Assistant Principal"),
        FieldChange("building", "Lincoln High", "Washington Middle"),
        FieldChange("role_changed_on", None, date(2026, 7, 1)),
    )
    assert result.role_changes == (
        RoleChange(
            "p-jane", "Jane Doe", "Teacher", "Assistant Principal", "Lincoln High", "Washington Middle",
            date(2026, 7, 1), False,
        ),
    )  # fmt: skip
    assert result.describe() == [
        "Jane Doe (p-jane) changed role on 2026-07-01: Teacher at Lincoln High -> "
        "Assistant Principal at Washington Middle."
    ]


def test_building_only_change_without_a_date_uses_today_and_empty_roster_fields_keep_ours() -> None:
    result = plan(
        [make_person(grade="")], [make_entry(role="", building="Washington Middle", employee_id="")]
    )
    assert result.updates[0].changes == (
        FieldChange("building", "Lincoln High", "Washington Middle"),
        FieldChange("role_changed_on", None, TODAY),
    )
    assert result.role_changes[0].new_role == "Teacher"


def test_first_fill_of_an_empty_role_is_an_update_not_a_role_change() -> None:
    result = plan([make_person(role="", building="")], [make_entry()])
    assert result.updates[0].changes == (
        FieldChange("role", "", "Teacher"),
        FieldChange("building", "", "Lincoln High"),
    )
    assert result.role_changes == ()


def test_match_falls_back_to_employee_id_and_updates_the_email() -> None:
    result = plan(
        [make_person()], [make_entry(email="jane.doe@springfield.k12.us", status=PersonStatus.ON_LEAVE)]
    )
    assert result.updates[0].changes == (
        FieldChange("email", "jdoe@springfield.k12.us", "jane.doe@springfield.k12.us"),
        FieldChange("status", PersonStatus.ACTIVE, PersonStatus.ON_LEAVE),
    )
    assert result.describe() == [
        "Jane Doe (p-jane): email: jdoe@springfield.k12.us -> jane.doe@springfield.k12.us; status: active -> "
        "on_leave, updated from the roster."
    ]


def test_full_snapshot_absence_departs_covered_people_only() -> None:
    people = [
        make_person(),
        make_person(id="p-bob", name="Bob Smith", email="bsmith@springfield.k12.us", employee_id="1002"),
        # Not covered: the roster lists no volunteers; and someone with no email or id cannot be listed.
        make_person(
            id="p-vol", name="Val Unteer", email="val@gmail.com", kind=PersonKind.VOLUNTEER, employee_id=""
        ),
        make_person(id="p-nokey", name="No Key", email="", employee_id=""),
        make_person(id="p-gone", email="gone@x.us", employee_id="9", status=PersonStatus.DEPARTED),
    ]
    result = plan(people, [make_entry()], referenced_person_ids={"p-bob"})
    assert result.absent == ("p-bob",)
    assert result.departures == (Departure("p-bob", "Bob Smith", TODAY, ABSENT_REASON, True),)
    assert result.updates == (
        PersonUpdate(
            "p-bob",
            "Bob Smith",
            (
                FieldChange("status", PersonStatus.ACTIVE, PersonStatus.DEPARTED),
                FieldChange("departed_on", None, TODAY),
            ),
        ),
    )
    # 1 of 3 covered active people (Jane, Bob, No Key) is over 20 %, but one person leaving is never
    # suspicious (GUARD_MIN_PEOPLE): a small registry's nightly sync must not stop for it.
    assert result.warnings == ()


def test_delta_and_empty_snapshots_never_depart_the_absent() -> None:
    people = [make_person(), make_person(id="p-bob", email="bsmith@x.us", employee_id="1002")]
    assert plan(people, [make_entry()], full_snapshot=False).is_empty
    assert plan(people, [], full_snapshot=True).is_empty


def test_rehired_person_becomes_active_and_loses_the_departure_date() -> None:
    person = make_person(status=PersonStatus.DEPARTED, departed_on=date(2025, 6, 30))
    result = plan([person], [make_entry()])
    assert result.updates[0].changes == (
        FieldChange("status", PersonStatus.DEPARTED, PersonStatus.ACTIVE),
        FieldChange("departed_on", date(2025, 6, 30), None),
    )
    assert result.departures == ()


def test_new_people_only_when_asked_and_never_departed_ones() -> None:
    entries = [
        make_entry(),
        make_entry(source_id="u9", email="new@x.us", name="New Hire", employee_id="2001", role="Aide"),
        make_entry(source_id="u8", email="old@x.us", employee_id="2002", status=PersonStatus.DEPARTED),
    ]
    without = plan([make_person()], entries)
    assert without.creations == () and [e.source_id for e in without.unmatched] == ["u9", "u8"]
    assert without.is_empty
    with_create = plan([make_person()], entries, create_missing=True)
    assert [e.source_id for e in with_create.creations] == ["u9"]
    assert [e.source_id for e in with_create.unmatched] == ["u8"]
    people = apply_plan([make_person()], with_create, NOW, new_id=lambda e: f"p-{e.employee_id}")
    assert people[1] == Person(
        id="p-2001",
        name="New Hire",
        email="new@x.us",
        role="Aide",
        building="Lincoln High",
        employee_id="2001",
        created_at=NOW,
        updated_at=NOW,
    )


def test_duplicates_are_warned_about_not_guessed() -> None:
    people = [make_person(), make_person(id="p-twin", name="Twin", employee_id="1003")]
    result = plan(people, [make_entry(employee_id="")], full_snapshot=False)
    assert result.updates == () and len(result.unmatched) == 1
    assert result.warnings == (
        "p-jane and p-twin share 'jdoe@springfield.k12.us' in the registry; neither is matched by it.",
    )
    result = plan([make_person()], [make_entry(), make_entry(source_id="u2", role="Coach")])
    assert result.is_empty
    assert result.warnings == ("Roster entries 'u1' and 'u2' describe the same person; 'u1' is used.",)
    # An old record being deleted next to the current one: the current one wins, whatever the order.
    old = make_entry(source_id="u0", status=PersonStatus.DEPARTED, email="jdoe@old.k12.us")
    result = plan([make_person()], [old, make_entry(source_id="u2", role="Coach")])
    assert result.warnings == ("Roster entries 'u0' and 'u2' describe the same person; 'u2' is used.",)
    assert result.departures == () and result.role_changes[0].new_role == "Coach"
    # Two entries matching one person through different keys: the first match is used.
    other = make_entry(source_id="u5", email="jane.d@x.us", employee_id="")
    result = plan([make_person(employee_id="")], [make_entry(employee_id=""), other])
    assert [e.source_id for e in result.unmatched] == ["u5"] and result.warnings == ()


def test_apply_keeps_everyone_and_the_second_plan_is_empty() -> None:
    people = [
        make_person(),
        make_person(id="p-bob", name="Bob", email="bsmith@x.us", employee_id="1002"),
        make_person(id="p-cal", name="Cal", email="cgray@x.us", employee_id="1003", adult=None),
    ]
    entries = [
        make_entry(role="Principal", role_began_on=date(2026, 7, 1)),
        make_entry(
            source_id="u3", email="CGray@x.us", employee_id="1003", adult=True, kind=PersonKind.EMPLOYEE
        ),
        make_entry(source_id="u4", email="new@x.us", employee_id="1004"),
    ]
    first = plan(people, entries, create_missing=True, referenced_person_ids={"p-bob"})
    after = apply_plan(people, first, NOW, new_id=lambda e: "p-new")
    assert [p.id for p in after] == ["p-jane", "p-bob", "p-cal", "p-new"]
    assert (after[0].role, after[0].role_changed_on, after[0].updated_at) == (
        "Principal",
        date(2026, 7, 1),
        NOW,
    )
    assert (after[1].status, after[1].departed_on) == (PersonStatus.DEPARTED, TODAY)
    assert after[2].adult is True
    second = plan(after, entries, create_missing=True, referenced_person_ids={"p-bob"})
    assert second.is_empty and second.departures == () and second.role_changes == ()


_roles = st.sampled_from(["", "Teacher", "Aide", "Principal"])
_statuses = st.sampled_from(list(PersonStatus))
_dates = st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2027, 1, 1)))


@settings(max_examples=150, deadline=None)
@given(
    people=st.lists(st.tuples(_roles, _roles, _statuses, st.booleans()), max_size=6),
    entries=st.lists(st.tuples(st.integers(0, 8), _roles, _roles, _statuses, _dates, _dates), max_size=8),
    full=st.booleans(),
    create=st.booleans(),
)
def test_planning_after_applying_is_always_empty(
    people: list[tuple[str, str, PersonStatus, bool]],
    entries: list[tuple[int, str, str, PersonStatus, date | None, date | None]],
    full: bool,
    create: bool,
) -> None:
    registry = [
        make_person(id=f"p{i}", email=f"u{i}@x.us", employee_id=f"{i}", role=r, building=b, status=s,
                    departed_on=TODAY if s is PersonStatus.DEPARTED and d else None)
        for i, (r, b, s, d) in enumerate(people)
    ]  # fmt: skip
    roster = [
        make_entry(source_id=f"e{k}", email=f"U{n}@X.us", employee_id=f"{n}", role=r, building=b, status=s,
                   role_began_on=began, left_on=left)
        for k, (n, r, b, s, began, left) in enumerate(entries)
    ]  # fmt: skip
    kw: dict[str, Any] = {"full_snapshot": full, "create_missing": create}
    counter = iter(range(100, 1000))
    first = plan(registry, roster, **kw)
    # Every update the output counts is named in it (issue 21: "1 other update", never said which).
    said = "\n".join(first.describe())
    events = {d.person_id for d in first.departures} | {r.person_id for r in first.role_changes}
    for u in first.updates:
        assert u.person_id in events or f"({u.person_id})" in said, (u, said)
    after = apply_plan(registry, first, NOW, new_id=lambda e: f"p{next(counter)}")
    assert len(after) == len(registry) + len(first.creations)
    assert plan(after, roster, **kw).is_empty


def _staff(n: int) -> list[Person]:
    return [
        make_person(id=f"p{i}", name=f"Staff {i}", email=f"s{i}@springfield.k12.us", employee_id=str(i))
        for i in range(n)
    ]


def _entry_for(p: Person, **overrides: Any) -> RosterEntry:
    return make_entry(source_id=p.id, email=p.email, name=p.name, employee_id=p.employee_id, **overrides)


def test_the_departure_guard_counts_every_way_of_leaving_and_names_who() -> None:
    """Issue 13: a OneRoster 1.2 sample whose roles had ended departed 5 of 5 with no warning; the
    guard counted only people missing from the roster."""
    people = _staff(10)
    entries = [
        _entry_for(people[0], status=PersonStatus.DEPARTED),  # marked deleted / every role ended
        _entry_for(people[1], status=PersonStatus.DEPARTED, left_on=date(2026, 10, 1)),  # leave date passed
        _entry_for(people[2], status=PersonStatus.ON_LEAVE),  # disabled / archived / suspended
        *(_entry_for(p) for p in people[4:]),  # people[3] is absent from the complete roster
    ]
    result = plan(people, entries)
    assert result.warnings == (
        "The roster would take 4 of 10 active people it covers out of active status (3 departed, 1 on "
        "leave): Staff 0, Staff 1, Staff 2, Staff 3; check that the export is complete and current before "
        "applying.",
    )
    # a delta cannot depart the absent, but the statuses it gives still count
    assert len(plan(people, entries, full_snapshot=False).warnings) == 1
    # at or under 20 % (2 of 10) is a normal night
    assert plan(people, [*entries[:2], *(_entry_for(p) for p in people[2:])]).warnings == ()


def test_a_long_departure_list_names_ten_and_counts_the_rest() -> None:
    people = _staff(30)
    result = plan(people, [_entry_for(p, status=PersonStatus.DEPARTED) for p in people])
    assert "30 of 30 active people" in result.warnings[0]
    assert "Staff 9 and 20 more;" in result.warnings[0]


def test_first_sync_is_a_baseline_not_everyone_changing_role() -> None:
    """Issue 13: OneRoster's `teacher` / `administrator` were compared with job titles, case
    sensitively: nobody changed jobs and every one of them was a role change."""
    people = [
        make_person(id="p0", email="a@x.us", employee_id="1", role="Principal", building="Lincoln High"),
        make_person(id="p1", email="b@x.us", employee_id="2", role="Teacher", building="Lincoln High"),
        make_person(id="p2", email="c@x.us", employee_id="3", role="Athletic Director", building="North"),
    ]
    entries = [
        make_entry(
            source_id="u0", email="A@X.US", employee_id="1", role="administrator", building="lincoln  high"
        ),
        make_entry(source_id="u1", email="b@x.us", employee_id="2", role="teacher", building="Lincoln High "),
        make_entry(source_id="u2", email="c@x.us", employee_id="3", role="teacher", building="North"),
    ]
    oneroster = RoleRules.parse("oneroster")
    first = plan_sync(people, entries, referenced_person_ids=set(), today=TODAY, roles=oneroster)
    assert first.baseline and first.summary is not None and first.summary.matched == 3
    assert first.role_changes == () and first.updates == ()
    # "Principal" and "Athletic Director" are not OneRoster words: kept, and said so
    assert [(pid, mine, theirs) for pid, _n, mine, theirs in first.differing] == [
        ("p0", "Principal", "administrator"),
        ("p2", "Athletic Director", "teacher"),
    ]
    assert first.seen == {"p0": ("administrator", "lincoln high"), "p1": ("teacher", "lincoln high"),
                          "p2": ("teacher", "north")}  # fmt: skip

    # The next night, same roster: nothing. Then the roster moves p1 to administrator: one change.
    again = plan_sync(
        people, entries, referenced_person_ids=set(), today=TODAY, roles=oneroster, baseline=first.seen
    )
    assert again.is_empty and not again.baseline
    moved = [entries[0], make_entry(source_id="u1", email="b@x.us", employee_id="2", role="Administrator",
                                    building="Lincoln High"), entries[2]]  # fmt: skip
    later = plan_sync(
        people, moved, referenced_person_ids=set(), today=TODAY, roles=oneroster, baseline=first.seen
    )
    assert [(r.person_id, r.old_role, r.new_role) for r in later.role_changes] == [
        ("p1", "Teacher", "Administrator")
    ]


def test_a_role_map_lets_oneroster_terms_compare_with_job_titles() -> None:
    rules = RoleRules.parse(
        "oneroster", {"administrator": ["Principal", "Assistant Principal"], "teacher": "Teacher"}
    )
    people = [make_person(id="p0", role="Principal")]
    # mapped: Principal is an administrator, so the first sync agrees; a teacher term disagrees
    agree = plan_sync(
        people, [make_entry(role="administrator")], referenced_person_ids=set(), today=TODAY, roles=rules
    )
    assert agree.is_empty and agree.differing == ()
    disagree = plan_sync(
        people, [make_entry(role="teacher")], referenced_person_ids=set(), today=TODAY, roles=rules
    )
    assert disagree.role_changes == ()  # a baseline: taken on, not a change
    assert disagree.updates[0].change("role") == FieldChange("role", "Principal", "Teacher")


def test_job_titles_compare_case_and_whitespace_insensitively() -> None:
    people = [make_person(role="Athletic  Director", building="lincoln high")]
    result = plan(people, [make_entry(role="athletic director", building="Lincoln High")])
    assert result.is_empty and result.role_changes == ()


def test_role_rules_refuse_an_unknown_vocabulary_and_a_bad_map() -> None:
    import pytest

    with pytest.raises(ValueError, match="role_vocabulary 'jobcode' is not one of: title, oneroster"):
        RoleRules.parse("jobcode")
    with pytest.raises(ValueError, match="role_map: 'teacher' must map to a job title"):
        RoleRules.parse("oneroster", {"teacher": 3})


def test_an_update_of_event_fields_alone_is_still_named() -> None:
    """An update counted among the "other updates" whose fields have no sentence of their own (a
    role-change date, a building list that says the same buildings) is named with its fields."""
    quiet = PersonUpdate(
        "p-jane", "Jane Doe", (FieldChange("role_changed_on", date(2026, 1, 5), date(2026, 8, 1)),)
    )
    assert SyncPlan(updates=(quiet,)).describe() == [
        "Jane Doe (p-jane): role_changed_on: 2026-01-05 -> 2026-08-01, updated from the roster."
    ]
