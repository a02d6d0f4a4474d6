"""Re-keying: identity removal and rotation that really revoke, and the break-glass wrap of the keys.

Removing an identity (issue 3, "Identities: removal re-keys") generates a new key for every domain
the identity could unwrap, re-wraps it for the remaining identities (and for the break-glass
recipient), re-encrypts every record of those domains (recomputing blind indexes from each kind's
declaration in vault/kinds.py, so no kind can be forgotten), and opens a rotation task for every
account whose escrowed credentials the removed identity could read, because re-keying the file does
not change the real passwords. All of it is one transaction after an automatic backup: a crash
leaves the old or the new registry.

Keys are wrapped only to public keys the registry's authenticated manifests list (vault/heads.py),
never to whatever the `identities` table or the break-glass metadata hold: a key planted there by
someone who can write the database is refused before anything is wrapped to it (issue 11). Every
new key version is endorsed by the rotation key of every retired version, so identities that last
opened an older key can tell the new one came from a key holder.

Rotating an identity (`auditor identity rotate`, after a leaked passphrase) gives it a new key pair
and re-keys every domain it held, so the old passphrase with any older copy of the registry (the
automatic backups) opens only retired keys.

Break-glass (docs/escrow.md, "Break-glass"): the SLIP-39-split break-glass key deterministically
derives an X25519 key pair; the domain keys are wrapped to its *public* key, kept in the manifests,
so any administrator can re-wrap new domain keys during a re-key without the shares. A MAC key
derived from the break-glass key (kept by the administrators in the escrow history) endorses each
wrapped key, so the shares never open a key someone else wrapped to that public key. A recovery
logs its use, burns the set and rotates both domain keys in ONE transaction, before any secret is
shown: the envelopes are single-use and open nothing current even if a later step fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.model.errors import UsageError
from auditor.model.types import Role, RotationTask, Secret
from vault import crypto, heads
from vault import kinds as kinds_mod
from vault import scopes as scopes_mod
from vault.backends.storage import IdentityRow
from vault.backup import take_backup
from vault.errors import (
    AccessDeniedError,
    IdentityError,
    KeyMetadataTamperedError,
    RegistryDamagedError,
    VaultError,
)
from vault.escrow import breakglass as bg
from vault.escrow.store import Escrow
from vault.heads import IdentityEntry, Manifest, ManifestError
from vault.registry import (
    DOMAINS,
    ESCROW,
    INVENTORY,
    ROLE_DOMAINS,
    Identity,
    Registry,
    _check_passphrase,
    utcnow,
)
from vault.revealog import RevealLog
from vault.scopes import BREAKGLASS, Scopes
from vault.stores import tasks as tasks_mod

_BG_INFO = "auditor/v1 breakglass x25519"
BREAKGLASS_IDENTITY = "break-glass"
ESCROW_HISTORY = "escrow-history"
ESCROW_HISTORY_ID = "escrow"


@dataclass(frozen=True)
class RekeyResult:
    domains: tuple[str, ...]
    key_versions: dict[str, int]
    records: int
    scopes: tuple[str, ...] = ()  # the escrow scopes (names) whose keys were replaced
    removed: str = ""
    tasks: tuple[RotationTask, ...] = field(default=())
    backup: str = ""
    breakglass_dropped: bool = False


@dataclass(frozen=True)
class NewKeyPair:
    """`rotate_identity`: the identity that gets a new key pair, sealed under this passphrase."""

    identity_id: str
    private: bytes
    passphrase: Secret
    kdf_profile: str


# --------------------------------------------------------------------------------------------------
# Key histories: the rotation keys of retired versions (log-keys for inventory, escrow-history)


def _escrow_history(registry: Registry) -> tuple[dict[str, Any], int]:
    rec = registry.get(ESCROW_HISTORY, ESCROW_HISTORY_ID)
    return (dict(rec.data), rec.version) if rec else ({"versions": {}}, 0)


def _put_escrow_history(registry: Registry, data: dict[str, Any], version: int) -> None:
    registry.put(ESCROW_HISTORY, ESCROW_HISTORY_ID, data, expected_version=version)


def _retire_escrow(registry: Registry) -> None:
    data, version = _escrow_history(registry)
    current = registry.key_version(ESCROW)
    rotation = heads.rotation_key(registry.held_keys()[ESCROW]).hex()
    data.setdefault("versions", {})[str(current)] = {"rotation": rotation}
    _put_escrow_history(registry, data, version)


def _rotation_keys(registry: Registry, domain: str) -> dict[int, bytes]:
    if domain == INVENTORY:
        return RevealLog(registry).rotation_keys()
    data, _version = _escrow_history(registry)
    return {int(v): bytes.fromhex(e["rotation"]) for v, e in data.get("versions", {}).items()}


def _breakglass_endorse_key(registry: Registry) -> bytes | None:
    data, _version = _escrow_history(registry)
    value = data.get("breakglass")
    return bytes.fromhex(value) if value else None


def _set_breakglass_endorse_key(registry: Registry, key: bytes | None) -> None:
    data, version = _escrow_history(registry)
    if key is None:
        if "breakglass" not in data:
            return
        data.pop("breakglass")
    else:
        data["breakglass"] = key.hex()
    _put_escrow_history(registry, data, version)


# --------------------------------------------------------------------------------------------------
# The core: rotate domain keys in one transaction


def rotate_domains(
    registry: Registry,
    domains: Sequence[str],
    *,
    drop_identity_id: str | None = None,
    new_key_pair: NewKeyPair | None = None,
    burn_breakglass: bool = False,
    action: str = "rekey",
    reason: str = "",
    details: dict[str, Any] | None = None,
    task_reason: str = "",
    task_accounts: Sequence[str] = (),
    scopes: Sequence[str] = (),
) -> RekeyResult:
    """New keys for `domains` and for the escrow scopes `scopes` (record ids), re-wrapped and
    re-encrypted, in ONE transaction (see module doc).

    The caller takes the backup. `task_accounts` get a rotation task (inside the same transaction).
    """
    actor = registry.require_admin("Re-keying")
    wanted = tuple(d for d in DOMAINS if d in domains)
    old_keys = registry.held_keys()
    old_identity = registry.identity
    old_scope_keys = dict(registry.scope_keys)
    scope_names: tuple[str, ...] = ()
    backend = registry.backend
    opened: list[RotationTask] = []
    try:
        with registry.transaction():
            # The tables must agree with the authenticated manifests before anything is wrapped.
            registry.check_key_metadata()
            if drop_identity_id is not None:
                registry.delete("identity", drop_identity_id)
                backend.delete_identity(drop_identity_id)
                registry.drop_identity_entry(drop_identity_id)
            opened += [
                task
                for task, created in tasks_mod.open_many(
                    registry,
                    task_accounts,
                    task_reason or reason or action,
                    opened_by=actor.name,
                    now=utcnow(),
                )
                if created
            ]
            if INVENTORY in wanted:
                RevealLog(registry).retire_epoch()
            if ESCROW in wanted:
                _retire_escrow(registry)
            # Decrypt everything of the affected domains with the old keys first, each kind checked
            # against its authenticated head: a damaged or replayed record stops the re-key before
            # anything changed (rolling back the transaction), and is never laundered into new keys.
            plain = []
            for kind in backend.kinds():
                spec = kinds_mod.KINDS.get(kind)
                if spec is None:
                    raise VaultError(
                        f"cannot re-key: the registry holds records of kind {kind!r}, which auditor never writes",
                        "Run `auditor registry check` and restore a backup; nothing was changed.",
                    )
                if spec.domain not in wanted:
                    continue
                for rec in registry.scan(kind):
                    if isinstance(rec, VaultError):
                        raise VaultError(
                            f"cannot re-key: {rec.message}",
                            "Run `auditor registry check` and repair or restore first; nothing was changed.",
                        ) from None
                    plain.append(rec)
            rotations = {d: _rotation_keys(registry, d) for d in wanted}
            endorse_key = _breakglass_endorse_key(registry)
            versions: dict[str, int] = {}
            for d in wanted:
                key = crypto.random_key()
                versions[d] = registry.key_version(d) + 1
                check = crypto.key_check(key, d.encode())
                endorse = {
                    str(u): heads.endorsement(rot, registry.registry_id, d, versions[d], check)
                    for u, rot in rotations[d].items()
                }
                registry.install_domain_key(d, key, versions[d], endorse)
            rows = [registry.seal_row(rec.kind, rec.id, rec.version, rec.data) for rec in plain]
            registry.put_rows(rows)
            if new_key_pair is not None:
                _install_key_pair(registry, new_key_pair)
            # Re-wrap for every identity the manifests authenticate that holds the domain.
            entries = registry.identity_entries()
            for d in wanted:
                for ident_id, entry in sorted(entries.items()):
                    if d in ROLE_DOMAINS[Role.parse(entry.role)]:
                        registry.wrap_for_identity(ident_id, bytes.fromhex(entry.public_key), d)
            if ESCROW in wanted and not any(e.role == Role.ADMIN.value for e in entries.values()):
                raise IdentityError("re-keying would leave no administrator; nothing was changed")
            if scopes:
                names = {r.id: str(r.data["name"]) for r in Scopes(registry).records()}
                drop = [drop_identity_id] if drop_identity_id else []
                Scopes(registry).rotate(scopes, drop=drop, burn=burn_breakglass)
                scope_names = tuple(sorted(names[s] for s in scopes if s in names))
            info = registry.breakglass_info()
            if info is not None and burn_breakglass:
                for d in DOMAINS:
                    registry.set_breakglass(d, None)
                _set_breakglass_endorse_key(registry, None)
            elif info is not None:
                for d in wanted:
                    registry.set_breakglass(d, _breakglass_entry(registry, d, info, endorse_key))
            RevealLog(registry).append(
                action,
                reason=reason,
                details={
                    "domains": list(wanted),
                    "key_versions": versions,
                    "records": len(rows),
                    "tasks_opened": [t.id for t in opened],
                    **({"scopes": list(scope_names)} if scope_names else {}),
                    **(details or {}),
                },
            )
    except BaseException:
        registry.restore_keys(old_keys, old_identity)
        registry.scope_keys = old_scope_keys
        raise
    return RekeyResult(
        wanted,
        versions,
        len(rows),
        scopes=scope_names,
        tasks=tuple(opened),
        breakglass_dropped=burn_breakglass and info is not None,
    )


def _install_key_pair(registry: Registry, pair: NewKeyPair) -> None:
    """Give an identity its new key pair, sealed with pins of the keys it now holds."""
    entries = registry.identity_entries()
    entry = entries[pair.identity_id]
    row = next(r for r in registry.identity_rows() if r.id == pair.identity_id)
    public = crypto.public_from_private(pair.private)
    pins = registry.current_pins(ROLE_DOMAINS[Role.parse(entry.role)])
    sealed = registry._seal_private(pair.identity_id, pair.private, pair.passphrase, pair.kdf_profile, pins)
    new_row = dataclasses.replace(row, public_key=public, sealed_private=sealed)
    registry.backend.update_identity(new_row)
    registry.set_identity_entry(IdentityEntry.from_row(new_row))


# --------------------------------------------------------------------------------------------------
# Identity removal and rotation


def _authenticated_row(registry: Registry, name: str) -> tuple[IdentityRow, IdentityEntry]:
    row = registry.identity_row(name)
    entry = registry.identity_entries().get(row.id)
    if entry is None or entry.differences(row):
        raise KeyMetadataTamperedError(
            f"identity {name!r} does not match the registry's authenticated manifest; nothing was changed",
            subject=f"identity {row.id}",
        )
    return row, entry


def _escrowed_accounts(registry: Registry, scope_ids: Sequence[str] | None = None) -> list[str]:
    """The accounts with escrowed credentials (in the scopes `scope_ids`, when given)."""
    escrowed = sorted(a for a, ref in Escrow(registry).refs().items() if ref.escrowed)
    if scope_ids is None:
        return escrowed
    scopes = Scopes(registry)
    names = {scopes_mod.scope_key(str(r.data["name"])) for r in scopes.records() if r.id in set(scope_ids)}
    return [a for a in escrowed if scopes_mod.scope_key(scopes.account_scope(a)) in names]


def remove_identity(
    registry: Registry,
    name: str,
    *,
    reason: str = "",
    backup: bool = True,
    extra_details: dict[str, Any] | None = None,
) -> RekeyResult:
    """Remove identity `name`, re-key what it could unwrap, open rotation tasks (module doc)."""

    actor = registry.require_admin("Removing an identity")
    row, entry = _authenticated_row(registry, name)
    if actor.id == row.id:
        raise UsageError(
            "you cannot remove the identity you are unlocked as",
            "Unlock as another administrator (--identity NAME) to remove this one.",
        )
    entries = registry.identity_entries()
    admins = [e for e in entries.values() if e.role == Role.ADMIN.value]
    if entry.role == Role.ADMIN.value and len(admins) <= 1:
        raise UsageError(
            f"{name} is the last administrator; removing it would lock everyone out of escrow",
            "Add another administrator first (`auditor identity add NAME --role admin`).",
        )
    domains = tuple(d for d in DOMAINS if row.id in registry.manifest(d).wraps)
    held = Scopes(registry).scopes_held_by(row.id) if ESCROW in domains else []
    accounts = _escrowed_accounts(registry, held) if ESCROW in domains else []
    path = take_backup(registry, "before-identity-remove") if backup else ""
    result = rotate_domains(
        registry,
        domains,
        drop_identity_id=row.id,
        action="identity-remove",
        reason=reason or f"identity {name} removed",
        details={"removed": name, "role": entry.role, **(extra_details or {})},
        task_reason=f"identity {name} was removed and could read the escrowed credentials",
        task_accounts=accounts,
        scopes=held,
    )
    return dataclasses.replace(result, removed=name, backup=path)


def rotate_identity(
    registry: Registry,
    name: str,
    passphrase: Secret,
    *,
    kdf_profile: str = "default",
    open_tasks: bool = True,
    reason: str = "",
    backup: bool = True,
) -> RekeyResult:
    """Give identity `name` a new key pair under `passphrase` and re-key every domain it held, so
    its old passphrase with any older copy of the registry opens only retired keys. With
    `open_tasks`, accounts it could read get a rotation task (whoever had the old passphrase and a
    copy could have read them)."""

    registry.require_admin("Rotating an identity's keys")
    _check_passphrase(passphrase)
    row, entry = _authenticated_row(registry, name)
    domains = ROLE_DOMAINS[Role.parse(entry.role)]
    held = Scopes(registry).scopes_held_by(row.id) if ESCROW in domains else []
    accounts = _escrowed_accounts(registry, held) if open_tasks and ESCROW in domains else []
    path = take_backup(registry, "before-identity-rotate") if backup else ""
    private, _public = crypto.new_identity_keypair()
    result = rotate_domains(
        registry,
        domains,
        new_key_pair=NewKeyPair(row.id, private, passphrase, kdf_profile),
        action="identity-rotate",
        reason=reason or f"identity {name} got a new key pair",
        details={"identity": name, "role": entry.role},
        task_reason=f"the passphrase of identity {name} may have leaked with a copy of the registry",
        task_accounts=accounts,
        scopes=held,
    )
    return dataclasses.replace(result, backup=path)


# --------------------------------------------------------------------------------------------------
# Break-glass


def _bg_label(registry: Registry, domain: str, version: int) -> bytes:
    return registry.wrap_label(domain, version) + b"\x00breakglass"


def _bg_raw(key: Secret) -> bytes:
    raw = key.reveal()
    return raw if isinstance(raw, bytes) else raw.encode()


def _bg_private(key: Secret) -> bytes:
    return crypto.subkey(_bg_raw(key), _BG_INFO)


def _bg_endorse(key: Secret) -> bytes:
    return crypto.subkey(_bg_raw(key), heads.BREAKGLASS_ENDORSE_INFO)


_PUBLIC_FIELDS = ("set_id", "group_threshold", "groups", "key_check", "public_key", "created_at")


def _breakglass_entry(
    registry: Registry, domain: str, info: dict[str, Any], endorse_key: bytes | None
) -> dict[str, Any]:
    """The break-glass fields of one domain's manifest: the set's public parameters and the
    domain key wrapped (and endorsed) for the set's public key."""
    key = registry.held_keys()[domain]
    version = registry.key_version(domain)
    check = crypto.key_check(key, domain.encode())
    public = bytes.fromhex(str(info["public_key"]))
    entry = {name: info[name] for name in _PUBLIC_FIELDS if name in info}
    entry["wrap"] = {
        "key_version": version,
        "stanza": crypto.wrap(key, public, _bg_label(registry, domain, version)).hex(),
        "check": check.hex(),
    }
    entry["endorse"] = (
        heads.endorsement(endorse_key, registry.registry_id, domain, version, check) if endorse_key else None
    )
    return entry


def breakglass_info(registry: Registry) -> dict[str, Any] | None:
    """The public metadata of the current break-glass set, or None when there is none."""
    return registry.breakglass_info()


def breakglass_setup(
    registry: Registry,
    groups: Sequence[bg.GroupSpec],
    group_threshold: int = 1,
    *,
    passphrase: Secret | None = None,
) -> bg.BreakGlassSplit:
    """Create a new break-glass set wrapping both domain keys; replaces any earlier set.

    Returns the split whose cards the caller prints once; only public metadata is stored."""
    registry.require_admin("Setting up break-glass")
    key = bg.new_key()
    split = bg.split(key, groups, group_threshold, passphrase=passphrase)
    info: dict[str, Any] = {
        **split.public_metadata(),
        "public_key": crypto.public_from_private(_bg_private(key)).hex(),
        "created_at": utcnow().isoformat(),
    }
    with registry.transaction():
        previous = registry.breakglass_info()
        endorse_key = _bg_endorse(key)
        _set_breakglass_endorse_key(registry, endorse_key)
        for d in DOMAINS:
            registry.set_breakglass(d, _breakglass_entry(registry, d, info, endorse_key))
        Scopes(registry).wrap_all_for(BREAKGLASS)
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
    meta = registry.breakglass_info()
    if meta is None:
        raise VaultError(
            "this registry has no break-glass set (never set up, or used since)",
            "An administrator runs `auditor breakglass setup --shares N --threshold K`.",
        )
    try:
        groups = [bg.GroupSpec(g["name"], int(g["threshold"]), int(g["count"])) for g in meta["groups"]]
        return bg.RecoverySession(
            groups=groups, expected_set_id=int(meta["set_id"]), expected_check=str(meta["key_check"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RegistryDamagedError("the stored break-glass metadata is unreadable") from exc


def breakglass_unlock(
    registry: Registry, key: Secret, *, reason: str, operator: str = "", backup: bool = True
) -> RekeyResult:
    """Open the registry with a recovered break-glass key: verify the wrapped keys, then in ONE
    transaction log the `break-glass` event, burn the set and rotate both domain keys (module doc).

    A process killed at any moment leaves either the set intact and the keys as they were, or the
    set gone and the keys rotated: the used shares never open a current key again, and no secret
    has been shown before that is committed. The registry then acts as an administrator named
    "break-glass" (holding the new keys) for the reveals or the new administrator the recovery is
    for; `breakglass_finish` opens the rotation tasks of what was revealed."""

    info = registry.breakglass_info()
    if info is None:
        raise VaultError("this registry has no break-glass set")
    private = _bg_private(key)
    if crypto.public_from_private(private).hex() != info.get("public_key"):
        raise AccessDeniedError("the break-glass key does not open this registry's keys")
    endorse_key = _bg_endorse(key)
    keys: dict[str, bytes] = {}
    for d in DOMAINS:
        keys[d] = _bg_open_domain(registry, d, private, endorse_key)
    ident = Identity(
        id="breakglass",
        name=BREAKGLASS_IDENTITY,
        role=Role.ADMIN,
        created_at=utcnow().isoformat(),
        created_by=operator,
    )
    registry.adopt_keys(keys, ident)
    registry.scope_holder = (BREAKGLASS, private)
    path = take_backup(registry, "before-breakglass-rekey") if backup else ""
    result = rotate_domains(
        registry,
        DOMAINS,
        scopes=[r.id for r in Scopes(registry).records()],
        burn_breakglass=True,
        action="break-glass",
        reason=reason,
        details={"set_id": int(info["set_id"]), "operator": operator},
    )
    return dataclasses.replace(result, backup=path)


def _bg_open_domain(registry: Registry, domain: str, private: bytes, endorse_key: bytes) -> bytes:
    text = registry.backend.meta_get(heads.meta_name(domain))
    try:
        unverified, _body, _mac = Manifest.parse(text)
    except ManifestError as exc:
        raise KeyMetadataTamperedError(
            f"the registry's {domain} manifest {exc}", subject=f"manifest.{domain}"
        ) from None
    entry = unverified.breakglass
    if entry is None:
        raise KeyMetadataTamperedError(
            f"the {domain} manifest holds no break-glass key although the set exists", subject="break-glass"
        )
    try:
        wrap = entry["wrap"]
        version = int(wrap["key_version"])
        value = crypto.unwrap(bytes.fromhex(wrap["stanza"]), private, _bg_label(registry, domain, version))
    except (crypto.DecryptError, crypto.CryptoError, KeyError, TypeError, ValueError):
        raise AccessDeniedError("the break-glass key does not open this registry's keys") from None
    check = crypto.key_check(value, domain.encode())
    try:
        manifest = Manifest.load(text, value, domain=domain, registry_id=registry.registry_id)
    except ManifestError as exc:
        raise KeyMetadataTamperedError(
            f"the {domain} key wrapped for break-glass does not verify the registry's {domain} manifest ({exc}): "
            "it was wrapped by someone without the key",
            subject="break-glass",
        ) from None
    if manifest.key_version != version or manifest.key_check != check.hex():
        raise RegistryDamagedError(f"the break-glass wrap of the {domain} key is out of date")
    given = entry.get("endorse")
    expected = heads.endorsement(endorse_key, registry.registry_id, domain, version, check)
    if given is not None and not crypto.matches(str(given).encode(), expected.encode()):
        raise KeyMetadataTamperedError(
            f"the {domain} key wrapped for break-glass is not endorsed by this break-glass set: someone wrapped "
            "a key of their own to the set's public key",
            subject="break-glass",
        )
    return value


def breakglass_finish(
    registry: Registry, *, revealed: Sequence[str] = (), backup: bool = False
) -> RekeyResult:
    """After a break-glass recovery (whose keys `breakglass_unlock` already rotated): open a
    rotation task for every account whose credentials were revealed, in one transaction. Opening
    them before each reveal (as the CLI does) is safer still; doing it again here changes nothing."""
    actor = registry.require_admin("Finishing a break-glass recovery")
    opened: list[RotationTask] = []
    with registry.transaction():
        now = utcnow()
        for account_id in revealed:
            task, created = tasks_mod.open_task(
                registry, account_id, "revealed during a break-glass recovery", opened_by=actor.name, now=now
            )
            if created:
                opened.append(task)
    return RekeyResult((), {}, 0, tasks=tuple(opened), breakglass_dropped=True)


# --------------------------------------------------------------------------------------------------
# Escrow scopes: identities with scopes, grants and revocations (vault/escrow/scopes.py)


def known_scopes(registry: Registry) -> dict[str, str]:
    """Every scope an account could be in (folded name -> name): `district`, each account's
    building, and the scopes that already have a key."""
    out = {scopes_mod.scope_key(scopes_mod.DISTRICT): scopes_mod.DISTRICT}
    for rec in registry.scan("account"):
        if not isinstance(rec, VaultError):
            name = scopes_mod.scope_name(rec.data.get("building"))
            out.setdefault(scopes_mod.scope_key(name), name)
    for rec in Scopes(registry).records():
        out.setdefault(scopes_mod.scope_key(str(rec.data["name"])), str(rec.data["name"]))
    return out


def resolve_scopes(registry: Registry, names: Sequence[str]) -> list[str]:
    """The scope names as the registry spells them; a name no account uses is refused (a typo
    would otherwise grant an empty scope and leave the school's administrator without access)."""
    known = known_scopes(registry)
    out = []
    for name in names:
        found = known.get(scopes_mod.scope_key(name))
        if found is None:
            raise UsageError(
                f"no account is in a building named {name!r}, so there is no escrow scope by that name",
                "The scopes are `district` (accounts with no building) and the accounts' buildings: "
                + ", ".join(sorted(v for v in known.values() if v != scopes_mod.DISTRICT))
                + ".",
            )
        if found not in out:
            out.append(found)
    return out


def _set_grants(registry: Registry, ident_id: str, change: dict[str, dict[str, str] | None]) -> None:
    rec = registry.get("identity", ident_id)
    if rec is None:
        raise IdentityError(f"identity {ident_id} has no record")
    grants = scopes_mod.grants_of(rec.data)
    for name, value in change.items():
        if value is None:
            grants.pop(name, None)
        else:
            grants[name] = value
    registry.put("identity", ident_id, {**rec.data, "scopes": grants}, expected_version=rec.version)


def add_identity(
    registry: Registry,
    name: str,
    role: Role,
    passphrase: Secret,
    *,
    scopes: Sequence[str] = (),
    kdf_profile: str = "default",
    email: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> Identity:
    """Add an identity: a district administrator gets every scope's key, a building
    administrator the keys of `scopes` (at least one), auditors and compliance no escrow key."""
    actor = registry.require_admin("Adding an identity")
    if role is Role.BUILDING_ADMIN and not scopes:
        raise UsageError(
            "a building administrator needs the escrow scope(s) it may open",
            'Pass --scope BUILDING (repeatable), e.g. --scope "Naperville North High School".',
        )
    if scopes and role is not Role.BUILDING_ADMIN:
        raise UsageError(
            f"--scope is for building administrators; a {role.label} identity "
            + ("holds every scope" if role is Role.ADMIN else "holds no escrow key"),
            "Leave out --scope, or use --role building-admin.",
        )
    names = resolve_scopes(registry, scopes)
    now = utcnow().isoformat()
    with registry.transaction():
        sc = Scopes(registry)
        pins = sc.pins_for(None if role is Role.ADMIN else names) if role.holds_escrow else {}
        ident = registry.add_identity_keys(
            name,
            role,
            passphrase,
            kdf_profile=kdf_profile,
            email=email,
            reason=reason,
            details={**({"scopes": names} if names else {}), **(details or {})},
            pins=pins,
        )
        if role is Role.ADMIN:
            sc.wrap_all_for(ident.id)
        for scope in names:
            sc.add_holder(ident.id, scope)
        if names:
            _set_grants(registry, ident.id, {n: {"at": now, "by": actor.name} for n in names})
    return ident


def grant_scopes(registry: Registry, name: str, scopes: Sequence[str], *, reason: str = "") -> list[str]:
    """Grant a building administrator more scopes; returns the ones it did not hold already."""
    actor = registry.require_admin("Granting an escrow scope")
    row, entry = _authenticated_row(registry, name)
    if entry.role != Role.BUILDING_ADMIN.value:
        raise UsageError(
            f"{name} is a {Role.parse(entry.role).label} identity; scopes are granted to building administrators",
            "District administrators hold every scope; auditor and compliance identities hold none.",
        )
    names = resolve_scopes(registry, scopes)
    now = utcnow().isoformat()
    with registry.transaction():
        sc = Scopes(registry)
        added = [s for s in names if sc.add_holder(row.id, s)]
        if added:
            _set_grants(registry, row.id, {n: {"at": now, "by": actor.name} for n in added})
            RevealLog(registry).append(
                "identity-grant", reason=reason, details={"name": name, "scopes": added}
            )
    return added


def revoke_scopes(
    registry: Registry, name: str, scopes: Sequence[str], *, reason: str = "", backup: bool = True
) -> RekeyResult:
    """Take scopes from a building administrator: each one's key is replaced and its credentials
    re-sealed, and every account in it with escrowed credentials gets a rotation task (it could
    read them). One transaction, after a backup."""
    actor = registry.require_admin("Revoking an escrow scope")
    row, entry = _authenticated_row(registry, name)
    names = resolve_scopes(registry, scopes)
    sc = Scopes(registry)
    held = {str(r.data["name"]): r.id for r in sc.records() if row.id in r.data["wraps"]}
    missing = [s for s in names if s not in held]
    if missing:
        raise UsageError(
            f"{name} is not granted {', '.join(map(repr, missing))}; nothing was changed",
            "`auditor identity list` shows each identity's scopes.",
        )
    if entry.role == Role.ADMIN.value:
        raise UsageError(
            f"{name} is a district administrator and holds every scope by its role",
            "Remove the identity (`auditor identity remove`) or add it again as a building administrator.",
        )
    sids = [held[s] for s in names]
    accounts = _escrowed_accounts(registry, sids)
    path = take_backup(registry, "before-scope-revoke") if backup else ""
    old_scope_keys = dict(registry.scope_keys)
    try:
        with registry.transaction():
            opened = [
                task
                for task, created in tasks_mod.open_many(
                    registry,
                    accounts,
                    f"identity {name} could read the credentials of {', '.join(names)} until it was revoked",
                    opened_by=actor.name,
                    now=utcnow(),
                )
                if created
            ]
            versions = sc.rotate(sids, drop=[row.id])
            _set_grants(registry, row.id, dict.fromkeys(names))
            RevealLog(registry).append(
                "identity-revoke",
                reason=reason,
                details={
                    "name": name,
                    "scopes": names,
                    "scope_versions": {n: versions[held[n]] for n in names},
                    "tasks_opened": [t.id for t in opened],
                },
            )
    except BaseException:
        registry.scope_keys = old_scope_keys
        raise
    return RekeyResult((), {}, 0, scopes=tuple(names), tasks=tuple(opened), backup=path)
