"""Cryptographic building blocks of the registry: passphrase KDF, record AEAD, key wrapping.

Follows ../shared/reference/escrow-design.md:

* Passphrase → key: Argon2id (RFC 9106). Parameters are stored beside the ciphertext; anything
  below the floor (64 MiB, t=3, p=4) is refused, and anything above a cap is refused too, so a
  hostile registry cannot make unlock take hours or exhaust memory.
* Records: AES-256-GCM with a fresh random 96-bit nonce per write. The associated data binds the
  format version, registry id, record kind, record id and record version, so a ciphertext copied to
  another row, or swapped under another version number, fails to decrypt.
* Domain keys are wrapped per identity with the age X25519 construction: an ephemeral X25519 key,
  HKDF-SHA-256 over the shared secret with salt = ephemeral public ‖ recipient public and a
  domain-separated info string, then ChaCha20-Poly1305. The all-zero shared secret is rejected.
* Key checks: a short HMAC of each key lets the tool tell "wrong passphrase" apart from "the
  registry is damaged" and "a record was tampered with" (KeePassXC reports all three as one).

Nothing here knows about storage, SQL or the CLI. Secrets are `bytes`; callers keep them in
`models.Secret` whenever they travel further than one function.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12

# RFC 9106 §4 second recommended option is the floor; the default doubles its memory.
KDF_FLOOR = {"memory_kib": 64 * 1024, "iterations": 3, "lanes": 4}
KDF_DEFAULT = {"memory_kib": 128 * 1024, "iterations": 3, "lanes": 4}
# Caps on what we accept from a file (issue 11: at the old cap of 2 GiB, t=16 one unlock took a
# minute and 2 GB). Memory at most 1 GiB, and memory x passes at most 3 GiB-passes (1 GiB at the
# floor's 3 passes; eight times the default, which takes about 0.5 s here, so about 4 s on a
# loaded 2-core machine): a hostile registry costs one unlock a few seconds at worst. p above 8
# buys nothing on the machines districts run this on.
KDF_CAP = {"memory_kib": 1024 * 1024, "iterations": 16, "lanes": 8}
KDF_CAP_WORK = 3 * 1024 * 1024  # memory_kib x iterations


class CryptoError(Exception):
    """Low-level failure; vault.errors translates it into a user-facing error."""


class KdfParameterError(CryptoError):
    """Stored KDF parameters are below the floor or above the cap."""


class DecryptError(CryptoError):
    """Authentication failed: wrong key, or the data was altered."""


# --------------------------------------------------------------------------------------------------
# Argon2id


@dataclass(frozen=True)
class KdfParams:
    salt: bytes
    memory_kib: int = KDF_DEFAULT["memory_kib"]
    iterations: int = KDF_DEFAULT["iterations"]
    lanes: int = KDF_DEFAULT["lanes"]

    @classmethod
    def new(cls, profile: str = "default") -> KdfParams:
        base = KDF_FLOOR if profile == "floor" else KDF_DEFAULT
        return cls(salt=os.urandom(16), **base)

    def check(self) -> None:
        for name in ("memory_kib", "iterations", "lanes"):
            value = getattr(self, name)
            if value < KDF_FLOOR[name]:
                raise KdfParameterError(f"Argon2id {name}={value} is below the floor {KDF_FLOOR[name]}")
            if value > KDF_CAP[name]:
                raise KdfParameterError(f"Argon2id {name}={value} is above the cap {KDF_CAP[name]}")
        work = self.memory_kib * self.iterations
        if work > KDF_CAP_WORK:
            raise KdfParameterError(
                f"Argon2id memory x iterations = {work} KiB-passes is above the cap {KDF_CAP_WORK} "
                "(it would make every unlock slow)"
            )
        if len(self.salt) < 16:
            raise KdfParameterError("Argon2id salt shorter than 16 bytes")

    def to_dict(self) -> dict[str, Any]:
        return {
            "alg": "argon2id",
            "salt": self.salt.hex(),
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "lanes": self.lanes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KdfParams:
        if data.get("alg") != "argon2id":
            raise KdfParameterError(f"unsupported KDF {data.get('alg')!r}")
        params = cls(
            salt=bytes.fromhex(data["salt"]),
            memory_kib=int(data["memory_kib"]),
            iterations=int(data["iterations"]),
            lanes=int(data["lanes"]),
        )
        params.check()
        return params


def argon2id(passphrase: bytes, params: KdfParams, length: int = 64) -> bytes:
    params.check()
    kdf = Argon2id(
        salt=params.salt,
        length=length,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(passphrase)


# --------------------------------------------------------------------------------------------------
# Key checks


def key_check(key: bytes, label: bytes) -> bytes:
    """A 16-byte tag that proves possession of `key` without revealing it."""
    return hmac.new(key, b"auditor/v1 key check\x00" + label, hashlib.sha256).digest()[:16]


def matches(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


# --------------------------------------------------------------------------------------------------
# Record encryption


def record_aad(registry_id: str, kind: str, record_id: str, version: int) -> bytes:
    return record_aad_for(record_aad_prefix(registry_id, kind), record_id, version)


def _field(part: str) -> bytes:
    data = part.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def record_aad_prefix(registry_id: str, kind: str) -> bytes:
    """The associated data's fields shared by every record of a kind (a scan builds it once)."""
    # Length-prefixed fields: no separator ambiguity between kind and id.
    return b"auditor/record" + _field(str(FORMAT_VERSION)) + _field(registry_id) + _field(kind)


def record_aad_for(prefix: bytes, record_id: str, version: int) -> bytes:
    """`record_aad` from its kind's `record_aad_prefix`: the record id and version appended."""
    return prefix + _field(record_id) + _field(str(version))


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce ‖ AES-256-GCM(plaintext) with a fresh random nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    return RecordOpener(key).open_sealed(blob, aad)


def seal_json(key: bytes, data: dict[str, Any], aad: bytes) -> bytes:
    return seal(key, json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8"), aad)


def open_json(key: bytes, blob: bytes, aad: bytes) -> dict[str, Any]:
    return RecordOpener(key).open_json(blob, aad)


_decode_json = msgspec.json.Decoder().decode


class RecordOpener:
    """`open_sealed` and `open_json` for many records under one key: the AES-GCM context is set up
    once, not per record. Every record is still authenticated against its own associated data."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def open_sealed(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < NONCE_BYTES + 16:
            raise DecryptError("ciphertext too short")
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise DecryptError("authentication failed") from exc

    def open_json(self, blob: bytes, aad: bytes) -> dict[str, Any]:
        return decode_record(self.open_sealed(blob, aad))


def decode_record(plain: bytes) -> dict[str, Any]:
    """An authenticated record's JSON object."""
    try:
        value = _decode_json(plain)  # msgspec: four times json's speed, the same values
    except msgspec.DecodeError:
        # What msgspec refuses and json reads (NaN, a lone surrogate escape) is read as json
        # reads it, so no stored record reads differently.
        try:
            value = json.loads(plain)
        except ValueError as exc:  # authenticated but not JSON: written by a broken build
            raise DecryptError("record is not valid JSON") from exc
    if not isinstance(value, dict):
        raise DecryptError("record is not a JSON object")
    return value


UNTYPED_MISS = object()  # the record does not fit the type: read it with `decode_record`


def decode_typed(plain: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    """An authenticated record decoded straight into `decoder`'s type, or UNTYPED_MISS when it does
    not fit (a missing or mistyped field, or JSON only the generic reader takes)."""
    try:
        return decoder.decode(plain)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return UNTYPED_MISS


def subkey(key: bytes, info: str, length: int = KEY_BYTES) -> bytes:
    """A key for one purpose derived from another (HKDF-SHA-256, RFC 5869)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info.encode()).derive(key)


def blind_index(index_key: bytes, kind: str, natural_key: str) -> str:
    """A keyed hash that lets the database enforce uniqueness without seeing the value.

    It reveals only equality of natural keys within one registry, which is what a UNIQUE index needs.
    """
    msg = kind.encode() + b"\x00" + natural_key.encode("utf-8")
    return hmac.new(index_key, msg, hashlib.sha256).hexdigest()[:32]


# --------------------------------------------------------------------------------------------------
# X25519 key wrapping (age-style)


def new_identity_keypair() -> tuple[bytes, bytes]:
    """(private_raw, public_raw), 32 bytes each."""
    private = X25519PrivateKey.generate()
    return _private_raw(private), _public_raw(private.public_key())


def public_from_private(private_raw: bytes) -> bytes:
    return _public_raw(X25519PrivateKey.from_private_bytes(private_raw).public_key())


def _private_raw(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _public_raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _x25519(private: X25519PrivateKey, public_raw: bytes) -> bytes:
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(public_raw))
    except ValueError as exc:  # cryptography refuses low-order points
        raise CryptoError("X25519 produced an all-zero shared secret") from exc
    if shared == bytes(32):
        raise CryptoError("X25519 produced an all-zero shared secret")
    return shared


def _wrap_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes, label: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=ephemeral_public + recipient_public,
        info=b"auditor/v1 X25519 wrap\x00" + label,
    ).derive(shared)


def wrap(file_key: bytes, recipient_public: bytes, label: bytes) -> bytes:
    """Wrap `file_key` for `recipient_public`: ephemeral public (32) ‖ ChaCha20-Poly1305 body."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _public_raw(ephemeral.public_key())
    shared = _x25519(ephemeral, recipient_public)
    key = _wrap_key(shared, ephemeral_public, recipient_public, label)
    # The wrap key is used exactly once, so a zero nonce is safe (as in age).
    body = ChaCha20Poly1305(key).encrypt(bytes(12), file_key, label)
    return ephemeral_public + body


def unwrap(stanza: bytes, private_raw: bytes, label: bytes) -> bytes:
    if len(stanza) != 32 + KEY_BYTES + 16:
        raise DecryptError("wrapped key has the wrong length")
    private = X25519PrivateKey.from_private_bytes(private_raw)
    ephemeral_public = stanza[:32]
    shared = _x25519(private, ephemeral_public)
    key = _wrap_key(shared, ephemeral_public, _public_raw(private.public_key()), label)
    try:
        return ChaCha20Poly1305(key).decrypt(bytes(12), stanza[32:], label)
    except InvalidTag as exc:
        raise DecryptError("wrapped key does not open with this identity") from exc


def random_key() -> bytes:
    return os.urandom(KEY_BYTES)
