"""Making attacker-controlled text inert where people read it: terminals, spreadsheets, JSON.

Profile text (bios, display names, handles) comes from strangers, and stored data (names, notes,
finding messages that quote them) may hold anything an import or a platform put there. A control
character printed to a terminal can move the cursor, erase what was printed, retitle the window
(OSC) or recolour it (CSI); a bidi control (the right-to-left override U+202E and its family) makes
`evil\\u202egpj.exe` read as `evilexe.jpg`. So every output path passes text through here:

- `inert` before a terminal (plain lines, error messages, CSV and JSON printed to stdout): each
  control character except newline and tab, DEL, the C1 controls, every bidi control and the line
  and paragraph separators are shown as a visible escape (`\\x1b`, `\\r`, `\\u202e`), so the text
  stays readable and the reader sees that something was there. A CR that ends a line (CRLF) stays.
- `terminal_cell` for a table cell: `inert`, and tabs become spaces (they break the columns).
- `strip_controls` before an XLSX cell or HTML (XML 1.0 refuses most control characters): the
  same characters replaced by a space.
- `csv_safe` before a CSV cell: `inert`, and the OWASP "CSV injection" guard (a cell starting with
  = + - @ tab or CR would be run as a formula by Excel and LibreOffice gets a leading apostrophe).
- `json_safe` over JSON text written with `ensure_ascii=False`: `json.dumps` escapes C0 controls
  but leaves DEL, C1 and bidi controls raw; they become `\\u` escapes (the same string once parsed).

Both the CLI and `reports/` use these functions (input validation in auditor/model/types.py refuses
such characters in handles and names).
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Bidirectional formatting characters: ALM, LRM, RLM, the embeddings and overrides (LRE RLE PDF
# LRO RLO) and the isolates (LRI RLI FSI PDI).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.escape(BIDI_CONTROLS)
# C0 and C1 control characters and DEL, bidi controls, line and paragraph separators.
_OTHERS = rf"\x7f-\x9f{_BIDI}\u2028\u2029"
_UNSAFE = re.compile(rf"[\x00-\x1f{_OTHERS}]")
# What `inert` escapes: all of the above except newline, tab, and a CR that ends a line.
_INERT = re.compile(rf"\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f{_OTHERS}]")
# What `strip_controls` replaces (newline kept, as before).
_CONTROL = re.compile(rf"[\x00-\x09\x0b-\x1f{_OTHERS}]")
# What JSON text written with ensure_ascii=False still carries raw: DEL, C1, bidi, U+2028/9.
_JSON_RAW = re.compile(rf"[\x7f-\x9f{_BIDI}\u2028\u2029]")


# Printable ASCII with newline and tab: text made only of these has nothing `inert` changes (a CR is
# left out: `inert` keeps it only before a newline). Checking for it, or for printable text (every
# character these functions change is a control, format or separator character, none printable), is
# one pass at C speed, ten times faster than the regular expressions, and almost every text (a
# 100,000-account JSON list is 84 MB) is one or the other.
_PLAIN = bytes(range(0x20, 0x7F)) + b"\n\t"


def _plain(text: str) -> bool:
    return text.isprintable() or (text.isascii() and not text.encode("ascii").translate(None, _PLAIN))


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    if ch == "\r":
        return "\\r"
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def inert(text: object) -> str:
    """`text` safe to print on a terminal, every dangerous character shown as a visible escape."""
    value = "" if text is None else str(text)
    return value if _plain(value) else _INERT.sub(_visible, value)


def terminal_cell(text: object) -> str:
    """A table cell for a terminal: `inert`, tabs as spaces."""
    return inert(text).replace("\t", " ")


def strip_controls(text: str, replacement: str = " ") -> str:
    """Control, bidi and separator characters (newline aside) replaced by `replacement`."""
    return text if "\t" not in text and _plain(text) else _CONTROL.sub(replacement, text)


def json_safe(text: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) with DEL, C1 and bidi controls and the
    line separators written as `\\u` escapes. Outside strings JSON text is ASCII, so the result
    parses to the same value."""
    if text.isascii() and "\x7f" not in text:  # the only one of them in ASCII
        return text
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def csv_safe(value: object) -> str:
    """A cell Excel and LibreOffice show as text, never evaluate, and a terminal prints inert."""
    text = inert(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text
