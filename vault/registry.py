"""The encrypted registry: key hierarchy, identities, unlock, and encrypted records.

Key hierarchy (../shared/reference/escrow-design.md):

    passphrase ──Argon2id──▶ identity private key (X25519)
                                 │ unwraps (age-style)
                ┌────────────────┴───────────────┐
          inventory key                      escrow key          (admins only)
      people, accounts, findings,        credential bundles
      credential metadata, tasks

A record is stored as AES-256-GCM(domain key, JSON) with associated data binding the registry id,
the record kind, its id and its version. Uniqueness of natural keys (an account's platform+handle,
a person's email) is enforced through a blind index (HMAC under a key derived from the inventory
key), so the database never sees a handle or an address.

Identity names identify people, so the identities table holds only a hash of the name; the name
itself lives in an encrypted `identity` record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auditor.models import Role, Secret
from vault import crypto
from vault.errors import (
    AccessDeniedError,
    IdentityError,
    NeedsUpgradeError,
    NewerFormatError,
    RecordTamperedError,
    RegistryDamagedError,
    VaultError,
    WrongPassphraseError,
)
from vault.storage import Backend, DuplicateKeyError, IdentityRow, RecordRow, WrapRow

FORMAT_VERSION = 1
INVENTORY = "inventory"
ESCROW = "escrow"
DOMAINS = (INVENTORY, ESCROW)
ROLE_DOMAINS: dict[Role, tuple[str, ...]] = {Role.ADMIN: (INVENTORY, ESCROW), Role.AUDITOR: (INVENTORY,)}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Identity:
    id: str
    name: str
    role: Role
    created_at: str
    created_by: str = ""
    email: str = ""


@dataclass(frozen=True)
class StoredRecord:
    kind: str
    id: str
    version: int
    data: dict[str, Any]


class DuplicateRecordError(VaultError):
    pass


class Registry:
    """An open registry. Locked until `unlock()`; then holds the domain keys of one identity."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.registry_id = ""
        self._keys: dict[str, bytes] = {}
        self._index_key: bytes | None = None
        self.identity: Identity | None = None

    # ---------------------------------------------------------------------------------------------
    # Creation and opening

    @classmethod
    def create(
        cls, backend: Backend, admin_name: str, passphrase: Secret, *, kdf_profile: str = "default"
    ) -> Registry:
        _check_name(admin_name)
        _check_passphrase(passphrase)
        backend.create()
        reg = cls(backend)
        reg.registry_id = str(uuid.uuid4())
        with backend.transaction():
            backend.meta_set("registry_id", reg.registry_id)
            backend.meta_set("format_version", str(FORMAT_VERSION))
            backend.meta_set("created_at", utcnow().isoformat())
            for domain in DOMAINS:
                backend.meta_set(f"key_version.{domain}", "1")
            reg._keys = {domain: crypto.random_key() for domain in DOMAINS}
            reg._derive_index_key()
            ident = reg._add_identity_unchecked(
                admin_name, Role.ADMIN, passphrase, kdf_profile, created_by=""
            )
        reg.identity = ident
        return reg

    @classmethod
    def open(cls, backend: Backend, *, allow_older: bool = False) -> Registry:
        """Open without unlocking. An older format is refused unless `allow_older` (the upgrader)."""
        backend.open()
        reg = cls(backend)
        try:
            registry_id = backend.meta_get("registry_id")
            version = backend.meta_get("format_version")
        except Exception as exc:  # a database error while reading meta
            backend.close()
            raise RegistryDamagedError(
                f"registry {backend.location} is damaged: cannot read its header"
            ) from exc
        if not registry_id or not version:
            backend.close()
            raise RegistryDamagedError(
                f"registry {backend.location} is damaged: its header (registry id, format version) is missing",
                "Nothing was written to it. Restore a backup with `auditor registry restore BACKUP`.",
            )
        try:
            fmt = int(version)
        except ValueError as exc:
            backend.close()
            raise RegistryDamagedError(f"registry {backend.location} is damaged: bad format version") from exc
        if fmt > FORMAT_VERSION:
            backend.close()
            raise NewerFormatError(
                f"registry {backend.location} was written by a newer version of auditor (format {fmt}; "
                f"this version reads up to {FORMAT_VERSION})",
                "Upgrade auditor (pip install --upgrade district-social-auditor); the registry was not changed.",
            )
        if fmt < FORMAT_VERSION and not allow_older:
            backend.close()
            raise NeedsUpgradeError(
                f"registry {backend.location} is in format {fmt}; this version of auditor uses format "
                f"{FORMAT_VERSION}",
                "Run `auditor registry upgrade` (it takes a backup first).",
            )
        reg.registry_id = registry_id
        reg.format_version = fmt
        return reg

    format_version = FORMAT_VERSION

    def close(self) -> None:
        self.lock()
        self.backend.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------
    # Identities

    def _name_hash(self, name: str) -> str:
        return hashlib.sha256(
            f"auditor identity\x00{self.registry_id}\x00{name.casefold()}".encode()
        ).hexdigest()

    def identity_rows(self) -> list[IdentityRow]:
        return self.backend.identities()

    def _row_for(self, name: str | None) -> IdentityRow:
        rows = self.backend.identities()
        if not rows:
            raise RegistryDamagedError(
                f"registry {self.backend.location} has no identities: nobody can unlock it",
                "Restore a backup with `auditor registry restore BACKUP`.",
            )
        if name is None:
            if len(rows) == 1:
                return rows[0]
            raise IdentityError(
                f"this registry has {len(rows)} identities; say which one is unlocking",
                "Pass --identity NAME or set AUDITOR_IDENTITY.",
            )
        wanted = self._name_hash(name)
        for row in rows:
            if row.name == wanted:
                return row
        raise IdentityError(
            f"no identity named {name!r} in this registry",
            "`auditor identity list` (once unlocked) shows the names; names are not case-sensitive.",
        )

    def unlock(
        self, identity_name: str | None, passphrase: Secret, *, as_role: Role | None = None
    ) -> Identity:
        """Unwrap the domain keys this identity holds (or fewer, with `as_role=Role.AUDITOR`)."""
        row = self._row_for(identity_name)
        role, private = self._open_private(row, passphrase)
        wanted_role = as_role or role
        if wanted_role is Role.ADMIN and role is not Role.ADMIN:
            raise AccessDeniedError(f"identity has role {role.value}; it cannot act as admin")
        keys: dict[str, bytes] = {}
        wraps = {w.domain: w for w in self.backend.wraps(row.id)}
        for domain in ROLE_DOMAINS[wanted_role]:
            wrap = wraps.get(domain)
            if wrap is None:
                raise RegistryDamagedError(
                    f"registry {self.backend.location} is damaged: the {domain} key is not wrapped for this identity"
                )
            try:
                key = crypto.unwrap(wrap.stanza, private, self._wrap_label(domain, wrap.key_version))
            except (crypto.DecryptError, crypto.CryptoError) as exc:
                raise RegistryDamagedError(
                    f"registry {self.backend.location} is damaged: the {domain} key wrapped for this identity "
                    "does not open"
                ) from exc
            if not crypto.matches(crypto.key_check(key, domain.encode()), wrap.check):
                raise RegistryDamagedError(
                    f"registry {self.backend.location} is damaged: the {domain} key fails its key check"
                )
            keys[domain] = key
        self._keys = keys
        self._derive_index_key()
        info = self._read_identity_record(row.id)
        name = str(info.get("name", identity_name or ""))
        self.identity = Identity(
            id=row.id,
            name=name,
            role=wanted_role,
            created_at=row.created_at,
            created_by=str(info.get("created_by", "")),
            email=str(info.get("email", "")),
        )
        return self.identity

    def _open_private(self, row: IdentityRow, passphrase: Secret) -> tuple[Role, bytes]:
        """The identity's role and private key, if `passphrase` is its passphrase."""
        try:
            role = Role.parse(row.role)
            sealed = json.loads(row.sealed_private)
            params = crypto.KdfParams.from_dict(sealed["kdf"])
            stored_check = bytes.fromhex(sealed["check"])
            sealed_key = bytes.fromhex(sealed["key"])
        except crypto.KdfParameterError as exc:
            raise RegistryDamagedError(
                f"registry {self.backend.location}: the key-derivation parameters of an identity are "
                f"unacceptable ({exc})",
                "A registry never needs these values; restore a backup.",
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryDamagedError(
                f"registry {self.backend.location} is damaged: an identity's key material is unreadable"
            ) from exc
        derived = crypto.argon2id(_passphrase_bytes(passphrase), params)
        enc_key, check_key = derived[:32], derived[32:]
        if not crypto.matches(crypto.key_check(check_key, b"passphrase"), stored_check):
            raise WrongPassphraseError(
                "wrong passphrase",
                "Check the passphrase source: --passphrase-file, AUDITOR_PASSPHRASE_FILE, "
                "$CREDENTIALS_DIRECTORY/auditor-passphrase, the OS keyring, or the prompt.",
            )
        try:
            private = crypto.open_sealed(enc_key, sealed_key, self._identity_aad(row.id))
        except crypto.DecryptError as exc:
            raise RegistryDamagedError(
                f"registry {self.backend.location} is damaged: the passphrase is right but the identity's "
                "private key does not decrypt"
            ) from exc
        return role, private

    def _seal_private(self, ident_id: str, private: bytes, passphrase: Secret, kdf_profile: str) -> bytes:
        """The stored form of a private key: Argon2id parameters, a key check, the sealed key."""
        params = crypto.KdfParams.new(kdf_profile)
        derived = crypto.argon2id(_passphrase_bytes(passphrase), params)
        enc_key, check_key = derived[:32], derived[32:]
        sealed = {
            "v": 1,
            "kdf": params.to_dict(),
            "check": crypto.key_check(check_key, b"passphrase").hex(),
            "key": crypto.seal(enc_key, private, self._identity_aad(ident_id)).hex(),
        }
        return json.dumps(sealed).encode()

    def change_passphrase(self, current: Secret, new: Secret, *, kdf_profile: str = "default") -> None:
        """Re-seal the unlocked identity's private key under a new passphrase (the old one must be
        given again: an unlocked session left open is not enough to take over an identity)."""
        ident = self._require_identity()
        _check_passphrase(new)
        row = next((r for r in self.backend.identities() if r.id == ident.id), None)
        if row is None:
            raise IdentityError("this identity was removed from the registry")
        _role, private = self._open_private(row, current)
        sealed = self._seal_private(row.id, private, new, kdf_profile)
        with self.backend.transaction():
            self.backend.update_identity(dataclasses.replace(row, sealed_private=sealed))

    def lock(self) -> None:
        self._keys = {}
        self._index_key = None
        self.identity = None

    @property
    def unlocked(self) -> bool:
        return bool(self._keys)

    def has_domain(self, domain: str) -> bool:
        return domain in self._keys

    def require_admin(self, action: str) -> Identity:
        ident = self._require_identity()
        if ident.role is not Role.ADMIN or ESCROW not in self._keys:
            raise AccessDeniedError(
                f"{action} needs an admin identity; {ident.name!r} is unlocked as {ident.role.value}",
                "Run the command as an administrator (--identity NAME).",
            )
        return ident

    def _require_identity(self) -> Identity:
        if self.identity is None:
            raise AccessDeniedError("the registry is locked")
        return self.identity

    def add_identity(
        self, name: str, role: Role, passphrase: Secret, *, kdf_profile: str = "default", email: str = ""
    ) -> Identity:
        creator = self.require_admin("Adding an identity")
        _check_name(name)
        _check_passphrase(passphrase)
        with self.backend.transaction():
            return self._add_identity_unchecked(name, role, passphrase, kdf_profile, creator.name, email)

    def _add_identity_unchecked(
        self, name: str, role: Role, passphrase: Secret, kdf_profile: str, created_by: str, email: str = ""
    ) -> Identity:
        ident_id = new_id("id")
        private, public = crypto.new_identity_keypair()
        sealed = self._seal_private(ident_id, private, passphrase, kdf_profile)
        created_at = utcnow().isoformat()
        try:
            self.backend.add_identity(
                IdentityRow(
                    id=ident_id,
                    name=self._name_hash(name),
                    role=role.value,
                    public_key=public,
                    sealed_private=sealed,
                    created_at=created_at,
                )
            )
        except DuplicateKeyError as exc:
            raise IdentityError(f"an identity named {name!r} already exists") from exc
        for domain in ROLE_DOMAINS[role]:
            self._wrap_for(ident_id, public, domain)
        self.put(
            "identity",
            ident_id,
            {
                "name": name,
                "role": role.value,
                "created_at": created_at,
                "created_by": created_by,
                "email": email,
            },
            expected_version=0,
        )
        return Identity(ident_id, name, role, created_at, created_by, email)

    def _wrap_for(self, identity_id: str, public: bytes, domain: str) -> None:
        key = self._keys[domain]
        version = int(self.backend.meta_get(f"key_version.{domain}") or "1")
        self.backend.put_wrap(
            WrapRow(
                identity_id=identity_id,
                domain=domain,
                key_version=version,
                stanza=crypto.wrap(key, public, self._wrap_label(domain, version)),
                check=crypto.key_check(key, domain.encode()),
            )
        )

    def identities(self) -> list[Identity]:
        """Every identity with its name (needs the inventory key)."""
        out = []
        for row in self.backend.identities():
            info = self._read_identity_record(row.id)
            out.append(
                Identity(
                    id=row.id,
                    name=str(info.get("name", "?")),
                    role=Role.parse(row.role),
                    created_at=row.created_at,
                    created_by=str(info.get("created_by", "")),
                    email=str(info.get("email", "")),
                )
            )
        return out

    def _read_identity_record(self, ident_id: str) -> dict[str, Any]:
        rec = self.get("identity", ident_id)
        return rec.data if rec else {}

    def _identity_aad(self, ident_id: str) -> bytes:
        return crypto.record_aad(self.registry_id, "identity-key", ident_id, 1)

    def _wrap_label(self, domain: str, version: int) -> bytes:
        return f"{self.registry_id}\x00{domain}\x00{version}".encode()

    def _derive_index_key(self) -> None:
        inv = self._keys.get(INVENTORY)
        self._index_key = crypto.subkey(inv, "auditor/v1 blind index") if inv else None

    # ---------------------------------------------------------------------------------------------
    # Records

    def _key(self, domain: str) -> bytes:
        key = self._keys.get(domain)
        if key is None:
            if not self._keys:
                raise AccessDeniedError("the registry is locked")
            raise AccessDeniedError(
                f"this identity does not hold the {domain} key",
                "Escrowed credentials need an admin identity; scheduled audits run without them by design.",
            )
        return key

    def lookup(self, kind: str, natural_key: str) -> str:
        if self._index_key is None:
            raise AccessDeniedError("the registry is locked")
        return crypto.blind_index(self._index_key, kind, natural_key)

    def seal_row(
        self,
        kind: str,
        record_id: str,
        version: int,
        data: dict[str, Any],
        natural_key: str | None,
        domain: str,
    ) -> RecordRow:
        blob = crypto.seal_json(
            self._key(domain), data, crypto.record_aad(self.registry_id, kind, record_id, version)
        )
        lookup = self.lookup(kind, natural_key) if natural_key else None
        return RecordRow(kind, record_id, version, lookup, blob)

    def put(
        self,
        kind: str,
        record_id: str,
        data: dict[str, Any],
        *,
        expected_version: int | None,
        natural_key: str | None = None,
        domain: str = INVENTORY,
    ) -> int:
        """Write a record; returns its new version. expected_version 0 inserts."""
        version = 1 if expected_version in (0, None) else expected_version + 1
        if expected_version is None:
            existing = self.backend.get(kind, record_id)
            version = existing.version + 1 if existing else 1
        row = self.seal_row(kind, record_id, version, data, natural_key, domain)
        try:
            self.backend.put(row, expected_version)
        except DuplicateKeyError as exc:
            raise DuplicateRecordError(f"another {kind} with the same key already exists") from exc
        return version

    def put_rows(self, rows: Sequence[RecordRow]) -> None:
        if rows:
            try:
                self.backend.put_many(rows)
            except DuplicateKeyError as exc:
                raise DuplicateRecordError(f"another {exc.kind} with the same key already exists") from exc

    def open_row(self, row: RecordRow, domain: str = INVENTORY) -> StoredRecord:
        try:
            data = crypto.open_json(
                self._key(domain),
                row.blob,
                crypto.record_aad(self.registry_id, row.kind, row.id, row.version),
            )
        except crypto.DecryptError as exc:
            raise RecordTamperedError(row.kind, row.id) from exc
        return StoredRecord(row.kind, row.id, row.version, data)

    def get(self, kind: str, record_id: str, domain: str = INVENTORY) -> StoredRecord | None:
        row = self.backend.get(kind, record_id)
        return None if row is None else self.open_row(row, domain)

    def find(self, kind: str, natural_key: str, domain: str = INVENTORY) -> StoredRecord | None:
        row = self.backend.find(kind, self.lookup(kind, natural_key))
        return None if row is None else self.open_row(row, domain)

    def scan(self, kind: str, domain: str = INVENTORY) -> Iterator[StoredRecord | RecordTamperedError]:
        """Every record of a kind. A record that fails authentication is yielded as its error, so one
        damaged record never hides the others."""
        key = self._key(domain)
        for row in self.backend.scan(kind):
            try:
                data = crypto.open_json(
                    key, row.blob, crypto.record_aad(self.registry_id, row.kind, row.id, row.version)
                )
            except crypto.DecryptError:
                yield RecordTamperedError(row.kind, row.id)
                continue
            yield StoredRecord(row.kind, row.id, row.version, data)

    def delete(self, kind: str, record_id: str) -> None:
        self.backend.delete(kind, record_id)

    def transaction(self):  # type: ignore[no-untyped-def]
        return self.backend.transaction()

    def snapshot(self):  # type: ignore[no-untyped-def]
        return self.backend.snapshot()

    # ---------------------------------------------------------------------------------------------
    # Re-keying support (vault/rekey.py, vault/revealog.py, break-glass). Raw keys never leave this
    # object except through `held_keys()`, which re-keying needs to restore state after a failure.

    def key_version(self, domain: str) -> int:
        return int(self.backend.meta_get(f"key_version.{domain}") or "1")

    def derive_key(self, domain: str, info: str) -> bytes:
        """A purpose key derived from a domain key (e.g. the reveal log's MAC key)."""
        return crypto.subkey(self._key(domain), info)

    def held_keys(self) -> dict[str, bytes]:
        return dict(self._keys)

    def install_keys(self, keys: dict[str, bytes], identity: Identity | None = None) -> None:
        """Replace domain keys in memory (after a re-key, or keys recovered by break-glass)."""
        self._keys.update(keys)
        self._derive_index_key()
        if identity is not None:
            self.identity = identity

    def restore_keys(self, keys: dict[str, bytes], identity: Identity | None) -> None:
        self._keys = dict(keys)
        self._derive_index_key()
        self.identity = identity

    def wrap_label(self, domain: str, version: int) -> bytes:
        return self._wrap_label(domain, version)

    def wrap_for_identity(self, identity_id: str, public: bytes, domain: str) -> None:
        self._wrap_for(identity_id, public, domain)

    def identity_row(self, name: str) -> IdentityRow:
        return self._row_for(name)

    # ---------------------------------------------------------------------------------------------
    # Settings (small encrypted key/value records under the inventory key)

    def setting(self, name: str) -> Any:
        rec = self.get("setting", name)
        return None if rec is None else rec.data.get("value")

    def set_setting(self, name: str, value: Any) -> None:
        self.put("setting", name, {"value": value}, expected_version=None)


def _passphrase_bytes(passphrase: Secret) -> bytes:
    value = passphrase.reveal()
    return value.encode("utf-8") if isinstance(value, str) else value


def _check_name(name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise IdentityError(
            "an identity name is 1-64 letters, digits and . _ - @",
            "For example: jsmith, it-nightly, comms.office",
        )


MIN_PASSPHRASE = 12


def _check_passphrase(passphrase: Secret) -> None:
    if len(_passphrase_bytes(passphrase).strip()) < MIN_PASSPHRASE:
        raise IdentityError(
            f"the passphrase is too short (at least {MIN_PASSPHRASE} characters)",
            "Use several unrelated words; a password manager can generate one.",
        )
