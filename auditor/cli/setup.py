"""`auditor init` (create a registry and its first administrator) and `auditor demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import echo, echo_err
from auditor.cli.context import app_context, make_backend, new_passphrase
from auditor.model.safetext import terminal_cell
from auditor.services.demo import build_demo
from vault.registry import Registry


def init(
    ctx: typer.Context,
    admin: Annotated[
        str, typer.Option("--admin", help="Name of the first administrator identity.")
    ] = "admin",
    email: Annotated[
        str,
        typer.Option(
            "--email",
            help="The administrator's email, as in the roster: the access review and the "
            "escrow.no_secondary_admin check match identities with people by it.",
        ),
    ] = "",
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--new-passphrase-file", help="Read the new passphrase from this 0600 file instead of a prompt."
        ),
    ] = None,
) -> None:
    """Create a new, empty, encrypted registry and its first administrator.

    Example:

        auditor init --admin jsmith --email jsmith@district.org

        auditor --registry /srv/auditor/registry.db init --admin it-admin --new-passphrase-file /root/pass
    """

    app_ctx = app_context(ctx)
    passphrase = new_passphrase(new_passphrase_file or app_ctx.passphrase_file)
    import os

    profile = os.environ.get("AUDITOR_KDF_PROFILE", "default")
    reg = Registry.create(
        make_backend(app_ctx.location), admin, passphrase, kdf_profile=profile, email=email.strip()
    )
    reg.close()
    typer.echo(f"Created registry {app_ctx.location}")
    typer.echo(f"Administrator identity: {admin}")
    typer.echo(
        "Next: `auditor person import people.csv` and `auditor account import accounts.csv` (see docs/import.md)."
    )


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where to build the sample district (default: a new temporary directory)."
        ),
    ] = None,
) -> None:
    """Tell a sample district's whole story: registry, roster, escrow, an audit, a report.

    Builds the registry in a new temporary directory (nothing outside it is touched), imports the
    sample people and accounts, syncs an HR export, escrows credentials, starts loopback servers
    that answer like the platforms' APIs, audits every account as the nightly auditor identity,
    prints every finding with the policy clause it breaks, and writes an HTML report.

    Example:

        auditor demo
    """
    import sys

    def step(message: str) -> None:
        echo_err(f"- {message}")

    def progress(label: str, done: int, total: int) -> None:
        if sys.stderr.isatty() and total:
            end = "\n" if done >= total else ""
            sys.stderr.write(f"\r  {terminal_cell(label)}: {done}/{total}{end}")
            sys.stderr.flush()

    result = build_demo(directory, step=step, progress=progress)
    echo(result.summary)
