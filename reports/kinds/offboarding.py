"""The offboarding report: for a departed person, their accounts, who took them over, and the
credential rotations done and still pending.

What happened comes from the reveal log's `offboard` events (auditor/services/escrow.py writes the
accounts touched, the new owners and the tasks opened) and from the rotation tasks themselves (a
task is done when every step of its checklist was confirmed). Without `--person` the report covers every
departed person and everyone offboarded, so an evidence pack shows them all. A person marked departed
(e.g. by roster sync) who is still named on accounts is reported as not offboarded yet.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from auditor.model.log import Event
from auditor.model.types import Person, PersonStatus
from reports.input import Reads, ReportInput
from reports.kinds._common import Kind, Source, day, load, task_due, task_steps
from reports.model import Figure, Report, Section, columns, count_phrase


def _roles(source: Source, person: Person) -> dict[str, list[str]]:
    """Accounts still naming the person, with the roles they hold there."""
    out: dict[str, list[str]] = {}
    for a in source.snapshot.accounts:
        for role, ids in (
            ("owner", (a.owner_id,)),
            ("co-manager", a.co_manager_ids),
            ("student manager", a.student_manager_ids),
            ("comment monitor", a.comment_monitor_ids),
        ):
            if person.id in ids:
                out.setdefault(a.id, []).append(role)
    return out


def _person_rows(source: Source, person: Person, events: list[Event]) -> dict[str, list[dict[str, Any]]]:
    who = person.email or person.name
    roles = _roles(source, person)
    touched: dict[str, Event | None] = {aid: None for aid in roles}
    task_ids: set[str] = set()
    reassign = []
    for e in events:
        for aid in e.details.get("accounts", []):
            touched[str(aid)] = e
        for aid, new_owner in dict(e.details.get("new_owners", {})).items():
            reassign.append(
                {
                    "person": who,
                    "account": source.account_label(str(aid)),
                    "new_owner": source.person_label(str(new_owner)),
                    "when": day(e.at),
                    "by": e.identity,
                }
            )
        task_ids.update(str(t) for t in e.details.get("tasks_opened", []))
    accounts = []
    for aid, event in touched.items():
        a = source.account(aid)
        accounts.append(
            {
                "person": who,
                "account": source.account_label(aid),
                "role_now": ", ".join(roles[aid]) if aid in roles else "none",
                "owner_now": source.person_label(a.owner_id) if a is not None and a.owner_id else "",
                "offboarded": day(event.at) if event is not None else "not offboarded",
            }
        )
    # A rotation is theirs when offboarding opened it, or when it is for one of their accounts and
    # was open when they left (opened earlier and merged into, or opened since).
    left = [e.at.date() for e in events] + ([person.departed_on] if person.departed_on else [])
    first = min(left, default=None)
    rotations = []
    for task in sorted(source.snapshot.rotation_tasks, key=lambda t: (t.opened_at, t.id)):
        open_when_left = first is not None and (task.closed_at is None or task.closed_at.date() >= first)
        if task.id not in task_ids and not (task.account_id in touched and open_when_left):
            continue
        due = task_due(task, source)
        late = (source.today - due).days if task.is_open else 0
        rotations.append(
            {
                "person": who,
                "task": task.id,
                "account": source.account_label(task.account_id),
                "status": task.status,
                "to_do": [i.value for i in task.outstanding],
                "steps": task_steps(task),
                "opened": day(task.opened_at),
                "due": day(due),
                "done": (
                    f"cancelled {day(task.closed_at)}: {task.cancel_reason}"
                    if task.cancelled and task.closed_at
                    else f"{day(task.closed_at)} (credential version {task.closed_by_version})"
                    if task.closed_at
                    else ""
                ),
                "overdue": f"{late} days overdue" if late > 0 else "",
            }
        )
    return {"accounts": accounts, "reassignments": reassign, "rotations": rotations}


def _sentence(
    source: Source, person: Person, events: list[Event], rows: dict[str, list[dict[str, Any]]]
) -> str:
    name = f"{person.name} ({person.email})" if person.email else person.name
    status = (
        f"departed on {day(person.departed_on)}"
        if person.departed_on
        else person.status.value.replace("_", " ")
    )
    still = [r for r in rows["accounts"] if r["role_now"] != "none"]
    pending = [r for r in rows["rotations"] if r["status"] == "open"]
    late = [r for r in pending if r["overdue"]]
    if not events:
        text = f"{name}, {status}, has not been offboarded (`auditor offboard`)"
        text += f": still named on {count_phrase(len(still), 'account')}." if still else "."
        return text
    text = (
        f"{name}, {status}, was offboarded on {day(events[-1].at)} by {events[-1].identity}: "
        f"{count_phrase(len(rows['reassignments']), 'account')} reassigned, "
        f"{count_phrase(len(rows['rotations']), 'credential rotation')} ({len(rows['rotations']) - len(pending)} done, "
        f"{len(pending)} pending{f', {len(late)} overdue' if late else ''})."
    )
    if still:
        text += f" Still named on {count_phrase(len(still), 'account')}."
    return text


def build(
    data: ReportInput,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: Person | None = None,
    now: datetime,
) -> Report:
    source = load(data, now)
    offboards = [e for e in source.events if e.action == "offboard"]
    by_person: dict[str, list[Event]] = {}
    for e in offboards:
        by_person.setdefault(str(e.details.get("person_id", "")), []).append(e)
    if person is not None:
        people = [person]
    else:
        people = [p for p in source.snapshot.people if p.status is PersonStatus.DEPARTED or p.id in by_person]
    rows: dict[str, list[dict[str, Any]]] = {"accounts": [], "reassignments": [], "rotations": []}
    sentences = []
    for p in people:
        mine = _person_rows(source, p, by_person.get(p.id, []))
        for key, items in mine.items():
            rows[key].extend(items)
        sentences.append(_sentence(source, p, by_person.get(p.id, []), mine))
    if not people:
        sentences.append("Nobody has departed or been offboarded.")
    pending = [r for r in rows["rotations"] if r["status"] == "open"]
    cancelled = [r for r in rows["rotations"] if r["status"] == "cancelled"]
    figures = (
        Figure("people", "People", len(people)),
        Figure("accounts", "Accounts concerned", len(rows["accounts"])),
        Figure("reassigned", "Reassigned", len(rows["reassignments"])),
        Figure("rotations_done", "Rotations done", len(rows["rotations"]) - len(pending) - len(cancelled)),
        Figure("rotations_pending", "Rotations pending", len(pending)),
        Figure("rotations_cancelled", "Rotations cancelled", len(cancelled)),
        Figure("rotations_overdue", "Rotations overdue", sum(1 for r in pending if r["overdue"])),
    )
    subject = people[0] if person is not None else None
    return Report(
        kind="offboarding",
        title=f"Offboarding: {subject.name}" if subject else "Offboarding of departed staff",
        generated_at=source.now,
        district=source.district,
        policy=source.policy_label,
        scope={"person": (subject.email or subject.name) if subject else ""},
        summary=" ".join(sentences),
        figures=figures,
        sections=(
            Section(
                "accounts",
                "Accounts",
                columns(
                    ("person", "Person"),
                    ("account", "Account"),
                    ("role_now", "Their role now"),
                    ("owner_now", "Owner now"),
                    ("offboarded", "Offboarded"),
                ),
                tuple(rows["accounts"]),
                description="Every account the person managed or could reveal, and their role on it today.",
                empty="No account names them.",
            ),
            Section(
                "reassignments",
                "Reassignments",
                columns(
                    ("person", "Person"),
                    ("account", "Account"),
                    ("new_owner", "New owner"),
                    ("when", "When"),
                    ("by", "By"),
                ),
                tuple(rows["reassignments"]),
                description="Accounts they owned and who took them over.",
                empty="No account was reassigned.",
            ),
            Section(
                "rotations",
                "Credential rotations",
                columns(
                    ("person", "Person"),
                    ("task", "Task"),
                    ("account", "Account"),
                    ("status", "Status"),
                    ("steps", "Steps"),
                    ("opened", "Opened"),
                    ("due", "Due"),
                    ("done", "Done"),
                    ("overdue", "Overdue"),
                ),
                tuple(rows["rotations"]),
                description=(
                    "Credentials they knew: each step of each rotation is confirmed on the platform "
                    "(password, two-factor, recovery codes, admin roles, sessions)."
                ),
                empty="No credential rotation was needed.",
            ),
        ),
    )


KIND = Kind(
    "offboarding",
    build,
    "departed staff: their accounts, reassignments, credential rotations",
    reads=frozenset({Reads.LOG, Reads.PERSON}),
)
