"""What an audit reads and sees, as values: the registry snapshot, what the connectors saw, and the
check context built from both; the district's names as the impersonation detector protects them.

`Snapshot` holds no registry: auditor/services/audit.py `read_snapshot` reads one from the registry
(policy, people, accounts, escrow metadata, rotation tasks, the ledger, waivers) in one read snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from auditor.engine.checks.base import CheckContext, ImpersonationCandidate
from auditor.engine.evaluate import Waiver
from auditor.engine.impersonation import (
    DistrictContext,
    ProtectedKind,
    ProtectedName,
    inventory_names,
    role_names,
)
from auditor.engine.impersonation.roles import role_model
from auditor.engine.policy.model import Policy
from auditor.model.types import (
    Account,
    CredentialRef,
    EscrowHolder,
    Finding,
    Person,
    Platform,
    Profile,
    ProfileStatus,
    RotationTask,
)


@dataclass(frozen=True)
class Snapshot:
    """Everything the audit reads from the registry, read in one snapshot."""

    policy: Policy
    policy_source: str
    accounts: list[Account]
    people: list[Person]
    credentials: dict[str, CredentialRef]
    rotation_tasks: list[RotationTask]
    previous: list[Finding]  # the ledger before this run: the latest state of every finding
    waivers: list[Waiver]
    identity: str = ""
    damaged: list[str] = field(default_factory=list)  # "kind id" of records failing their check
    # The identities that can open escrowed credentials, and their scopes; None: not read.
    holders: list[EscrowHolder] | None = None


@dataclass(frozen=True)
class DiscoveryUse:
    """How much of the policy's look-alike discovery budget one platform used in a run."""

    platform: Platform
    probes: int = 0  # handles probed by exact lookup
    probe_budget: int = 0
    bases: int = 0  # names their variants were made of
    searches: int = 0  # search queries sent
    search_budget: int = 0
    watched: int = 0  # watched and staff-reported handles looked up (not counted in the budget)
    resolved: int = 0  # search hits named only by an id, looked up by it to learn their handle

    def line(self) -> str:
        """`X: 212 of 400 look-alike probes (9 names), 14 of 25 searches, 1 watched handle`."""
        parts = []
        if self.probe_budget or self.probes:
            parts.append(f"{self.probes} of {self.probe_budget} look-alike probes ({self.bases} names)")
        if self.search_budget or self.searches:
            parts.append(f"{self.searches} of {self.search_budget} searches")
        if self.resolved:
            parts.append(
                f"{self.resolved} search hit" + ("s" if self.resolved != 1 else "") + " looked up by id"
            )
        if self.watched:
            parts.append(f"{self.watched} watched handle" + ("s" if self.watched != 1 else ""))
        return f"{self.platform.label}: " + (", ".join(parts) or "no discovery")

    def to_dict(self) -> dict[str, object]:
        return {
            "platform": self.platform.value,
            "probes": self.probes,
            "probe_budget": self.probe_budget,
            "bases": self.bases,
            "searches": self.searches,
            "search_budget": self.search_budget,
            "watched": self.watched,
            "resolved": self.resolved,
        }


@dataclass
class Gathered:
    """What the connectors saw this run."""

    profiles: dict[str, Profile] = field(default_factory=dict)  # by account id
    candidates: list[ImpersonationCandidate] = field(default_factory=list)
    claimants: list[Profile] = field(default_factory=list)
    searched: set[Platform] = field(default_factory=set)
    looked_up: dict[tuple[str, str], ProfileStatus] = field(default_factory=dict)  # by (platform, handle)
    watched: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # operational trouble worth telling the operator
    discovery: list[DiscoveryUse] = field(default_factory=list)  # budget used, per platform


def _district_tokens(policy: Policy) -> list[str]:
    """How the district's name is abbreviated in handles: `203`, `d203`, `naperville203`..."""
    tokens: list[str] = []
    for name in policy.names():
        for number in re.findall(r"\d+", name):
            tokens += [number, f"d{number}"]
        compact = "".join(name.split())
        if len(compact) <= 20:
            tokens.append(compact)
    return list(dict.fromkeys(t for t in tokens if t))


def protected_names(policy: Policy, accounts: Sequence[Account]) -> list[ProtectedName]:
    """Inventory handles plus the policy's protected roles, as the detector wants them.

    A bare role word ("Superintendent") is combined with each district token (impersonation/roles.py:
    a bare word would flag every superintendent in the country); names that already carry the
    district ("203 Superintendent"), holders' names, official handles and building administrators
    ("NNHS Principal") are protected as written.
    """

    names: list[ProtectedName] = list(inventory_names(accounts))
    tokens = _district_tokens(policy)
    titles = {r.title for r in policy.protected_roles}
    for role in policy.protected_roles:
        bare = [n for n in (role.title, *role.names) if n and not any(c.isdigit() for c in n)]
        names += role_names(tokens, bare)
        label = f"the protected role {role.title}"
        for n in (*(n for n in role.names if any(c.isdigit() for c in n)), *role.people, *role.handles):
            names.append(ProtectedName("".join(n.split()), kind=ProtectedKind.ROLE, label=label))
    for label, name in policy.protected_names():
        if label not in titles:  # building administrators: "Naperville North Principal"
            names.append(ProtectedName("".join(name.split()), kind=ProtectedKind.ROLE, label=f"the {label}"))
    seen: set[tuple[str, str]] = set()
    unique = []
    for p in names:
        key = (p.name.casefold(), p.platform.value if p.platform else "")
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def district_context(policy: Policy) -> DistrictContext:
    """What profile evidence needs of the policy: the district's names, domains and roles, its role
    model (a bio "Superintendent of Stonebridge ISD" claims a role by its rules), and the
    allowlisted organisations, whose names in a profile say it is someone else's."""
    roles: list[str] = []
    for role in policy.protected_roles:
        roles += [n for n in (role.title, *role.names) if n and not any(c.isdigit() for c in n)]
    return DistrictContext(
        names=policy.names(),
        domains=tuple(dict.fromkeys((*policy.website_domains, *policy.email_domains))),
        roles=tuple(dict.fromkeys(roles)),
        other_organisations=tuple(dict.fromkeys(e.organisation for e in policy.allowlist if e.organisation)),
        role_model=role_model(policy),
    )


def build_context(snapshot: Snapshot, gathered: Gathered, now: datetime) -> CheckContext:
    """The check context: the registry snapshot, the policy, and what the connectors saw."""
    return CheckContext(
        policy=snapshot.policy,
        now=now,
        accounts=tuple(snapshot.accounts),
        people={p.id: p for p in snapshot.people},
        credentials=dict(snapshot.credentials),
        rotation_tasks=tuple(snapshot.rotation_tasks),
        profiles=dict(gathered.profiles),
        candidates=tuple(gathered.candidates),
        claimants=tuple(gathered.claimants),
        searched_platforms=frozenset(gathered.searched),
        looked_up=dict(gathered.looked_up),
        watched=frozenset(gathered.watched),
        holders=None if snapshot.holders is None else tuple(snapshot.holders),
        managers_changed_at={
            a.id: a.managers_changed_at for a in snapshot.accounts if a.managers_changed_at is not None
        },
    )
