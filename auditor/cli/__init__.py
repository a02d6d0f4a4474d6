"""The `auditor` command line: one Typer app per command group, joined here.

This module must stay cheap to import (`auditor --help` starts in well under 0.3 s): each command
group's module is imported only when that group runs (auditor/cli/lazy.py), so command modules
import what they need at module top.

Exit codes: 0 clean, 1 operational error (an `AuditorError`), 2 usage error, 3 an audit found
problems at or above `--fail-on`.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Annotated, Any

import typer

from auditor import __version__
from auditor.cli.common import echo_error
from auditor.cli.context import AppContext
from auditor.cli.lazy import COMMANDS, LazyGroup
from auditor.model.errors import AuditorError


class AuditorGroup(LazyGroup):
    """The root group: commands load lazily (auditor/cli/lazy.py), and this is the single error
    boundary: an AuditorError becomes `error:` / `hint:` on stderr and its exit code.

    Anything else escaping is a bug and gets a traceback, without local variables (they may hold
    secrets: see pretty_exceptions_show_locals below).
    """

    lazy_commands = COMMANDS

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            echo_error(exc)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="auditor",
    cls=AuditorGroup,
    help=(
        "Keep the district's inventory of official social-media accounts, escrow their credentials, "
        "and audit them against the district's policy.\n\n"
        "Start with `auditor init`, then `auditor person import` and `auditor account import`. "
        "Try `auditor demo` to see it on a sample district."
    ),
    epilog="Exit codes: 0 clean, 1 error, 2 usage error, 3 findings at or above --fail-on. Docs: docs/ in the source.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            envvar="AUDITOR_REGISTRY",
            metavar="PATH",
            help="Registry file (default: your user data directory, e.g. ~/.local/share/auditor/registry.db).",
            show_default=False,
        ),
    ] = None,
    identity: Annotated[
        str | None,
        typer.Option(
            "--identity",
            envvar="AUDITOR_IDENTITY",
            metavar="NAME",
            help="Identity that unlocks the registry.",
        ),
    ] = None,
    passphrase_file: Annotated[
        str | None,
        typer.Option(
            "--passphrase-file",
            envvar="AUDITOR_PASSPHRASE_FILE",
            metavar="FILE",
            help="File holding the identity's passphrase (must be mode 0600). Never pass a passphrase itself.",
        ),
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Global options apply to every command."""
    obj = AppContext(
        registry_location=registry, identity=identity, passphrase_file=passphrase_file, verbose=verbose
    )
    ctx.obj = obj
    ctx.call_on_close(obj.close)


def main() -> None:
    # Every file this process creates (registry, backups, exports, reports) is private by default.
    os.umask(0o077)
    # A command holds what it read (100,000 accounts are 300,000 objects) until it ends, and at the
    # default thresholds the cyclic collector walks all of it again and again as the output is built:
    # a third of `account list` at 100k. Young garbage cycles are still collected every 100,000
    # allocations; the older generations are examined a fiftieth as often (auditor/model/gcpause.py).
    gc.set_threshold(100_000, 50, 50)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
