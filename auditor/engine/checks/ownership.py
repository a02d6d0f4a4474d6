"""Who runs each account: owners who left or changed role, adult supervision, students under 13.

Moline-Coal Valley requires a secondary administrator or shared credentials "if the originator is no
longer filling the same role" (Approval item 4); Naperville 203 shares log-ins with administration
for "continuity of operations should the site manager change" (Site Security) and requires "at least
one account manager must be an adult and an employee" when a student manages or posts (Social Media
Representation 2); "Students under 13 years old are not permitted to use the social media tools
listed" (Approved Social Media Tools). A person on leave has not left: only `departed` orphans.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from auditor.engine.checks.base import (
    AccountCheck,
    CheckContext,
    Coverage,
    has_students,
    is_adult_employee,
    join_words,
)
from auditor.model.types import Account, Finding, Person, PersonKind, PersonStatus, Severity, age_on


def has_left(person: Person) -> bool:
    """They left the district (`departed`; a person on leave has not left): what `owner.departed`
    flags for an owner or co-manager, and the access review for an identity's grant."""
    return person.status is PersonStatus.DEPARTED


def left_phrase(person: Person) -> str:
    """ "left the district on 2026-03-01", or without the date when none is recorded."""
    return (
        f"left the district on {person.departed_on.isoformat()}"
        if person.departed_on
        else "left the district"
    )


def role_changed_since(person: Person, reference: date) -> bool:
    """Their role changed after `reference` (an account's approval, a grant) and they have not left
    (leaving is `has_left`'s): what `owner.role_changed` flags for an owner, and the access review
    for an identity granted before the change. Without a change date there is nothing to say."""
    return not has_left(person) and person.role_changed_on is not None and person.role_changed_on > reference


class OwnerDeparted(AccountCheck):
    id = "owner.departed"
    title = "Every account's owner and co-managers are still with the district"
    severity = Severity.HIGH
    risk = "An orphaned account keeps posting rights with someone the district can no longer direct."
    remediation = (
        "Reassign the account with `auditor offboard PERSON --to NEW_OWNER` (or "
        "`auditor account edit ACCOUNT --owner EMAIL`), then rotate its credentials with "
        "`auditor secret set ACCOUNT`."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        if not account.owner_id:
            yield self.finding(
                ctx,
                f"{account.label} has no owner on record; it is orphaned until an owner is assigned.",
                account=account,
            )
        else:
            owner = ctx.person(account.owner_id)
            if owner is None:
                yield self.finding(
                    ctx,
                    f"{account.label} names an owner who is not among the district's people records; "
                    "it is orphaned until an owner is assigned.",
                    account=account,
                    evidence={"owner_id": account.owner_id},
                )
            elif has_left(owner):
                yield self.finding(
                    ctx,
                    f"{account.label} is owned by {owner.name}, who {left_phrase(owner)}; "
                    "it is orphaned until it is reassigned.",
                    account=account,
                    person=owner,
                )
        for pid in account.co_manager_ids:
            person = ctx.person(pid)
            if pid == account.owner_id or person is None or not has_left(person):
                continue
            yield self.finding(
                ctx,
                f"{account.label} still lists {person.name}, who {left_phrase(person)}, as a co-manager.",
                account=account,
                person=person,
                severity=Severity.MEDIUM,
            )


class OwnerRoleChanged(AccountCheck):
    id = "owner.role_changed"
    title = "Every account's owner holds the role the account was approved for"
    severity = Severity.MEDIUM
    risk = "An owner who moved on may no longer be the right person to speak for the account."
    remediation = (
        "Confirm the owner or reassign the account with `auditor account edit ACCOUNT --owner EMAIL`, "
        "and record the renewed approval with `auditor account edit ACCOUNT --approved DATE`."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        owner = ctx.person(account.owner_id)
        # A departed owner is owner.departed's finding; without a change date there is nothing to say.
        if owner is None or has_left(owner) or owner.role_changed_on is None:
            return
        if account.approval.approved_on is not None:
            reference, what = account.approval.approved_on, "approved"
        elif account.created_at is not None:
            reference, what = account.created_at.date(), "created"
        else:
            return
        if role_changed_since(owner, reference):
            role = f" (now {owner.role})" if owner.role else ""
            yield self.finding(
                ctx,
                f"{account.label} is owned by {owner.name}, whose role changed on "
                f"{owner.role_changed_on.isoformat()}{role}, after the account was {what} on "
                f"{reference.isoformat()}; it is orphaned until the owner is confirmed or replaced.",
                account=account,
                person=owner,
            )


class ManagersNoAdultEmployee(AccountCheck):
    id = "managers.no_adult_employee"
    title = "Every account a student helps run has an active adult employee among its managers"
    severity = Severity.HIGH
    risk = "Students posting for the district without an adult employee accountable for the account."
    remediation = (
        "Add an adult employee as co-manager with `auditor account edit ACCOUNT --co-manager EMAIL`."
    )

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        mode = ctx.policy.managers.require_adult_employee
        if base is not Coverage.APPLIES or mode == "never":
            return Coverage.NOT_APPLICABLE if base is Coverage.APPLIES else base
        if mode == "when_students" and not has_students(ctx, account):
            return Coverage.NOT_APPLICABLE
        return Coverage.APPLIES

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        adults = [
            p
            for pid in account.manager_ids()
            if (p := ctx.person(pid)) is not None and is_adult_employee(p, ctx.today)
        ]
        if any(p.status is PersonStatus.ACTIVE for p in adults):
            return
        on_leave = [p.name for p in adults if p.status is PersonStatus.ON_LEAVE]
        if on_leave:
            verb = "is" if len(on_leave) == 1 else "are"
            message = (
                f"{account.label} has no active adult employee among its managers; "
                f"{join_words(on_leave)} {verb} on leave."
            )
        else:
            message = f"{account.label} has no adult employee among its managers."
        yield self.finding(ctx, message, account=account)


def _under_13(person: Person, ctx: CheckContext) -> str:
    """Why the person is under 13 ("age 12", "grade 5"), or "" when not (or unknown)."""
    if person.adult is True:
        return ""
    if person.birth_date is not None:
        age = age_on(person.birth_date, ctx.today)
        return f"age {age}" if age < 13 else ""
    grade = person.grade.strip().upper()
    if grade and grade in ctx.policy.managers.under_13_grades:
        return f"grade {person.grade.strip()}"
    return ""


class StudentUnder13(AccountCheck):
    id = "student.under_13"
    title = "No student under 13 manages or posts to an account"
    severity = Severity.HIGH
    risk = "Children under 13 may not use these platforms (district policy and the platforms' terms)."
    remediation = "Remove the student with `auditor account edit ACCOUNT --remove-student-manager PERSON`."

    def _students(self, ctx: CheckContext, account: Account) -> list[Person]:
        out: list[Person] = []
        for pid in (*account.manager_ids(), *account.student_manager_ids):
            person = ctx.person(pid)
            if person is not None and person.kind is PersonKind.STUDENT and person not in out:
                out.append(person)
        return out

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        if base is Coverage.APPLIES and not self._students(ctx, account):
            return Coverage.NOT_APPLICABLE
        return base

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        for student in self._students(ctx, account):
            if student.status is PersonStatus.DEPARTED:
                continue
            why = _under_13(student, ctx)
            if why:
                yield self.finding(
                    ctx,
                    f"{account.label} has a student manager under 13: {student.name} ({why}).",
                    account=account,
                    person=student,
                )
