"""Export files written as each password manager writes them, for the import tests.

Each writer takes `Row`s and returns the file's bytes, to the vendor's documented header and
escaping (docs/import.md names them): standard RFC 4180 CSV ("" escapes a quote) everywhere but
KeePass 2's "KeePass CSV (1.x)", which quotes every field and escapes `\\` and `\"` with a
backslash. A .kdbx is made by pykeepass (a real KDBX 4 database), not imitated.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Row:
    title: str
    url: str
    username: str
    password: str
    totp: str = ""  # an otpauth URI ("" for none)
    notes: str = ""


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]], quote_all: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def chrome(rows: Sequence[Row]) -> bytes:
    return _csv(
        ["name", "url", "username", "password", "note"],
        [[r.title, r.url, r.username, r.password, r.notes] for r in rows],
    )


def lastpass(rows: Sequence[Row]) -> bytes:
    def seed(uri: str) -> str:  # LastPass keeps the bare base32 seed
        return uri.split("secret=", 1)[1].split("&", 1)[0] if uri else ""

    return _csv(
        ["url", "username", "password", "totp", "extra", "name", "grouping", "fav"],
        [[r.url, r.username, r.password, seed(r.totp), r.notes, r.title, "Social", "0"] for r in rows],
    )


def bitwarden_csv(rows: Sequence[Row]) -> bytes:
    header = [
        "folder",
        "favorite",
        "type",
        "name",
        "notes",
        "fields",
        "reprompt",
        "login_uri",
        "login_username",
        "login_password",
        "login_totp",
    ]
    return _csv(
        header,
        [
            ["Social", "", "login", r.title, r.notes, "", "0", r.url, r.username, r.password, r.totp]
            for r in rows
        ],
    )


def bitwarden_doc(rows: Sequence[Row]) -> dict[str, object]:
    return {
        "encrypted": False,
        "folders": [],
        "items": [
            {
                "id": f"id-{n}",
                "type": 1,
                "name": r.title,
                "notes": r.notes or None,
                "revisionDate": "2026-01-05T10:00:00.000Z",
                "deletedDate": None,
                "login": {
                    "uris": [{"match": None, "uri": r.url}],
                    "username": r.username,
                    "password": r.password,
                    "totp": r.totp or None,
                },
            }
            for n, r in enumerate(rows, 1)
        ],
    }


def bitwarden_json(rows: Sequence[Row]) -> bytes:
    return json.dumps(bitwarden_doc(rows), indent=2, ensure_ascii=False).encode("utf-8")


def bitwarden_zip(rows: Sequence[Row]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data.json", bitwarden_json(rows))
        z.writestr("attachments/id-1/readme.txt", b"not a credential")
    return buf.getvalue()


def keepassxc_csv(rows: Sequence[Row]) -> bytes:
    header = [
        "Group",
        "Title",
        "Username",
        "Password",
        "URL",
        "Notes",
        "TOTP",
        "Icon",
        "Last Modified",
        "Created",
    ]
    return _csv(
        header,
        [
            [
                "Root/Social",
                r.title,
                r.username,
                r.password,
                r.url,
                r.notes,
                r.totp,
                "0",
                "2026-01-05T10:00:00Z",
                "",
            ]
            for r in rows
        ],
        quote_all=True,
    )


def keepass2_csv(rows: Sequence[Row]) -> bytes:
    def field(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ['"Account","Login Name","Password","Web Site","Comments"']
    lines += [",".join(field(v) for v in (r.title, r.username, r.password, r.url, r.notes)) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def onepassword_csv(rows: Sequence[Row]) -> bytes:
    return _csv(
        ["Title", "Url", "Username", "Password", "OTPAuth", "Favorite", "Archived", "Tags", "Notes"],
        [[r.title, r.url, r.username, r.password, r.totp, "false", "false", "", r.notes] for r in rows],
    )


def apple_csv(rows: Sequence[Row]) -> bytes:
    return _csv(
        ["Title", "URL", "Username", "Password", "Notes", "OTPAuth"],
        [[r.title, r.url, r.username, r.password, r.notes, r.totp] for r in rows],
    )


def firefox_csv(rows: Sequence[Row]) -> bytes:
    header = [
        "url",
        "username",
        "password",
        "httpRealm",
        "formActionOrigin",
        "guid",
        "timeCreated",
        "timeLastUsed",
        "timePasswordChanged",
    ]
    return _csv(
        header,
        [
            [r.url, r.username, r.password, "", r.url, f"{{{n}}}", "1767607200000", "", "1767607200000"]
            for n, r in enumerate(rows, 1)
        ],
        quote_all=True,
    )


def onepassword_1pux(rows: Sequence[Row]) -> bytes:
    items = []
    for n, r in enumerate(rows, 1):
        sections = []
        if r.totp:
            fields = [{"title": "one-time password", "id": f"TOTP_{n}", "value": {"totp": r.totp}}]
            sections.append({"title": "", "name": "add more", "fields": fields})
        items.append(
            {
                "uuid": f"u{n}",
                "favIndex": 0,
                "createdAt": 1767600000,
                "updatedAt": 1767607200,
                "state": "active",
                "categoryUuid": "001",
                "details": {
                    "loginFields": [
                        {
                            "value": r.username,
                            "id": "",
                            "name": "username",
                            "fieldType": "T",
                            "designation": "username",
                        },
                        {
                            "value": r.password,
                            "id": "",
                            "name": "password",
                            "fieldType": "P",
                            "designation": "password",
                        },
                    ],
                    "notesPlain": r.notes,
                    "sections": sections,
                    "passwordHistory": [],
                },
                "overview": {
                    "title": r.title,
                    "url": r.url,
                    "urls": [{"label": "", "url": r.url}],
                    "tags": [],
                },
            }
        )
    data = {
        "accounts": [
            {"attrs": {"name": "District"}, "vaults": [{"attrs": {"name": "Social"}, "items": items}]}
        ]
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "export.attributes", json.dumps({"version": 3, "description": "1Password Unencrypted Export"})
        )
        z.writestr("export.data", json.dumps(data, ensure_ascii=False))
    return buf.getvalue()


def keepass_xml(rows: Sequence[Row], *, timeotp: bool = False, recycled: Sequence[Row] = ()) -> bytes:
    """KeePass 2's "KeePass XML (2.x)" export; TOTP as KeePassXC's `otp` field, or (`timeotp`) as
    KeePass 2.47's TimeOtp-* fields."""

    def string(key: str, value: str) -> str:
        return f"<String><Key>{escape(key)}</Key><Value>{escape(value)}</Value></String>"

    def entry(r: Row, n: int) -> str:
        parts = [
            string("Title", r.title),
            string("UserName", r.username),
            string("Password", r.password),
            string("URL", r.url),
            string("Notes", r.notes),
        ]
        if r.totp and timeotp:
            from urllib.parse import parse_qs, urlsplit

            q = {k: v[0] for k, v in parse_qs(urlsplit(r.totp).query).items()}
            algorithm = {"SHA1": "HMAC-SHA-1", "SHA256": "HMAC-SHA-256", "SHA512": "HMAC-SHA-512"}
            parts += [
                string("TimeOtp-Secret-Base32", q["secret"]),
                string("TimeOtp-Length", q.get("digits", "6")),
                string("TimeOtp-Period", q.get("period", "30")),
                string("TimeOtp-Algorithm", algorithm[q.get("algorithm", "SHA1")]),
            ]
        elif r.totp:
            parts.append(string("otp", r.totp))
        times = "<Times><LastModificationTime>2026-01-05T10:00:00Z</LastModificationTime></Times>"
        return f"<Entry><UUID>ZW50cnk{n:04d}AAAAAAAAAA==</UUID>{times}{''.join(parts)}</Entry>"

    body = "".join(entry(r, n) for n, r in enumerate(rows, 1))
    binned = "".join(entry(r, 900 + n) for n, r in enumerate(recycled, 1))
    xml = (
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\r\n<KeePassFile><Meta>'
        "<Generator>KeePass</Generator><RecycleBinEnabled>True</RecycleBinEnabled>"
        "<RecycleBinUUID>YmluYmluYmluYmluYmluYg==</RecycleBinUUID></Meta><Root><Group>"
        f"<UUID>cm9vdHJvb3Ryb290cm9vdA==</UUID><Name>Database</Name>{body}"
        f"<Group><UUID>YmluYmluYmluYmluYmluYg==</UUID><Name>Recycle Bin</Name>{binned}</Group>"
        "</Group><DeletedObjects /></Root></KeePassFile>"
    )
    return xml.encode("utf-8")


def kdbx(rows: Sequence[Row], path: Path, password: str, *, recycled: Sequence[Row] = ()) -> bytes:
    """A real KDBX 4 database made by pykeepass, with each TOTP in KeePassXC's `otp` field."""
    from pykeepass import create_database

    db = create_database(str(path), password=password)
    group = db.add_group(db.root_group, "Social")
    for r in rows:
        db.add_entry(
            group, r.title, r.username, r.password, url=r.url, notes=r.notes or None, otp=r.totp or None
        )
    for r in recycled:
        gone = db.add_entry(group, r.title, r.username, r.password, url=r.url)
        db.trash_entry(gone)
    db.save()
    return path.read_bytes()


# name shown by the importer -> writer (the .kdbx needs a path and a password: see `kdbx`)
WRITERS: dict[str, Callable[[Sequence[Row]], bytes]] = {
    "Chrome/Edge CSV": chrome,
    "LastPass CSV": lastpass,
    "Bitwarden CSV": bitwarden_csv,
    "Bitwarden JSON": bitwarden_json,
    "Bitwarden ZIP": bitwarden_zip,
    "KeePassXC CSV": keepassxc_csv,
    "KeePass 2 CSV": keepass2_csv,
    "KeePass 2 XML": keepass_xml,
    "1Password CSV": onepassword_csv,
    "1Password 1PUX": onepassword_1pux,
    "Apple Passwords CSV": apple_csv,
    "Firefox CSV": firefox_csv,
}
# Formats that carry a TOTP key (Chrome, Firefox and KeePass 2's CSV have no column for one).
WITH_TOTP = frozenset(WRITERS) - {"Chrome/Edge CSV", "Firefox CSV", "KeePass 2 CSV"}


def bitwarden_password_protected(rows: Sequence[Row], password: str, *, argon2: bool = False) -> bytes:
    """A password-protected Bitwarden JSON export as Bitwarden's clients write it (EncString 2:
    AES-256-CBC + HMAC-SHA256, key from PBKDF2-SHA256 or Argon2id, HKDF-Expand enc/mac). Checked
    against the real exports in ../shared/formats/keepassxc/ by the tests that open both."""
    import base64
    import hashlib
    import hmac
    import os

    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    salt = base64.b64encode(os.urandom(16)).decode()
    if argon2:
        key = Argon2id(
            salt=hashlib.sha256(salt.encode()).digest(),
            length=32,
            iterations=3,
            lanes=4,
            memory_cost=64 * 1024,
        ).derive(password.encode())
    else:
        key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 100_000, 32)
    enc = HKDFExpand(hashes.SHA256(), 32, b"enc").derive(key)
    mac = HKDFExpand(hashes.SHA256(), 32, b"mac").derive(key)

    def seal(plain: bytes) -> str:
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(enc), modes.CBC(iv)).encryptor()
        ct = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
        tag = hmac.new(mac, iv + ct, hashlib.sha256).digest()
        return "2." + "|".join(base64.b64encode(p).decode() for p in (iv, ct, tag))

    doc = {
        "encrypted": True,
        "passwordProtected": True,
        "salt": salt,
        "kdfType": 1 if argon2 else 0,
        "kdfIterations": 3 if argon2 else 100_000,
        "kdfMemory": 64 if argon2 else None,
        "kdfParallelism": 4 if argon2 else None,
        "encKeyValidation_DO_NOT_EDIT": seal(os.urandom(36)),
        "data": seal(bitwarden_json(rows)),
    }
    return json.dumps(doc, indent=2).encode()
