"""Bitwarden exports: `.json`, password-protected `.json`, `.csv`, and `.zip` (with attachments).

Menu: Vault > Tools > Export vault (web vault), File > Export vault (desktop), or
`bw export --format json|csv|encrypted_json|zip`. Organisation exports (Admin Console > Export)
have the same shapes.

- JSON: items[].login.{username, password, totp, uris[].uri, fido2Credentials[]}, notes,
  fields[], passwordHistory[] (password, lastUsedDate: kept as dated older passwords),
  revisionDate, deletedDate (an item in the trash).
- Password-protected JSON ("encrypted": true, "passwordProtected": true): the whole JSON above,
  AES-256-CBC + HMAC-SHA256 ("EncString" type 2) under a key stretched from the password by
  PBKDF2-SHA256 (kdfType 0) or Argon2id (kdfType 1), then HKDF-Expand "enc"/"mac". An export
  encrypted with the *account* key ("Account restricted") cannot be opened without the account
  and is refused, as before.
- CSV: folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,
  login_totp (fields as "name: value" lines; several URIs joined by commas).
- ZIP: `data.json` (the JSON above) beside the attachments, which are not credentials.

Key derivation, as Bitwarden's clients do it: libs/common/src/key-management/... (PBKDF2 over the
salt string; Argon2id over SHA-256 of the salt string, memory in MiB).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from auditor.model.errors import InputError
from auditor.model.types import Secret
from vault.escrow.formats.base import (
    Collector,
    ParseResult,
    csv_records,
    join_notes,
    split_fields,
    text,
    when,
)

# Asked for the export's password; returns it (a prompt, or a file's first line).
PasswordSource = Callable[[str], Secret]

_ENCRYPTED_HINT = (
    "Export again as File format: .json (or .json (Encrypted) with the type 'Password protected'), "
    "import it, then shred the file."
)


def parse_json(raw: str, password: PasswordSource | None = None) -> ParseResult:
    """A Bitwarden JSON export, opened with `password` when it is password-protected."""
    data = _load_json(raw, "the Bitwarden export")
    if data.get("encrypted") is True and data.get("passwordProtected") is True:
        if password is None:
            raise InputError(
                "this Bitwarden export is password-protected",
                "Give --password-file FILE (or run on a terminal to be asked for the password).",
            )
        plain = decrypt_password_protected(data, password("Password of the Bitwarden export"))
        data = _load_json(plain, "the decrypted Bitwarden export")
        result = _items(data, "Bitwarden JSON (password-protected)")
        return result
    if data.get("encrypted") is True or "encKeyValidation_DO_NOT_EDIT" in data:
        raise InputError(
            "this is an encrypted Bitwarden export (account restricted: it opens only inside that account)",
            _ENCRYPTED_HINT,
        )
    return _items(data, "Bitwarden JSON")


def _load_json(raw: str, what: str) -> dict[str, Any]:
    # Raise outside the except block: JSONDecodeError.doc holds the whole export.
    data, bad = None, None
    try:
        data = json.loads(raw.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        bad = (exc.msg, exc.lineno)
    if bad is not None:
        raise InputError(f"{what} is not valid JSON: {bad[0]} at line {bad[1]}", line=bad[1])
    if not isinstance(data, dict):
        raise InputError(f"{what} is not a JSON object")
    return data


def _items(data: dict[str, Any], fmt: str) -> ParseResult:
    items = data.get("items")
    if not isinstance(items, list):
        raise InputError("the Bitwarden export has no items list")
    out = Collector("bitwarden", fmt)
    for n, item in enumerate(items, start=1):
        where = f"item {n}"
        if not isinstance(item, dict):
            raise InputError(f"Bitwarden {where} is not an object")
        title = text(item.get("name"))
        label = f"{title or '(untitled)'} ({where})"
        if item.get("type", 1) != 1:
            out.skip(title, where, "not a login item")
            continue
        login = item.get("login") or {}
        if not isinstance(login, dict):
            raise InputError(f"Bitwarden {label}: 'login' is not an object")
        uris = login.get("uris") or []
        if not isinstance(uris, list) or not all(isinstance(u, dict) for u in uris):
            raise InputError(f"Bitwarden {label}: 'login.uris' is not a list of objects")
        fields = item.get("fields") or []
        if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
            raise InputError(f"Bitwarden {label}: 'fields' is not a list of objects")
        codes, email, phone, extra = split_fields((text(f.get("name")), text(f.get("value"))) for f in fields)
        passkeys = login.get("fido2Credentials") or []
        history = item.get("passwordHistory") or []
        out.add(
            title=title,
            where=where,
            urls=[text(u.get("uri")) for u in uris],
            username=text(login.get("username")),
            password=text(login.get("password")),
            totp=text(login.get("totp")),
            codes=codes,
            email=email,
            phone=phone,
            notes=join_notes(text(item.get("notes")), *extra),
            modified=when(item.get("revisionDate")),
            passkeys=len(passkeys) if isinstance(passkeys, list) else 0,
            history=len(history) if isinstance(history, list) else 0,
            older=[
                (text(h.get("password")), when(h.get("lastUsedDate")), "")
                for h in (history if isinstance(history, list) else [])
                if isinstance(h, dict)
            ],
            deleted="in the trash (deleted)" if item.get("deletedDate") else "",
        )
    return out.result()


def parse_csv(rows: list[tuple[int, list[str]]]) -> ParseResult:
    """A Bitwarden CSV export (header folder,favorite,type,name,notes,fields,...,login_totp)."""
    out = Collector("bitwarden", "Bitwarden CSV")
    names = {
        "type": "type",
        "name": "name",
        "notes": "notes",
        "fields": "fields",
        "login_uri": "uri",
        "login_username": "username",
        "login_password": "password",
        "login_totp": "totp",
    }
    for lineno, cell in csv_records(rows, names):
        where = f"line {lineno}"
        title = cell.get("name", "")
        if cell.get("type", "login").strip().casefold() not in ("login", ""):
            out.skip(title, where, "not a login item")
            continue
        pairs = []
        for line in cell.get("fields", "").splitlines():
            name, sep, value = line.partition(": ")
            if sep:
                pairs.append((name, value))
        codes, email, phone, extra = split_fields(pairs)
        out.add(
            title=title,
            where=where,
            urls=cell.get("uri", "").split(","),
            username=cell.get("username", ""),
            password=cell.get("password", ""),
            totp=cell.get("totp", ""),
            codes=codes,
            email=email,
            phone=phone,
            notes=join_notes(cell.get("notes", ""), *extra),
            line=lineno,
        )
    return out.result()


def parse_zip(data_json: str, password: PasswordSource | None = None) -> ParseResult:
    """A Bitwarden `.zip` export: its `data.json`."""
    result = parse_json(data_json, password)
    return ParseResult(result.entries, result.skipped, result.problems, "Bitwarden ZIP")


# --------------------------------------------------------------------------------------------------
# Password-protected exports


def decrypt_password_protected(data: dict[str, Any], password: Secret) -> str:
    """The plaintext JSON of a password-protected export; InputError for a wrong password."""
    salt = data.get("salt")
    kdf = data.get("kdfType")
    iterations = data.get("kdfIterations")
    if not isinstance(salt, str) or not isinstance(iterations, int) or iterations < 1:
        raise InputError("the password-protected Bitwarden export has no readable salt or iteration count")
    secret = password.reveal_str().encode("utf-8")
    if kdf == 0:
        key = hashlib.pbkdf2_hmac("sha256", secret, salt.encode("utf-8"), iterations, 32)
    elif kdf == 1:
        memory, lanes = data.get("kdfMemory"), data.get("kdfParallelism")
        if not isinstance(memory, int) or not isinstance(lanes, int) or memory < 1 or lanes < 1:
            raise InputError("the Argon2id Bitwarden export has no readable memory or parallelism")
        key = Argon2id(
            salt=hashlib.sha256(salt.encode("utf-8")).digest(),
            length=32,
            iterations=iterations,
            lanes=lanes,
            memory_cost=memory * 1024,
        ).derive(secret)
    else:
        raise InputError(f"the Bitwarden export uses an unknown key derivation (kdfType {kdf!r})")
    enc = HKDFExpand(hashes.SHA256(), 32, b"enc").derive(key)
    mac = HKDFExpand(hashes.SHA256(), 32, b"mac").derive(key)
    validation = data.get("encKeyValidation_DO_NOT_EDIT")
    payload = data.get("data")
    if not isinstance(validation, str) or not isinstance(payload, str):
        raise InputError("the password-protected Bitwarden export has no data")
    if _decrypt(validation, enc, mac) is None:
        raise InputError(
            "wrong password for this Bitwarden export",
            "Give the password chosen when the file was exported (not the account's master password).",
        )
    plain = _decrypt(payload, enc, mac)
    if plain is None:
        raise InputError("the password-protected Bitwarden export is damaged (its data fails to verify)")
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the decrypted Bitwarden export is not UTF-8 text") from None


def _decrypt(enc_string: str, enc: bytes, mac: bytes) -> bytes | None:
    """An EncString "2.iv|ciphertext|mac" (AES-256-CBC, HMAC-SHA256 over iv||ciphertext); None if
    it does not verify."""
    kind, _, rest = enc_string.partition(".")
    parts = rest.split("|")
    if kind != "2" or len(parts) != 3:
        raise InputError("the Bitwarden export holds a value in an unknown encryption format")
    try:
        iv, ct, tag = (base64.b64decode(p, validate=True) for p in parts)
    except (binascii.Error, ValueError):
        raise InputError("the Bitwarden export holds a value that is not base64") from None
    if not hmac.compare_digest(hmac.new(mac, iv + ct, hashlib.sha256).digest(), tag):
        return None
    decryptor = Cipher(algorithms.AES(enc), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ct) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------
# Writing (issue 18: a handover a successor's password manager imports)

# Bitwarden's default for a password-protected export (PBKDF2-SHA256, 600,000 iterations).
EXPORT_ITERATIONS = 600_000


def login_item(
    *,
    name: str,
    uri: str,
    username: str,
    password: str,
    totp: str,
    notes: str,
    codes: list[str],
    email: str,
    phone: str,
    revised: str,
) -> dict[str, Any]:
    """One login item with Bitwarden's documented fields; recovery codes, e-mail and phone as
    custom fields (hidden, text, text) under the names this module's reader takes back."""
    fields = [
        {"name": name_, "value": value, "type": kind, "linkedId": None}
        for name_, value, kind in (
            ("recovery codes", "\n".join(codes), 1),
            ("recovery email", email, 0),
            ("recovery phone", phone, 0),
        )
        if value
    ]
    return {
        "id": str(uuid.uuid4()),
        "organizationId": None,
        "folderId": None,
        "type": 1,
        "reprompt": 0,
        "name": name,
        "notes": notes or None,
        "favorite": False,
        "fields": fields,
        "login": {
            "uris": [{"match": None, "uri": uri}] if uri else [],
            "username": username or None,
            "password": password or None,
            "totp": totp or None,
            "fido2Credentials": [],
        },
        "collectionIds": None,
        "revisionDate": revised,
        "creationDate": revised,
        "deletedDate": None,
        "passwordHistory": None,
    }


def write_json(items: list[dict[str, Any]]) -> str:
    """An unencrypted Bitwarden JSON export of `items` (`login_item`)."""
    return json.dumps({"encrypted": False, "folders": [], "items": items}, indent=2, ensure_ascii=False)


def encrypt_password_protected(plain: str, password: Secret, *, iterations: int = EXPORT_ITERATIONS) -> str:
    """Bitwarden's password-protected export of the JSON text `plain`: a random salt, PBKDF2-SHA256
    (kdfType 0), HKDF-Expand "enc"/"mac", and EncStrings type 2 for a validation value and the data,
    as Bitwarden's clients write it (so Bitwarden and KeePassXC import it with the password)."""
    salt = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
    key = hashlib.pbkdf2_hmac(
        "sha256", password.reveal_str().encode("utf-8"), salt.encode("utf-8"), iterations, 32
    )
    enc = HKDFExpand(hashes.SHA256(), 32, b"enc").derive(key)
    mac = HKDFExpand(hashes.SHA256(), 32, b"mac").derive(key)
    doc = {
        "encrypted": True,
        "passwordProtected": True,
        "salt": salt,
        "kdfType": 0,
        "kdfIterations": iterations,
        "kdfMemory": None,
        "kdfParallelism": None,
        "encKeyValidation_DO_NOT_EDIT": _encrypt(str(uuid.uuid4()).encode("ascii"), enc, mac),
        "data": _encrypt(plain.encode("utf-8"), enc, mac),
    }
    return json.dumps(doc, indent=2)


def _encrypt(plain: bytes, enc: bytes, mac: bytes) -> str:
    """An EncString "2.iv|ciphertext|mac": AES-256-CBC with PKCS#7, HMAC-SHA256 over iv||ciphertext."""
    iv = secrets.token_bytes(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc), modes.CBC(iv)).encryptor()
    ct = encryptor.update(padded) + encryptor.finalize()
    tag = hmac.new(mac, iv + ct, hashlib.sha256).digest()
    return "2." + "|".join(base64.b64encode(p).decode("ascii") for p in (iv, ct, tag))
