"""Credential escrow: are the keys to each account with the district, current, and rotated on time?

Naperville 203: "log-in information, usernames, passwords and names of sites must be shared with
school administration ... should the site manager change" (Site Security). Moline-Coal Valley: "a
secondary administrator account is added or primary account credentials are shared" (Approval item
4), so there a secondary administrator also satisfies `escrow.missing` (policy
`escrow.accept_secondary_admin`), and `escrow.no_secondary_admin` asks that someone other than the
owner can open what is escrowed. These checks read `CredentialRef` metadata and the identities' names,
emails and scopes only: the audit runs with the inventory key and never sees a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from auditor.engine.checks.base import AccountCheck, CheckContext, Coverage, is_adult_employee
from auditor.model.types import (
    Account,
    EscrowHolder,
    Finding,
    PersonStatus,
    RotationTask,
    Severity,
    escrow_scope,
)


class EscrowMissing(AccountCheck):
    id = "escrow.missing"
    title = "Every account's credentials are escrowed with the district"
    severity = Severity.HIGH
    risk = "If the manager leaves or loses access, the district cannot recover its own account."
    remediation = (
        "Escrow the credentials with `auditor secret set ACCOUNT` "
        "(the secret is prompted for, never an argument)."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        cred = ctx.credentials.get(account.id)
        if cred is not None and cred.escrowed:
            return
        if ctx.policy.escrow.accept_secondary_admin:
            for pid in account.co_manager_ids:
                person = ctx.person(pid)
                if (
                    pid != account.owner_id
                    and person is not None
                    and person.status is PersonStatus.ACTIVE
                    and is_adult_employee(person, ctx.today)
                ):
                    return
            message = f"{account.label} has no escrowed credentials and no secondary administrator."
        else:
            message = f"{account.label} has no escrowed credentials."
        yield self.finding(ctx, message, account=account)


class EscrowNoSecondaryAdmin(AccountCheck):
    id = "escrow.no_secondary_admin"
    title = "Every account's escrowed credentials can be opened by an active identity other than its owner's"
    severity = Severity.MEDIUM
    risk = (
        "Only the owner holds a key to the account's escrow scope: if the owner leaves or is locked "
        "out, nobody in the district can recover the account."
    )
    remediation = (
        "Grant the account's scope to its building administrator with "
        "`auditor identity grant NAME --scope BUILDING` (or add one with "
        "`auditor identity add NAME --role building-admin --scope BUILDING`)."
    )

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        if base is not Coverage.APPLIES:
            return base
        cred = ctx.credentials.get(account.id)
        if cred is None or not cred.escrowed:
            return Coverage.NOT_APPLICABLE  # escrow.missing reports it
        if ctx.holders is None:
            return Coverage.CANNOT_TELL  # the identities were not read
        return base

    def _owner_email(self, ctx: CheckContext, account: Account) -> str:
        owner = ctx.person(account.owner_id)
        email = owner.email if owner is not None and owner.email else account.owner_id
        return email.strip().casefold() if "@" in email else ""

    def _stands_in(self, ctx: CheckContext, holder: EscrowHolder, owner_email: str) -> bool:
        """The identity is someone other than the owner who is still there to recover the account.
        An identity matched with no person (no email, or not in the roster) counts: nothing says
        it left; the access review lists it for a person to confirm."""
        email = holder.email.strip().casefold()
        if email and email == owner_email:
            return False
        person = ctx.person(email) if email else None
        return person is None or person.status is PersonStatus.ACTIVE

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        assert ctx.holders is not None
        scope = escrow_scope(account.building)
        reaching = [h for h in ctx.holders if h.reaches(scope)]
        owner_email = self._owner_email(ctx, account)
        if any(self._stands_in(ctx, h, owner_email) for h in reaching):
            return
        if reaching:
            who = "; ".join(
                f"{h.name} ({'the owner' if h.email.strip().casefold() == owner_email else 'not active'})"
                for h in sorted(reaching, key=lambda h: h.name)
            )
            message = (
                f"{account.label}'s escrowed credentials (escrow scope {scope}) can be opened by no active "
                f"identity other than its owner's: {who}."
            )
        else:
            message = (
                f"{account.label}'s escrowed credentials (escrow scope {scope}) can be opened by no "
                "identity at all."
            )
        yield self.finding(
            ctx,
            message,
            account=account,
            evidence={"scope": scope, "identities": sorted(h.name for h in reaching)},
        )


def _at(moment: datetime) -> str:
    """A moment as messages give it when the date alone is ambiguous: "2026-12-01 at 14:30 UTC"."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{utc.date().isoformat()} at {utc:%H:%M} UTC"


class EscrowStale(AccountCheck):
    id = "escrow.stale"
    title = (
        "Every account's escrowed credentials were changed after its last manager change and within the "
        "policy's maximum age"
    )
    severity = Severity.MEDIUM
    risk = "Someone who no longer manages the account may still know its password."
    remediation = (
        "Change the password on the platform and store the new one with `auditor secret set ACCOUNT`."
    )

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        cred = ctx.credentials.get(account.id)
        if base is Coverage.APPLIES and (
            cred is None or not cred.escrowed or (cred.rotated_at or cred.set_at) is None
        ):
            return Coverage.NOT_APPLICABLE  # escrow.missing reports it
        return base

    def _changes(self, ctx: CheckContext, account: Account, since: datetime) -> list[tuple[date, str]]:
        """Events after `since` (the last credential change) that call for a new password.

        A manager change recorded by the registry has a time, so a change later the same day still
        counts; departures and role changes come from rosters as dates and count from the next day.
        """
        events: list[tuple[date, str]] = []
        changed = ctx.managers_changed_at.get(account.id)
        if changed is not None and changed > since:
            # The same day as the credential change: the date alone would read as no order at all.
            when = _at(changed) if changed.date() == since.date() else changed.date().isoformat()
            events.append((changed.date(), f"the account's managers changed on {when}"))
        dated: list[tuple[date, str]] = []
        for pid in (*account.manager_ids(), *account.student_manager_ids):
            person = ctx.person(pid)
            if person is None:
                continue
            if person.status is PersonStatus.DEPARTED and person.departed_on is not None:
                dated.append(
                    (
                        person.departed_on,
                        f"{person.name} left the district on {person.departed_on.isoformat()}",
                    )
                )
            if person.role_changed_on is not None and pid == account.owner_id:
                dated.append(
                    (
                        person.role_changed_on,
                        f"{person.name}'s role changed on {person.role_changed_on.isoformat()}",
                    )
                )
        events.extend(e for e in dated if e[0] > since.date())
        return sorted(events)

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        cred = ctx.credentials[account.id]
        last_at = cred.rotated_at or cred.set_at
        assert last_at is not None
        last = last_at.date()
        later = self._changes(ctx, account, last_at)
        if later:
            same_day = later[0][0] == last
            yield self.finding(
                ctx,
                f"{account.label}'s escrowed credentials were last changed on "
                f"{_at(last_at) if same_day else last.isoformat()}, before {later[0][1]}.",
                account=account,
                evidence={"last_changed": last.isoformat()},
            )
            return
        max_age = ctx.policy.escrow.max_age
        if max_age is not None and max_age.add_to(last) < ctx.today:
            yield self.finding(
                ctx,
                f"{account.label}'s escrowed credentials were last changed on {last.isoformat()}, "
                f"more than {max_age} ago.",
                account=account,
                evidence={"last_changed": last.isoformat()},
            )


def _open_tasks(ctx: CheckContext, account: Account) -> Iterable[tuple[RotationTask, date]]:
    """The account's open rotation tasks, each with its deadline (its own, else the policy's)."""
    deadline = ctx.policy.escrow.rotation_deadline
    for task in ctx.rotation_tasks:
        if task.account_id == account.id and task.is_open:
            yield task, task.due(deadline)


class EscrowRotationPending(AccountCheck):
    id = "escrow.rotation_pending"
    title = "Every credential rotation task is confirmed, item by item"
    severity = Severity.MEDIUM
    risk = (
        "Until every step is confirmed on the platform (password, two-factor, recovery codes, "
        "admin roles, sessions), the person who left may still hold a way in."
    )
    remediation = (
        "Do the steps `auditor task show TASK` lists and confirm each with `auditor task confirm TASK ITEM`."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        for task, due in _open_tasks(ctx, account):
            if due < ctx.today:
                continue  # escrow.rotation_overdue reports it
            outstanding = [i.value for i in task.outstanding]
            pending = " a new credential is pending;" if task.pending_fields else ""
            yield self.finding(
                ctx,
                f"{account.label} has a credential rotation task opened on "
                f"{task.opened_at.date().isoformat()}, due on {due.isoformat()}:{pending} "
                f"{len(outstanding)} of {len(task.items)} steps to confirm ({', '.join(outstanding)}).",
                account=account,
                subject=f"account:{account.id}:task:{task.id}",
                evidence={
                    "task_id": task.id,
                    "due": due.isoformat(),
                    "outstanding": outstanding,
                    "pending": list(task.pending_fields),
                },
            )


class EscrowRotationOverdue(AccountCheck):
    id = "escrow.rotation_overdue"
    title = "Every credential rotation task is done by its deadline"
    severity = Severity.HIGH
    risk = "A person who lost access (offboarding, break-glass) can still sign in until the secrets change."
    remediation = (
        "Do the steps `auditor task show TASK` lists on the platform and confirm each with "
        "`auditor task confirm TASK ITEM`; `auditor task list` shows what each task still asks for."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        for task, due in _open_tasks(ctx, account):
            if due < ctx.today:
                reason = f" ({task.reason})" if task.reason else ""
                yield self.finding(
                    ctx,
                    f"{account.label} has a credential rotation task opened on "
                    f"{task.opened_at.date().isoformat()}{reason} that was due on {due.isoformat()}.",
                    account=account,
                    subject=f"account:{account.id}:task:{task.id}",
                    evidence={"task_id": task.id, "due": due.isoformat()},
                )
