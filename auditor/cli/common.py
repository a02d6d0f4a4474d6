"""Options and small helpers shared by command modules."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from auditor.cli.output import OutputFormat
from auditor.model.errors import AuditorError, InputError, UsageError
from auditor.model.safetext import inert

FormatOpt = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        help="Output format: table for people, json or csv for scripts.",
        case_sensitive=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
# `audit` and `finding list`: a table of 300,000 findings helps nobody; JSON and CSV give them all.
TABLE_LIMIT = 50
LimitOpt = Annotated[
    int,
    typer.Option(
        "--limit",
        metavar="N",
        min=0,
        help="Table: show the first N findings, then how many there are (0: all). JSON and CSV give every one.",
    ),
]
# `person import` and `account import`: how an empty cell reads (docs/import.md, "Merge, never blank").
ClearEmptyOpt = Annotated[
    bool,
    typer.Option(
        "--clear-empty",
        help="An empty cell clears its field (default: an empty cell, or a column the file lacks, changes nothing).",
    ),
]


def pick_format(fmt: OutputFormat, as_json: bool) -> OutputFormat:
    return OutputFormat.JSON if as_json else fmt


def day(value: str | None, option: str) -> date | None:
    """Parse a YYYY-MM-DD option; "" or "none" clears the field."""
    if value is None:
        return None
    if value.strip().lower() in ("", "none", "-"):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"{option}: {value!r} is not a date", "Use YYYY-MM-DD, e.g. 2026-09-01.") from exc


def echo(text: str) -> None:
    """Print to stdout. Everything printed passes through `auditor.model.safetext.inert`: text quoting
    a profile, a name or a file can never send a terminal an escape sequence, a bare CR, a
    backspace or a bidi override (they are shown as `\\x1b`, `\\r`, `\\u202e`)."""
    # inert first: a CSV ends with CRLF, and stripping the LF first would leave a lone CR to escape.
    typer.echo(inert(text).rstrip("\n"))


def echo_err(text: str) -> None:
    """`echo` for stderr: warnings, notes and problem lists."""
    typer.echo(inert(text).rstrip("\n"), err=True)


def echo_error(exc: AuditorError) -> None:
    """`error: ...` and `hint: ...` on stderr: the one way the CLI reports an AuditorError.

    An error that lists several problems (an import naming every bad line) prints each of them
    as its own `error:` line before the hint."""
    problems = getattr(exc, "problems", None) if isinstance(exc, InputError) else None
    for message in problems or [exc.message]:
        echo_err(f"error: {message}")
    if exc.hint:
        echo_err(f"hint: {exc.hint}")
