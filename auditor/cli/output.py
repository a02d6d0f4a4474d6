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
import itertools
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from json.encoder import encode_basestring as _quote  # the C function json uses
from typing import Any

import msgspec
import typer

from auditor.model.safetext import csv_safe, inert, json_safe, terminal_cell


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
    return table_text(
        [[terminal_cell(cell(row.get(key))) for key, _ in columns] for row in rows],
        [heading for _, heading in columns],
    )


MIN_PADDING = 2  # what tabulate adds to a heading's width
_ODD = ("\n", "\r", "\x1b")  # multi-line cells, or codes tabulate does not count in a width


def table_text(body: Sequence[Sequence[str]], headings: Sequence[str]) -> str:
    """What tabulate's "simple" format draws for text cells (`disable_numparse`), character for
    character: cells trimmed and left-aligned, each column as wide as its widest cell or its
    heading plus 2, two spaces between columns, trailing spaces dropped. One pass to measure and
    one to pad: tabulate sniffs the type of every cell, which made listing 100,000 accounts take
    seconds. A table with a multi-line cell is left to tabulate (rare: notes with newlines)."""
    heads = list(headings)
    everything = "\x00".join(["\x00".join(row) for row in body] + heads)
    if any(code in everything for code in _ODD):
        from tabulate import tabulate

        return str(tabulate(body, headers=heads, tablefmt="simple", disable_numparse=True))
    cells = [[c.strip() for c in row] for row in body]
    widths = [len(h) + MIN_PADDING for h in heads]
    for row in cells:
        for i, c in enumerate(row):
            if len(c) > widths[i]:
                widths[i] = len(c)
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    return "\n".join(lines)


def write_rows(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    fmt: OutputFormat,
    *,
    schema: str,
    total: int,
    limit: int,
    what: str = "rows",
    empty: str = "Nothing to show.",
    extra: Mapping[str, Any] | None = None,
) -> None:
    """`render_rows` for lists that can be long (every finding of an audit), written to stdout as
    it goes: JSON and CSV get every row, written a batch at a time (the same text `render_rows`
    and `echo` give, never one string of them all); the table shows the first `limit` rows (0:
    all) and then how many there are and how to see the rest. `total` is how many `rows` holds."""
    if fmt is OutputFormat.TABLE:
        shown = list(itertools.islice(rows, limit)) if limit > 0 else list(rows)
        text = render_rows(shown, columns, fmt, schema=schema, empty=empty)
        if len(shown) < total:
            text += (
                f"\n{total:,} {what}; showing the first {len(shown):,}: "
                "use --limit 0 for all of them, or --format json or csv"
            )
        _write(text.rstrip("\n") + "\n")
        return
    if fmt is OutputFormat.CSV:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow([key for key, _ in columns])
        for n, row in enumerate(rows, start=1):
            writer.writerow([csv_safe(cell(row.get(key))) for key, _ in columns])
            if n % _BATCH == 0:
                _write(buf.getvalue())
                buf.seek(0)
                buf.truncate()
        _write(buf.getvalue())
        return
    # JSON: the envelope `json_envelope` writes, its items a batch at a time at their indentation.
    head: dict[str, Any] = {"schema": schema, "version": JSON_VERSION, **(extra or {}), "items": []}
    opening = json.dumps(head, indent=2, ensure_ascii=False)
    assert opening.endswith('"items": []\n}')
    count = 0
    for batch in _batched(rows):
        text = _indented_items(batch)
        _write(json_safe((opening[: -len("]\n}")] if count == 0 else ",") + text))
        count += len(batch)
    _write(json_safe(opening if count == 0 else "\n  ]\n}") + "\n")


def _batched(rows: Iterable[Mapping[str, Any]]) -> Iterator[list[Mapping[str, Any]]]:
    it = iter(rows)
    while batch := list(itertools.islice(it, _BATCH)):
        yield batch


def _indented_items(items: list[Any]) -> str:
    """Items of the envelope's "items" list as `json_envelope` lays them out (each line after the
    opening bracket at four spaces), from the first item's newline to the last item's end: the
    whole batch laid out by one msgspec call (a call an item cost a 100,000-account list 0.3 s);
    a batch msgspec refuses is laid out an item at a time by `indented_json`."""
    try:
        text = msgspec.json.format(_encode_json(items), indent=2).decode("utf-8")
    except (TypeError, UnicodeEncodeError, msgspec.EncodeError):
        return ",".join("\n    " + indented_json(item, "    ") for item in items)
    # "[\n  {...},\n  {...}\n]" -> "\n    {...},\n    {...}"
    return text[1 : -len("\n]")].replace("\n", "\n  ")


_BATCH = 500  # rows a write


def _write(text: str) -> None:
    """Text to stdout as `echo` prints it (inert; CSV's CRLF kept)."""
    typer.echo(inert(text), nl=False)


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
    return json_safe(indented_json(value))


_float_json = json.JSONEncoder(ensure_ascii=False).encode  # floats: repr, NaN, Infinity as json has them


def indented_json(value: Any, pad: str = "") -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)` with its lines after the first prefixed
    by `pad`, the same text. Python's json writes indented output with its pure-Python encoder
    (about 10 µs a value, 3.5 s for a 100,000-account list); msgspec writes and lays out the same
    text ten times faster (0.34 s). Floats are the one difference: the same number may be written
    in another form (`0.00001` for `1e-05`, `1e100` for `1e+100`), and NaN and the infinities, which
    JSON cannot write (json.dumps writes the non-JSON `NaN`), are `null`. What msgspec refuses (a
    lone surrogate, a key that is not a string or a number) is laid out by `_indented`, each string
    quoted by json's C function, and anything else is left to json."""
    try:
        text = msgspec.json.format(_encode_json(value), indent=2).decode("utf-8")
    except (TypeError, UnicodeEncodeError, msgspec.EncodeError):
        return _indented(value, pad)
    return text.replace("\n", "\n" + pad) if pad else text


_encode_json = msgspec.json.Encoder().encode


def _indented(value: Any, pad: str = "") -> str:
    kind = type(value)
    if kind is str:
        return _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return _float_json(value)
    inner = pad + "  "
    if kind is dict:
        if not value:
            return "{}"
        if all(type(k) is str for k in value):
            return (
                "{\n"
                + ",\n".join(f"{inner}{_quote(k)}: {_indented(v, inner)}" for k, v in value.items())
                + f"\n{pad}}}"
            )
    elif kind is list or kind is tuple:
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _indented(v, inner) for v in value) + f"\n{pad}]"
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)


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
