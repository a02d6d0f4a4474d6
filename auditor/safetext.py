"""Making attacker-controlled text inert where people read it: terminals and spreadsheets.

Profile text (bios, display names, handles) comes from strangers and is quoted in finding messages,
so every output path passes it through here: `strip_controls` before a terminal or an XLSX cell
(a control character can move the cursor, retitle the window, or be refused by XML 1.0), and
`csv_safe` before a CSV cell (OWASP "CSV injection": a cell starting with = + - @ tab or CR would
be run as a formula by Excel and LibreOffice). Both the CLI and `reports/` use these two functions.
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# C0 and C1 control characters other than newline.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str, replacement: str = " ") -> str:
    return _CONTROL.sub(replacement, text)


def csv_safe(value: object) -> str:
    """A cell Excel and LibreOffice show as text, never evaluate."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text
