"""Rendering of command results for people (tables) and scripts (JSON, CSV).

Text from platforms and people is attacker-controlled, so every format makes it inert
(auditor/model/safetext.py): tables and plain records show control and bidi characters as visible escapes
(`\\x1b`, `\\u202e`); CSV cells get the same escapes and a spreadsheet never runs one as a formula;
JSON escapes them as `\\u` sequences (the parsed value is unchanged). JSON output is an envelope
`{"schema": "auditor/<kind>", "version": N, "items": [...]}` with keys in a fixed order (documented
in docs/json.md), so scripts can rely on it across releases.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.model.safetext import csv_safe, json_safe, terminal_cell


class OutputFormat(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


JSON_VERSION = 1


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def render_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    fmt: OutputFormat,
    *,
    schema: str,
    empty: str = "Nothing to show.",
) -> str:
    """`columns` is (key, heading) for table and CSV; JSON carries every key of each row."""
    if fmt is OutputFormat.JSON:
        return json_envelope(schema, list(rows))
    if fmt is OutputFormat.CSV:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow([key for key, _ in columns])
        for row in rows:
            writer.writerow([csv_safe(cell(row.get(key))) for key, _ in columns])
        return buf.getvalue()
    if not rows:
        return empty
    from tabulate import tabulate

    return tabulate(
        [[terminal_cell(cell(row.get(key))) for key, _ in columns] for row in rows],
        headers=[heading for _, heading in columns],
        tablefmt="simple",
        disable_numparse=True,
    )


def render_record(record: Mapping[str, Any], fmt: OutputFormat, *, schema: str) -> str:
    if fmt is OutputFormat.JSON:
        return json_text({"schema": schema, "version": JSON_VERSION, "item": record})
    if fmt is OutputFormat.CSV:
        return render_rows([record], [(k, k) for k in record], fmt, schema=schema)
    width = max((len(k) for k in record), default=0)
    # A value's further lines are indented under it, so a bio cannot fake a line of its own.
    indent = "\n" + " " * (width + 2)
    return "\n".join(
        f"{k.replace('_', ' '):<{width}}  {terminal_cell(cell(v)).replace(chr(10), indent)}"
        for k, v in record.items()
    )


def json_text(value: Any) -> str:
    """JSON for people and scripts: UTF-8 text, with every control and bidi character escaped."""
    return json_safe(json.dumps(value, indent=2, ensure_ascii=False))


def json_envelope(schema: str, items: list[Any], **extra: Any) -> str:
    body: dict[str, Any] = {"schema": schema, "version": JSON_VERSION}
    body.update(extra)
    body["items"] = items
    return json_text(body)


def use_color() -> bool:
    """https://no-color.org: any non-empty NO_COLOR disables colour; so does a non-terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()
