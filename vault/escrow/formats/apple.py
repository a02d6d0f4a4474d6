"""Apple Passwords (and Safari) CSV.

Passwords app (macOS 15, iOS 18): File > Export All Passwords; Safari: File > Export >
Passwords; macOS 12-14: System Settings > Passwords > ... > Export All Passwords. Header
`Title,URL,Username,Password,Notes,OTPAuth`: `OTPAuth` holds the verification code's otpauth URI.
"""

from __future__ import annotations

from vault.escrow.formats.base import Collector, ParseResult, parse_columns

HEADER = ("title", "url", "username", "password", "notes", "otpauth")
_NAMES = {n: n for n in HEADER}


def parse(rows: list[tuple[int, list[str]]]) -> ParseResult:
    return parse_columns(rows, _NAMES, Collector("apple", "Apple Passwords CSV"), totp="otpauth")
