"""The library side of the escrow workflows: offboarding, account recovery, export and import.

The CLI (auditor/cli/secret.py, escrow_workflows.py) turns options into calls of these functions
and renders what they return. Each workflow follows issue 3: everything is logged in the reveal
log; secrets are obtained only through `Escrow.reveal` (logged first, fail closed); a backup is
taken before anything that re-keys, imports or removes; and nothing is half-done (one transaction).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditor.engine.policy.model import Escrow as EscrowPolicy
from auditor.model.errors import AuditorError, NotFoundError, UsageError
from auditor.model.types import (
    Account,
    CredentialRef,
    Person,
    PersonStatus,
    Role,
    RotationTask,
    Secret,
    TaskItem,
    parse_datetime,
)
from auditor.services.policy import stored_policy
from vault.backup import take_backup
from vault.escrow import credential_import as ci
from vault.escrow import exportfile
from vault.escrow.bundle import CredentialBundle
from vault.escrow.formats import bitwarden
from vault.escrow.formats.base import OlderPassword
from vault.escrow.store import ADDS, DIFFERENT, NEW, OLDER, UNCHANGED, Escrow, ImportCheck
from vault.registry import Registry, utcnow
from vault.rekey import remove_identity
from vault.revealog import RevealLog
from vault.scopes import ScopeDeniedError, scope_key, scope_name
from vault.stores import tasks as tasks_mod
from vault.stores.inventory import Inventory

# What each checklist item asks on the platform, and how it is confirmed (issue 18: a task closes
# by proof). `{ref}` is the account, `{task}` the task, `{name}` the person who left, `{admins}` the
# platform's word for its admin roles (`PlatformInfo.admin_roles`).
STEPS: dict[TaskItem, str] = {
    TaskItem.PASSWORD: (
        "change the password: `auditor secret generate {ref}` stages one, `auditor secret show {ref} "
        "--pending --reason ...` shows it to set on the platform, then `auditor task confirm {task} password`"
    ),
    TaskItem.TOTP: (
        "re-enrol two-factor with a new key, stage it with `auditor secret set {ref} --pending`, then "
        "`auditor task confirm {task} totp` with the code the new key shows"
    ),
    TaskItem.RECOVERY_CODES: (
        "regenerate the recovery codes, stage the new set with `auditor secret set {ref} --pending`, then "
        "`auditor task confirm {task} recovery-codes`"
    ),
    TaskItem.PLATFORM_ADMINS: (
        "remove {name} from the {admins} on the platform itself, then "
        '`auditor task confirm {task} platform-admins --note "what you did"`'
    ),
    TaskItem.SESSIONS: (
        "sign out every other session (and revoke app passwords or connected apps), then "
        '`auditor task confirm {task} sessions --note "what you did"`'
    ),
}


def escrow_policy(registry: Registry) -> EscrowPolicy:
    """The stored policy's `[escrow]` settings (rotation deadline, clipboard seconds...), or their
    defaults when no policy is stored yet."""
    stored = stored_policy(registry)
    return stored.load().escrow if stored is not None else EscrowPolicy()


# A step whose new value is staged already: what is left to do.
STAGED: dict[TaskItem, str] = {
    TaskItem.PASSWORD: (
        "a new password is staged: `auditor secret show {ref} --pending --reason ...` shows it to set on "
        "the platform, then `auditor task confirm {task} password`"
    ),
    TaskItem.TOTP: "a new TOTP key is staged: `auditor task confirm {task} totp` with the code the new key shows",
    TaskItem.RECOVERY_CODES: (
        "a new set of recovery codes is staged: `auditor task confirm {task} recovery-codes` once the "
        "platform shows them"
    ),
}


def step_text(
    item: TaskItem,
    account: Account,
    task_id: str,
    name: str = "the person who left",
    pending: tuple[str, ...] = (),
) -> str:
    """What a step asks (`pending`: the task's staged fields, which change what is left to do)."""
    text = STAGED[item] if item.field and item.field in pending else STEPS[item]
    return text.format(
        ref=account_ref(account), task=task_id, name=name, admins=account.platform.info.admin_roles
    )


def account_ref(account: Account) -> str:
    return f"{account.platform.value}:{account.handle.lstrip('@')}"


# --------------------------------------------------------------------------------------------------
# Offboarding


@dataclass(frozen=True)
class OffboardPlan:
    """What one offboarding will do. Run by a building administrator, it covers the accounts of the
    escrow scopes it holds; the rest (`left`, `left_identities`, and the person's own record when
    they work outside those scopes) is listed for a district administrator, whose `offboard` of the
    same person finishes the job."""

    person: Person
    owned: tuple[Account, ...]
    co_managed: tuple[Account, ...]
    student_managed: tuple[Account, ...]
    revealable: tuple[Account, ...]  # escrowed accounts their identity could reveal
    identities: tuple[str, ...]  # identity names carrying the person's email, to remove
    knew: tuple[Account, ...]  # accounts whose credentials they knew: rotation tasks
    left: tuple[Account, ...] = ()  # accounts of theirs outside the building administrator's scopes
    left_identities: tuple[str, ...] = ()  # identities only a district administrator may remove
    mark_departed: bool = True  # False: they work in a scope the building administrator lacks
    scopes: tuple[str, ...] = ()  # the building administrator's scopes; () for a district one

    @property
    def touched(self) -> tuple[Account, ...]:
        seen: dict[str, Account] = {}
        for a in (*self.owned, *self.co_managed, *self.student_managed, *self.revealable):
            seen.setdefault(a.id, a)
        return tuple(seen.values())

    @property
    def partial(self) -> bool:
        """Something is left for a district administrator."""
        return bool(self.left or self.left_identities or not self.mark_departed)


@dataclass(frozen=True)
class OffboardResult:
    plan: OffboardPlan
    new_owners: dict[str, str]  # account id -> person name
    tasks: tuple[RotationTask, ...]
    removed_identities: tuple[str, ...]
    backup: str
    checklist: dict[str, list[str]]  # platform label -> lines


def plan_offboard(registry: Registry, person_ref: str) -> OffboardPlan:
    inv = Inventory(registry)
    person = inv.resolve_person(person_ref)
    accounts = inv.accounts()
    escrowed = {a for a, ref in Escrow(registry).refs().items() if ref.escrowed}
    owned = tuple(a for a in accounts if a.owner_id == person.id)
    co = tuple(a for a in accounts if person.id in a.co_manager_ids)
    students = tuple(a for a in accounts if person.id in a.student_manager_ids)
    idents = []
    can_reveal = False
    scopes: set[str] = set()  # the escrow scopes (folded) a building administrator of theirs held
    email = person.email.strip().casefold()
    if email:
        for ident in registry.identities():
            if ident.email.strip().casefold() == email:
                idents.append(ident.name)
                can_reveal = can_reveal or ident.role is Role.ADMIN
                if ident.role is Role.BUILDING_ADMIN:
                    scopes |= {scope_key(s) for s in ident.scopes}
    revealable = tuple(
        a
        for a in accounts
        if a.id in escrowed and (can_reveal or scope_key(scope_name(a.building)) in scopes)
    )
    # An owner or co-manager knew the account's credentials whether or not the district escrowed
    # them (then there is all the more to take back); an administrator, every escrowed one.
    knew_ids = {a.id for a in (*owned, *co)} | {a.id for a in revealable}
    knew = tuple(a for a in accounts if a.id in knew_ids)
    full = OffboardPlan(person, owned, co, students, revealable, tuple(idents), knew)
    actor = registry.identity
    if actor is None or actor.role is not Role.BUILDING_ADMIN:
        return full
    holder = registry.scope_holder[0] if registry.scope_holder else ""
    granted = [info.name for info in Escrow(registry).scopes.infos() if holder in info.holders]
    return _within_scopes(registry, full, actor.name, granted)


def _within_scopes(
    registry: Registry, full: OffboardPlan, actor: str, granted: Sequence[str]
) -> OffboardPlan:
    """A building administrator's share of an offboarding: the accounts in the scopes it holds."""
    holds = Escrow(registry).scopes.holds

    def ours(building: str) -> bool:
        return holds(scope_name(building))

    def mine(accounts: tuple[Account, ...]) -> tuple[Account, ...]:
        return tuple(a for a in accounts if ours(a.building))

    person = full.person
    where = person.all_buildings or ("",)
    plan = OffboardPlan(
        person,
        mine(full.owned),
        mine(full.co_managed),
        mine(full.student_managed),
        mine(full.revealable),
        (),
        mine(full.knew),
        left=tuple(a for a in full.touched if not ours(a.building)),
        left_identities=full.identities,
        mark_departed=all(ours(b) for b in where),
        scopes=tuple(granted),
    )
    if not plan.touched and not plan.mark_departed:
        registry.even_if_rolled_back(
            lambda: RevealLog(registry).append(
                "scope-refused",
                reason=f"offboarding {person.name}",
                details={"wanted": "offboard", "scopes": sorted({scope_name(b) for b in where})},
            )
        )
        raise ScopeDeniedError(
            f"{actor!r} may not offboard {person.name}: none of their accounts is in its escrow scopes "
            f"({', '.join(granted) or 'none'}) and they work at "
            f"{', '.join(scope_name(b) for b in where)}",
            f"A district administrator can: `auditor offboard {person.email or person.id} --identity NAME`. "
            "The refusal is in the log.",
        )
    return plan


def offboard(
    registry: Registry,
    plan: OffboardPlan,
    *,
    new_owner_ref: str | None = None,
    co_manager_ref: str | None = None,
    today: date | None = None,
) -> OffboardResult:
    """Reassign, mark departed, open rotation tasks, remove the identity: one transaction after a
    backup, everything logged."""

    actor = registry.require_escrow("Offboarding")
    if actor.name in (*plan.identities, *plan.left_identities):
        raise UsageError(
            "you cannot offboard yourself while unlocked as your own identity",
            "Ask another administrator to run the offboarding.",
        )
    inv = Inventory(registry)
    person = plan.person
    new_owner = inv.resolve_person(new_owner_ref) if new_owner_ref else None
    extra_co = inv.resolve_person(co_manager_ref) if co_manager_ref else None
    for who, opt in ((new_owner, "--to"), (extra_co, "--co-manager")):
        if who is not None and (who.id == person.id or who.status is PersonStatus.DEPARTED):
            raise UsageError(f"{opt}: {who.name} cannot take over (it is the person leaving, or departed)")
    people = {p.id: p for p in inv.people()}
    # Decide every new owner before changing anything.
    new_owners: dict[str, str] = {}
    orphaned = []
    for account in plan.owned:
        if new_owner is not None:
            new_owners[account.id] = new_owner.id
            continue
        # The secondary administrator takes over (district policy), when one is active.
        successor = next(
            (
                pid
                for pid in account.co_manager_ids
                if pid != person.id and pid in people and people[pid].status is PersonStatus.ACTIVE
            ),
            None,
        )
        if successor is None:
            orphaned.append(account.label)
        else:
            new_owners[account.id] = successor
    if orphaned:
        raise UsageError(
            f"{person.name} owns {len(orphaned)} account(s) with no active co-manager to take over: "
            + ", ".join(orphaned),
            "Name the new owner with --to EMAIL.",
        )
    now = utcnow()
    backup = take_backup(registry, "before-offboard")
    log = RevealLog(registry)
    opened: list[RotationTask] = []
    removed: list[str] = []
    with registry.transaction(), registry.scoped_writes():
        for account in plan.touched:
            current = inv.get_account(account.id)
            if current is None:
                continue
            owner = new_owners.get(current.id, current.owner_id)
            co = [pid for pid in current.co_manager_ids if pid not in (person.id, owner)]
            if extra_co is not None and extra_co.id != owner and extra_co.id not in co:
                co.append(extra_co.id)
            if current.owner_id == person.id and owner == person.id:
                owner = ""
            students = tuple(pid for pid in current.student_manager_ids if pid != person.id)
            monitors = tuple(pid for pid in current.comment_monitor_ids if pid != person.id)
            updated = dataclasses.replace(
                current,
                owner_id=owner,
                co_manager_ids=tuple(co),
                student_manager_ids=students,
                comment_monitor_ids=monitors,
            )
            if updated != current:
                inv.save_account(updated, by="offboard")
        if plan.mark_departed:
            current_person = inv.get_person(person.id) or person
            offboarded_on = today or now.date()
            # A real departure date already on record (from the roster, say) is kept: offboarding
            # happens on or after someone leaves, and the audit dates findings from the departure.
            recorded = current_person.departed_on
            departed = dataclasses.replace(
                current_person,
                status=PersonStatus.DEPARTED,
                departed_on=recorded if recorded is not None and recorded <= offboarded_on else offboarded_on,
            )
            inv.save_person(departed, by="offboard")
        for account in plan.knew:
            task, created = tasks_mod.open_task(
                registry,
                account.id,
                f"{person.name} was offboarded and knew the credentials",
                opened_by=actor.name,
                now=now,
            )
            if created:
                opened.append(task)
        for name in plan.identities:
            result = remove_identity(
                registry,
                name,
                reason=f"offboarding {person.name}",
                backup=False,
                extra_details={"offboarded_person": person.id},
            )
            opened += list(result.tasks)
            removed.append(name)
        log.append(
            "offboard",
            reason=f"offboarding {person.name}",
            details={
                "person_id": person.id,
                "accounts": [a.id for a in plan.touched],
                "new_owners": new_owners,
                "co_manager_added": extra_co.id if extra_co else "",
                "tasks_opened": [t.id for t in opened],
                "identities_removed": removed,
                **(
                    {
                        "scopes": list(plan.scopes),
                        "left_for_district_admin": [a.id for a in plan.left],
                        "identities_left": list(plan.left_identities),
                        "marked_departed": plan.mark_departed,
                    }
                    if plan.scopes  # a building administrator's offboarding (only it is ever partial)
                    else {}
                ),
            },
        )
    checklist: dict[str, list[str]] = {}
    task_of = {t.account_id: t for t in tasks_mod.open_tasks(registry)}
    for account in plan.touched:
        mine = task_of.get(account.id)
        checklist.setdefault(account.platform.label, []).append(
            f"{account.label}" + (f" (task {mine.id}):" if mine else ":")
        )
        if mine is None:
            continue
        checklist[account.platform.label] += [
            f"  [{'x' if s.done else ' '}] {step_text(s.item, account, mine.id, person.name)}"
            for s in mine.items
        ]
    return OffboardResult(
        plan,
        {aid: people[pid].name if pid in people else pid for aid, pid in new_owners.items()},
        tuple(opened),
        tuple(removed),
        backup,
        checklist,
    )


# --------------------------------------------------------------------------------------------------
# Recovery of one account


# The fields `recover --field` gives, one at a time.
RECOVER_FIELDS = ("password", "login", "totp", "recovery-code")


@dataclass(frozen=True)
class RecoverResult:
    """Who owned the account, what is escrowed (metadata), its rotation task, and the one field
    asked for: `value` (a password, a login, a current TOTP code or an unused recovery code) with
    `seconds_left` for a TOTP code. Nothing else of the credential is read into it."""

    account: Account
    owner: Person | None
    co_managers: tuple[Person, ...]
    ref: CredentialRef | None
    tasks: tuple[RotationTask, ...]
    task_opened: bool = False
    field: str = ""
    value: Secret | None = None
    seconds_left: int = 0


def recover_account(
    registry: Registry, ref: str, reason: str, *, field: str = "", now: datetime | None = None
) -> RecoverResult:
    """Recovery of an account whose owner is gone, logged as `recover` (with the reason and the
    field) before anything is read: who owned it, what is escrowed, the rotation task (opened here
    when the owner has left, since they knew the secrets), and the one `field` asked for, if any."""

    registry.require_escrow("Recovering an account")
    if field and field not in RECOVER_FIELDS:
        raise UsageError(f"no field {field!r}", "One of: " + ", ".join(RECOVER_FIELDS) + ".")
    inv = Inventory(registry)
    account = inv.resolve_account(ref)
    Escrow(registry).require_scope(account.id, "recover", reason)
    owner = inv.get_person(account.owner_id) if account.owner_id else None
    co = tuple(p for p in (inv.get_person(pid) for pid in account.co_manager_ids) if p is not None)
    escrow = Escrow(registry)
    cred = escrow.ref(account.id)
    at = now or utcnow()
    value: Secret | None = None
    left = 0
    if field:
        bundle = escrow.reveal(account.id, reason, action="recover", details={"field": field})
        value, left = _field_of(bundle, field, at)
    else:
        RevealLog(registry).append("recover", account_id=account.id, reason=reason, details={"field": ""})
    opened = False
    if owner is None or owner.status is PersonStatus.DEPARTED:
        with registry.transaction():
            _, opened = tasks_mod.open_task(
                registry,
                account.id,
                "recovered after the owner left" if owner else "recovered with no owner on record",
                opened_by=registry.identity.name if registry.identity else "",
                now=at,
            )
    tasks = tuple(t for t in tasks_mod.open_tasks(registry) if t.account_id == account.id)
    return RecoverResult(account, owner, co, cred, tasks, opened, field, value, left)


def _field_of(bundle: CredentialBundle, field: str, at: datetime) -> tuple[Secret, int]:
    if field == "password":
        if bundle.password is None:
            raise NotFoundError("no password is escrowed for this account")
        return bundle.password, 0
    if field == "login":
        if not bundle.login:
            raise NotFoundError("no login name is escrowed for this account")
        return Secret(bundle.login), 0
    if field == "totp":
        code, left = bundle.totp_now(at)  # a TotpError says why for a counter-based key
        return Secret(code), left
    unused = bundle.unused_codes
    if not unused:
        raise NotFoundError(
            "no unused recovery code is escrowed for this account",
            "Regenerate the codes on the platform and store them with `auditor secret set ACCOUNT --pending`.",
        )
    return unused[0].code, 0


# --------------------------------------------------------------------------------------------------
# Export


@dataclass(frozen=True)
class ExportResult:
    path: str
    accounts: tuple[str, ...]
    format: str


def export_credentials(
    registry: Registry,
    output: Path,
    *,
    accounts: Sequence[str] = (),
    reason: str,
    recipients: Sequence[str] = (),
    passphrase: Secret | None = None,
    plaintext: bool = False,
    kdf_profile: str = "default",
    as_format: str = "auditor",
) -> ExportResult:
    """Write the credentials of `accounts` (default: every escrowed account) to `output`.

    Encrypted to age recipients, or with a passphrase; plaintext only when `plaintext` is True (the
    CLI asks for confirmation). One `export` event per account is committed before the file is
    written. The file is created 0600 and never overwrites an existing one.

    `as_format="bitwarden"`: Bitwarden's JSON, password-protected with `passphrase` (what Bitwarden
    and KeePassXC import), or plain with `plaintext`; age recipients are for our own format."""
    registry.require_escrow("Exporting credentials")
    if as_format not in ("auditor", "bitwarden"):
        raise UsageError(f"no export format {as_format!r}", "Use auditor (the default) or bitwarden.")
    if as_format == "bitwarden" and recipients:
        raise UsageError(
            "a Bitwarden export is protected by a password, not an age recipient",
            "Drop --recipient (a password is asked for), or use --as auditor for age.",
        )
    if not plaintext and not recipients and passphrase is None:
        raise UsageError("say how to encrypt the export: --recipient age1... or --passphrase-file FILE")
    if output.exists():
        raise UsageError(f"{output} already exists; an export never overwrites a file")
    inv = Inventory(registry)
    escrow = Escrow(registry)
    escrowed = escrow.refs()
    chosen = (
        [inv.resolve_account(a) for a in accounts]
        if accounts
        else [
            a
            for a in inv.accounts()
            if a.id in escrowed and escrowed[a.id].escrowed and escrow.scopes.holds(scope_name(a.building))
        ]
    )
    if not chosen:
        raise NotFoundError("no escrowed credentials to export (in the escrow scopes this identity holds)")
    for account in chosen:  # every account named must be in a scope it holds, before anything is revealed
        escrow.require_scope(account.id, "export", reason)
    if as_format == "bitwarden":
        fmt = "bitwarden-plaintext" if plaintext else "bitwarden-password-protected"
    else:
        fmt = "plaintext" if plaintext else ("age" if recipients else "auditor-export")
    # Validate recipients before anything is logged or revealed.
    for r in recipients:
        exportfile.parse_recipient(r)
    items: list[dict[str, Any]] = []
    bw_items: list[dict[str, Any]] = []
    for account in chosen:
        bundle = escrow.reveal(account.id, reason, action="export", details={"format": fmt})
        if as_format == "bitwarden":
            ref = escrowed.get(account.id)
            revised = (ref.set_at if ref and ref.set_at else utcnow()).isoformat().replace("+00:00", "Z")
            bw_items.append(
                bitwarden.login_item(
                    name=account.label,
                    uri=account.profile_url,
                    username=bundle.login,
                    password=bundle.password.reveal_str() if bundle.password else "",
                    totp=bundle.totp.reveal_str() if bundle.totp else "",
                    notes=bundle.notes.reveal_str() if bundle.notes else "",
                    codes=[c.code.reveal_str() for c in bundle.unused_codes],
                    email=bundle.recovery_email,
                    phone=bundle.recovery_phone,
                    revised=revised,
                )
            )
            continue
        items.append(
            {
                "account_id": account.id,
                "account": account.label,
                "platform": account.platform.value,
                "handle": account.handle,
                "profile_url": account.profile_url,
                "credential": bundle.reveal_dict(),
            }
        )
    doc = {
        "schema": "auditor/credential-export",
        "version": 1,
        "exported_at": utcnow().isoformat(),
        "exported_by": registry.identity.name if registry.identity else "",
        "items": items,
    }
    plain = json.dumps(doc, indent=2, ensure_ascii=False).encode()
    if as_format == "bitwarden":
        text = bitwarden.write_json(bw_items)
        if passphrase is not None and not plaintext:
            text = bitwarden.encrypt_password_protected(
                text, passphrase, iterations=1_000 if kdf_profile == "floor" else bitwarden.EXPORT_ITERATIONS
            )
        _write_new(output, text.encode("utf-8"))
        return ExportResult(str(output), tuple(a.id for a in chosen), fmt)
    if recipients:
        data = exportfile.age_encrypt(plain, list(recipients))
    elif passphrase is not None and not plaintext:
        data = exportfile.passphrase_encrypt(plain, passphrase, kdf_profile=kdf_profile)
    else:
        data = plain
    _write_new(output, data)
    return ExportResult(str(output), tuple(a.id for a in chosen), fmt)


def _write_new(path: Path, data: bytes) -> None:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _plain_own_export(data: bytes) -> dict[str, Any] | None:
    """The document when `data` is an unencrypted `auditor/credential-export` (`--plaintext`)."""
    if b"auditor/credential-export" not in data[:4096]:
        return None
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == "auditor/credential-export" else None


def read_own_export(data: bytes) -> list[tuple[str, CredentialBundle]]:
    """(account id, bundle) pairs from a decrypted `auditor/credential-export` document."""
    return read_own_export_dated(data)[0]


def read_own_export_dated(data: bytes) -> tuple[list[tuple[str, CredentialBundle]], datetime | None]:
    """`read_own_export`, and when the export was made (its `exported_at`; None if unreadable)."""
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    return _own_export_items(doc)


def _own_export_items(doc: Any) -> tuple[list[tuple[str, CredentialBundle]], datetime | None]:
    """`read_own_export_dated` of a parsed document."""
    try:
        items = doc["items"] if doc.get("schema") == "auditor/credential-export" else None
    except (KeyError, TypeError, AttributeError):
        items = None
    if not isinstance(items, list):
        raise AuditorError("the decrypted file is not an auditor credential export")
    out = []
    for n, item in enumerate(items, start=1):
        built: CredentialBundle | None = None
        try:
            cred = item["credential"]
            raw = {**cred, "v": 1}
            raw.pop("totp_seed", None)
            built = CredentialBundle.from_bytes(json.dumps(raw).encode())
        except (KeyError, TypeError, AuditorError):
            built = None
        if built is None:
            raise AuditorError(f"item {n} of the export is malformed")
        out.append((str(item.get("account_id", "")), built))
    exported_at: datetime | None = None
    try:
        exported_at = parse_datetime(doc.get("exported_at"))
    except (ValueError, TypeError):
        exported_at = None
    return out, exported_at


# --------------------------------------------------------------------------------------------------
# Import


# What each entry of an import does (the `status` of `auditor/credential-import` items): the
# `Escrow.check_import` statuses (new, unchanged, older, adds, different), and this one for an
# entry that differs and is stored because of --replace.
REPLACES = "replaces"


@dataclass(frozen=True)
class EntryOutcome:
    """One matched entry of an import: what it does (or, in a dry run, would do). No value."""

    entry: str  # the entry's title and position ("NNHS on X (item 2)")
    account_id: str
    account: str  # the account's label
    status: str  # NEW, UNCHANGED, OLDER, ADDS, DIFFERENT or REPLACES
    compared_with: int  # the escrowed version it was compared with (0: none)
    fields: tuple[str, ...] = ()  # the fields it changes or adds (names only)
    why: str = ""
    version: int = 0  # the version it was stored as (0: not written)
    history: int = 0  # older passwords in the entry's history (in the export)
    history_kept: int = 0  # of them, stored (or, in a dry run, to be stored) as older versions

    @property
    def writes(self) -> bool:
        """The entry is (or in a dry run would be) stored as a new version."""
        return self.status in (NEW, ADDS, REPLACES)

    def line(self, dry_run: bool = False) -> str:
        """`  status: entry -> account: what it does`, for the import's listing (no value)."""
        v = self.compared_with
        detail = {
            NEW: "nothing escrowed yet",
            UNCHANGED: f"same as the escrowed version {v}, left alone",
            OLDER: f"older than the escrowed version, left alone ({self.why})",
            ADDS: f"{self.why} to version {v}",
            DIFFERENT: f"{self.why}; not imported without --replace",
            REPLACES: f"replaces the current credential, version {v} ({self.why}; --replace)",
        }[self.status]
        if self.history_kept and (self.version or dry_run):
            k = self.history_kept
            detail += (
                f"; its {k} dated older password(s) from the export's history "
                f"{'stored' if self.version else 'would be stored'} first, as "
                + ("version 1" if k == 1 else f"versions 1-{k}")
            )
        if self.version:
            detail += f"; stored as version {self.version}"
        elif dry_run and self.writes:
            detail += "; would be stored"
        if self.history and not self.history_kept:
            detail += f"; its history ({self.history} older password(s)) is not imported: " + (
                "none is dated and different from the current one"
                if self.status == NEW
                else "versions are escrowed already, and their past is never rewritten"
            )
        return f"  {self.status}: {self.entry} -> {self.account}: {detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "account": self.account,
            "account_id": self.account_id,
            "status": self.status,
            "writes": self.writes,
            "written": self.version > 0,
            "compared_with_version": self.compared_with or None,
            "fields": list(self.fields),
            "why": self.why,
            "version": self.version or None,
            "history": self.history,
            "history_versions": self.history_kept,
        }


@dataclass(frozen=True)
class ImportOutcome:
    plan_lines: tuple[str, ...]
    clean: bool
    imported: tuple[str, ...] = ()
    backup: str = ""
    dry_run: bool = False
    unmatched: tuple[str, ...] = field(default=())
    entries: tuple[EntryOutcome, ...] = ()
    replace: bool = False
    matched_only: bool = False
    left_out: tuple[str, ...] = ()  # with matched_only: every entry not imported, with the reason
    format: str = ""  # the export's format ("LastPass CSV"; "age" / "passphrase" for our own)

    @property
    def conflicts(self) -> tuple[EntryOutcome, ...]:
        """Entries that would replace a current value and were not allowed to (no --replace)."""
        return tuple(e for e in self.entries if e.status == DIFFERENT)

    @property
    def refused(self) -> bool:
        """Nothing was (or, in a dry run, would be) imported: unmatched, ambiguous or conflicting entries."""
        return not self.clean or bool(self.conflicts)


def import_credentials(
    registry: Registry,
    path: Path,
    *,
    dry_run: bool,
    decrypt: Any = None,
    replace: bool = False,
    matched_only: bool = False,
    password: Callable[[str], Secret] | None = None,
) -> ImportOutcome:
    """Import a password manager's export (any format vault/escrow/formats/ reads; `password`
    asks for the password of a password-protected file or a .kdbx) or an encrypted auditor
    export (with `decrypt(data) -> bytes`). All or nothing: any unmatched, ambiguous or
    unreadable entry stops the import. With `matched_only`, the entries that match one account
    are imported (in one transaction) and every other entry is listed with the reason.

    A credential is never demoted (issue 13): an entry equal to the escrowed version, or older
    than it (a value an earlier version held, or an entry the export last changed before the
    current version was stored), is left alone; one that only fills missing fields is stored; one
    that would replace a current value with a new one is stored only with `replace`, and without
    it the whole import is refused (every such entry named). Used recovery codes stay used. A
    backup is taken only when something is written."""

    registry.require_escrow("Importing credentials")
    inv = Inventory(registry)
    accounts = inv.accounts()
    labels = {a.id: a.label for a in accounts}
    raw = path.read_bytes()
    kind = exportfile.sniff(raw)
    # (account id, entry label, bundle, modified, the entry's history: counted, dated older passwords)
    pairs: list[tuple[str, str, CredentialBundle, datetime | None, tuple[int, tuple[OlderPassword, ...]]]]
    plain_own = None if kind else _plain_own_export(raw)  # `secret export --plaintext`: not Bitwarden's
    if kind or plain_own is not None:
        if kind and decrypt is None:
            raise UsageError(
                "this is an encrypted export; give --identity-file or --passphrase-file to open it"
            )
        own, exported_at = read_own_export_dated(decrypt(raw, kind)) if kind else _own_export_items(plain_own)
        missing = [aid for aid, _ in own if aid not in labels]
        lines = [f"{len(own) - len(missing)} matched, 0 ambiguous, {len(missing)} unmatched, 0 skipped"]
        lines += [f"  match: export item -> {labels[aid]} (by account id)" for aid, _ in own if aid in labels]
        lines += [
            f"  unmatched: item {n} (account not in this registry)"
            for n, (aid, _) in enumerate(own, 1)
            if aid not in labels
        ]
        clean = not missing
        unmatched = tuple(f"item {n}" for n, (aid, _) in enumerate(own, 1) if aid not in labels)
        pairs = [(aid, f"export item {n}", b, exported_at, (0, ())) for n, (aid, b) in enumerate(own, 1)]
        left_out: tuple[str, ...] = ()
        source = kind or "auditor export (plaintext)"
    else:
        plan = ci.match(ci.read(raw, password), accounts)
        lines = plan.summary_lines(labels)
        clean = plan.is_clean or (matched_only and bool(plan.matched))
        pairs = [
            (m.account_id, m.entry.label, m.entry.bundle, m.entry.modified, (m.entry.history, m.entry.older))
            for m in plan.matched
        ]
        unmatched = tuple(plan.unmatched) + tuple(a.label for a in plan.ambiguous)
        unmatched += tuple(p.message for p in plan.problems)
        left_out = plan.left_out if matched_only else ()
        if matched_only:  # the entries left out are listed once, each with its reason
            rest = ("  unmatched: ", "  ambiguous: ", "  unreadable: ", "  skipped: ")
            lines = [line for line in lines if not line.startswith(rest)]
        source = plan.format
    pairs = [p for p in pairs if p[0] in labels]
    escrow = Escrow(registry)
    scope_of = {a.id: scope_name(a.building) for a in accounts}
    outside = [(p[1], labels[p[0]], scope_of[p[0]]) for p in pairs if not escrow.scopes.holds(scope_of[p[0]])]
    if outside and not matched_only:
        registry.even_if_rolled_back(
            lambda: RevealLog(registry).append(
                "scope-refused",
                reason=f"import of {path.name}",
                details={
                    "wanted": "import",
                    "scopes": sorted({s for _, _, s in outside}),
                    "entries": len(outside),
                },
            )
        )
        raise ScopeDeniedError(
            f"{len(outside)} entr{'y is' if len(outside) == 1 else 'ies are'} for accounts outside the escrow "
            "scopes this identity holds; nothing was imported:\n"
            + "\n".join(f"  {entry} -> {account} (scope {scope!r})" for entry, account, scope in outside),
            "Import only the entries you may hold with --matched-only, or ask a district administrator.",
        )
    if outside:
        keep = {p[0] for p in pairs if escrow.scopes.holds(scope_of[p[0]])}
        pairs = [p for p in pairs if p[0] in keep]
        left_out = tuple(left_out) + tuple(
            f"{entry} -> {account}: outside your escrow scopes (scope {scope!r})"
            for entry, account, scope in outside
        )
    checks = [escrow.check_import(aid, bundle, modified=when) for aid, _, bundle, when, _ in pairs]
    planned = tuple(
        _outcome(aid, label, labels[aid], check, replace, history)
        for (aid, label, _, _, history), check in zip(pairs, checks, strict=True)
    )
    outcome = ImportOutcome(
        tuple(lines),
        clean,
        dry_run=dry_run,
        unmatched=unmatched,
        entries=planned,
        replace=replace,
        matched_only=matched_only,
        left_out=left_out,
        format=source,
    )
    if dry_run or outcome.refused or not any(e.writes for e in planned):
        # Refused, a dry run, or nothing to write: no backup, nothing stored.
        return outcome
    backup = take_backup(registry, "before-credential-import")
    done: list[EntryOutcome] = []
    with registry.transaction():
        for (aid, label, bundle, when, history), check in zip(pairs, checks, strict=True):
            again, result = escrow.store_import(
                aid,
                bundle,
                modified=when,
                replace=replace,
                expect=check,
                details={"source": source},
                older=history[1],
            )
            done.append(
                dataclasses.replace(
                    _outcome(aid, label, labels[aid], again, replace, history),
                    version=result.ref.version if result else 0,
                    history_kept=result.from_history if result else 0,
                )
            )
    return dataclasses.replace(
        outcome,
        imported=tuple(e.account_id for e in done if e.version),
        backup=backup,
        entries=tuple(done),
    )


def _outcome(
    account_id: str,
    label: str,
    account: str,
    check: ImportCheck,
    replace: bool,
    history: tuple[int, tuple[OlderPassword, ...]] = (0, ()),
) -> EntryOutcome:
    """The planned outcome; the entry's dated history is kept only by a NEW entry (`store_import`)."""
    status = REPLACES if (check.status == DIFFERENT and replace) else check.status
    fields = () if status == UNCHANGED else check.changed + check.added
    kept = len(history[1]) if status == NEW else 0
    return EntryOutcome(
        label, account_id, account, status, check.version, fields, check.why, 0, history[0], kept
    )
