"""The access review: who can reveal each account's credentials now, and which grants should end.

For each account, every identity that can reveal its escrowed credentials and the break-glass set,
through which escrow scope, when the grant was made and by whom, and when that identity last
revealed that account's credential (the reveal log: `reveal`, `totp`, `export`, `recover`,
`break-glass`, the actions that need a reason). Then every identity with its role, email, roster
match and last use. Flags: a grant to someone who left the district or whose role changed since the
grant (the identity's email matched case-insensitively with the roster's people, decided as checks
`owner.departed` and `owner.role_changed` decide it), an identity unused for longer than the
policy's `[escrow] identity_unused_after` (no log event by it and no audit run, counted from its
creation when it never acted), an active account that no active identity other than its owner's
can recover, and an active account that no building administrator can recover (only district-wide
grants reach it: Naperville 203 shares log-in information "with school administration").

Each account's credentials are in the escrow scope of its building, or `district` (vault/scopes.py).
A district administrator reaches every scope through its role, granted when the identity was
created, by whoever created it; a building administrator the scopes it was granted, when and by
whom its identity record says (`reports.input.Grant`). It reads identities, the break-glass set's
public metadata, the log and the runs' headers (inventory key): no key, share or secret can reach it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from auditor.engine.checks.ownership import has_left, left_phrase, role_changed_since
from auditor.model.log import REASON_REQUIRED as REVEALING
from auditor.model.types import Account, AccountStatus, Person, PersonStatus, Role
from reports.input import EVERY, BreakGlassSet, Grant, IdentityInfo, Reads, ReportInput, scope_of
from reports.kinds._common import Kind, Source, building_name, day, load
from reports.kinds.inventory import escrow_status
from reports.model import Figure, Report, Section, columns, count_phrase, join

# The flags, as they appear in a `flags` cell (the HTML report shows each as a badge).
DEPARTED = "departed"
ROLE_CHANGED = "role changed"
UNUSED = "unused"
NO_RECOVERER = "no other recoverer"
NO_BUILDING_ADMIN = "no building admin"
NEVER = "never"


def account_scope(account: Account) -> str:
    """The escrow scope an account's credentials are in: its building's, or `district`."""
    return scope_of(account.building)


@dataclass(frozen=True)
class Review:
    """One identity as the review sees it: its roster match, its last use and its flags."""

    info: IdentityInfo
    person: Person | None
    last_use: datetime | None
    last_action: str
    unused_days: int | None  # days without use, when past the policy's limit
    why: tuple[str, ...]

    @property
    def departed(self) -> bool:
        """They left the district (`owner.departed`'s rule)."""
        return self.person is not None and has_left(self.person)

    def role_changed(self, since: datetime | None) -> bool:
        """Their role changed after `since` (a grant, the identity's creation)."""
        return self.person is not None and since is not None and role_changed_since(self.person, since.date())

    def flags(self, since: datetime | None) -> list[str]:
        """The flags of a grant made at `since` (the identity's own flags for its creation)."""
        out = [DEPARTED] if self.departed else []
        out += [ROLE_CHANGED] if self.role_changed(since) else []
        return out + ([UNUSED] if self.unused_days is not None else [])

    def is_owner(self, owner: Person | None) -> bool:
        return owner is not None and self.person is not None and self.person.id == owner.id


def _uses(
    source: Source, identities: Sequence[IdentityInfo]
) -> tuple[dict[str, tuple[datetime, str]], dict[tuple[str, str], datetime]]:
    """(last use per identity name: when and what, last reveal per (identity name, account id)) up to
    the report's clock: log events, and audit runs (the nightly identity's use is its audits). The
    log names identities by name: what happened before an identity was created was done by an
    earlier one of that name (removed since), not by it."""
    created = {i.name: i.created_at for i in identities}
    last: dict[str, tuple[datetime, str]] = {}
    revealed: dict[tuple[str, str], datetime] = {}

    def theirs(name: str, at: datetime) -> bool:
        if name not in created or at > source.now:
            return False
        start = created[name]
        return start is None or at >= start

    for e in source.events:
        if not theirs(e.identity, e.at):
            continue
        if e.identity not in last or e.at >= last[e.identity][0]:
            last[e.identity] = (e.at, e.action)
        if e.action in REVEALING and e.account_id:
            key = (e.identity, e.account_id)
            if key not in revealed or e.at > revealed[key]:
                revealed[key] = e.at
    for run in source.data.runs or ():
        later = run.identity not in last or run.started_at > last[run.identity][0]
        if later and theirs(run.identity, run.started_at):
            last[run.identity] = (run.started_at, "audit")
    return last, revealed


def _review(
    source: Source, info: IdentityInfo, person: Person | None, last: tuple[datetime, str] | None
) -> Review:
    last_use, last_action = last if last is not None else (None, "")
    why: list[str] = []
    if person is not None and has_left(person):
        why.append(f"{info.name} is the identity of {person.name}, who {left_phrase(person)}.")
    created = info.created_at
    if person is not None and created is not None and role_changed_since(person, created.date()):
        assert person.role_changed_on is not None
        now = f" (now {person.role})" if person.role else ""
        why.append(
            f"The role of {person.name} changed on {person.role_changed_on.isoformat()}{now}, after "
            f"{info.name} was created on {created.date().isoformat()}."
        )
    period = source.snapshot.policy.escrow.identity_unused_after
    since = last_use or created
    unused = None
    if period is not None and since is not None and period.add_to(since.date()) < source.today:
        unused = (source.today - since.date()).days
        what = (
            f"last used on {since.date().isoformat()}"
            if last_use
            else f"never used since it was created on {since.date().isoformat()}"
        )
        why.append(f"{info.name} was {what}: {unused} days, more than the policy's {period}.")
    return Review(info, person, last_use, last_action, unused, tuple(why))


def _breakglass_grants(source: Source, bg: BreakGlassSet) -> tuple[tuple[Grant, ...], datetime | None]:
    """The set's grants, one per scope it opens (made by whoever ran `breakglass setup` for it, as
    the log says), and when it was used, if ever (a set opens once: its recovery replaces every key
    it wrapped). The set is today's, like the identities, whatever the report's clock."""
    made_by, used = "", None
    for e in source.events:
        if e.details.get("set_id") != bg.set_id:
            continue
        if e.action == "breakglass-setup":
            made_by = e.identity
        elif e.action == "break-glass":
            used = e.at
    return tuple(Grant(scope, bg.created_at, made_by) for scope in bg.scopes), used


def _reaching(grants: Sequence[Grant], scope: str) -> Grant | None:
    return next((g for g in grants if g.reaches(scope)), None)


def _recovery_gap(account: Account, owner: Person | None, grantees: Sequence[Review]) -> str:
    """Why no active identity other than the owner's can recover the account ("" when one can)."""
    if any(not r.departed and not r.is_owner(owner) for r in grantees):
        return ""
    if not grantees:
        return f"No identity can reveal the credentials of {account.label}."
    owners = [r.info.name for r in grantees if r.is_owner(owner)]
    left = [r.info.name for r in grantees if r.departed and not r.is_owner(owner)]
    parts = [f"its owner's identity ({join(owners)})"] if owners else []
    if left:
        whose = "the identity of someone" if len(left) == 1 else "the identities of people"
        parts.append(f"{whose} who left the district ({join(left)})")
    return f"Only {' and '.join(parts)} can reveal the credentials of {account.label}."


def build(
    data: ReportInput,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: Person | None = None,
    now: datetime,
) -> Report:
    source = load(data, now)
    if data.identities is None:
        raise ValueError("the report input was read without the identities (Reads.IDENTITIES)")
    by_email = {p.email.casefold(): p for p in source.snapshot.people if p.email}
    last, revealed = _uses(source, data.identities)
    reviews = [
        _review(source, i, by_email.get(i.email.casefold()) if i.email else None, last.get(i.name))
        for i in data.identities
    ]
    bg = data.breakglass
    bg_grants, bg_used = _breakglass_grants(source, bg) if bg is not None else ((), None)
    bg_label = f"break-glass set {bg.set_id}" if bg is not None else ""
    status = escrow_status(source)

    account_rows: list[dict[str, Any]] = []
    grant_rows: list[dict[str, Any]] = []
    no_recoverer = no_building_admin = 0
    for a in source.snapshot.accounts:
        scope = account_scope(a)
        owner = source.person(a.owner_id) if a.owner_id else None
        reached = [(r, g) for r in reviews if (g := _reaching(r.info.grants, scope)) is not None]
        bg_grant = _reaching(bg_grants, scope)
        gap = (
            _recovery_gap(a, owner, [r for r, _ in reached]) if a.status is not AccountStatus.RETIRED else ""
        )
        no_recoverer += bool(gap)
        school_gap = a.status is not AccountStatus.RETIRED and not any(
            r.info.role is Role.BUILDING_ADMIN and not r.departed for r, _ in reached
        )
        no_building_admin += school_gap
        flags = [NO_RECOVERER] if gap else []
        why = gap
        if school_gap:
            flags.append(NO_BUILDING_ADMIN)
            why = join_sentences(
                why,
                f"No building administrator is granted the {scope} scope; only district-wide grants reach it.",
            )
        base = {"account": a.label, "building": building_name(source, a.building)}
        account_rows.append(
            {
                **base,
                "owner": source.person_label(a.owner_id) if a.owner_id else "",
                "escrow": status[a.id][0],
                "scope": scope,
                "can_reveal": [r.info.name for r, _ in reached],
                "break_glass": f"set {bg.set_id} ({bg.layout})" if bg is not None and bg_grant else "none",
                "recoverable_by": [
                    r.info.name for r, _ in reached if not r.departed and not r.is_owner(owner)
                ],
                "flags": flags,
                "why": why,
            }
        )
        for r, g in reached:
            at = revealed.get((r.info.name, a.id))
            grant_rows.append(
                {
                    **base,
                    "who": r.info.name,
                    "role": r.info.role.label,
                    "person": _person_text(r),
                    "through": g.scope,
                    "granted": day(g.granted_at),
                    "granted_by": g.granted_by or "(created with the registry)",
                    "last_revealed": day(at) if at else NEVER,
                    "flags": r.flags(g.granted_at),
                }
            )
        if bg is not None and bg_grant is not None:
            grant_rows.append(
                {
                    **base,
                    "who": bg_label,
                    "role": f"break-glass ({bg.layout})",
                    "person": "",
                    "through": bg_grant.scope,
                    "granted": day(bg_grant.granted_at),
                    "granted_by": bg_grant.granted_by,
                    "last_revealed": day(bg_used) if bg_used else NEVER,
                    "flags": [],
                }
            )

    identity_rows = [
        {
            "identity": r.info.name,
            "role": r.info.role.label,
            "email": r.info.email,
            "person": _person_text(r),
            "reveals_through": ", ".join(g.scope for g in r.info.grants) or "none (inventory key only)",
            "created": day(r.info.created_at),
            "created_by": r.info.created_by or "(created with the registry)",
            "last_used": day(r.last_use) if r.last_use else NEVER,
            "last_action": r.last_action,
            "flags": r.flags(r.info.created_at),
            "why": " ".join(r.why),
        }
        for r in reviews
    ]

    revealers = [r for r in reviews if r.info.grants]
    departed = sum(1 for r in reviews if r.departed)
    role_changed = sum(1 for r in reviews if r.role_changed(r.info.created_at))
    unused = sum(1 for r in reviews if r.unused_days is not None)
    period = source.snapshot.policy.escrow.identity_unused_after
    summary = _summary(source, reviews, revealers, bg, departed, role_changed, unused, no_recoverer)
    figures = (
        Figure("accounts", "Accounts", len(source.snapshot.accounts)),
        Figure("identities", "Identities", len(reviews)),
        Figure("can_reveal", "Identities that can reveal", len(revealers)),
        Figure("breakglass", "Break-glass set", f"set {bg.set_id}" if bg is not None else "none"),
        Figure("departed", "Identities of people who left", departed),
        Figure("role_changed", "Identities whose role changed", role_changed),
        Figure("unused", "Unused identities", unused),
        Figure("no_other_recoverer", "Accounts only the owner can recover", no_recoverer),
        Figure("no_building_admin", "Accounts no building administrator can recover", no_building_admin),
    )
    return Report(
        kind="access",
        title="Access review",
        generated_at=source.now,
        district=source.district,
        policy=source.policy_label,
        scope={"unused_after": str(period) if period is not None else "not checked"},
        summary=summary,
        figures=figures,
        sections=(
            Section(
                "accounts",
                "Who can reveal each account",
                columns(
                    ("account", "Account"),
                    ("building", "Building"),
                    ("owner", "Owner"),
                    ("escrow", "Escrow"),
                    ("scope", "Escrow scope"),
                    ("can_reveal", "Identities that can reveal"),
                    ("break_glass", "Break-glass"),
                    ("recoverable_by", "Can recover (active, not the owner)"),
                    ("flags", "Flags"),
                    ("why", "Why"),
                ),
                tuple(account_rows),
                description=(
                    "Every identity that can open the account's escrowed credentials now, and who could "
                    "recover it if its owner left; break-glass is for emergencies and recovers nothing "
                    "on its own."
                ),
                empty="The inventory has no accounts.",
            ),
            Section(
                "grants",
                "Grants, account by account",
                columns(
                    ("account", "Account"),
                    ("building", "Building"),
                    ("who", "Who can reveal"),
                    ("role", "Role"),
                    ("person", "Person (roster)"),
                    ("through", "Through scope"),
                    ("granted", "Granted"),
                    ("granted_by", "Granted by"),
                    ("last_revealed", "Last revealed it"),
                    ("flags", "Flags"),
                ),
                tuple(grant_rows),
                description=(
                    "Each grant that reaches the account, when and by whom it was made, and when that "
                    "identity last revealed this account's credential (the reveal log)."
                ),
                empty="No identity and no break-glass set can reveal any credential.",
            ),
            Section(
                "identities",
                "Identities",
                columns(
                    ("identity", "Identity"),
                    ("role", "Role"),
                    ("email", "Email"),
                    ("person", "Person (roster)"),
                    ("reveals_through", "Can reveal through"),
                    ("created", "Created"),
                    ("created_by", "Created by"),
                    ("last_used", "Last used"),
                    ("last_action", "Last action"),
                    ("flags", "Flags"),
                    ("why", "Why"),
                ),
                tuple(identity_rows),
                description=(
                    "Everyone who can unlock the registry, matched with the roster by email, and their "
                    "last use (a reveal-log event or an audit run)."
                ),
                empty="The registry has no identity.",
            ),
        ),
    )


def _person_text(review: Review) -> str:
    if review.person is None:
        return "not in the roster" if review.info.email else ""
    p = review.person
    return p.name if p.status is PersonStatus.ACTIVE else f"{p.name} ({p.status.value})"


def _summary(
    source: Source,
    reviews: Sequence[Review],
    revealers: Sequence[Review],
    bg: BreakGlassSet | None,
    departed: int,
    role_changed: int,
    unused: int,
    no_recoverer: int,
) -> str:
    scopes = sorted({g.scope for r in revealers for g in r.info.grants})
    text = (
        f"{len(revealers)} of {count_phrase(len(reviews), 'identity', 'identities')} can reveal escrowed "
        "credentials"
    )
    named = [s for s in scopes if s != EVERY]
    if scopes == [EVERY]:
        text += " through district-wide grants, which open every account's credentials"
    elif named:
        text += " through " + ("district-wide grants and " if EVERY in scopes else "")
        text += f"the {join(named)} scope{'s' if len(named) > 1 else ''}"
    text += (
        f"; break-glass set {bg.set_id} ({bg.layout}) opens them all in an emergency."
        if bg is not None
        else "; there is no break-glass set."
    )
    period = source.snapshot.policy.escrow.identity_unused_after

    def ids(n: int) -> str:
        return count_phrase(n, "identity", "identities")

    counted = [
        f"{ids(departed)} of {'someone' if departed == 1 else 'people'} who left the district",
        f"{ids(role_changed)} of {'someone' if role_changed == 1 else 'people'} whose role changed after "
        "the grant",
        f"{ids(unused)} unused for more than {period}"
        if period is not None
        else "unused identities not checked (the policy sets no identity_unused_after)",
    ]
    text += f" To review: {join(counted)}."
    text += (
        f" {count_phrase(no_recoverer, 'active account')} "
        f"{'has' if no_recoverer == 1 else 'have'} no active identity other than the owner's to recover "
        f"{'it' if no_recoverer == 1 else 'them'}."
    )
    if not (departed or role_changed or unused or no_recoverer):
        text += " No grant needs attention."
    return text


KIND = Kind(
    "access",
    build,
    "who can reveal each account's credentials (identities, break-glass), since when, last reveal; flags",
    reads=frozenset({Reads.IDENTITIES, Reads.LOG, Reads.RUNS}),
)


def join_sentences(*parts: str) -> str:
    return " ".join(p for p in parts if p)
