"""Report formats: one class per format (reports/formats/base.py `Format`: name, extension, media
type, `render(report) -> bytes`, no file access), collected in `FORMATS`.

`FORMATS` is the one list of formats: `auditor report --format` (its choices and help), what an
output file's extension means (`format_for_path`), `--attach KIND:FORMAT` and its attachments'
names and MIME types, evidence packs, and the tests that render every report in every format all
read it. Adding a format is one module here and one line below (docs/reports.md).
"""

from __future__ import annotations

from pathlib import PurePath

from auditor.model.errors import UsageError
from reports.formats.base import Format
from reports.formats.csv import Csv
from reports.formats.html import Html
from reports.formats.json import Json
from reports.formats.table import Table
from reports.formats.xlsx import Xlsx

FORMATS: dict[str, Format] = {f.name: f for f in (Table(), Csv(), Json(), Html(), Xlsx())}

__all__ = ["FORMATS", "Format", "format_for_path", "format_named"]


def format_named(name: str) -> Format:
    """The format called `name`; a UsageError listing the formats when there is none."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise UsageError(f"unknown report format {name!r}", "Formats: " + ", ".join(FORMATS) + ".")
    return fmt


def format_for_path(path: PurePath) -> Format | None:
    """The format a file name's extension names (`findings.html`: html), or None."""
    ext = path.suffix.lower().removeprefix(".")
    return next((f for f in FORMATS.values() if ext and f.extension == ext), None)
