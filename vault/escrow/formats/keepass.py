r"""KeePassXC CSV, KeePass 2 CSV and KeePass 2 XML exports.

- KeePassXC: Database > Export > CSV File (or `keepassxc-cli export -f csv`). Standard CSV
  ("" escapes a quote): "Group","Title","Username","Password","URL","Notes","TOTP","Icon",
  "Last Modified","Created"; TOTP as an otpauth URI (KeeOtp's key=... in old versions).
- KeePass 2: File > Export > KeePass CSV (1.x). "Account","Login Name","Password","Web Site",
  "Comments", every field quoted, and inside the quotes `\\` is a backslash and `\"` a quote
  (KeePass's own escaping, not RFC 4180's): read with its own tokenizer so `back\slash` stays
  `back\slash`. No TOTP column: the TOTP lives in the XML export.
- KeePass 2 XML: File > Export > KeePass XML (2.x) (or `keepassxc-cli export -f xml`). Every
  entry's string fields (Title, UserName, Password, URL, Notes, and the TOTP fields
  `base.totp_from_fields` reads), its Times/LastModificationTime and History (each History/Entry
  with its own Password and LastModificationTime: dated older passwords); the group the
  Meta/RecycleBinUUID names is the Recycle Bin, whose entries are skipped.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET  # DTDs and entities refused (see _parse_xml)
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

from auditor.model.errors import InputError
from vault.escrow.formats.base import (
    RECYCLED,
    Collector,
    ParseResult,
    any_totp,
    csv_records,
    parse_columns,
    when,
)

_KEEPASSXC = {
    "group": "group",
    "title": "title",
    "username": "username",
    "password": "password",
    "url": "url",
    "notes": "notes",
    "totp": "totp",
    "last modified": "modified",
}
_KEEPASS2 = {
    "account": "title",
    "login name": "username",
    "password": "password",
    "web site": "url",
    "comments": "notes",
}
RECYCLE_BIN = "Recycle Bin"  # KeePassXC's and KeePass's default name for it (English databases)


def parse_keepassxc_csv(rows: list[tuple[int, list[str]]]) -> ParseResult:
    out = Collector("keepassxc", "KeePassXC CSV")
    for lineno, cell in csv_records(rows, _KEEPASSXC):
        where = f"line {lineno}"
        groups = cell.get("group", "").split("/")
        out.add(
            title=cell.get("title", ""),
            where=where,
            urls=[cell.get("url", "")],
            username=cell.get("username", ""),
            password=cell.get("password", ""),
            totp=any_totp(cell.get("totp", "")),
            notes=cell.get("notes", ""),
            modified=when(cell.get("modified")),
            line=lineno,
            deleted=RECYCLED if RECYCLE_BIN in groups[1:] else "",
        )
    return out.result()


def parse_keepass2_csv(raw: str) -> ParseResult:
    """KeePass 2's "KeePass CSV (1.x)" export, read with its backslash escaping."""
    rows = list(keepass_csv_rows(raw))
    if not rows:
        raise InputError("the CSV export is empty")
    return parse_columns(rows, _KEEPASS2, Collector("keepass", "KeePass 2 CSV"))


def keepass_csv_rows(raw: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each record of a KeePass CSV (1.x): every field in double quotes,
    `\\` and `\"` escaped with a backslash inside them, records ending at a newline outside them."""
    text = raw.lstrip("\ufeff")
    i, line, n = 0, 1, len(text)
    while i < n:
        start = line
        fields: list[str] = []
        while True:
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == '"':
                i += 1
                buf: list[str] = []
                while True:
                    if i >= n:
                        raise InputError(f"the CSV export is malformed at line {start}", line=start)
                    ch = text[i]
                    if ch == "\\" and i + 1 < n and text[i + 1] in '\\"':
                        buf.append(text[i + 1])
                        i += 2
                        continue
                    if ch == '"':
                        i += 1
                        break
                    if ch == "\n":
                        line += 1
                    buf.append(ch)
                    i += 1
                fields.append("".join(buf))
            else:
                j = i
                while j < n and text[j] not in ",\r\n":
                    j += 1
                if '"' in text[i:j]:
                    raise InputError(f"the CSV export is malformed at line {line}", line=line)
                fields.append(text[i:j])
                i = j
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == ",":
                i += 1
                continue
            if i < n and text[i] == "\r":
                i += 1
            if i < n and text[i] == "\n":
                i += 1
                line += 1
                break
            if i >= n:
                break
            raise InputError(f"the CSV export is malformed at line {line}", line=line)
        if any(f.strip() for f in fields):
            yield start, fields


# --------------------------------------------------------------------------------------------------
# KeePass 2 XML


def parse_xml(raw: str) -> ParseResult:
    root = _parse_xml(raw)
    if root.tag != "KeePassFile":
        raise InputError("the XML file is not a KeePass 2 XML export (no KeePassFile element)")
    bin_uuid = (root.findtext("Meta/RecycleBinUUID") or "").strip()
    if (root.findtext("Meta/RecycleBinEnabled") or "True").strip().casefold() == "false":
        bin_uuid = ""
    out = Collector("keepass", "KeePass 2 XML")
    top = root.find("Root")
    if top is None:
        raise InputError("the KeePass XML export has no Root element")
    n = 0
    for group, in_bin in _groups(top, bin_uuid, False):
        for entry in group.findall("Entry"):
            n += 1
            fields = strings(entry)
            where = f"entry {n}"
            title = fields.get("Title", "")
            out.add(
                title=title,
                where=where,
                urls=[fields.get("URL", "")],
                username=fields.get("UserName", ""),
                password=fields.get("Password", ""),
                notes=fields.get("Notes", ""),
                modified=xml_time(entry.findtext("Times/LastModificationTime")),
                history=len(entry.findall("History/Entry")),
                older=[
                    (
                        strings(h).get("Password", ""),
                        xml_time(h.findtext("Times/LastModificationTime")),
                        strings(h).get("UserName", ""),
                    )
                    for h in entry.findall("History/Entry")
                ],
                deleted=RECYCLED if in_bin else "",
                fields=fields,
            )
    return out.result()


def _parse_xml(raw: str) -> ET.Element:
    # A DOCTYPE is refused before parsing: KeePass never writes one, and refusing it rules out
    # entity expansion (the "billion laughs") whatever the expat version.
    head = raw.lstrip("\ufeff")[:4096]
    if "<!DOCTYPE" in head.upper() or "<!ENTITY" in raw.upper():
        raise InputError("the XML file declares a DOCTYPE or entities; a KeePass export has none")
    try:
        return ET.fromstring(raw.lstrip("\ufeff"))  # noqa: S314 - DOCTYPE and entities refused above
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise InputError(f"the XML file is malformed at line {line}", line=line) from None


def _groups(group: ET.Element, bin_uuid: str, in_bin: bool) -> Iterator[tuple[ET.Element, bool]]:
    for child in group.findall("Group"):
        here = in_bin or (bool(bin_uuid) and (child.findtext("UUID") or "").strip() == bin_uuid)
        yield child, here
        yield from _groups(child, bin_uuid, here)


def strings(entry: ET.Element) -> Mapping[str, str]:
    return {(s.findtext("Key") or ""): (s.findtext("Value") or "") for s in entry.findall("String")}


_EPOCH_0001 = datetime(1, 1, 1, tzinfo=UTC)


def xml_time(value: str | None) -> datetime | None:
    """A KeePass XML time: ISO 8601 (KeePass 2 exports, KDBX 3) or base64 of little-endian
    seconds since 0001-01-01 (KDBX 4's inner XML, which keepassxc-cli exports)."""
    if not value or not value.strip():
        return None
    parsed = when(value)
    if parsed is not None:
        return parsed
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 8:
        return None
    try:
        return _EPOCH_0001 + timedelta(seconds=int.from_bytes(raw, "little"))
    except OverflowError:
        return None
