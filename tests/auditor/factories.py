"""Factories with defaults for check and engine tests: `make_person`, `make_account`, `make_context`.

The defaults describe one fully compliant Naperville 203 account (Instagram @nnhs_athletics, owned by
the athletic director, approved by the principal, credentials escrowed, profile stating the
affiliation and role), so a test overrides only what it is about and asserts the exact message.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from auditor.engine.checks.base import AccountCheck, CheckContext, Coverage, ImpersonationCandidate
from auditor.engine.checks.registry import CHECKS
from auditor.engine.policy import Policy, load_preset
from auditor.model.types import (
    Account,
    AccountStatus,
    Approval,
    CredentialRef,
    Finding,
    Person,
    PersonKind,
    PersonStatus,
    Platform,
    Profile,
    ProfileStatus,
    Purpose,
    RotationTask,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@cache
def preset(name: str = "naperville-203") -> Policy:
    return load_preset(name)


def make_person(**overrides: Any) -> Person:
    """An active adult employee, trained and with both agreements signed (the account's owner)."""
    values: dict[str, Any] = {
        "id": "p-owner",
        "name": "Alex Rivera",
        "email": "alex.rivera@naperville203.org",
        "kind": PersonKind.EMPLOYEE,
        "role": "Athletic Director",
        "building": "nnhs",
        "status": PersonStatus.ACTIVE,
        "training_completed_on": date(2026, 1, 10),
        "procedure_signed_on": date(2025, 8, 20),
        "aup_signed_on": date(2025, 8, 20),
    }
    values.update(overrides)
    return Person(**values)


def default_people() -> dict[str, Person]:
    people = [
        make_person(),
        make_person(id="p-comanager", name="Jordan Lee", email="jordan.lee@naperville203.org", role="Coach"),
        make_person(
            id="p-principal", name="Morgan Hale", email="morgan.hale@naperville203.org", role="Principal"
        ),
    ]
    return {p.id: p for p in people}


def make_account(**overrides: Any) -> Account:
    values: dict[str, Any] = {
        "id": "acc-athletics",
        "platform": Platform.INSTAGRAM,
        "handle": "nnhs_athletics",
        "display_name": "NNHS Athletics",
        "building": "nnhs",
        "purpose": Purpose.ATHLETICS,
        "owner_id": "p-owner",
        "co_manager_ids": ("p-comanager",),
        "login_email": "nnhs.athletics@naperville203.org",
        "two_factor": True,
        "public_comments": True,
        "comment_monitor_ids": ("p-comanager",),
        "approval": Approval(
            requested_on=date(2026, 1, 5),
            approved_on=date(2026, 1, 15),
            approved_by="morgan.hale@naperville203.org",
        ),
        "status": AccountStatus.ACTIVE,
        "created_at": datetime(2026, 1, 16, 9, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return Account(**values)


def make_profile(account: Account | None = None, **overrides: Any) -> Profile:
    account = account or make_account()
    values: dict[str, Any] = {
        "platform": account.platform,
        "handle": account.handle,
        "status": ProfileStatus.FOUND,
        "platform_handle": account.handle,
        "display_name": "NNHS Athletics",
        "bio": "Official account of Naperville North High School Athletics.",
        "website": "https://www.naperville203.org/nnhs",
        "last_post_at": datetime(2026, 5, 20, 15, 0, tzinfo=UTC),
        "fetched_at": NOW,
    }
    values.update(overrides)
    return Profile(**values)


def make_credential(account_id: str = "acc-athletics", **overrides: Any) -> CredentialRef:
    values: dict[str, Any] = {
        "account_id": account_id,
        "escrowed": True,
        "version": 2,
        "set_at": datetime(2026, 1, 20, 10, 0, tzinfo=UTC),
        "set_by": "it-admin",
        "has_password": True,
        "has_totp": True,
        "recovery_codes_total": 10,
        "recovery_codes_unused": 10,
    }
    values.update(overrides)
    return CredentialRef(**values)


def make_task(account_id: str = "acc-athletics", **overrides: Any) -> RotationTask:
    values: dict[str, Any] = {
        "id": "task-1",
        "account_id": account_id,
        "reason": "offboarding",
        "opened_at": datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return RotationTask(**values)


def make_candidate(**overrides: Any) -> ImpersonationCandidate:
    values: dict[str, Any] = {
        "platform": Platform.X,
        "handle": "TheReal203Superintendent",
        "score": 90.0,
        "display_name": "Superintendent 203",
        "target": "the protected role name Superintendent",
        "reasons": ("affix the+real", "contains 203superintendent"),
    }
    values.update(overrides)
    return ImpersonationCandidate(**values)


def make_context(**overrides: Any) -> CheckContext:
    """A context with the default account, people, escrow and profile; override any field.

    `policy` may be a preset name. When `accounts` is overridden and `profiles`/`credentials` are
    not, every account gets a compliant profile and escrowed credentials.
    """
    policy = overrides.pop("policy", "naperville-203")
    if isinstance(policy, str):
        policy = preset(policy)
    accounts = tuple(overrides.pop("accounts", (make_account(),)))
    values: dict[str, Any] = {
        "policy": policy,
        "now": NOW,
        "accounts": accounts,
        "people": default_people(),
        "credentials": {a.id: make_credential(a.id) for a in accounts},
        "profiles": {a.id: make_profile(a) for a in accounts},
    }
    values.update(overrides)
    return CheckContext(**values)


def with_people(ctx: CheckContext, *people: Person) -> CheckContext:
    """`ctx` with these people added or replaced (by id)."""
    merged = dict(ctx.people)
    merged.update({p.id: p for p in people})
    return dataclasses.replace(ctx, people=merged)


def run_check(check_id: str, ctx: CheckContext) -> list[Finding]:
    """The findings of one check, run directly (exceptions propagate: the engine is not involved)."""
    return list(CHECKS[check_id]().run(ctx))


def messages(check_id: str, ctx: CheckContext) -> list[str]:
    return [f.message for f in run_check(check_id, ctx)]


def coverage(check_id: str, ctx: CheckContext, account: Account) -> Coverage:
    check = CHECKS[check_id]()
    assert isinstance(check, AccountCheck)
    return check.applies(ctx, account)
