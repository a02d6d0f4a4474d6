"""The district policy as typed, frozen data: names, buildings, protected roles, platform rules.

A `Policy` is what `auditor audit` measures accounts against. It is read from a TOML file (see
`loader.py` and docs/policy.md) and carries the district's *framework*: each requirement quotes a
clause of the district's own document and names the check ids that test it, so every finding can
cite the sentence it breaks. Nothing here knows about checks beyond their ids (strings), keeping the
dependency arrow policy <- checks.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from auditor.model.types import Platform, Purpose, normalise_handle

# Flags a platform's `requires` list may name. Each one is tested by `platform.condition_unmet`.
REQUIREMENT_FLAGS: dict[str, str] = {
    "building_admin_permission": "permission from the building administrator",
    "approval": "an approval on record",
    "adult_employee_manager": "an adult employee among its managers",
    "district_email_login": "a login on a district email address",
}

# What `agreement.missing` may require each manager to have signed (Person fields).
AGREEMENT_KINDS: dict[str, str] = {
    "procedure": "the social media procedure",
    "aup": "the acceptable use policy",
}


@dataclass(frozen=True)
class Period:
    """A renewal period or window in whole days or whole calendar months ("365d", "12m", "1y")."""

    days: int = 0
    months: int = 0

    def add_to(self, start: date) -> date:
        """`start` plus the period; month arithmetic clamps to the month's last day (Jan 31 + 1m)."""
        if self.months:
            month_index = start.month - 1 + self.months
            year = start.year + month_index // 12
            month = month_index % 12 + 1
            day = min(start.day, calendar.monthrange(year, month)[1])
            start = date(year, month, day)
        return start + timedelta(days=self.days)

    def __str__(self) -> str:
        parts = []
        if self.months:
            parts.append("1 month" if self.months == 1 else f"{self.months} months")
        if self.days or not self.months:
            parts.append("1 day" if self.days == 1 else f"{self.days} days")
        return " and ".join(parts)

    @classmethod
    def parse(cls, value: object) -> Period:
        """Accept an integer (days) or a string `<n>d`, `<n>w`, `<n>m`, `<n>y`."""
        if isinstance(value, bool):
            raise ValueError("expected a period such as '365d' or '12m'")
        if isinstance(value, int):
            if value < 0:
                raise ValueError("a period cannot be negative")
            return cls(days=value)
        if not isinstance(value, str):
            raise ValueError("expected a period such as '365d' or '12m'")
        match = re.fullmatch(r"\s*(\d+)\s*([dwmy])\s*", value.lower())
        if not match:
            raise ValueError(f"{value!r} is not a period; write e.g. '30d', '2w', '12m' or '1y'")
        amount, unit = int(match.group(1)), match.group(2)
        if unit == "d":
            return cls(days=amount)
        if unit == "w":
            return cls(days=7 * amount)
        if unit == "m":
            return cls(months=amount)
        return cls(months=12 * amount)


# `[audit] retention` when the policy does not say: 400 days, a school year and then some, so last
# year's runs can still be compared to this year's at the same time of year.
DEFAULT_RETENTION = Period(days=400)


@dataclass(frozen=True)
class Building:
    """A school or office; `administrator_role` is who grants building-level permission."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    administrator_role: str = "Principal"

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ProtectedRole:
    """An official position nobody may claim without authorization (Naperville 203 SMR 4)."""

    id: str
    title: str
    names: tuple[str, ...] = ()  # how the role is written: "Superintendent", "203 Superintendent"
    people: tuple[str, ...] = ()  # the current holder's names: "Dan Bridges"
    handles: tuple[str, ...] = ()  # the official handles of the role, e.g. "napervillesupt"
    building: str = ""
    # more spellings of the role on top of the built-in ones ("supt", "BOE", "BoardOfEd"):
    # impersonation/roles.py ROLE_SYNONYMS
    synonyms: tuple[str, ...] = ()

    def all_names(self) -> tuple[str, ...]:
        seen: list[str] = []
        for n in (self.title, *self.names, *self.people, *self.handles):
            if n and n not in seen:
                seen.append(n)
        return tuple(seen)


@dataclass(frozen=True)
class PlatformRule:
    """Whether the district approves a platform, and on what conditions."""

    platform: Platform
    approved: bool = True
    allowed_purposes: tuple[Purpose, ...] = ()  # empty: any purpose
    requires: tuple[str, ...] = ()  # keys of REQUIREMENT_FLAGS
    note: str = ""


@dataclass(frozen=True)
class PlatformSettings:
    """Connector configuration the policy carries (base URL, API version); passed to connectors."""

    platform: Platform
    base_url: str = ""
    api_version: str = ""
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AllowlistEntry:
    """One handle of an organisation the district knows is legitimate (a neighbour, the PTA).

    An organisation is the same organisation on every platform: the entry matches its handle on
    any platform, and `organisation` groups the entries of one `[[allowlist]]` table (docs/policy.md).
    `platform` says where the district saw it; it no longer limits where it matches.
    """

    platform: Platform
    handle: str
    reason: str
    organisation: str = ""

    def matches(self, platform: Platform, handle: str) -> bool:
        return normalise_handle(self.handle) == normalise_handle(handle)


@dataclass(frozen=True)
class Requirement:
    """One clause of the district's document and the checks that test it."""

    id: str
    text: str  # quoted verbatim from the policy document
    source: str  # the document's title
    section: str  # where in the document: "Social Media Representation, item 2"
    checks: tuple[str, ...] = ()
    # The platforms the clause is about ("snapchat" for Naperville's Snapchat paragraph): a finding
    # on another platform does not cite it. Empty: every platform. Asked with no platform (a
    # finding on none, `check list`), every clause of the check counts.
    platforms: tuple[str, ...] = ()

    def covers(self, platform: object) -> bool:
        value = getattr(platform, "value", platform)
        return not self.platforms or value is None or value in self.platforms

    @property
    def citation(self) -> str:
        return f"{self.source}, {self.section}"


@dataclass(frozen=True)
class Framework:
    """The compliance framework: a district document mapped requirement by requirement to checks."""

    name: str = ""
    source: str = ""
    requirements: tuple[Requirement, ...] = ()

    def requirement(self, requirement_id: str) -> Requirement | None:
        for r in self.requirements:
            if r.id == requirement_id:
                return r
        return None

    def for_check(self, check_id: str, platform: object = None) -> tuple[Requirement, ...]:
        """The requirements citing `check_id` for a finding on `platform` (a clause about one
        platform is cited only for it), worked out once per check and platform (every finding asks)."""
        cache: dict[tuple[str, object], tuple[Requirement, ...]] | None = self.__dict__.get("_for_check")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_for_check", cache)  # beside the fields, never one of them
        key = (check_id, getattr(platform, "value", platform))
        found = cache.get(key)
        if found is None:
            found = cache[key] = tuple(
                r for r in self.requirements if check_id in r.checks and r.covers(key[1])
            )
        return found

    def check_ids(self) -> tuple[str, ...]:
        seen: list[str] = []
        for r in self.requirements:
            for c in r.checks:
                if c not in seen:
                    seen.append(c)
        return tuple(seen)


@dataclass(frozen=True)
class Renewal:
    """How long approvals, training and signed agreements stay valid (None: no renewal needed)."""

    approval: Period | None = None
    training: Period | None = None
    agreement: Period | None = None


@dataclass(frozen=True)
class Warnings:
    """How far ahead `approval.expiring` warns."""

    approval_expiring: Period = Period(days=30)


@dataclass(frozen=True)
class Affiliation:
    """What counts as a profile stating its affiliation (and, where asked, the role)."""

    phrases: tuple[str, ...] = ()  # in addition to the district's names, aliases and buildings
    require_role: bool = False
    role_phrases: tuple[str, ...] = ()  # e.g. "official", "principal"; the owner's role also counts


@dataclass(frozen=True)
class Managers:
    """When an adult employee must be among an account's managers."""

    # "always", "when_students" (Naperville 203 SMR 2) or "never"
    require_adult_employee: str = "when_students"
    under_13_grades: tuple[str, ...] = ("PK", "K", "1", "2", "3", "4", "5", "6")


@dataclass(frozen=True)
class Escrow:
    """Credential escrow expectations (Naperville 203 "Site Security"; Moline-Coal Valley item 4)."""

    # Moline-Coal Valley accepts either a secondary administrator OR shared credentials.
    accept_secondary_admin: bool = False
    max_age: Period | None = None
    rotation_deadline: Period = Period(days=14)
    # `recover --copy`: seconds a credential stays on the clipboard before it is cleared.
    clipboard_seconds: int = 20
    # The access review (`auditor report access`) flags an identity with no use (no reveal-log event
    # by it, no audit run) for longer than this; None: never flagged.
    identity_unused_after: Period | None = Period(days=90)


@dataclass(frozen=True)
class Agreement:
    required: tuple[str, ...] = ()  # keys of AGREEMENT_KINDS


@dataclass(frozen=True)
class CheckSelection:
    """Which checks run besides those the framework references."""

    best_practice: bool = True
    extra: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A district's social-media policy, as the audit applies it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    website_domains: tuple[str, ...] = ()
    buildings: tuple[Building, ...] = ()
    protected_roles: tuple[ProtectedRole, ...] = ()
    protect_building_administrators: bool = True
    platforms: tuple[PlatformRule, ...] = ()
    platform_settings: tuple[PlatformSettings, ...] = ()
    renewal: Renewal = field(default_factory=Renewal)
    warnings: Warnings = field(default_factory=Warnings)
    affiliation: Affiliation = field(default_factory=Affiliation)
    managers: Managers = field(default_factory=Managers)
    escrow: Escrow = field(default_factory=Escrow)
    agreement: Agreement = field(default_factory=Agreement)
    inactive_after: Period | None = None
    impersonation_threshold: int = 85
    # Look-alike discovery's API spend per platform and run (docs/policy.md, [impersonation]):
    # handles probed by exact lookup, and search queries.
    probe_budget: int = 400
    search_budget: int = 25
    # `[audit] retention`: how long each audit run's detail (what changed in it) is kept; summaries
    # are kept for ever. None (`retention = false`): keep everything (docs/design.md).
    audit_retention: Period | None = field(default_factory=lambda: DEFAULT_RETENTION)
    allowlist: tuple[AllowlistEntry, ...] = ()
    checks: CheckSelection = field(default_factory=CheckSelection)
    framework: Framework = field(default_factory=Framework)
    format_version: int = 1

    # ----------------------------------------------------------------------------------------------
    # Look-ups the checks use

    def names(self) -> tuple[str, ...]:
        """The district's name and aliases."""
        return (self.name, *self.aliases)

    def building(self, building_id: str) -> Building | None:
        for b in self.buildings:
            if b.id == building_id:
                return b
        return None

    def platform_rule(self, platform: Platform) -> PlatformRule | None:
        for r in self.platforms:
            if r.platform is platform:
                return r
        return None

    def settings_for(self, platform: Platform) -> PlatformSettings | None:
        for s in self.platform_settings:
            if s.platform is platform:
                return s
        return None

    def is_allowlisted(self, platform: Platform, handle: str) -> AllowlistEntry | None:
        for entry in self.allowlist:
            if entry.matches(platform, handle):
                return entry
        return None

    def is_district_email(self, email: str) -> bool:
        """True when the address is on a district domain or one of its subdomains."""
        domain = email.rpartition("@")[2].strip().lower()
        if not domain or "@" not in email:
            return False
        return any(domain == d or domain.endswith("." + d) for d in self.email_domains)

    def affiliation_phrases(self) -> tuple[str, ...]:
        """Every phrase that, found in a profile, states the affiliation with the district."""
        phrases: list[str] = [*self.names(), *self.affiliation.phrases]
        for b in self.buildings:
            phrases.extend(b.names())
        phrases.extend(self.website_domains)
        phrases.extend(self.email_domains)
        return _unique(p for p in phrases if p.strip())

    def protected_names(self) -> tuple[tuple[str, str], ...]:
        """(label, name) pairs the impersonation detector protects: roles and building heads."""
        out: list[tuple[str, str]] = []
        for role in self.protected_roles:
            for n in role.all_names():
                out.append((role.title, n))
        if self.protect_building_administrators:
            for b in self.buildings:
                label = f"{b.name} {b.administrator_role}"
                out.append((label, label))
                for alias in b.aliases:
                    out.append((label, f"{alias} {b.administrator_role}"))
        return tuple(dict.fromkeys(out))

    def clauses_for(self, check_id: str, platform: object = None) -> tuple[Requirement, ...]:
        return self.framework.for_check(check_id, platform)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
