"""Chrome, Edge and Google Password Manager CSV.

Chrome: Settings > Autofill and passwords > Google Password Manager > Settings > Export passwords
(passwords.google.com has the same); Edge: Settings > Profiles > Passwords > ... > Export
passwords. Header `name,url,username,password,note` (older versions: without `note`). No TOTP
(Google Password Manager keeps none) and no dates.
"""

from __future__ import annotations

from vault.escrow.formats.base import Collector, ParseResult, csv_records

HEADER = ("name", "url", "username", "password", "note")
_NAMES = {n: n for n in HEADER}


def parse(rows: list[tuple[int, list[str]]]) -> ParseResult:
    out = Collector("chrome", "Chrome/Edge CSV")
    for lineno, cell in csv_records(rows, _NAMES):
        out.add(
            title=cell.get("name", ""),
            where=f"line {lineno}",
            urls=[cell.get("url", "")],
            username=cell.get("username", ""),
            password=cell.get("password", ""),
            notes=cell.get("note", ""),
            line=lineno,
        )
    return out.result()
