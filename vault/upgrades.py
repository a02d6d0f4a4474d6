"""Registry format upgrades: one step per format version, applied in order by `auditor registry upgrade`.

Each step takes a registry from format N to N+1 inside one transaction, after a backup, and states
in one line what it changes. A step gets the open registry; one that needs keys (`needs_admin`)
gets it unlocked by an administrator. Opening a registry whose format is older than this version
refuses with a hint to run the upgrade, so an old file is never half-understood; a newer one is
refused outright (NewerFormatError).

Format 2 (issue 11) authenticates the key metadata: the administrator running the upgrade vouches
for the identities, wrapped keys, break-glass recipient and records as they stand (trust on first
use, the way an SSH client trusts a host key the first time), and from then on anything changed
without a domain key is detected. Run it on a registry you have no reason to think was tampered
with, and check `auditor identity list` afterwards. Each identity records the keys it opens at its
first unlock after the upgrade.

To add a format version: raise `vault.registry.FORMAT_VERSION`, add `STEPS[old] = Step(...)`
here, and a test that upgrades a registry written in the old format (tests/vault/data/).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vault import crypto, heads
from vault import kinds as kinds_mod
from vault.errors import KeyMetadataTamperedError, VaultError
from vault.heads import IdentityEntry, KindHead, Manifest, WrapEntry
from vault.kinds import DOMAINS, INVENTORY

if TYPE_CHECKING:
    from vault.registry import Registry


@dataclass(frozen=True)
class Step:
    from_version: int
    description: str
    apply: Callable[[Registry], None]
    needs_admin: bool = False


_LEGACY_META = ("key_version.inventory", "key_version.escrow", "breakglass", "log_head")


def _to_format_2(registry: Registry) -> None:

    registry.require_admin("Upgrading to format 2")
    backend = registry.backend
    if any(backend.meta_get(heads.meta_name(d)) for d in DOMAINS):
        # Someone set the header back to format 1 so that an administrator would vouch, through this
        # step, for whatever they planted since.
        raise KeyMetadataTamperedError(
            "this registry already has authenticated manifests (format 2) but its header says format 1: "
            "the header was set back by someone without a key; nothing was changed",
            subject="header",
        )
    unknown = [k for k in backend.kinds() if k not in kinds_mod.KINDS]
    if unknown:
        raise VaultError(
            f"the registry holds records of kind(s) {', '.join(map(repr, unknown))}, which auditor never "
            "writes; refusing to vouch for them",
            "Restore a backup taken before they appeared, then upgrade; nothing was changed.",
        )
    keys = registry.held_keys()
    entries = {r.id: IdentityEntry.from_row(r) for r in backend.identities()}
    legacy_bg: dict[str, Any] | None = None
    text = backend.meta_get("breakglass")
    if text:
        legacy_bg = json.loads(text)
    manifests = {}
    for domain in DOMAINS:
        version = int(backend.meta_get(f"key_version.{domain}") or "1")
        manifest = Manifest(
            domain=domain,
            registry_id=registry.registry_id,
            format_version=2,
            key_version=version,
            key_check=crypto.key_check(keys[domain], domain.encode()).hex(),
            identities=dict(entries),
            wraps={
                w.identity_id: WrapEntry(w.key_version, heads.stanza_digest(w.stanza), w.check.hex())
                for w in backend.wraps()
                if w.domain == domain and w.identity_id in entries
            },
            log=(backend.meta_get("log_head") or None) if domain == INVENTORY else None,
            restores=int(time.time()),  # a new lineage: outranks any state a machine saw before
        )
        if legacy_bg and legacy_bg.get("wraps", {}).get(domain):
            wrap = legacy_bg["wraps"][domain]
            manifest.breakglass = {
                **{
                    k: legacy_bg[k]
                    for k in ("set_id", "group_threshold", "groups", "key_check", "public_key")
                },
                "created_at": legacy_bg.get("created_at", ""),
                "wrap": {
                    "key_version": wrap["key_version"],
                    "stanza": wrap["stanza"],
                    "check": wrap["check"],
                },
                "endorse": None,  # format 1 sets carry no endorsement; `breakglass setup` again adds one
            }
        term_key = heads.term_key(keys[domain])
        for kind in kinds_mod.kinds_in(domain):
            head, _terms = KindHead.over(term_key, kind, backend.stamps(kind))
            if head.n:
                manifest.records[kind] = head
        manifests[domain] = manifest
    registry.install_manifests(manifests)
    for name in _LEGACY_META:
        backend.meta_delete(name)


def _to_format_3(registry: Registry) -> None:
    """Escrow scopes (issue 19): every credential's bundle sealed again under the key of its
    account's scope (its building, or `district`), each scope key wrapped to every administrator
    (and the break-glass set). Existing administrators are district administrators, so nothing
    becomes unreadable; building administrators are added afterwards."""
    from vault.scopes import CREDENTIAL, PENDING, Scopes, scope_name

    registry.require_admin("Upgrading to format 3")
    scopes = Scopes(registry)
    with registry.transaction():
        buildings = {}
        for rec in registry.scan("account"):
            if isinstance(rec, VaultError):
                raise VaultError(
                    f"cannot upgrade: {rec.message}", "Run `auditor registry check`; nothing was changed."
                )
            buildings[rec.id] = rec.data.get("building")
        for kind in (CREDENTIAL, PENDING):
            for rec in list(registry.scan(kind)):
                if isinstance(rec, VaultError):
                    raise VaultError(
                        f"cannot upgrade: {rec.message}", "Run `auditor registry check`; nothing was changed."
                    )
                if "bundle" not in rec.data:
                    continue
                account_id = rec.id.split(":v", 1)[0] if kind == CREDENTIAL else rec.id
                data = {k: v for k, v in rec.data.items() if k != "bundle"}
                data.update(
                    scopes.seal(kind, rec.id, scope_name(buildings.get(account_id)), rec.data["bundle"])
                )
                registry.put(kind, rec.id, data, expected_version=rec.version)
        registry.set_format_version(3)


# from_version -> the step to from_version + 1. Format 1 is the first.
STEPS: dict[int, Step] = {
    1: Step(
        1,
        "authenticated key manifests and record heads (the administrator vouches for the registry as it is)",
        _to_format_2,
        needs_admin=True,
    ),
    2: Step(
        2,
        "escrow scopes: each credential sealed under its building's key (every administrator becomes a "
        "district administrator holding every scope)",
        _to_format_3,
        needs_admin=True,
    ),
}


def pending(current: int, target: int) -> list[Step]:
    steps = []
    for version in range(current, target):
        step = STEPS.get(version)
        if step is None:
            raise LookupError(f"no upgrade step from format {version} to {version + 1}")
        steps.append(step)
    return steps


def upgrade(registry: Registry, current: int, target: int) -> list[str]:
    """Apply every pending step in one transaction; returns what was done, one line per step."""
    steps = pending(current, target)
    done = []
    backend = registry.backend
    with backend.transaction():
        for step in steps:
            step.apply(registry)
            backend.meta_set("format_version", str(step.from_version + 1))
            registry.format_version = step.from_version + 1
            done.append(f"format {step.from_version} → {step.from_version + 1}: {step.description}")
    return done
