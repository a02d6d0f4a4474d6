"""Apple Passwords (and Safari) CSV.

Passwords app (macOS 15, iOS 18): File > Export All Passwords; Safari: File > Export >
Passwords; macOS 12-14: System Settings > Passwords > ... > Export All Passwords. Header
`Title,URL,Username,Password,Notes,OTPAuth`: `OTPAuth` holds the verification code's otpauth URI.
"""

from __future__ import annotations

from vault.escrow.formats.base import Collector, ParseResult, any_totp, csv_records

HEADER = ("title", "url", "username", "password", "notes", "otpauth")
_NAMES = {n: n for n in HEADER}


def parse(rows: list[tuple[int, list[str]]]) -> ParseResult:
    out = Collector("apple", "Apple Passwords CSV")
    for lineno, cell in csv_records(rows, _NAMES):
        out.add(
            title=cell.get("title", ""),
            where=f"line {lineno}",
            urls=[cell.get("url", "")],
            username=cell.get("username", ""),
            password=cell.get("password", ""),
            totp=any_totp(cell.get("otpauth", "")),
            notes=cell.get("notes", ""),
            line=lineno,
        )
    return out.result()
