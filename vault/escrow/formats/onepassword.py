"""1Password CSV and `.1pux` exports.

1Password 8: File > Export > (account) > format "1PUX" or "CSV". The CSV header is
`Title,Url,Username,Password,OTPAuth,Favorite,Archived,Tags,Notes` (OTPAuth: the one-time
password's otpauth URI; older versions wrote `Website` for `Url`); archived items are skipped.
A `.1pux` is a zip whose `export.data` is JSON (https://support.1password.com/1pux-format/):
accounts[].vaults[].items[] with `overview.{title, url, urls[]}`, `details.loginFields[]`
(`designation` "username" / "password"), `details.sections[].fields[]` (a `value.totp` is the
one-time password, as an otpauth URI or a bare seed), `details.notesPlain`,
`details.passwordHistory[]` (`value`, `time` in seconds: dated older passwords) and
`details.passkey`; `state` "archived" and `trashed` are skipped.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.model.errors import InputError
from vault.escrow.formats.base import (
    Collector,
    ParseResult,
    any_totp,
    csv_records,
    epoch,
    join_notes,
    split_fields,
    text,
)

_CSV = {
    "title": "title",
    "url": "url",
    "website": "url",
    "username": "username",
    "password": "password",
    "otpauth": "totp",
    "one-time password": "totp",
    "archived": "archived",
    "notes": "notes",
}


def parse_csv(rows: list[tuple[int, list[str]]]) -> ParseResult:
    out = Collector("1password", "1Password CSV")
    for lineno, cell in csv_records(rows, _CSV):
        archived = cell.get("archived", "").strip().casefold() in ("true", "1", "yes")
        out.add(
            title=cell.get("title", ""),
            where=f"line {lineno}",
            urls=[cell.get("url", "")],
            username=cell.get("username", ""),
            password=cell.get("password", ""),
            totp=any_totp(cell.get("totp", "")),
            notes=cell.get("notes", ""),
            line=lineno,
            deleted="archived in 1Password" if archived else "",
        )
    return out.result()


def parse_1pux(export_data: str) -> ParseResult:
    """The `export.data` JSON of a `.1pux` file."""
    data: Any = None
    try:
        data = json.loads(export_data)
    except json.JSONDecodeError:
        data = None  # the message would quote the export: raised below without it
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        raise InputError("the .1pux file's export.data is not a 1Password export (no accounts list)")
    out = Collector("1password", "1Password 1PUX")
    n = 0
    for account in data["accounts"]:
        for vault in (account or {}).get("vaults") or []:
            for item in (vault or {}).get("items") or []:
                n += 1
                if not isinstance(item, dict):
                    raise InputError(f"1Password item {n} is not an object")
                _item(out, item, f"item {n}")
    return out.result()


def _item(out: Collector, item: dict[str, Any], where: str) -> None:
    overview = item.get("overview") or {}
    details = item.get("details") or {}
    title = text(overview.get("title"))
    urls = [text(overview.get("url"))] + [text((u or {}).get("url")) for u in overview.get("urls") or []]
    username = password = ""
    for f in details.get("loginFields") or []:
        designation = text((f or {}).get("designation"))
        if designation == "username" and not username:
            username = text(f.get("value"))
        elif designation == "password" and not password:
            password = text(f.get("value"))
    totps: list[str] = []
    pairs: list[tuple[str, str]] = []
    for section in details.get("sections") or []:
        for f in (section or {}).get("fields") or []:
            value = (f or {}).get("value") or {}
            if not isinstance(value, dict):
                continue
            if "totp" in value:
                totps.append(text(value.get("totp")))
                continue
            for kind in ("string", "concealed", "email", "phone", "url"):
                if kind in value:
                    pairs.append((text(f.get("title")), text(value.get(kind))))
    codes, email, phone, extra = split_fields(pairs)
    deleted = ""
    if item.get("trashed") is True:
        deleted = "in the 1Password trash (deleted)"
    elif text(item.get("state")) == "archived":
        deleted = "archived in 1Password"
    totps = [t for t in totps if t.strip()]
    if len(totps) > 1:
        out.problem(title, where, "has more than one one-time password; keep one and export again")
        return
    history = details.get("passwordHistory") or []
    out.add(
        title=title,
        where=where,
        urls=urls,
        username=username,
        password=password,
        totp=any_totp(totps[0]) if totps else "",
        codes=codes,
        email=email,
        phone=phone,
        notes=join_notes(text(details.get("notesPlain")), *extra),
        modified=epoch(item.get("updatedAt")),
        passkeys=1 if details.get("passkey") else 0,
        history=len(history) if isinstance(history, list) else 0,
        older=[
            (text(h.get("value")), epoch(h.get("time")), "")
            for h in (history if isinstance(history, list) else [])
            if isinstance(h, dict)
        ],
        deleted=deleted,
    )
