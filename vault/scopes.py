"""Escrow scopes: each school's credentials under a key only that school's administrators hold.

Every account belongs to an escrow scope: its building, or `district` when it has none (issue 19:
Naperville 203 shares log-in information "with school administration", not with every school's).
Each scope has its own random key, kept in one `escrow-scope` record (under the escrow key, so the
nightly auditor never sees it) as wraps to the X25519 public keys of the identities that may open
it: every district administrator, the building administrators granted the scope, and the
break-glass set when there is one. A credential's bundle is sealed under its scope's key inside the
escrow record (`seal`), so holding the escrow key opens the envelope but not the bundle: a building
administrator of one school reads no other school's credentials, whatever it does to the database.

Key hierarchy (docs/escrow.md, "Key hierarchy"):

    identity private key ──unwraps──▶ escrow key (district and building administrators)
                        └─unwraps──▶ scope key of each scope granted ──seals──▶ credential bundles

Revoking a scope, removing or rotating an identity replaces the key of exactly the scopes it held
(`rotate`) and re-seals their bundles, so a copy of the registry taken before (an old backup) opens
nothing current with the revoked identity's keys. Moving an account to another building re-seals
its credentials under the new scope's key in the caller's transaction (`move_account`).

Who holds which scope is also kept, without any key, in each identity's inventory record
(`scopes`), so `auditor report access` can list grants for a compliance officer who holds no
escrow key. The wraps are what decide; `grants_in_step` says where the two disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.model.types import DISTRICT_SCOPE, Role, escrow_scope, fold
from vault import crypto, heads
from vault.errors import AccessDeniedError, VaultError
from vault.heads import Pin
from vault.registry import INVENTORY, Registry, StoredRecord, new_id, utcnow
from vault.scopekeys import SCOPE, endorsement, pin_name, scope_pin
from vault.scopekeys import key_check_of as _check
from vault.scopekeys import wrap_label as _wrap_label

DISTRICT = DISTRICT_SCOPE
CREDENTIAL = "credential"
PENDING = "credential-pending"
SCOPED_KINDS = (CREDENTIAL, PENDING)
BREAKGLASS = "breakglass"


def scope_name(building: object) -> str:
    """The escrow scope of an account in `building`: the building's name, or `district`."""
    return escrow_scope(building)


def scope_key(name: str) -> str:
    """How scope names compare (and the scope record's natural key): as buildings do."""
    return fold(scope_name(name))


class ScopeKeyError(VaultError):
    """An escrow scope's key or a record sealed under it fails its check (damaged or tampered)."""


class ScopeDeniedError(AccessDeniedError):
    """The unlocked identity is not granted the escrow scope an account's credentials are in."""

    def __init__(self, message: str, hint: str = "", *, scope: str = "") -> None:
        super().__init__(message, hint)
        self.scope = scope


@dataclass(frozen=True)
class ScopeInfo:
    """One scope as `identity list` and the access review show it (no key)."""

    id: str
    name: str
    version: int
    holders: Mapping[str, Mapping[str, str]]  # identity id (or "breakglass") -> {"at", "by"}


def _aad(registry: Registry, kind: str, record_id: str, sid: str, version: int) -> bytes:
    return f"{registry.registry_id}\x00scoped\x00{kind}\x00{record_id}\x00{sid}\x00{version}".encode()


def _retired_aad(registry: Registry, sid: str, version: int) -> bytes:
    return f"{registry.registry_id}\x00escrow-scope-retired\x00{sid}\x00{version}".encode()


class Scopes:
    """The escrow scopes of an unlocked registry (district or building administrator)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # ---- reading ---------------------------------------------------------------------------------

    def find(self, name: str) -> StoredRecord | None:
        return self.registry.find(SCOPE, scope_key(name))

    def records(self) -> list[StoredRecord]:
        out = []
        for rec in self.registry.scan(SCOPE):
            if isinstance(rec, VaultError):
                raise rec
            out.append(rec)
        return sorted(out, key=lambda r: scope_key(str(r.data["name"])))

    def infos(self) -> list[ScopeInfo]:
        return [
            ScopeInfo(
                r.id,
                str(r.data["name"]),
                int(r.data["version"]),
                {
                    h: {"at": str(w.get("at", "")), "by": str(w.get("by", ""))}
                    for h, w in r.data["wraps"].items()
                },
            )
            for r in self.records()
        ]

    def account_scope(self, account_id: str) -> str:
        """The scope an account's credentials belong in: its building's (an unknown id: district)."""
        rec = self.registry.get("account", account_id, INVENTORY)
        return scope_name(rec.data.get("building") if rec else "")

    def held(self) -> set[str]:
        """The scope record ids the unlocked identity can open."""
        holder = self.registry.scope_holder
        if holder is None:
            return set()
        return {r.id for r in self.records() if holder[0] in r.data["wraps"]}

    def holds(self, name: str) -> bool:
        rec = self.find(name)
        if rec is None:  # a scope nobody stored a credential in yet: district administrators create it
            ident = self.registry.identity
            return ident is not None and ident.role is Role.ADMIN
        known = self.registry.scope_keys.get(rec.id)
        if known is not None and known[0] == int(rec.data["version"]):
            return True  # a key this session made (a re-key, a break-glass recovery's new keys)
        holder = self.registry.scope_holder
        return holder is not None and holder[0] in rec.data["wraps"]

    def _key_of(self, rec: StoredRecord) -> tuple[int, bytes]:
        version = int(rec.data["version"])
        cached = self.registry.scope_keys.get(rec.id)
        if cached is not None and cached[0] == version:
            return cached
        holder = self.registry.scope_holder
        wrap = rec.data["wraps"].get(holder[0]) if holder else None
        if holder is None or wrap is None:
            ident = self.registry.identity
            who = repr(ident.name) if ident else "this session"
            name = str(rec.data["name"])
            raise ScopeDeniedError(
                f"{who} is not granted the escrow scope {name!r}",
                f"A district administrator can grant it: `auditor identity grant NAME --scope {name!r}`.",
                scope=name,
            )
        try:
            key = crypto.unwrap(
                bytes.fromhex(str(wrap["stanza"])), holder[1], _wrap_label(self.registry, rec.id, version)
            )
        except (crypto.DecryptError, crypto.CryptoError, KeyError, ValueError) as exc:
            raise ScopeKeyError(
                f"the key of escrow scope {rec.data['name']!r} wrapped for this identity does not open"
            ) from exc
        if not crypto.matches(bytes.fromhex(_check(rec.id, key)), bytes.fromhex(str(rec.data["check"]))):
            raise ScopeKeyError(f"the key of escrow scope {rec.data['name']!r} fails its key check")
        self.registry.scope_keys[rec.id] = (version, key)
        return version, key

    def _record(self, sid: str) -> StoredRecord:
        rec = self.registry.get(SCOPE, sid)
        if rec is None:
            raise ScopeKeyError(f"escrow scope {sid} is missing: its credentials cannot be opened")
        return rec

    # ---- sealing bundles -------------------------------------------------------------------------

    def seal(self, kind: str, record_id: str, name: str, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """The stored data of a scoped record: the bundle sealed under the scope's current key."""
        rec = self.ensure(name)
        version, key = self._key_of(rec)
        plain = json.dumps(bundle, separators=(",", ":"), sort_keys=True).encode()
        box = crypto.seal(key, plain, _aad(self.registry, kind, record_id, rec.id, version))
        return {"scope": rec.id, "scope_version": version, "box": box.hex()}

    def open(self, kind: str, record_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """The bundle of a scoped record (ScopeDeniedError when this identity lacks its scope)."""
        if "bundle" in data and self.registry.format_version < 3:
            return dict(data["bundle"])  # a registry not yet upgraded to scopes (read by the upgrader)
        sid = str(data.get("scope", ""))
        rec = self._record(sid)
        version, key = self._key_of(rec)
        if int(data.get("scope_version", 0)) != version:
            raise ScopeKeyError(
                f"{kind} record {record_id} is sealed under version {data.get('scope_version')} of escrow scope "
                f"{rec.data['name']!r}, whose current key is version {version}: it was put back from an older copy"
            )
        try:
            plain = crypto.open_sealed(
                key, bytes.fromhex(str(data["box"])), _aad(self.registry, kind, record_id, sid, version)
            )
        except (crypto.DecryptError, KeyError, ValueError) as exc:
            raise ScopeKeyError(f"{kind} record {record_id} does not open under its scope key") from exc
        return dict(json.loads(plain))

    def scope_of_record(self, data: Mapping[str, Any]) -> str:
        """The name of the scope a scoped record is in."""
        rec = self.registry.get(SCOPE, str(data.get("scope", "")))
        return str(rec.data["name"]) if rec else "?"

    # ---- creating, granting, rotating ------------------------------------------------------------

    def _recipients(self, keep: Iterable[str] = (), *, burn: bool = False) -> dict[str, bytes]:
        """Who a scope key is wrapped to: every district administrator, the building administrators
        in `keep` still listed by the authenticated manifest, and the break-glass set. Public keys
        come from the manifests only (a key planted in the identities table is never used)."""
        entries = self.registry.identity_entries()
        keep = set(keep)
        out = {
            i: bytes.fromhex(e.public_key)
            for i, e in entries.items()
            if e.role == Role.ADMIN.value or (i in keep and e.role == Role.BUILDING_ADMIN.value)
        }
        info = self.registry.breakglass_info()
        if info is not None and not burn and info.get("public_key"):
            out[BREAKGLASS] = bytes.fromhex(str(info["public_key"]))
        return out

    def _wraps(
        self, sid: str, version: int, key: bytes, recipients: Mapping[str, bytes], old: Mapping[str, Any]
    ) -> dict[str, Any]:
        ident = self.registry.identity
        now, by = utcnow().isoformat(), ident.name if ident else ""
        label = _wrap_label(self.registry, sid, version)
        return {
            holder: {
                "stanza": crypto.wrap(key, public, label).hex(),
                "at": str(dict(old.get(holder) or {}).get("at") or now),
                "by": str(dict(old.get(holder) or {}).get("by") or by),
            }
            for holder, public in sorted(recipients.items())
        }

    def ensure(self, name: str) -> StoredRecord:
        """The scope's record, created (with a new key) the first time a credential goes in it."""
        rec = self.find(name)
        if rec is not None:
            return rec
        ident = self.registry.identity
        if ident is None or ident.role is not Role.ADMIN:
            raise ScopeDeniedError(
                f"{ident.name if ident else 'this session'!r} is not granted the escrow scope {scope_name(name)!r}",
                "Nothing is escrowed in it yet: a district administrator stores the first credential.",
                scope=scope_name(name),
            )
        sid = new_id("scope")
        key = crypto.random_key()
        data = {
            "name": scope_name(name),
            "version": 1,
            "check": _check(sid, key),
            "wraps": self._wraps(sid, 1, key, self._recipients(), {}),
        }
        with self.registry.transaction():
            self.registry.put(SCOPE, sid, data, expected_version=0)
        self.registry.scope_keys[sid] = (1, key)
        got = self.registry.get(SCOPE, sid)
        assert got is not None
        return got

    def add_holder(self, holder: str, name: str) -> bool:
        """Wrap a scope's key to one more identity (already in the manifest); False if it held it."""
        rec = self.ensure(name)
        if holder in rec.data["wraps"]:
            return False
        version, key = self._key_of(rec)
        recipients = self._recipients(keep=[*rec.data["wraps"], holder])
        if holder not in recipients:
            raise VaultError(f"internal error: identity {holder} cannot be granted a scope")
        wraps = dict(rec.data["wraps"])
        wraps.update(self._wraps(rec.id, version, key, {holder: recipients[holder]}, {}))
        self.registry.put(SCOPE, rec.id, {**rec.data, "wraps": wraps}, expected_version=rec.version)
        return True

    def wrap_all_for(self, holder: str) -> None:
        """A new district administrator (or break-glass set): every scope's key wrapped to it."""
        for rec in self.records():
            if holder not in rec.data["wraps"] or holder == BREAKGLASS:
                version, key = self._key_of(rec)
                recipients = self._recipients(keep=rec.data["wraps"])
                wraps = {h: w for h, w in rec.data["wraps"].items() if h in recipients}
                if holder in recipients:
                    wraps.update(self._wraps(rec.id, version, key, {holder: recipients[holder]}, {}))
                else:
                    wraps.pop(holder, None)
                self.registry.put(SCOPE, rec.id, {**rec.data, "wraps": wraps}, expected_version=rec.version)

    def rotate(self, sids: Iterable[str], *, drop: Iterable[str] = (), burn: bool = False) -> dict[str, int]:
        """New keys for the scopes `sids`, wrapped to their remaining holders (every district
        administrator, the building administrators still granted, minus `drop`), with every bundle
        in them re-sealed. Returns each scope's new key version. The caller's transaction."""
        wanted = set(sids)
        dropped = set(drop)
        if not wanted:
            return {}
        opened = {}
        records = {r.id: r for r in self.records() if r.id in wanted}
        for sid, rec in records.items():
            opened[sid] = self._key_of(rec)
        new: dict[str, tuple[int, bytes]] = {}
        for sid, rec in records.items():
            old_version, old_key = opened[sid]
            version = old_version + 1
            key = crypto.random_key()
            keep = [h for h in rec.data["wraps"] if h not in dropped]
            recipients = {h: p for h, p in self._recipients(keep=keep, burn=burn).items() if h not in dropped}
            # Every retired version's rotation key endorses the new key (`check_pins`); they are
            # kept sealed under the scope's current key, so only holders of the scope know them.
            retired = {**self._retired(rec, old_key), str(old_version): heads.rotation_key(old_key).hex()}
            check = _check(sid, key)
            data = {
                **rec.data,
                "version": version,
                "check": check,
                "wraps": self._wraps(sid, version, key, recipients, rec.data["wraps"]),
                "endorse": {
                    v: endorsement(self.registry, sid, version, check, bytes.fromhex(r))
                    for v, r in sorted(retired.items())
                },
                "retired": crypto.seal(
                    key,
                    json.dumps(retired, sort_keys=True).encode(),
                    _retired_aad(self.registry, sid, version),
                ).hex(),
            }
            self.registry.put(SCOPE, sid, data, expected_version=rec.version)
            new[sid] = (version, key)
        for kind in SCOPED_KINDS:
            for item in list(self.registry.scan(kind)):
                if isinstance(item, VaultError):
                    raise item
                sid = str(item.data.get("scope", ""))
                if sid not in new:
                    continue
                _old_version, old_key = opened[sid]
                try:
                    plain = crypto.open_sealed(
                        old_key,
                        bytes.fromhex(str(item.data["box"])),
                        _aad(self.registry, kind, item.id, sid, int(item.data["scope_version"])),
                    )
                except (crypto.DecryptError, KeyError, ValueError) as exc:
                    raise ScopeKeyError(
                        f"cannot re-key escrow scope: {kind} record {item.id} does not open under its scope key; "
                        "nothing was changed"
                    ) from exc
                version, key = new[sid]
                box = crypto.seal(key, plain, _aad(self.registry, kind, item.id, sid, version))
                data = {**item.data, "scope_version": version, "box": box.hex()}
                self.registry.put(kind, item.id, data, expected_version=item.version)
        self.registry.scope_keys.update(new)
        return {sid: v for sid, (v, _k) in new.items()}

    def pins_for(self, names: Iterable[str] | None = None) -> dict[str, Pin]:
        """What an identity about to be wrapped the keys of scopes `names` (None: every scope)
        should remember of them (`scopekeys.check_pins`); scopes that do not exist yet are left to
        its first unlock."""
        wanted = None if names is None else {scope_key(n) for n in names}
        out = {}
        for rec in self.records():
            if wanted is None or scope_key(str(rec.data["name"])) in wanted:
                version, key = self._key_of(rec)
                out[pin_name(rec.id)] = scope_pin(rec.id, version, key)
        return out

    def _retired(self, rec: StoredRecord, key: bytes) -> dict[str, str]:
        """The rotation keys of the scope's retired versions (version -> hex), under its current key."""
        sealed = rec.data.get("retired")
        if not sealed:
            return {}
        try:
            plain = crypto.open_sealed(
                key, bytes.fromhex(str(sealed)), _retired_aad(self.registry, rec.id, int(rec.data["version"]))
            )
            return {str(k): str(v) for k, v in dict(json.loads(plain)).items()}
        except (crypto.DecryptError, KeyError, ValueError, TypeError) as exc:
            raise ScopeKeyError(
                f"the key history of escrow scope {rec.data.get('name')!r} does not open under its key; "
                "nothing was changed"
            ) from exc

    def scopes_held_by(self, holder: str) -> list[str]:
        return [r.id for r in self.records() if holder in r.data["wraps"]]

    def move_account(self, account_id: str, new_name: str) -> int:
        """Re-seal every stored version (and the pending credential) of an account under the key
        of scope `new_name`; returns how many records moved. The caller's transaction."""
        meta = self.registry.get("credential-meta", account_id, INVENTORY)
        count = int(meta.data.get("version", 0) or 0) if meta else 0
        wanted = [(CREDENTIAL, f"{account_id}:v{n}") for n in range(1, count + 1)] + [(PENDING, account_id)]
        moved = 0
        target = None
        for kind, record_id in wanted:
            item = self.registry.get(kind, record_id)
            if item is None:
                continue
            target = target or self.ensure(new_name)
            if item.data.get("scope") == target.id:
                continue
            bundle = self.open(kind, item.id, item.data)
            data = {k: v for k, v in item.data.items() if k not in ("scope", "scope_version", "box")}
            data.update(self.seal(kind, item.id, new_name, bundle))
            self.registry.put(kind, item.id, data, expected_version=item.version)
            moved += 1
        return moved


def grants_of(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """An identity record's scopes (name -> {"at", "by"})."""
    raw = data.get("scopes") or {}
    return {str(k): {"at": str(v.get("at", "")), "by": str(v.get("by", ""))} for k, v in dict(raw).items()}
