"""Chrome, Edge and Google Password Manager CSV.

Chrome: Settings > Autofill and passwords > Google Password Manager > Settings > Export passwords
(passwords.google.com has the same); Edge: Settings > Profiles > Passwords > ... > Export
passwords. Header `name,url,username,password,note` (older versions: without `note`). No TOTP
(Google Password Manager keeps none) and no dates.
"""

from __future__ import annotations

from vault.escrow.formats.base import Collector, ParseResult, parse_columns

HEADER = ("name", "url", "username", "password", "note")
_NAMES = {n: n for n in HEADER}


def parse(rows: list[tuple[int, list[str]]]) -> ParseResult:
    return parse_columns(rows, _NAMES, Collector("chrome", "Chrome/Edge CSV"), title="name", notes="note")
