"""Escrow scope keys below the registry: how a scope key is labelled, checked and pinned.

`vault/scopes.py` holds the scopes themselves (grants, sealing, rotation); this module holds what
the registry needs at unlock to verify them (`check_pins`), so that the registry does not import
the scopes module that imports it. Every identity pins each scope key it opens, as it pins the
domain keys (`heads.Pin`), and a rotation endorses the new key with every retired version's
rotation key (vault/scopes.py `Scopes.rotate`): someone who holds the escrow key but not a scope
cannot replace, roll back or delete that scope's key unnoticed (docs/escrow.md, threat model).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from vault import crypto, heads
from vault.errors import KeyMetadataTamperedError, RollbackError, VaultError
from vault.heads import Pin
from vault.kinds import ESCROW

SCOPE = "escrow-scope"


class _Record(Protocol):
    id: str
    data: dict[str, Any]


class _Registry(Protocol):
    registry_id: str
    scope_keys: dict[str, tuple[int, bytes]]

    def scan(self, kind: str, domain: str | None = None) -> Iterator[Any]: ...


def wrap_label(registry: _Registry, sid: str, version: int) -> bytes:
    return f"{registry.registry_id}\x00escrow-scope\x00{sid}\x00{version}".encode()


def key_check_of(sid: str, key: bytes) -> str:
    return crypto.key_check(key, f"escrow-scope\x00{sid}".encode()).hex()


def pin_name(sid: str) -> str:
    """Where an identity's sealed pins keep what it remembers of a scope's key."""
    return f"escrow-scope:{sid}"


def scope_pin(sid: str, version: int, key: bytes) -> Pin:
    """What an identity remembers of version `version` of scope `sid`'s key."""
    return Pin(version, key_check_of(sid, key), heads.rotation_key(key).hex())


def endorsement(registry: _Registry, sid: str, version: int, check: str, rotation: bytes) -> str:
    return heads.endorsement(rotation, registry.registry_id, pin_name(sid), version, bytes.fromhex(check))


def check_pins(
    registry: _Registry, holder: str, private: bytes, pins: Mapping[str, Pin]
) -> tuple[dict[str, Pin], list[VaultError]]:
    """At unlock: every scope key wrapped to `holder` must be the key it opened before at that
    version, or a newer one endorsed by the rotation key of the version it opened (each rotation
    endorses the new key with the rotation keys of every retired version, which only holders of
    the scope ever knew). Anyone who can write the escrow records without holding the scope (a
    building administrator of another school with database access) can therefore neither replace,
    roll back nor delete a scope key that an identity has opened. A scope never opened before is
    trusted on first use. Returns the pins to remember and the problems found; the keys opened are
    kept for the session (`registry.scope_keys`)."""
    remembered = dict(pins)
    problems: list[VaultError] = []
    present = set()
    for rec in registry.scan(SCOPE, ESCROW):
        if isinstance(rec, VaultError):
            problems.append(rec)
            continue
        name, subject = pin_name(rec.id), f"escrow scope {rec.id}"
        present.add(name)
        wrap = dict(rec.data.get("wraps") or {}).get(holder)
        if wrap is None:
            continue
        label = str(rec.data.get("name", rec.id))
        try:
            version = int(rec.data["version"])
            key = crypto.unwrap(
                bytes.fromhex(str(wrap["stanza"])), private, wrap_label(registry, rec.id, version)
            )
            check = key_check_of(rec.id, key)
            ok = crypto.matches(bytes.fromhex(check), bytes.fromhex(str(rec.data["check"])))
        except (crypto.DecryptError, crypto.CryptoError, KeyError, ValueError, TypeError):
            ok = False
        if not ok:
            problems.append(
                KeyMetadataTamperedError(
                    f"the key of escrow scope {label!r} wrapped for this identity does not open or "
                    "fails its key check: the scope's record was damaged or replaced",
                    subject=subject,
                )
            )
            continue
        current = scope_pin(rec.id, version, key)
        pin = pins.get(name)
        if pin is None or (pin.version == version and pin.check == check):
            remembered[name] = current
            registry.scope_keys[rec.id] = (version, key)
        elif pin.version == version:
            problems.append(
                KeyMetadataTamperedError(
                    f"the key of escrow scope {label!r} is not the key this identity opened before at "
                    f"version {version}: someone replaced the scope's key with one of their own",
                    subject=subject,
                )
            )
        elif pin.version < version:
            given = str(dict(rec.data.get("endorse") or {}).get(str(pin.version), ""))
            expected = endorsement(registry, rec.id, version, check, bytes.fromhex(pin.rotation))
            if crypto.matches(given.encode(), expected.encode()):
                remembered[name] = current
                registry.scope_keys[rec.id] = (version, key)
            else:
                problems.append(
                    KeyMetadataTamperedError(
                        f"the key of escrow scope {label!r} (version {version}) is not endorsed by the "
                        f"version {pin.version} key this identity opened before: it was not made by "
                        "anyone who held the scope",
                        subject=subject,
                    )
                )
        else:
            problems.append(
                RollbackError(
                    f"the key of escrow scope {label!r} is version {version}, older than version "
                    f"{pin.version} which this identity opened before: the scope was rolled back",
                    subject=subject,
                )
            )
    for name in sorted(pins):
        if name.startswith(pin_name("")) and name not in present:
            problems.append(
                KeyMetadataTamperedError(
                    f"escrow scope {name.removeprefix(pin_name(''))}, which this identity opened before, "
                    "is gone: its record was deleted",
                    subject=f"escrow scope {name.removeprefix(pin_name(''))}",
                )
            )
    return remembered, problems
