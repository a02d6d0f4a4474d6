"""Options and small helpers shared by command modules."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from auditor.cli.output import OutputFormat
from auditor.errors import AuditorError, UsageError

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
    typer.echo(text.rstrip("\n"))


def echo_error(exc: AuditorError) -> None:
    """`error: ...` and `hint: ...` on stderr: the one way the CLI reports an AuditorError."""
    typer.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        typer.echo(f"hint: {exc.hint}", err=True)
