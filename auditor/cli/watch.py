"""`auditor watch ...`: staff-reported handles that every audit looks at (auditor/services/watchlist.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, render_rows
from auditor.services import watchlist

app = typer.Typer(
    help="The watchlist: handles staff reported as possible impostors, looked at by every audit.",
    no_args_is_help=True,
)
Ref = Annotated[str, typer.Argument(help="PLATFORM:HANDLE or the profile's URL.", show_default=False)]


@app.command("add")
def add(
    ctx: typer.Context,
    ref: Ref,
    note: Annotated[str, typer.Option("--note", help="Who reported it, and why.")] = "",
) -> None:
    """Watch a handle: every audit looks it up until it is removed.

    A finding on it resolves only when a run looked and found it gone; a handle that does not exist
    (yet) is reported at info severity, and flagged as usual if it appears and imitates the district.

    Example:

        auditor watch add x:TheReal203Superintendent --note "reported by a parent, 3 March"
    """
    entry = watchlist.add(app_context(ctx).registry(admin=True), ref, note)
    echo(f"Watching {entry.ref}: every audit looks it up.")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False) -> None:
    """List the watched handles.

    Example:

        auditor watch list --format csv
    """
    rows = [w.to_dict() for w in watchlist.list_watched(app_context(ctx).registry())]
    cols = [
        ("platform", "Platform"),
        ("display", "Handle"),
        ("note", "Note"),
        ("added_by", "Added by"),
        ("added_at", "Added"),
    ]
    echo(
        render_rows(
            rows, cols, pick_format(fmt, as_json), schema="auditor/watchlist", empty="Nothing is watched."
        )
    )


@app.command("remove")
def remove(ctx: typer.Context, ref: Ref) -> None:
    """Stop watching a handle (its findings are then judged like any other look-alike's).

    Example:

        auditor watch remove x:TheReal203Superintendent
    """
    entry = watchlist.remove(app_context(ctx).registry(admin=True), ref)
    echo(f"No longer watching {entry.ref}.")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="CSV (platform,handle,note) or one PLATFORM:HANDLE or URL a line.")
    ],
) -> None:
    """Watch every handle of a staff-reported file; a bad line imports nothing and is named.

    Example:

        auditor watch import reported.csv

        auditor watch import reported.txt   # lines like x:d203_supt or https://www.instagram.com/nnhs.offical
    """
    entries = watchlist.import_file(app_context(ctx).registry(admin=True), file)
    echo(f"Watching {len(entries)} handle(s) from {file.name}.")
