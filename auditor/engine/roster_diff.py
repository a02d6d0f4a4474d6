"""Planning and applying a roster sync: what the staff directory says versus what the registry holds.

`plan_sync` is pure: given the registry's people, the entries a roster source returned and the
clock, it says which people to update (field by field), who departed (the roster says so, or a
complete snapshot no longer lists them), whose role or building changed, who is new (created only
when asked) and what it could not decide. `apply_plan` turns the plan into new `Person` values; the
caller stores them. Nothing is ever deleted: a departed person stays, marked departed with a date,
because accounts, approvals and audit history refer to them (issue 4: "never deletes a person that
accounts still reference"). Applying a plan and planning again yields an empty plan.

Matching is by email (case-insensitive), then by employee id. Only fields the roster actually fills
are compared, so an export without a grade column never blanks grades. Names stay as the registry
has them (the registry's spelling is often curated) unless the registry has none.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from auditor.model.changes import SENSITIVE, show
from auditor.model.types import Person, PersonStatus, RoleRules, RosterEntry, fold

# A full snapshot that would mark more than this share of the covered people departed is suspicious
# (a filtered export, the wrong file): the plan carries a warning so the CLI can ask for --force.
SUSPICIOUS_ABSENT_FRACTION = 0.2

ABSENT_REASON = "no longer listed in the complete roster"
DEPARTED_REASON = "listed as departed by the roster"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class PersonUpdate:
    """Every field that changes for one person (status, dates, role... all of them)."""

    person_id: str
    name: str
    changes: tuple[FieldChange, ...]

    def change(self, field: str) -> FieldChange | None:
        return next((c for c in self.changes if c.field == field), None)


@dataclass(frozen=True)
class Departure:
    person_id: str
    name: str
    departed_on: date
    reason: str
    referenced: bool  # accounts still name this person (owner, manager, poster)


@dataclass(frozen=True)
class RoleChange:
    person_id: str
    name: str
    old_role: str
    new_role: str
    old_building: str  # several as "North; Central" (the person's buildings, primary first)
    new_building: str
    changed_on: date
    referenced: bool


@dataclass(frozen=True)
class SyncSummary:
    entries: int
    matched: int
    updated: int
    departures: int
    departures_referenced: int
    role_changes: int
    role_changes_referenced: int
    created: int
    absent: int
    unmatched: int


@dataclass(frozen=True)
class SyncPlan:
    """What a sync would do. `updates` holds every field change (departures and role changes
    included); `departures` and `role_changes` are the events worth reporting."""

    updates: tuple[PersonUpdate, ...] = ()
    departures: tuple[Departure, ...] = ()
    role_changes: tuple[RoleChange, ...] = ()
    creations: tuple[RosterEntry, ...] = ()
    absent: tuple[str, ...] = ()  # person ids a full snapshot no longer lists (also in departures)
    unmatched: tuple[RosterEntry, ...] = ()  # roster people not in the registry and not created
    warnings: tuple[str, ...] = ()
    summary: SyncSummary | None = None
    # person id -> (role, building) as this roster gives them now, folded: the next sync's baseline.
    # Several buildings are one string of them sorted ("central; north"), so order does not count.
    seen: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict, hash=False)
    baseline: bool = False  # the source's first sync: differences are taken on, never role changes
    # Role or building the registry keeps though the roster says otherwise (not comparable, or the
    # roster has not changed since the baseline): (person id, name, registry value, roster value).
    differing: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def is_empty(self) -> bool:
        """Nothing to write (warnings and unmatched entries change nothing)."""
        return not self.updates and not self.creations

    def describe(self) -> list[str]:
        """One sentence per event, for the command's output and the sync log."""
        lines = []
        for d in self.departures:
            tail = "; they are still named on district accounts" if d.referenced else ""
            lines.append(
                f"{d.name} ({d.person_id}) departed on {d.departed_on.isoformat()}: {d.reason}{tail}."
            )
        for r in self.role_changes:
            old = " at ".join(p for p in (r.old_role, r.old_building) if p)
            new = " at ".join(p for p in (r.new_role, r.new_building) if p)
            tail = "; review the accounts they manage" if r.referenced else ""
            lines.append(
                f"{r.name} ({r.person_id}) changed role on {r.changed_on.isoformat()}: {old} -> {new}{tail}."
            )
        moved = {r.person_id for r in self.role_changes}
        departed = {d.person_id for d in self.departures}
        for u in self.updates:
            before = len(lines)
            # A status that is not a departure (on leave, back from leave, rehired) is said here.
            plain = _EVENT_FIELDS - ({"status", "departed_on"} if u.person_id not in departed else set())
            fields = [_said(c) for c in u.changes if c.field not in plain]
            if fields:
                lines.append(f"{u.name} ({u.person_id}): {'; '.join(fields)}, updated from the roster.")
            if u.person_id not in moved:
                # A role or building taken on without a role change: a first fill, or the first
                # time this roster describes them (its baseline).
                for c in u.changes:
                    if c.field == "role" and c.old != c.new:
                        lines.append(
                            f"{u.name} ({u.person_id}): role {c.old or '(empty)'} -> {c.new}, taken from the roster."
                        )
                buildings = _buildings_said(u)
                if buildings is not None:
                    lines.append(
                        f"{u.name} ({u.person_id}): building {buildings[0] or '(empty)'} -> {buildings[1]}, "
                        "taken from the roster."
                    )
            if len(lines) == before and u.person_id not in moved and u.person_id not in departed:
                # Counted as an update, so named as one (a role-change date alone, say): never
                # "1 other update" with nothing to say which.
                lines.append(
                    f"{u.name} ({u.person_id}): {'; '.join(_said(c) for c in u.changes)}, updated from the roster."
                )
        for e in self.creations:
            lines.append(f"{e.name or e.email} <{e.email}> will be added from the roster.")
        lines.extend(self.warnings)
        return lines


def _buildings_said(u: PersonUpdate) -> tuple[str, str] | None:
    """A person's buildings before and after ("North HS" -> "North HS; South MS"), when they change."""
    one, several = u.change("building"), u.change("buildings")
    if several is None:
        return (str(one.old), str(one.new)) if one is not None and one.old != one.new else None
    if one is None:  # the primary stays: the list grew from it, or shrank to it
        primary = (several.new or several.old)[0]
        old, new = several.old or (primary,), several.new or (primary,)
    else:
        old = several.old or ((one.old,) if one.old else ())
        new = several.new or ((one.new,) if one.new else ())
    return "; ".join(old), "; ".join(new)


def _said(c: FieldChange) -> str:
    """'grade: 07 -> 08', as an import's dry run says it (a birth date only as changed)."""
    if c.field in SENSITIVE:
        return f"{c.field} changed"
    return f"{c.field}: {show(c.old)} -> {show(c.new)}"


_EVENT_FIELDS = {"status", "departed_on", "role", "building", "buildings", "role_changed_on"}
# Fields copied from the roster when it fills them (name only when the registry has none).
_SIMPLE_FIELDS = ("kind", "adult", "birth_date", "grade", "employee_id")


def _filled(value: Any) -> bool:
    return value is not None and value != ""


def _keys(entry: RosterEntry) -> list[str]:
    email, employee_id = entry.email.strip().lower(), entry.employee_id.strip()
    return [k for k in (email and f"email:{email}", employee_id and f"id:{employee_id}") if k]


def _distinct(entries: Sequence[RosterEntry], warnings: list[str]) -> list[RosterEntry]:
    """One entry per person (same email or employee id). A directory sometimes lists someone twice,
    an old record being deleted next to the current one: the record that is not departed wins."""
    chosen: list[RosterEntry] = []
    index: dict[str, int] = {}
    for entry in entries:
        keys = _keys(entry)
        at = next((index[k] for k in keys if k in index), None)
        if at is None:
            index.update(dict.fromkeys(keys, len(chosen)))
            chosen.append(entry)
            continue
        previous = kept = chosen[at]
        if kept.status is PersonStatus.DEPARTED and entry.status is not PersonStatus.DEPARTED:
            chosen[at] = kept = entry
            index.update(dict.fromkeys(keys, at))
        warnings.append(
            f"Roster entries {previous.source_id!r} and {entry.source_id!r} describe the same person; "
            f"{kept.source_id!r} is used."
        )
    return chosen


def plan_sync(
    people: Sequence[Person],
    entries: Sequence[RosterEntry],
    *,
    referenced_person_ids: set[str],
    today: date,
    full_snapshot: bool = True,
    create_missing: bool = False,
    roles: RoleRules | None = None,
    baseline: Mapping[str, tuple[str, str]] | None = None,
) -> SyncPlan:
    """Compare a roster with the registry. Pure: no I/O, the clock is `today`.

    `full_snapshot`: the entries are the whole directory (OneRoster bulk, a REST/Graph/Google
    listing, a complete HR export), so an active person of a kind the roster covers who is missing
    from it has departed. For a delta, absence means nothing.

    Roles and buildings compare case- and whitespace-insensitively, through `roles` (what the
    roster's role means: job titles, or OneRoster terms mapped to titles). A role change is the
    roster changing its mind: `baseline` holds what this source said at its last sync (None: its
    first sync). A person the baseline does not know takes on the roster's role and building where
    they compare, without a role change (the first sync of a source reports people matched, not
    everyone changed); the registry keeps a title the roster's vocabulary cannot be compared with.
    """
    rules = roles or RoleRules()
    seen: dict[str, tuple[str, str]] = {}
    differing: list[tuple[str, str, str, str]] = []
    warnings: list[str] = []
    by_email: dict[str, Person] = {}
    by_employee_id: dict[str, Person] = {}
    ambiguous: set[str] = set()
    for p in people:
        for index, key in ((by_email, p.email.strip().lower()), (by_employee_id, p.employee_id.strip())):
            if not key:
                continue
            if key in index and index[key].id != p.id:
                ambiguous.add(key)
                warnings.append(
                    f"{index[key].id} and {p.id} share {key!r} in the registry; neither is matched by it."
                )
            index[key] = p
    for key in ambiguous:
        by_email.pop(key, None)
        by_employee_id.pop(key, None)

    matched: dict[str, RosterEntry] = {}
    order: list[Person] = []
    unmatched: list[RosterEntry] = []
    for entry in _distinct(entries, warnings):
        email = entry.email.strip().lower()
        person = by_email.get(email) if email else None
        if person is None and entry.employee_id:
            person = by_employee_id.get(entry.employee_id.strip())
        if person is None:
            unmatched.append(entry)
            continue
        if person.id in matched:
            warnings.append(
                f"Roster entries {matched[person.id].source_id!r} and {entry.source_id!r} both match "
                f"{person.id}; the first is used."
            )
            continue
        matched[person.id] = entry
        order.append(person)

    updates: list[PersonUpdate] = []
    departures: list[Departure] = []
    role_changes: list[RoleChange] = []
    for person in order:
        entry = matched[person.id]
        referenced = person.id in referenced_person_ids
        changes: list[FieldChange] = []

        def change(
            field: str, new: Any, person: Person = person, changes: list[FieldChange] = changes
        ) -> None:
            old = getattr(person, field)
            if old != new:
                changes.append(FieldChange(field, old, new))

        if not person.name and entry.name:
            change("name", entry.name)
        email = entry.email.strip().lower()
        if email and email != person.email.strip().lower():
            change("email", email)  # matched by employee id: the address changed
        for field in _SIMPLE_FIELDS:
            value = getattr(entry, field)
            if _filled(value):
                change(field, value)

        if entry.status is PersonStatus.DEPARTED:
            if person.status is not PersonStatus.DEPARTED:
                departed_on = entry.left_on or today
                change("status", PersonStatus.DEPARTED)
                change("departed_on", departed_on)
                departures.append(Departure(person.id, person.name, departed_on, DEPARTED_REASON, referenced))
            elif person.departed_on is None and entry.left_on is not None:
                change("departed_on", entry.left_on)
            # A departed person's last role is history, not a role change.
        else:
            change("status", entry.status)
            if person.status is PersonStatus.DEPARTED:
                change("departed_on", None)  # back again (rehired, or wrongly marked)
            listed = roster_buildings(entry)
            now_seen = (fold(entry.role), buildings_key(listed))
            seen[person.id] = now_seen
            before = baseline.get(person.id) if baseline is not None else None
            new_role = _role_after(rules, person, entry, before, differing)
            new_building, new_buildings = _buildings_after(person, listed, before, differing)
            if (new_role, new_building, new_buildings) != (person.role, person.building, person.buildings):
                change("role", new_role)
                change("building", new_building)
                change("buildings", new_buildings)
                # A change the roster made since its last sync; a first fill, or taking on the
                # roster's value for someone it had not described before, is not a role change.
                moved = _moved(before, now_seen) and bool(person.role or person.building)
                if moved:
                    changed_on = entry.role_began_on or today
                    change("role_changed_on", changed_on)
                    role_changes.append(
                        RoleChange(
                            person.id, person.name, person.role, new_role, "; ".join(person.all_buildings),
                            "; ".join(new_buildings or ((new_building,) if new_building else ())),
                            changed_on, referenced,
                        )
                    )  # fmt: skip
        if changes:
            updates.append(PersonUpdate(person.id, person.name, tuple(changes)))

    absent: list[str] = []
    if full_snapshot and entries:
        covered_kinds = {e.kind for e in entries}
        covered = [
            p for p in people
            if p.kind in covered_kinds and (p.email or p.employee_id) and p.id not in matched
            and p.status is not PersonStatus.DEPARTED
        ]  # fmt: skip
        for p in covered:
            absent.append(p.id)
            referenced = p.id in referenced_person_ids
            departures.append(Departure(p.id, p.name, today, ABSENT_REASON, referenced))
            updates.append(
                PersonUpdate(
                    p.id,
                    p.name,
                    (
                        FieldChange("status", p.status, PersonStatus.DEPARTED),
                        FieldChange("departed_on", p.departed_on, today),
                    ),
                )
            )

    warnings.extend(_departure_guard(people, entries, updates))

    creations: list[RosterEntry] = []
    left_unmatched: list[RosterEntry] = []
    for entry in unmatched:
        if create_missing and entry.status is not PersonStatus.DEPARTED and _keys(entry):
            creations.append(entry)
        else:
            left_unmatched.append(entry)

    summary = SyncSummary(
        entries=len(entries),
        matched=len(matched),
        updated=len(updates),
        departures=len(departures),
        departures_referenced=sum(d.referenced for d in departures),
        role_changes=len(role_changes),
        role_changes_referenced=sum(r.referenced for r in role_changes),
        created=len(creations),
        absent=len(absent),
        unmatched=len(left_unmatched),
    )
    return SyncPlan(
        updates=tuple(updates),
        departures=tuple(departures),
        role_changes=tuple(role_changes),
        creations=tuple(creations),
        absent=tuple(absent),
        unmatched=tuple(left_unmatched),
        warnings=tuple(warnings),
        summary=summary,
        seen=seen,
        baseline=baseline is None,
        differing=tuple(differing),
    )


def _role_after(
    rules: RoleRules,
    person: Person,
    entry: RosterEntry,
    before: tuple[str, str] | None,
    differing: list[tuple[str, str, str, str]],
) -> str:
    """The registry's job title after this sync."""
    if not entry.role or rules.agrees(person.role, entry.role):
        return person.role
    if not person.role:
        return rules.title_for(entry.role)  # a first fill
    if before is not None and before[0] == fold(entry.role):
        differing.append((person.id, person.name, person.role, entry.role))
        return person.role  # the roster has not changed: the registry's own title stands
    if before is None and not rules.comparable(person.role):
        differing.append((person.id, person.name, person.role, entry.role))
        return person.role  # "Principal" and "administrator" are not the same kind of word
    return rules.title_for(entry.role)


def roster_buildings(entry: RosterEntry) -> tuple[str, ...]:
    """Every building the roster gives for this person (one row per school folded: all of them),
    trimmed and without repeats; () when it gives none."""
    primary, several = Person.building_fields(entry.buildings or (entry.building,))
    return several or ((primary,) if primary else ())


def buildings_key(listed: Sequence[str]) -> str:
    """Buildings as the baseline keeps them: one folded, several folded and sorted ("; ")."""
    return "; ".join(sorted({fold(b) for b in listed}))


def _moved(before: tuple[str, str] | None, now: tuple[str, str]) -> bool:
    """The roster changed its mind since its last sync: another role, or buildings that share none
    with the ones it gave (a school added to or dropped from several is a building change only)."""
    if before is None or before == now:
        return False
    if before[0] != now[0]:
        return True
    return not set(filter(None, before[1].split("; "))) & set(filter(None, now[1].split("; ")))


def _buildings_after(
    person: Person,
    listed: tuple[str, ...],
    before: tuple[str, str] | None,
    differing: list[tuple[str, str, str, str]],
) -> tuple[str, tuple[str, ...]]:
    """The registry's (building, buildings) after this sync; `listed`: the roster's buildings.

    Buildings compare as a set: the same schools in another order are no change, and a person's
    primary building stays first while the roster still lists it."""
    have = person.all_buildings
    if len(listed) <= 1 and len(have) <= 1:
        # One building on both sides (or none): compared as the single-building field always was.
        return _building_after(person, listed[0] if listed else "", before, differing), ()
    if not listed or buildings_key(listed) == buildings_key(have):
        return person.building, person.buildings
    if not have:
        return Person.building_fields(listed)  # a first fill
    unchanged = before is not None and before[1] == buildings_key(listed)
    if unchanged or (before is None and len(listed) == 1 and person.works_at(listed[0])):
        # The roster has not changed since the baseline (the registry was edited), or a source's first
        # sync names one of their schools: it may list only a primary building, so the registry's
        # list stands.
        differing.append((person.id, person.name, "; ".join(have), "; ".join(listed)))
        return person.building, person.buildings
    first = [b for b in listed if fold(b) == fold(person.building)]
    return Person.building_fields([*first, *listed])


def _building_after(
    person: Person,
    building: str,
    before: tuple[str, str] | None,
    differing: list[tuple[str, str, str, str]],
) -> str:
    if not building or fold(building) == fold(person.building) or not person.building:
        return building.strip() if building and not person.building else person.building
    if before is not None and before[1] == fold(building):
        differing.append((person.id, person.name, person.building, building))
        return person.building
    return building.strip()


GUARD_NAMES = 10  # people a departure warning names before "and N more"
# Fewer leaving than this is never suspicious: in a registry of four account managers one leaving is
# 25 %, and a nightly sync must not stop for it. A wrong or filtered export takes many at once.
GUARD_MIN_PEOPLE = 3


def _departure_guard(
    people: Sequence[Person], entries: Sequence[RosterEntry], updates: Sequence[PersonUpdate]
) -> list[str]:
    """A warning when the plan would take more than SUSPICIOUS_ABSENT_FRACTION of the active people
    the roster covers out of active status, by any road: missing from a complete roster, marked
    deleted, disabled or archived, every role ended, a leave date passed. It names them."""
    covered_kinds = {e.kind for e in entries} or {p.kind for p in people}
    active = [p for p in people if p.kind in covered_kinds and p.status is not PersonStatus.DEPARTED]
    leaving = []
    by_id = {p.id: p for p in active}
    for update in updates:
        status = update.change("status")
        person = by_id.get(update.person_id)
        if status is None or person is None:
            continue
        if status.new is PersonStatus.DEPARTED or (
            status.new is PersonStatus.ON_LEAVE and person.status is PersonStatus.ACTIVE
        ):
            leaving.append((person.name, status.new))
    if len(leaving) < GUARD_MIN_PEOPLE or len(leaving) / len(active) <= SUSPICIOUS_ABSENT_FRACTION:
        return []
    departing = sum(1 for _, s in leaving if s is PersonStatus.DEPARTED)
    names = ", ".join(n for n, _ in leaving[:GUARD_NAMES])
    more = f" and {len(leaving) - GUARD_NAMES} more" if len(leaving) > GUARD_NAMES else ""
    what = f"{departing} departed" + (
        f", {len(leaving) - departing} on leave" if departing < len(leaving) else ""
    )
    return [
        f"The roster would take {len(leaving)} of {len(active)} active people it covers out of active "
        f"status ({what}): {names}{more}; check that the export is complete and current before applying."
    ]


def _new_person_id(entry: RosterEntry) -> str:
    return f"person-{uuid.uuid4().hex[:12]}"


def apply_plan(
    people: Sequence[Person],
    plan: SyncPlan,
    now: datetime,
    *,
    new_id: Callable[[RosterEntry], str] = _new_person_id,
) -> list[Person]:
    """Every person after the plan: the input order with updated values (`updated_at=now`), then
    the created people (`created_at=updated_at=now`). Nobody is removed."""
    updates = {u.person_id: u for u in plan.updates}
    result = []
    for person in people:
        update = updates.get(person.id)
        if update is not None:
            person = dataclasses.replace(person, **{c.field: c.new for c in update.changes}, updated_at=now)
        result.append(person)
    for entry in plan.creations:
        buildings = Person.building_fields(roster_buildings(entry))[1]
        result.append(
            Person(
                id=new_id(entry),
                name=entry.name or entry.email,
                email=entry.email.strip().lower(),
                kind=entry.kind,
                adult=entry.adult,
                birth_date=entry.birth_date,
                grade=entry.grade,
                role=entry.role,
                building=buildings[0] if buildings else entry.building,
                buildings=buildings,
                status=entry.status,
                employee_id=entry.employee_id,
                created_at=now,
                updated_at=now,
            )
        )
    return result
