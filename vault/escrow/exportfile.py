"""Encrypted credential export files: the age v1 format (X25519 recipients), or ours with a passphrase.

`auditor secret export` writes an encrypted file only (issue 3). Two formats:

* **age** (https://age-encryption.org/v1, C2SP age.md), to a recipient's `age1...` public key, so
  a successor decrypts with the standard `age -d -i key.txt` tool. Implemented here from the spec:
  a 16-byte file key wrapped in an `X25519` stanza (ephemeral X25519, HKDF-SHA-256 with info
  "age-encryption.org/v1/X25519", ChaCha20-Poly1305 with a zero nonce), the header MAC (HMAC-SHA-256
  under HKDF(file key, info "header")), and the STREAM payload (64 KiB ChaCha20-Poly1305 chunks
  under HKDF(file key, salt = 16-byte nonce, info "payload")). Keys use Bech32 (BIP 173).
* **auditor-export/v1**, with a passphrase: line 1 `auditor-export/v1`, line 2 a JSON header with
  the Argon2id parameters (RFC 9106; the registry's floor and cap apply) and the AES-256-GCM nonce,
  line 3 the base64 ciphertext. The first two lines are the associated data, so a header edit fails
  decryption. `auditor secret import` reads it back.

Errors never include plaintext, keys or the passphrase.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from auditor.model.errors import InputError
from auditor.model.types import Secret
from vault import crypto

AGE_MAGIC = b"age-encryption.org/v1"
OWN_MAGIC = b"auditor-export/v1"
CHUNK = 64 * 1024


class ExportFormatError(InputError):
    """An export file or key is malformed, or does not decrypt with what was given."""


# --------------------------------------------------------------------------------------------------
# Bech32 (BIP 173), as age uses it for keys

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _convert(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (tobits - bits)) & maxv)
    elif not pad and (bits >= frombits or ((acc << (tobits - bits)) & maxv)):
        raise ExportFormatError("the key has invalid padding")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    values = _convert(data, 8, 5, True)
    poly = _polymod([*_hrp_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in values + checksum)


def bech32_decode(text: str, hrp: str) -> bytes:
    if text.lower() != text and text.upper() != text:
        raise ExportFormatError("the key mixes upper- and lower-case letters")
    s = text.lower()
    pos = s.rfind("1")
    if s[:pos] != hrp.lower() or pos < 1 or len(s) - pos < 7:
        raise ExportFormatError(f"the key does not start with {hrp}1")
    try:
        values = [_CHARSET.index(c) for c in s[pos + 1 :]]
    except ValueError:
        raise ExportFormatError("the key contains a character that is not Bech32") from None
    if _polymod([*_hrp_expand(s[:pos]), *values]) != 1:
        raise ExportFormatError("the key's checksum is wrong (a typo?)")
    return bytes(_convert(values[:-6], 5, 8, False))


def age_keypair() -> tuple[Secret, str]:
    """A new age identity ("AGE-SECRET-KEY-1...") and its recipient ("age1...")."""
    private, public = crypto.new_identity_keypair()
    return Secret(bech32_encode("age-secret-key-", private).upper()), bech32_encode("age", public)


def parse_recipient(text: str) -> bytes:
    key = bech32_decode(text.strip(), "age")
    if len(key) != 32:
        raise ExportFormatError("an age recipient holds a 32-byte X25519 key")
    return key


def parse_identity(text: Secret) -> bytes:
    for line in text.reveal_str().splitlines():
        line = line.strip()
        if line.upper().startswith("AGE-SECRET-KEY-1"):
            key = bech32_decode(line, "AGE-SECRET-KEY-")
            if len(key) == 32:
                return key
    raise ExportFormatError("no AGE-SECRET-KEY-1... line was found in the identity")


# --------------------------------------------------------------------------------------------------
# age v1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if "=" in text or "\n" in text:
        raise ExportFormatError("the age header has padded base64")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _x25519_stanza(file_key: bytes, recipient: bytes) -> tuple[str, bytes]:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    eph = X25519PrivateKey.generate()
    share = crypto.public_from_private(crypto._private_raw(eph))
    shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient))
    if shared == bytes(32):
        raise ExportFormatError("the recipient key is invalid (low order)")
    wrap_key = _hkdf(shared, share + recipient, b"age-encryption.org/v1/X25519")
    return _b64(share), ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)


def age_encrypt(plaintext: bytes, recipients: list[str]) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if not recipients:
        raise ExportFormatError("at least one age recipient is needed")
    file_key = os.urandom(16)
    header = AGE_MAGIC + b"\n"
    for text in recipients:
        share, body = _x25519_stanza(file_key, parse_recipient(text))
        encoded = _b64(body)
        lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
        if not lines or len(lines[-1]) == 64:
            lines.append("")
        header += f"-> X25519 {share}\n".encode() + "".join(f"{ln}\n" for ln in lines).encode()
    header += b"---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    out = bytearray(header + b" " + _b64(mac).encode() + b"\n")
    nonce = os.urandom(16)
    out += nonce
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    chunks = [plaintext[i : i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        out += aead.encrypt(n.to_bytes(11, "big") + (b"\x01" if last else b"\x00"), chunk, None)
    return bytes(out)


def age_decrypt(data: bytes, identity: Secret) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    private_raw = parse_identity(identity)
    private = X25519PrivateKey.from_private_bytes(private_raw)
    own_public = crypto.public_from_private(private_raw)
    end = data.find(b"\n---")
    if not data.startswith(AGE_MAGIC + b"\n") or end < 0:
        raise ExportFormatError("this is not an age v1 file")
    nl = data.find(b"\n", end + 1)
    if nl < 0:
        raise ExportFormatError("the age file is truncated")
    header = data[: end + 4]
    mac_line = data[end + 4 : nl]
    lines = header.decode("ascii", "replace").split("\n")[1:-1]
    file_key: bytes | None = None
    i = 0
    while i < len(lines):
        args = lines[i].split(" ")
        body_lines = []
        i += 1
        while i < len(lines) and not lines[i].startswith("->"):
            body_lines.append(lines[i])
            i += 1
        if args[:2] != ["->", "X25519"] or len(args) != 3 or file_key is not None:
            continue
        share = _unb64(args[2])
        shared = private.exchange(X25519PublicKey.from_public_bytes(share))
        wrap_key = _hkdf(shared, share + own_public, b"age-encryption.org/v1/X25519")
        try:
            file_key = ChaCha20Poly1305(wrap_key).decrypt(bytes(12), _unb64("".join(body_lines)), None)
        except InvalidTag:
            file_key = None
    if file_key is None:
        raise ExportFormatError("this age file is not encrypted to the given identity")
    expected = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    if not mac_line.startswith(b" ") or not hmac.compare_digest(_unb64(mac_line[1:].decode()), expected):
        raise ExportFormatError("the age header was altered (MAC mismatch)")
    payload = data[nl + 1 :]
    nonce, body = payload[:16], payload[16:]
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    out = bytearray()
    size = CHUNK + 16
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        try:
            out += aead.decrypt(n.to_bytes(11, "big") + (b"\x01" if last else b"\x00"), chunk, None)
        except InvalidTag:
            raise ExportFormatError("the age payload was altered or truncated") from None
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# auditor-export/v1 (passphrase)


def passphrase_encrypt(plaintext: bytes, passphrase: Secret, *, kdf_profile: str = "default") -> bytes:
    params = crypto.KdfParams.new(kdf_profile)
    nonce = os.urandom(crypto.NONCE_BYTES)
    header = {"kdf": params.to_dict(), "cipher": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode()}
    aad = OWN_MAGIC + b"\n" + json.dumps(header, sort_keys=True).encode() + b"\n"
    key = crypto.argon2id(_pass_bytes(passphrase), params, length=32)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    body = AESGCM(key).encrypt(nonce, plaintext, aad)
    return aad + base64.b64encode(body) + b"\n"


def passphrase_decrypt(data: bytes, passphrase: Secret) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    parts = data.split(b"\n")
    if len(parts) < 3 or parts[0] != OWN_MAGIC:
        raise ExportFormatError("this is not an auditor-export/v1 file")
    aad = parts[0] + b"\n" + parts[1] + b"\n"
    try:
        header = json.loads(parts[1])
        params = crypto.KdfParams.from_dict(header["kdf"])
        nonce = base64.b64decode(header["nonce"])
        body = base64.b64decode(parts[2])
    except crypto.KdfParameterError as exc:
        raise ExportFormatError(f"the export's key-derivation parameters are unacceptable ({exc})") from None
    except (ValueError, KeyError, TypeError):
        raise ExportFormatError("the export's header is malformed") from None
    key = crypto.argon2id(_pass_bytes(passphrase), params, length=32)
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise ExportFormatError(
            "the export does not decrypt: wrong passphrase, or the file was altered"
        ) from None


def _pass_bytes(passphrase: Secret) -> bytes:
    value = passphrase.reveal()
    return value.encode("utf-8") if isinstance(value, str) else value


def sniff(data: bytes) -> str:
    """ "age", "auditor-export" or "" for anything else."""
    if data.startswith(AGE_MAGIC + b"\n"):
        return "age"
    if data.startswith(OWN_MAGIC + b"\n"):
        return "auditor-export"
    return ""
