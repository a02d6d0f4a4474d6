"""`auditor identity ...`: who can unlock the registry, and with which role."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context, prompt_secret
from auditor.cli.output import OutputFormat, render_rows
from auditor.errors import UsageError
from auditor.models import Role

app = typer.Typer(
    help="Identities: administrators (inventory and escrow) and auditors (inventory only, for scheduled audits).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Short name, e.g. jsmith or it-nightly.")],
    role: Annotated[
        str, typer.Option("--role", help="admin (inventory + escrow) or auditor (inventory only).")
    ] = "admin",
    email: Annotated[str, typer.Option("--email", help="Contact email of the person or team.")] = "",
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option("--new-passphrase-file", help="Read the new identity's passphrase from this 0600 file."),
    ] = None,
) -> None:
    """Add an identity (needs an admin to unlock).

    Examples:

        auditor identity add mlee --role admin

        auditor identity add it-nightly --role auditor --new-passphrase-file /etc/auditor/nightly.pass
    """
    try:
        wanted = Role.parse(role)
    except ValueError as exc:
        raise UsageError(f"--role: {exc}") from exc
    import os

    reg = app_context(ctx).registry(admin=True)
    if new_passphrase_file:
        from vault.unlock import read_passphrase_file

        passphrase = read_passphrase_file(new_passphrase_file)
    else:
        passphrase = prompt_secret(f"New passphrase for {name} (12+ characters)", confirm=True)
    ident = reg.add_identity(
        name, wanted, passphrase, kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "default"), email=email
    )
    echo(f"Added identity {ident.name} ({ident.role.value})")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False) -> None:
    """List identities and their roles.

    Example:

        auditor identity list --format json
    """
    reg = app_context(ctx).registry()
    rows = [
        {
            "name": i.name,
            "role": i.role.value,
            "email": i.email,
            "created_at": i.created_at,
            "created_by": i.created_by,
        }
        for i in reg.identities()
    ]
    cols = [
        ("name", "Name"),
        ("role", "Role"),
        ("email", "Email"),
        ("created_at", "Created"),
        ("created_by", "By"),
    ]
    echo(render_rows(rows, cols, pick_format(fmt, as_json), schema="auditor/identities"))


@app.command("remember")
def remember(ctx: typer.Context) -> None:
    """Store the unlocking identity's passphrase in the OS keyring (desktop sessions only).

    Example:

        auditor --identity jsmith identity remember
    """
    from vault.unlock import keyring_set

    app_ctx = app_context(ctx)
    reg = app_ctx.registry()
    assert reg.identity is not None
    passphrase = prompt_secret(f"Passphrase for {reg.identity.name} (to store in the keyring)")
    # Verify before storing: a wrong passphrase in the keyring would fail every later unlock.
    from vault.registry import Registry

    probe = Registry.open(type(reg.backend)(reg.backend.location))  # type: ignore[call-arg]
    try:
        probe.unlock(reg.identity.name, passphrase)
    finally:
        probe.close()
    keyring_set(reg.registry_id, reg.identity.name, passphrase)
    echo(f"Stored the passphrase of {reg.identity.name} in the OS keyring.")


@app.command("passwd")
def passwd(
    ctx: typer.Context,
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option("--new-passphrase-file", help="Read the new passphrase from this 0600 file."),
    ] = None,
) -> None:
    """Change the unlocking identity's passphrase (the current one is asked for again).

    Only this identity's sealed private key changes: no record is re-encrypted and the other
    identities are untouched. A passphrase remembered in the OS keyring is updated too.

    Examples:

        auditor --identity jsmith identity passwd

        auditor --identity it-nightly --passphrase-file /etc/auditor/nightly.pass identity passwd --new-passphrase-file /etc/auditor/nightly.pass.new
    """
    import os
    import sys

    from vault.unlock import find_passphrase, keyring_set

    app_ctx = app_context(ctx)
    reg = app_ctx.registry()
    assert reg.identity is not None
    name = reg.identity.name
    current = find_passphrase(
        passphrase_file=app_ctx.passphrase_file,
        registry_id=reg.registry_id,
        identity=name,
        prompt=(lambda: prompt_secret(f"Current passphrase for {name}")) if sys.stdin.isatty() else None,
    )
    if new_passphrase_file:
        from vault.unlock import read_passphrase_file

        new = read_passphrase_file(new_passphrase_file)
    else:
        new = prompt_secret(f"New passphrase for {name} (12+ characters)", confirm=True)
    reg.change_passphrase(current.secret, new, kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "default"))
    if current.source == "keyring":
        keyring_set(reg.registry_id, name, new)
        echo(f"Changed the passphrase of {name} and updated the OS keyring.")
    else:
        echo(f"Changed the passphrase of {name}.")
