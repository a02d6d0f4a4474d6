"""Re-keying: identity removal that really revokes, and the break-glass wrap of the domain keys.

Removing an identity (issue 3, "Identities: removal re-keys") generates a new key for every domain
the identity could unwrap, re-wraps it for the remaining identities (and for the break-glass
recipient), re-encrypts every record of those domains (recomputing blind indexes when the
inventory key changes), and opens a rotation task for every account whose escrowed credentials the
removed identity could read, because re-keying the file does not change the real passwords. All of
it is one transaction after an automatic backup: a crash leaves the old or the new registry.

Break-glass (docs/escrow.md, "Break-glass"): the SLIP-39-split break-glass key deterministically
derives an X25519 key pair; the domain keys are wrapped to its *public* key, which the registry
keeps in clear beside the set's public metadata (`meta.breakglass`). So any administrator can
re-wrap new domain keys for break-glass during a re-key without the shares, and only K shares can
unwrap them. After a break-glass recovery both domains are rotated and the break-glass wrap is
dropped, so the opened envelopes open nothing current; a new ceremony is needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import UsageError
from auditor.models import Account, Person, Role, RotationTask, Secret
from vault import breakglass as bg
from vault import crypto
from vault import tasks as tasks_mod
from vault.errors import (
    AccessDeniedError,
    IdentityError,
    RecordTamperedError,
    RegistryDamagedError,
    VaultError,
)
from vault.registry import DOMAINS, ESCROW, INVENTORY, Identity, Registry, utcnow
from vault.revealog import RevealLog
from vault.storage import RecordRow

BREAKGLASS_META = "breakglass"
_BG_INFO = "auditor/v1 breakglass x25519"
BREAKGLASS_IDENTITY = "break-glass"


def _domain_of(kind: str) -> str:
    from vault.maintenance import domain_of

    return domain_of(kind)


def _natural_key(kind: str, data: dict[str, Any]) -> str | None:
    """Recompute a blind-index value when the inventory key (and so the index key) changes."""
    from vault.inventory import ACCOUNT, PERSON, account_key, person_key

    if kind == PERSON:
        return person_key(Person.from_dict(data))
    if kind == ACCOUNT:
        return account_key(Account.from_dict(data))
    raise VaultError(
        f"cannot re-key records of kind {kind!r}: their unique index cannot be recomputed",
        "This is a bug in auditor; nothing was changed.",
    )


@dataclass(frozen=True)
class RekeyResult:
    domains: tuple[str, ...]
    key_versions: dict[str, int]
    records: int
    removed: str = ""
    tasks: tuple[RotationTask, ...] = field(default=())
    backup: str = ""
    breakglass_dropped: bool = False


# --------------------------------------------------------------------------------------------------
# The core: rotate domain keys in one transaction


def rotate_domains(
    registry: Registry,
    domains: Sequence[str],
    *,
    drop_identity_id: str | None = None,
    drop_breakglass: bool = False,
    action: str = "rekey",
    reason: str = "",
    details: dict[str, Any] | None = None,
    task_reason: str = "",
    task_accounts: Sequence[str] = (),
) -> RekeyResult:
    """New keys for `domains`, re-wrapped and re-encrypted, in ONE transaction (see module doc).

    The caller takes the backup. `task_accounts` get a rotation task (inside the same transaction).
    """
    actor = registry.require_admin("Re-keying")
    wanted = tuple(d for d in DOMAINS if d in domains)
    old_keys = registry.held_keys()
    old_identity = registry.identity
    backend = registry.backend
    opened: list[RotationTask] = []
    try:
        with registry.transaction():
            if drop_identity_id is not None:
                registry.delete("identity", drop_identity_id)
                backend.delete_identity(drop_identity_id)
            now = utcnow()
            for account_id in task_accounts:
                task, created = tasks_mod.open_task(
                    registry, account_id, task_reason or reason or action, opened_by=actor.name, now=now
                )
                if created:
                    opened.append(task)
            if INVENTORY in wanted:
                RevealLog(registry).retire_epoch()
            # Decrypt everything of the affected domains with the old keys first: a damaged record
            # stops the re-key before anything changed (rolling back the transaction).
            plain: list[tuple[RecordRow, str, dict[str, Any]]] = []
            for kind in backend.kinds():
                domain = _domain_of(kind)
                if domain not in wanted:
                    continue
                for row in backend.scan(kind):
                    try:
                        rec = registry.open_row(row, domain)
                    except RecordTamperedError as exc:
                        raise VaultError(
                            f"cannot re-key: {exc.message}",
                            "Run `auditor registry check` and repair or restore first; nothing was changed.",
                        ) from None
                    if row.lookup is not None:
                        _natural_key(kind, rec.data)  # fail early on an unknown indexed kind
                    plain.append((row, domain, rec.data))
            new_keys = {d: crypto.random_key() for d in wanted}
            versions = {}
            for d in wanted:
                versions[d] = registry.key_version(d) + 1
                backend.meta_set(f"key_version.{d}", str(versions[d]))
            registry.install_keys(new_keys)
            rows = [
                registry.seal_row(
                    row.kind,
                    row.id,
                    row.version,
                    data,
                    _natural_key(row.kind, data) if row.lookup is not None else None,
                    domain,
                )
                for row, domain, data in plain
            ]
            registry.put_rows(rows)
            # Re-wrap for every remaining identity that held the domain.
            identities = {r.id: r for r in backend.identities()}
            for wrap in backend.wraps():
                if wrap.domain in wanted and wrap.identity_id in identities:
                    registry.wrap_for_identity(
                        wrap.identity_id, identities[wrap.identity_id].public_key, wrap.domain
                    )
            if not any(r.role == Role.ADMIN.value for r in identities.values()) and ESCROW in wanted:
                raise IdentityError("re-keying would leave no administrator; nothing was changed")
            dropped = False
            meta = breakglass_info(registry)
            if meta is not None:
                if drop_breakglass:
                    backend.meta_set(BREAKGLASS_META, "")
                    dropped = True
                else:
                    public = bytes.fromhex(meta["public_key"])
                    for d in wanted:
                        meta["wraps"][d] = _bg_wrap(registry, d, public)
                    backend.meta_set(BREAKGLASS_META, json.dumps(meta, sort_keys=True))
            RevealLog(registry).append(
                action,
                reason=reason,
                details={
                    "domains": list(wanted),
                    "key_versions": versions,
                    "records": len(rows),
                    "tasks_opened": [t.id for t in opened],
                    "breakglass_dropped": dropped,
                    **(details or {}),
                },
            )
    except BaseException:
        registry.restore_keys(old_keys, old_identity)
        raise
    return RekeyResult(wanted, versions, len(rows), tasks=tuple(opened), breakglass_dropped=dropped)


# --------------------------------------------------------------------------------------------------
# Identity removal


def remove_identity(
    registry: Registry,
    name: str,
    *,
    reason: str = "",
    backup: bool = True,
    extra_details: dict[str, Any] | None = None,
) -> RekeyResult:
    """Remove identity `name`, re-key what it could unwrap, open rotation tasks (module doc)."""
    from vault.backup import take_backup
    from vault.escrow import Escrow

    actor = registry.require_admin("Removing an identity")
    row = registry.identity_row(name)
    if actor.id == row.id:
        raise UsageError(
            "you cannot remove the identity you are unlocked as",
            "Unlock as another administrator (--identity NAME) to remove this one.",
        )
    rows = registry.identity_rows()
    admins = [r for r in rows if r.role == Role.ADMIN.value]
    if row.role == Role.ADMIN.value and len(admins) <= 1:
        raise UsageError(
            f"{name} is the last administrator; removing it would lock everyone out of escrow",
            "Add another administrator first (`auditor identity add NAME --role admin`).",
        )
    domains = tuple(sorted({w.domain for w in registry.backend.wraps(row.id)}))
    accounts: list[str] = []
    if ESCROW in domains:
        accounts = sorted(a for a, ref in Escrow(registry).refs().items() if ref.escrowed)
    path = take_backup(registry, "before-identity-remove") if backup else ""
    result = rotate_domains(
        registry,
        domains,
        drop_identity_id=row.id,
        action="identity-remove",
        reason=reason or f"identity {name} removed",
        details={"removed": name, "role": row.role, **(extra_details or {})},
        task_reason=f"identity {name} was removed and could read the escrowed credentials",
        task_accounts=accounts,
    )
    return RekeyResult(
        result.domains,
        result.key_versions,
        result.records,
        removed=name,
        tasks=result.tasks,
        backup=path,
        breakglass_dropped=result.breakglass_dropped,
    )


# --------------------------------------------------------------------------------------------------
# Break-glass


def _bg_label(registry: Registry, domain: str, version: int) -> bytes:
    return registry.wrap_label(domain, version) + b"\x00breakglass"


def _bg_private(key: Secret) -> bytes:
    raw = key.reveal()
    return crypto.subkey(raw if isinstance(raw, bytes) else raw.encode(), _BG_INFO)


def _bg_wrap(registry: Registry, domain: str, public: bytes) -> dict[str, Any]:
    version = registry.key_version(domain)
    key = registry.held_keys()[domain]
    return {
        "key_version": version,
        "stanza": crypto.wrap(key, public, _bg_label(registry, domain, version)).hex(),
        "check": crypto.key_check(key, domain.encode()).hex(),
    }


def breakglass_info(registry: Registry) -> dict[str, Any] | None:
    """The stored public metadata of the current break-glass set, or None when there is none."""
    text = registry.backend.meta_get(BREAKGLASS_META)
    if not text:
        return None
    try:
        data: dict[str, Any] = json.loads(text)
    except ValueError as exc:
        raise RegistryDamagedError("the stored break-glass metadata is unreadable") from exc
    return data


def breakglass_setup(
    registry: Registry,
    groups: Sequence[bg.GroupSpec],
    group_threshold: int = 1,
    *,
    passphrase: Secret | None = None,
) -> bg.BreakGlassSplit:
    """Create a new break-glass set wrapping both domain keys; replaces any earlier set.

    Returns the split whose cards the caller prints once; only public metadata is stored."""
    actor = registry.require_admin("Setting up break-glass")
    key = bg.new_key()
    split = bg.split(key, groups, group_threshold, passphrase=passphrase)
    public = crypto.public_from_private(_bg_private(key))
    meta: dict[str, Any] = {
        **split.public_metadata(),
        "public_key": public.hex(),
        "created_at": utcnow().isoformat(),
        "created_by": actor.name,
        "wraps": {},
    }
    previous = breakglass_info(registry)
    with registry.transaction():
        for d in DOMAINS:
            meta["wraps"][d] = _bg_wrap(registry, d, public)
        registry.backend.meta_set(BREAKGLASS_META, json.dumps(meta, sort_keys=True))
        RevealLog(registry).append(
            "breakglass-setup",
            details={
                "set_id": split.set_id,
                "layout": split.describe(),
                "replaces_set": previous["set_id"] if previous else None,
            },
        )
    return split


def breakglass_session(registry: Registry) -> bg.RecoverySession:
    """A share-collecting session bound to the registry's current set (stale sets are refused)."""
    meta = breakglass_info(registry)
    if meta is None:
        raise VaultError(
            "this registry has no break-glass set (never set up, or used since)",
            "An administrator runs `auditor breakglass setup --shares N --threshold K`.",
        )
    groups = [bg.GroupSpec(g["name"], int(g["threshold"]), int(g["count"])) for g in meta["groups"]]
    return bg.RecoverySession(
        groups=groups, expected_set_id=int(meta["set_id"]), expected_check=str(meta["key_check"])
    )


def breakglass_unlock(registry: Registry, key: Secret, *, reason: str, operator: str = "") -> Identity:
    """Unwrap the domain keys with a recovered break-glass key and log the `break-glass` event.

    The registry then acts as an administrator named "break-glass" until the caller rotates the
    keys with `breakglass_finish` (which the CLI always does)."""
    meta = breakglass_info(registry)
    if meta is None:
        raise VaultError("this registry has no break-glass set")
    private = _bg_private(key)
    keys: dict[str, bytes] = {}
    for d, wrap in meta["wraps"].items():
        version = int(wrap["key_version"])
        if version != registry.key_version(d):
            raise RegistryDamagedError(f"the break-glass wrap of the {d} key is out of date")
        try:
            value = crypto.unwrap(bytes.fromhex(wrap["stanza"]), private, _bg_label(registry, d, version))
        except (crypto.DecryptError, crypto.CryptoError):
            raise AccessDeniedError("the break-glass key does not open this registry's keys") from None
        if not crypto.matches(crypto.key_check(value, d.encode()), bytes.fromhex(wrap["check"])):
            raise RegistryDamagedError(f"the break-glass wrap of the {d} key fails its key check")
        keys[d] = value
    ident = Identity(
        id="breakglass",
        name=BREAKGLASS_IDENTITY,
        role=Role.ADMIN,
        created_at=utcnow().isoformat(),
        created_by=operator,
    )
    registry.restore_keys(keys, ident)
    RevealLog(registry).append(
        "break-glass",
        reason=reason,
        details={"set_id": int(meta["set_id"]), "operator": operator},
    )
    return ident


def breakglass_finish(
    registry: Registry, *, revealed: Sequence[str] = (), backup: bool = True
) -> RekeyResult:
    """After a break-glass recovery: rotate both domain keys, drop the used set, and open rotation
    tasks for the accounts whose credentials were revealed."""
    from vault.backup import take_backup

    path = take_backup(registry, "before-breakglass-rekey") if backup else ""
    result = rotate_domains(
        registry,
        DOMAINS,
        drop_breakglass=True,
        action="rekey",
        reason="break-glass recovery: the used shares must open nothing current",
        task_reason="revealed during a break-glass recovery",
        task_accounts=revealed,
    )
    return RekeyResult(
        result.domains,
        result.key_versions,
        result.records,
        tasks=result.tasks,
        backup=path,
        breakglass_dropped=True,
    )
