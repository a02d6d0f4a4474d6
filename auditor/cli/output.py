"""Rendering of command results for people (tables) and scripts (JSON, CSV).

Text for a terminal has its control characters removed (auditor/safetext.py). JSON output is an envelope `{"schema": "auditor/<kind>", "version": N, "items": [...]}` with keys in
a fixed order (documented in docs/json.md), so scripts can rely on it across releases. CSV output
neutralises cells that a spreadsheet would run as formulas.
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

from auditor.safetext import csv_safe, strip_controls


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
        [[strip_controls(cell(row.get(key))) for key, _ in columns] for row in rows],
        headers=[heading for _, heading in columns],
        tablefmt="simple",
        disable_numparse=True,
    )


def render_record(record: Mapping[str, Any], fmt: OutputFormat, *, schema: str) -> str:
    if fmt is OutputFormat.JSON:
        return json.dumps(
            {"schema": schema, "version": JSON_VERSION, "item": record}, indent=2, ensure_ascii=False
        )
    if fmt is OutputFormat.CSV:
        return render_rows([record], [(k, k) for k in record], fmt, schema=schema)
    width = max((len(k) for k in record), default=0)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {strip_controls(cell(v))}" for k, v in record.items())


def json_envelope(schema: str, items: list[Any], **extra: Any) -> str:
    body: dict[str, Any] = {"schema": schema, "version": JSON_VERSION}
    body.update(extra)
    body["items"] = items
    return json.dumps(body, indent=2, ensure_ascii=False)


def use_color() -> bool:
    """https://no-color.org: any non-empty NO_COLOR disables colour; so does a non-terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()
