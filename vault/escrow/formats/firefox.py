"""Firefox CSV: about:logins > ... (menu) > Export Passwords.

Header `"url","username","password","httpRealm","formActionOrigin","guid","timeCreated",
"timeLastUsed","timePasswordChanged"` (times in milliseconds since 1970). No title and no TOTP:
the entry is named by its URL; `timePasswordChanged` is when the password last changed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from vault.escrow.formats.base import Collector, ParseResult, csv_records, epoch

HEADER = (
    "url",
    "username",
    "password",
    "httprealm",
    "formactionorigin",
    "guid",
    "timecreated",
    "timelastused",
    "timepasswordchanged",
)
_NAMES = {n: n for n in HEADER}


def parse(rows: list[tuple[int, list[str]]]) -> ParseResult:
    out = Collector("firefox", "Firefox CSV")
    for lineno, cell in csv_records(rows, _NAMES):
        url = cell.get("url", "")
        try:
            title = urlsplit(url.strip()).hostname or url.strip()
        except ValueError:
            title = ""
        out.add(
            title=title,
            where=f"line {lineno}",
            urls=[url],
            username=cell.get("username", ""),
            password=cell.get("password", ""),
            modified=epoch(cell.get("timepasswordchanged"), millis=True),
            line=lineno,
        )
    return out.result()
