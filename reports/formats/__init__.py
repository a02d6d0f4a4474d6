"""Report formats: one module per format, each with `render(report) -> bytes` and no file access.

`FORMAT_MODULES` maps a format's name to its module (imported on use); `BINARY` formats cannot go to
a terminal and need `--output`; `EXTENSIONS` names files in evidence packs and default outputs. A
test checks that every name in `reports.FORMATS` has a module with a `render` function.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

FORMAT_MODULES = {
    "table": "reports.formats.table",
    "csv": "reports.formats.csv",
    "json": "reports.formats.json",
    "html": "reports.formats.html",
    "xlsx": "reports.formats.xlsx",
}
BINARY = frozenset({"xlsx"})
EXTENSIONS = {"table": "txt", "csv": "csv", "json": "json", "html": "html", "xlsx": "xlsx"}

# C0 and C1 control characters other than newline: a profile's text must not move a terminal's
# cursor, retitle its window or be refused by a spreadsheet (XML 1.0 forbids most of them).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str, replacement: str = " ") -> str:
    return _CONTROL.sub(replacement, text)


def format_module(fmt: str) -> ModuleType:
    return importlib.import_module(FORMAT_MODULES[fmt])
