"""Password manager exports, one module per program; `read` tells which one a file is.

Where each importer lives: bitwarden.py (JSON, password-protected JSON, CSV, ZIP), keepass.py
(KeePassXC CSV, KeePass 2 CSV and XML), kdbx.py (the database itself), onepassword.py (CSV,
.1pux), lastpass.py, chrome.py (Chrome, Edge, Google Password Manager), firefox.py, apple.py
(Apple Passwords, Safari). base.py holds what they share.

The format is told from the content, never the file name alone: a zip by its members, a .kdbx
by its signature, JSON by its keys, XML by its root element and a CSV by its header row. A CSV
header no reader knows is refused, and so is one with a one-time-password column the chosen
reader would not read: a TOTP is never dropped without a word.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from auditor.model.errors import InputError
from auditor.model.types import Secret
from vault.escrow.formats import apple, bitwarden, chrome, firefox, kdbx, keepass, lastpass, onepassword
from vault.escrow.formats.base import ImportEntry, ParseResult, Problem, read_csv

__all__ = ["FORMATS", "ImportEntry", "ParseResult", "Problem", "read", "read_text"]

PasswordSource = Callable[[str], Secret]

# Every format `read` knows, by the name it shows (docs/import.md has the table).
FORMATS = (
    "Bitwarden JSON",
    "Bitwarden JSON (password-protected)",
    "Bitwarden CSV",
    "Bitwarden ZIP",
    "KeePassXC CSV",
    "KeePass 2 CSV",
    "KeePass 2 XML",
    "KeePass database (.kdbx)",
    "1Password CSV",
    "1Password 1PUX",
    "LastPass CSV",
    "Chrome/Edge CSV",
    "Firefox CSV",
    "Apple Passwords CSV",
)

MAX_ZIP_MEMBER = 64 * 1024 * 1024  # a zip member larger than this is no password export


def read(data: bytes, password: PasswordSource | None = None) -> ParseResult:
    """Tell the format of an export from its bytes and read it (`password` asks for the password
    of a password-protected file). Entries that cannot be read are `problems`, not errors."""
    if data[:4] == b"PK\x03\x04":
        return _zip(data, password)
    if kdbx.is_kdbx(data):
        return kdbx.parse(data, password)
    return read_text(_decode(data), password)


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("the file starts as UTF-16 text but is not valid UTF-16") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            "the file is not UTF-8 text, nor a zip, nor a KeePass database",
            "Export again as UTF-8 CSV or JSON (or give the .kdbx, .1pux or Bitwarden .zip itself).",
        ) from None


def read_text(text: str, password: PasswordSource | None = None) -> ParseResult:
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith("{"):
        return bitwarden.parse_json(text, password)
    if start.startswith("<"):
        return keepass.parse_xml(text)
    return _csv(text)


def _zip(data: bytes, password: PasswordSource | None) -> ParseResult:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = {info.filename.replace("\\", "/"): info for info in archive.infolist()}
    except zipfile.BadZipFile:
        raise InputError("the file starts as a zip but is not a readable zip archive") from None

    def member(name: str) -> str:
        info = names[name]
        if info.file_size > MAX_ZIP_MEMBER:
            raise InputError(f"{name} in the zip is too large to be a password export")
        try:
            return archive.read(info).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{name} in the zip is not UTF-8 text") from None
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError):
            raise InputError(f"{name} in the zip cannot be read (damaged or encrypted)") from None

    if "export.data" in names:
        return onepassword.parse_1pux(member("export.data"))
    if "data.json" in names:
        return bitwarden.parse_zip(member("data.json"), password)
    raise InputError(
        "this zip is neither a 1Password .1pux (export.data) nor a Bitwarden export (data.json)",
        "A roster bundle goes to `auditor roster`; give a password manager's export here.",
    )


def _csv(text: str) -> ParseResult:
    if not text.strip():
        raise InputError("the CSV export is empty")
    first = text.lstrip("\ufeff").lstrip("\r\n").split("\n", 1)[0].strip()
    if first.casefold().startswith('"account","login name"'):
        return keepass.parse_keepass2_csv(text)  # its own escaping: read before any csv module
    rows = read_csv(text)
    if not rows:
        raise InputError("the CSV export is empty")
    header_line, header = rows[0]
    names = {h.strip().casefold() for h in header} - {""}
    reader: Callable[[list[tuple[int, list[str]]]], ParseResult] | None = None
    known: set[str] = set()
    if {"login_uri", "login_username", "login_password"} <= names:
        reader, known = bitwarden.parse_csv, {"login_totp"}
    elif {"group", "title", "username", "password", "url"} <= names:
        reader, known = keepass.parse_keepassxc_csv, {"totp"}
    elif {"title", "username", "password", "otpauth"} <= names and names & {"favorite", "archived", "tags"}:
        reader, known = onepassword.parse_csv, {"otpauth"}
    elif {"title", "url", "username", "password", "otpauth"} <= names:
        reader, known = apple.parse, {"otpauth"}
    elif {"title", "username", "password"} <= names and names & {"url", "website"}:
        reader, known = onepassword.parse_csv, {"otpauth", "one-time password"}
    elif {"url", "username", "password", "extra", "name", "grouping"} <= names:
        reader, known = lastpass.parse, {"totp"}
    elif {"url", "username", "password", "httprealm", "formactionorigin"} <= names:
        reader = firefox.parse
    elif {"name", "url", "username", "password"} <= names:
        reader = chrome.parse
    elif {"account", "login name", "password", "web site"} <= names:
        return keepass.parse_keepass2_csv(text)
    if reader is None:
        raise InputError(
            "the CSV header is not one of a known password manager's exports",
            "Known: Bitwarden, KeePassXC, KeePass 2 (KeePass CSV 1.x), 1Password, Apple Passwords, "
            "LastPass, Chrome/Edge, Firefox (docs/import.md lists their headers).",
            line=header_line,
        )
    unread = sorted(n for n in names if ("otp" in n or "2fa" in n or "authenticator" in n) and n not in known)
    if unread:
        raise InputError(
            f"the CSV has a one-time password column this format's reader does not read: {', '.join(unread)}",
            "Nothing was imported, so no TOTP key is lost; report the exporting program's name and version.",
            line=header_line,
        )
    return reader(rows)
