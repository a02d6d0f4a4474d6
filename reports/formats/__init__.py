"""Report formats: one module per format, each with `render(report) -> bytes` and no file access.

`FORMAT_MODULES` maps a format's name to its module (imported on use); `BINARY` formats cannot go to
a terminal and need `--output`; `EXTENSIONS` names files in evidence packs and default outputs. A
test checks that every name in `reports.FORMATS` has a module with a `render` function.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from auditor.model.safetext import strip_controls

FORMAT_MODULES = {
    "table": "reports.formats.table",
    "csv": "reports.formats.csv",
    "json": "reports.formats.json",
    "html": "reports.formats.html",
    "xlsx": "reports.formats.xlsx",
}
BINARY = frozenset({"xlsx"})
EXTENSIONS = {"table": "txt", "csv": "csv", "json": "json", "html": "html", "xlsx": "xlsx"}

__all__ = ["BINARY", "EXTENSIONS", "FORMAT_MODULES", "format_module", "strip_controls"]


def format_module(fmt: str) -> ModuleType:
    return importlib.import_module(FORMAT_MODULES[fmt])
