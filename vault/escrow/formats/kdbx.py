"""A KeePass / KeePassXC database (`.kdbx`, KDBX 3.1 and 4) read in place, with its password.

Reading the database itself spares the district an export that writes every password to disk in
clear. pykeepass (https://github.com/libkeepass/pykeepass) opens it from memory: nothing is ever
saved back. The password comes from a prompt or a file (never a command-line argument); a key
file is not supported (the error says so). Each entry's string fields are read as in the XML
export (`keepass.parse_xml`): TOTP from `otp`, KeePassXC's legacy `TOTP Seed`/`TOTP Settings` or
KeePass 2.47's `TimeOtp-*`; its history entries give dated older passwords (each entry's own
password and modification time); entries under the Recycle Bin are skipped.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from auditor.model.errors import InputError
from auditor.model.types import Secret
from vault.escrow.formats.base import RECYCLED, Collector, ParseResult

SIGNATURE = bytes.fromhex("03d9a29a")  # KeePass 2 file signature 1 (little-endian 0x9AA2D903)


def is_kdbx(data: bytes) -> bool:
    return data[:4] == SIGNATURE and data[4:8] in (bytes.fromhex("67fb4bb5"), bytes.fromhex("66fb4bb5"))


def parse(data: bytes, password: Callable[[str], Secret] | None) -> ParseResult:
    if password is None:
        raise InputError(
            "this is a KeePass database (.kdbx): its password is needed to read it",
            "Give --password-file FILE (or run on a terminal to be asked for it).",
        )
    from pykeepass import PyKeePass  # imported here: only a .kdbx import needs it
    from pykeepass.exceptions import CredentialsError, HeaderChecksumError, PayloadChecksumError

    secret = password("Password of the KeePass database")
    db: Any = None
    failure = ""
    try:
        db = PyKeePass(io.BytesIO(data), password=secret.reveal_str())
    except CredentialsError:
        failure = "wrong password for this KeePass database (or it needs a key file, which is not supported)"
    except (HeaderChecksumError, PayloadChecksumError):
        failure = "the KeePass database is damaged (a checksum does not match)"
    except Exception as exc:  # construct/lxml errors: name the type, never the data
        failure = f"the KeePass database cannot be read ({type(exc).__name__})"
    if db is None:
        raise InputError(failure)
    bin_group = db.recyclebin_group
    bin_uuid = bin_group.uuid if bin_group is not None else None
    out = Collector("kdbx", "KeePass database (.kdbx)")
    for n, entry in enumerate(db.entries, start=1):
        where = f"entry {n}"
        title = entry.title or ""
        fields = {k: v or "" for k, v in (entry.custom_properties or {}).items()}
        if entry.otp:
            fields["otp"] = entry.otp
        out.add(
            title=title,
            where=where,
            urls=[entry.url or ""],
            username=entry.username or "",
            password=entry.password or "",
            notes=entry.notes or "",
            modified=entry.mtime,
            history=len(entry.history or ()),
            older=[(h.password or "", h.mtime, h.username or "") for h in entry.history or ()],
            deleted=RECYCLED if _in_group(entry, bin_uuid) else "",
            fields=fields,
        )
    return out.result()


def _in_group(entry: Any, uuid: Any) -> bool:
    if uuid is None:
        return False
    group = entry.group
    while group is not None:
        if group.uuid == uuid:
            return True
        group = group.parentgroup
    return False
