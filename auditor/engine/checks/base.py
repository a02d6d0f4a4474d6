"""The check model: `Check` metadata and `run(ctx)`, the `CheckContext` every check reads.

Modelled on prowler: each check has a permanent id (waivers, history and old reports refer to it),
a title describing the *passing* state, a severity, the risk it guards against, and remediation text
naming the `auditor` command that fixes it. A check never fetches anything: the context carries the
inventory, people, escrow metadata, what the connectors saw, impersonation candidates, the policy and
the clock (`now`), so tests build a context and assert exact findings without network or freezing
time.

Most checks look at one account at a time (`AccountCheck`); the engine then runs them account by
account, so a crash costs one account's result, not the whole check. `coverage()` tells the engine
whether a subject was really evaluated this run: a finding is only *resolved* when its subject was
evaluated and came out clean, never because a profile could not be fetched.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, ClassVar

from auditor.engine.policy.loader import best_practice_framework
from auditor.engine.policy.model import Policy, Requirement
from auditor.model.types import (
    Account,
    AccountStatus,
    CredentialRef,
    EscrowHolder,
    Finding,
    Person,
    PersonKind,
    PersonStatus,
    Platform,
    Profile,
    ProfileStatus,
    RotationTask,
    Severity,
    StrEnum,
    display_handle,
    normalise_handle,
)


class Coverage(StrEnum):
    """Whether a check evaluated a subject this run."""

    APPLIES = "applies"  # evaluated: no finding means compliant
    NOT_APPLICABLE = "not_applicable"  # the rule does not concern this subject (a retired account)
    CANNOT_TELL = "cannot_tell"  # the data needed was missing this run (profile unknown)


@dataclass(frozen=True)
class ImpersonationCandidate:
    """An account outside the inventory that the impersonation detector scored against our names.

    The CLI fills these from `auditor.engine.impersonation.Detector` results (see `from_match`). `target` is
    what it imitates, as a noun phrase ("Instagram account @naperville203", "the protected role name
    Superintendent"); `reasons` are the detector's explanations ("Cyrillic а at position 2").
    """

    platform: Platform
    handle: str
    score: float
    display_name: str = ""
    target: str = ""
    reasons: tuple[str, ...] = ()
    url: str = ""
    profile: Profile | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform.value, normalise_handle(self.handle))

    @classmethod
    def from_match(
        cls,
        match: Any,
        platform: Platform | None = None,
        *,
        display_name: str = "",
        url: str = "",
        profile: Profile | None = None,
    ) -> ImpersonationCandidate:
        """Adapt an `auditor.engine.impersonation` `Match` (duck-typed: candidate, score, reasons, platform,
        protected.describe()) without importing that package."""
        chosen = getattr(match, "platform", None) or platform
        if chosen is None:
            raise ValueError("the match carries no platform: pass platform=")
        protected = getattr(match, "protected", None)
        return cls(
            platform=chosen,
            handle=str(match.candidate),
            score=float(match.score),
            display_name=display_name or (profile.display_name if profile else ""),
            target=protected.describe() if protected is not None else "",
            reasons=tuple(getattr(match, "reasons", ())),
            url=url or (profile.url if profile else ""),
            profile=profile,
        )


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at, gathered before the checks run. Read-only."""

    policy: Policy
    now: datetime
    accounts: tuple[Account, ...] = ()
    people: Mapping[str, Person] = field(default_factory=dict)  # by person id
    credentials: Mapping[str, CredentialRef] = field(default_factory=dict)  # by account id
    rotation_tasks: tuple[RotationTask, ...] = ()
    profiles: Mapping[str, Profile] = field(default_factory=dict)  # by account id; absent: not looked up
    candidates: tuple[ImpersonationCandidate, ...] = ()
    claimants: tuple[Profile, ...] = ()  # profiles found by search that claim the district
    # When the registry last changed an account's owner or managers (for escrow.stale).
    managers_changed_at: Mapping[str, datetime] = field(default_factory=dict)
    # Platforms whose search for look-alikes completed this run; None: all that were asked for.
    searched_platforms: frozenset[Platform] | None = None
    # Handles looked up by name this run (the watchlist, --candidates): what the platform said, by
    # (platform, normalised handle). A finding on one of them resolves only when it was looked at.
    looked_up: Mapping[tuple[str, str], ProfileStatus] = field(default_factory=dict)
    watched: frozenset[tuple[str, str]] = frozenset()  # the registry's watchlist (auditor watch)
    # The identities that can open escrowed credentials (escrow.no_secondary_admin); None: unknown.
    holders: tuple[EscrowHolder, ...] | None = None
    _emails: Mapping[str, Person] = field(init=False, repr=False, compare=False, default_factory=dict)
    _inventory: frozenset[tuple[str, str]] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() != timedelta(0):
            raise ValueError("CheckContext.now must be a timezone-aware datetime in UTC")
        object.__setattr__(self, "accounts", tuple(self.accounts))
        object.__setattr__(self, "rotation_tasks", tuple(self.rotation_tasks))
        object.__setattr__(self, "candidates", tuple(self.candidates))
        object.__setattr__(self, "claimants", tuple(self.claimants))
        object.__setattr__(self, "people", _frozen_map(self.people))
        object.__setattr__(self, "credentials", _frozen_map(self.credentials))
        object.__setattr__(self, "profiles", _frozen_map(self.profiles))
        object.__setattr__(self, "managers_changed_at", _frozen_map(self.managers_changed_at))
        object.__setattr__(self, "looked_up", MappingProxyType(dict(self.looked_up)))
        object.__setattr__(self, "watched", frozenset(self.watched))
        if self.holders is not None:
            object.__setattr__(self, "holders", tuple(self.holders))
        emails = {p.email.strip().casefold(): p for p in self.people.values() if p.email}
        object.__setattr__(self, "_emails", MappingProxyType(emails))
        object.__setattr__(self, "_inventory", frozenset(a.key for a in self.accounts))

    @property
    def today(self) -> date:
        return self.now.date()

    def person(self, ref: str) -> Person | None:
        """A person by id, or by email address (approvals record either)."""
        if not ref:
            return None
        return self.people.get(ref) or self._emails.get(ref.strip().casefold())

    def account(self, account_id: str) -> Account | None:
        for a in self.accounts:
            if a.id == account_id:
                return a
        return None

    def in_inventory(self, platform: Platform, handle: str) -> bool:
        return (platform.value, normalise_handle(handle)) in self._inventory

    def profile(self, account: Account) -> Profile | None:
        return self.profiles.get(account.id)


# --------------------------------------------------------------------------------------------------
# Helpers shared by the check modules


_ACCOUNT_WORD = re.compile(r"\bACCOUNT\b")
_PERSON_WORD = re.compile(r"\bPERSON\b")


@functools.lru_cache(maxsize=256)
def _pieces(word: re.Pattern[str], text: str) -> tuple[str, ...]:
    """`text` split at each whole `word`, once per remediation text: joining the pieces with the
    reference is the substitution, without a regular-expression pass per finding."""
    return tuple(word.split(text))


@functools.lru_cache(maxsize=256)
def _clause_evidence(reqs: tuple[Requirement, ...]) -> tuple[dict[str, str], ...]:
    """The clauses a finding quotes as its evidence, made once per set of clauses: every finding of
    a check shares these dicts (nothing changes them), not 280,000 copies of the same policy text."""
    return tuple({"id": r.id, "citation": r.citation, "text": r.text} for r in reqs)


def account_ref(account: Account) -> str:
    """How a remediation command names an account (`auditor account edit` takes PLATFORM:HANDLE)."""
    return f"{account.platform.value}:{account.handle.strip().lstrip('@')}"


def person_ref(person: Person | None, fallback: str = "PERSON") -> str:
    if person is None:
        return fallback
    return person.email or person.id


def handle_label(platform: Platform, handle: str) -> str:
    return f"{platform.label} account {display_handle(platform, handle)}"


def active_managers(ctx: CheckContext, account: Account, *, students: bool = True) -> list[Person]:
    """Owner, co-managers (and student managers) who are active: the people the rules bind."""
    ids = list(account.manager_ids())
    if students:
        ids.extend(i for i in account.student_manager_ids if i not in ids)
    out = []
    for pid in ids:
        person = ctx.person(pid)
        if person is not None and person.status is PersonStatus.ACTIVE:
            out.append(person)
    return out


def is_adult_employee(person: Person, today: date) -> bool:
    return person.kind is PersonKind.EMPLOYEE and person.is_adult(today) is True


def has_students(ctx: CheckContext, account: Account) -> bool:
    if account.student_manager_ids:
        return True
    return any(
        (p := ctx.person(pid)) is not None and p.kind is PersonKind.STUDENT for pid in account.manager_ids()
    )


def join_words(items: Iterable[str], last: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def days_word(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


# --------------------------------------------------------------------------------------------------


class Check(ABC):
    """One rule. Subclasses set the metadata class attributes and implement `run`."""

    id: ClassVar[str]
    title: ClassVar[str]  # the passing state: "Every account has an adult employee among its managers"
    severity: ClassVar[Severity]
    risk: ClassVar[str]
    remediation: ClassVar[str]  # names the command; ACCOUNT and PERSON are filled in per finding
    needs_network: ClassVar[bool] = False
    best_practice: ClassVar[bool] = False

    @abstractmethod
    def run(self, ctx: CheckContext) -> Iterable[Finding]:
        """Yield one finding per problem."""

    def covered_accounts(self, ctx: CheckContext) -> list[Account]:
        """Accounts whose result a crash of this check would leave unknown."""
        return []

    def coverage(self, ctx: CheckContext, finding: Finding) -> Coverage:
        """Was the subject of a previous `finding` of this check evaluated this run?"""
        return Coverage.APPLIES

    # -- building findings -------------------------------------------------------------------------

    def requirements(self, policy: Policy, platform: Platform | None = None) -> tuple[Requirement, ...]:
        """The clauses a finding of this check on `platform` cites (a clause about one platform
        only for that platform's findings)."""
        found = policy.clauses_for(self.id, platform)
        if found or not self.best_practice:
            return found

        return best_practice_framework().for_check(self.id, platform)

    def finding(
        self,
        ctx: CheckContext,
        message: str,
        *,
        account: Account | None = None,
        person: Person | None = None,
        subject: str = "",
        severity: Severity | None = None,
        platform: Platform | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> Finding:
        if not subject:
            if account is None:
                raise ValueError("a finding needs an account or an explicit subject")
            subject = f"account:{account.id}" + (f":person:{person.id}" if person else "")
        reqs = self.requirements(ctx.policy, account.platform if account else platform)
        details: dict[str, Any] = dict(evidence or {})
        details["clauses"] = list(_clause_evidence(reqs))
        return Finding(
            check_id=self.id,
            severity=severity or self.severity,
            subject=subject,
            message=message,
            account_id=account.id if account else "",
            person_id=person.id if person else "",
            platform=account.platform if account else platform,
            building=account.building if account else "",
            clauses=tuple(r.id for r in reqs),
            remediation=self.remediation_for(account, person),
            evidence=details,
        )

    @classmethod
    def remediation_for(cls, account: Account | None, person: Person | None = None) -> str:
        text = cls.remediation
        # The references go in as they are (joined, never read as a substitution template).
        if account is not None and "ACCOUNT" in text:
            pieces = _pieces(_ACCOUNT_WORD, text)
            if len(pieces) > 1:
                text = account_ref(account).join(pieces)
        if person is not None and "PERSON" in text:
            pieces = _pieces(_PERSON_WORD, text)
            if len(pieces) > 1:
                text = person_ref(person).join(pieces)
        return text


class AccountCheck(Check):
    """A check evaluated account by account; retired accounts are never checked."""

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        if account.status is AccountStatus.RETIRED:
            return Coverage.NOT_APPLICABLE
        return Coverage.APPLIES

    @abstractmethod
    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        """Findings for one account the check applies to."""

    def run(self, ctx: CheckContext) -> Iterable[Finding]:
        for account in ctx.accounts:
            if self.applies(ctx, account) is Coverage.APPLIES:
                yield from self.check_account(ctx, account)

    def covered_accounts(self, ctx: CheckContext) -> list[Account]:
        return [a for a in ctx.accounts if self.applies(ctx, a) is Coverage.APPLIES]

    def coverage(self, ctx: CheckContext, finding: Finding) -> Coverage:
        account = ctx.account(finding.account_id)
        if account is None:
            # The account left the inventory: nothing remains to fix.
            return Coverage.NOT_APPLICABLE
        return self.applies(ctx, account)


class ProfileCheck(AccountCheck):
    """An account check that reads the live profile; it cannot tell when the profile is unknown."""

    needs_network: ClassVar[bool] = True

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        if base is not Coverage.APPLIES:
            return base
        profile = ctx.profile(account)
        if profile is None or profile.status is ProfileStatus.UNKNOWN:
            return Coverage.CANNOT_TELL
        return self.applies_to_profile(ctx, account, profile)

    def applies_to_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Coverage:
        return Coverage.APPLIES

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        profile = ctx.profile(account)
        assert profile is not None  # applies() made sure
        return self.check_profile(ctx, account, profile)

    @abstractmethod
    def check_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Iterable[Finding]:
        """Findings for one account whose profile was seen this run."""
