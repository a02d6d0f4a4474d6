"""The registry's authenticated header: one manifest per key domain, MAC'd under that domain's key.

Issue 11: whoever can write the database file or the PostgreSQL schema, without any passphrase,
must not be able to plant a key, roll a record back, or truncate the log unnoticed. Everything the
tool trusts about keys and state, and cannot protect with a record's own AEAD, lives in a manifest:

* the header: registry id, format version, the domain's key version and key check;
* the **identities** (id, hashed name, role, public key, creation time): a key is wrapped only to
  a public key listed here, never to whatever the `identities` table holds;
* the domain's **wraps** (per identity: key version, SHA-256 of the stanza, key check);
* the **break-glass** recipient and its public parameters, and its wrapped key;
* the **record head** of every kind of the domain: how many rows, and the sum modulo 2^256 of a
  keyed hash (HMAC-SHA-256 under a key derived from the domain key) of each row's kind, id,
  version, blind index and stamp (the AES-GCM nonce, unique to each write). A row put back from an
  older copy, a deleted row or an inserted one changes the sum; nobody without the key can
  compute a term, so nobody can compensate (the terms are keyed, so Wagner's attack on additive
  hashing does not apply). A damaged blob with its nonce intact is still caught by its own AEAD,
  one record at a time;
* the **log head** (inventory only): the last event's sequence number and digest;
* a **serial** that every write transaction increments, and a **restores** counter that
  `registry restore` increments, which each machine compares with the last state it saw;
* **endorsements**: for every retired key version u, HMAC(rotation key of u, this version and its
  key check). An identity remembers (inside its passphrase-sealed private key) the last key
  version it opened and that version's rotation key; when it next finds a newer key wrapped for
  it, the endorsement proves the key came from someone who held the one it trusted. A key wrapped
  to the identity's public key by anyone else (anyone can encrypt to a public key) is refused.

The manifest is stored in `meta` as JSON in clear (it holds public keys, hashes and counts, never a
name or a secret) with `mac` = HMAC-SHA-256(subkey(domain key, "auditor/v1 manifest mac"), body).
Both manifests list every identity: an auditor identity verifies the inventory manifest, an
administrator both, and re-keying (vault/rekey.py) checks that they agree before wrapping anything.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vault import crypto
from vault.backends.storage import IdentityRow, StampRow

MANIFEST_META = "manifest."
MAC_INFO = "auditor/v1 manifest mac"
TERM_INFO = "auditor/v1 record head"
ROTATION_INFO = "auditor/v1 rotation endorsement"
BREAKGLASS_ENDORSE_INFO = "auditor/v1 breakglass endorsement"
MANIFEST_VERSION = 1
MOD = 1 << 256  # a kind's head total is the sum of its rows' terms modulo this


class ManifestError(Exception):
    """A manifest is missing, malformed or fails its MAC (the registry translates it)."""


def meta_name(domain: str) -> str:
    return MANIFEST_META + domain


def _field_bytes(*parts: object) -> bytes:
    out = bytearray()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8")
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


def term_key(domain_key: bytes) -> bytes:
    return crypto.subkey(domain_key, TERM_INFO)


def term(key: bytes, kind: str, row: StampRow) -> int:
    """One row's contribution to its kind's head (see the module doc): `terms_of` of one row."""
    return terms_of(key, kind, [(row.id, row.version, row.lookup, row.stamp)])[0]


def terms_of(key: bytes, kind: str, rows: Iterable[tuple[str, int, str | None, bytes | None]]) -> list[int]:
    """The head term of each (id, version, lookup, stamp), in order, with what is the same for every
    row of the kind made once (a scan of 100,000 accounts checks its head over every row). The
    fields are length-prefixed (the version is a number ended by ':'), so no two rows share a
    message."""
    prefix = f"{len(kind)}:{kind}"
    digest, from_bytes = hmac.digest, int.from_bytes
    return [
        from_bytes(
            digest(
                key,
                f"{prefix}{len(rid)}:{rid}{version}:{len(lookup or '')}:{lookup or ''}".encode()
                + (stamp or b""),
                "sha256",
            ),
            "big",
        )
        for rid, version, lookup, stamp in rows
    ]


def stanza_digest(stanza: bytes) -> str:
    return hashlib.sha256(stanza).hexdigest()


@dataclass(frozen=True)
class Pin:
    """What an identity remembers of a domain key it opened: its version, its key check, and that
    version's rotation key (which verifies the endorsement of any later key, vault/heads.py)."""

    version: int
    check: str
    rotation: str

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "check": self.check, "rotation": self.rotation}


def rotation_key(domain_key: bytes) -> bytes:
    return crypto.subkey(domain_key, ROTATION_INFO)


def endorsement(key: bytes, registry_id: str, domain: str, version: int, key_check: bytes) -> str:
    """What a retired version's rotation key (or the break-glass endorsement key) says of a newer key."""
    msg = b"auditor/v1 endorse" + _field_bytes(registry_id, domain, version, key_check)
    return hmac.digest(key, msg, "sha256").hex()


@dataclass(frozen=True)
class IdentityEntry:
    id: str
    name: str  # the registry-salted hash of the name, as in the identities table
    role: str
    public_key: str  # hex
    created_at: str

    @classmethod
    def from_row(cls, row: IdentityRow) -> IdentityEntry:
        return cls(row.id, row.name, row.role, row.public_key.hex(), row.created_at)

    def differences(self, row: IdentityRow) -> list[str]:
        """Which fields of a stored identity row disagree with this authenticated entry."""
        out = []
        if row.name != self.name:
            out.append("name")
        if row.role != self.role:
            out.append("role")
        if row.public_key.hex() != self.public_key:
            out.append("public key")
        if row.created_at != self.created_at:
            out.append("creation time")
        return out

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "role": self.role,
            "public_key": self.public_key,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class WrapEntry:
    key_version: int
    stanza: str  # SHA-256 of the stored stanza
    check: str  # hex key check of the wrapped key

    def to_dict(self) -> dict[str, Any]:
        return {"key_version": self.key_version, "stanza": self.stanza, "check": self.check}


@dataclass
class KindHead:
    n: int = 0
    total: int = 0

    def add(self, value: int) -> None:
        self.n += 1
        self.total = (self.total + value) % MOD

    def remove(self, value: int) -> None:
        self.n -= 1
        self.total = (self.total - value) % MOD

    @classmethod
    def over(cls, key: bytes, kind: str, rows: Iterable[StampRow]) -> tuple[KindHead, dict[str, int]]:
        listed = list(rows)
        values = terms_of(key, kind, [(r.id, r.version, r.lookup, r.stamp) for r in listed])
        terms = {r.id: value for r, value in zip(listed, values, strict=True)}
        return cls(len(listed), sum(values) % MOD), terms


@dataclass
class Manifest:
    """One domain's manifest, as verified (or as being prepared for the next commit)."""

    domain: str
    registry_id: str
    format_version: int
    key_version: int
    key_check: str
    serial: int = 0
    restores: int = 0
    identities: dict[str, IdentityEntry] = field(default_factory=dict)
    wraps: dict[str, WrapEntry] = field(default_factory=dict)
    breakglass: dict[str, Any] | None = None
    records: dict[str, KindHead] = field(default_factory=dict)
    log: str | None = None
    endorse: dict[str, str] = field(default_factory=dict)

    def clone(self) -> Manifest:
        return copy.deepcopy(self)

    # -- serialisation ----------------------------------------------------------------------------
    def body(self) -> dict[str, Any]:
        return {
            "v": MANIFEST_VERSION,
            "domain": self.domain,
            "registry_id": self.registry_id,
            "format_version": self.format_version,
            "key_version": self.key_version,
            "key_check": self.key_check,
            "serial": self.serial,
            "restores": self.restores,
            "identities": {k: v.to_dict() for k, v in sorted(self.identities.items())},
            "wraps": {k: v.to_dict() for k, v in sorted(self.wraps.items())},
            "breakglass": self.breakglass,
            "records": {k: [h.n, f"{h.total:064x}"] for k, h in sorted(self.records.items()) if h.n},
            "log": self.log,
            "endorse": dict(sorted(self.endorse.items())),
        }

    @staticmethod
    def _canonical(body: Mapping[str, Any]) -> bytes:
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def seal(self, domain_key: bytes) -> str:
        body = self.body()
        mac = hmac.digest(crypto.subkey(domain_key, MAC_INFO), self._canonical(body), "sha256")
        return json.dumps({**body, "mac": mac.hex()}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str | None) -> tuple[Manifest, dict[str, Any], str]:
        """Parse without verifying (break-glass reads its public parameters before recovery)."""
        if not text:
            raise ManifestError("is missing")
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise TypeError("not an object")
            mac = str(data.pop("mac"))
            if int(data["v"]) != MANIFEST_VERSION:
                raise ManifestError(f"has an unknown version {data['v']!r}")
            manifest = cls(
                domain=str(data["domain"]),
                registry_id=str(data["registry_id"]),
                format_version=int(data["format_version"]),
                key_version=int(data["key_version"]),
                key_check=str(data["key_check"]),
                serial=int(data["serial"]),
                restores=int(data["restores"]),
                identities={
                    str(k): IdentityEntry(
                        str(k), str(v["name"]), str(v["role"]), str(v["public_key"]), str(v["created_at"])
                    )
                    for k, v in dict(data["identities"]).items()
                },
                wraps={
                    str(k): WrapEntry(int(v["key_version"]), str(v["stanza"]), str(v["check"]))
                    for k, v in dict(data["wraps"]).items()
                },
                breakglass=dict(data["breakglass"]) if data.get("breakglass") else None,
                records={
                    str(k): KindHead(int(v[0]), int(str(v[1]), 16)) for k, v in dict(data["records"]).items()
                },
                log=str(data["log"]) if data.get("log") else None,
                endorse={str(k): str(v) for k, v in dict(data.get("endorse") or {}).items()},
            )
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise ManifestError("is malformed") from exc
        return manifest, data, mac

    @classmethod
    def load(cls, text: str | None, domain_key: bytes, *, domain: str, registry_id: str) -> Manifest:
        """Parse and verify; raises ManifestError saying what is wrong."""
        manifest, body, mac = cls.parse(text)
        expected = hmac.digest(crypto.subkey(domain_key, MAC_INFO), cls._canonical(body), "sha256")
        try:
            given = bytes.fromhex(mac)
        except ValueError:
            given = b""
        if not hmac.compare_digest(expected, given):
            raise ManifestError("fails its MAC: it was changed by someone without the key")
        if manifest.domain != domain:
            raise ManifestError(f"belongs to the {manifest.domain} domain")
        if manifest.registry_id != registry_id:
            raise ManifestError("names another registry id: the header was edited")
        return manifest
