"""LastPass CSV: Account > Fix a problem yourself > Advanced options > Export > Export to CSV.

Header `url,username,password,totp,extra,name,grouping,fav` (LastPass support, "Export your
passwords"). `totp` is the base32 seed of LastPass Authenticator's key; `extra` the notes. A
secure note is a row with the URL `http://sn`: not a login, skipped.
"""

from __future__ import annotations

from vault.escrow.formats.base import Collector, ParseResult, any_totp, csv_records

HEADER = ("url", "username", "password", "totp", "extra", "name", "grouping", "fav")
_NAMES = {n: n for n in HEADER}


def parse(rows: list[tuple[int, list[str]]]) -> ParseResult:
    out = Collector("lastpass", "LastPass CSV")
    for lineno, cell in csv_records(rows, _NAMES):
        where = f"line {lineno}"
        title = cell.get("name", "")
        if cell.get("url", "").strip().casefold() == "http://sn":
            out.skip(title, where, "a secure note, not a login")
            continue
        out.add(
            title=title,
            where=where,
            urls=[cell.get("url", "")],
            username=cell.get("username", ""),
            password=cell.get("password", ""),
            totp=any_totp(cell.get("totp", "")),
            notes=cell.get("extra", ""),
            line=lineno,
        )
    return out.result()
