"""`auditor identity ...`: who can unlock the registry, and with which role."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context, new_passphrase, prompt_secret
from auditor.cli.escrow_workflows import remove_identity
from auditor.cli.output import OutputFormat, render_rows
from auditor.model.errors import UsageError
from auditor.model.types import Role
from vault.registry import Registry
from vault.rekey import RekeyResult, rotate_identity
from vault.unlock import find_passphrase, keyring_set

app = typer.Typer(
    help="Identities: administrators (inventory and escrow) and auditors (inventory only, for scheduled audits).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Short name, e.g. jsmith or it-nightly.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="admin (inventory + every escrowed credential) or auditor (inventory only). Required: "
            "an administrator can read every credential in the district, so it is never the default.",
        ),
    ],
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
    passphrase = new_passphrase(new_passphrase_file, name)
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

    app_ctx = app_context(ctx)
    reg = app_ctx.registry()
    assert reg.identity is not None
    passphrase = prompt_secret(f"Passphrase for {reg.identity.name} (to store in the keyring)")
    # Verify before storing: a wrong passphrase in the keyring would fail every later unlock.

    probe = Registry.open(type(reg.backend)(reg.backend.location))  # type: ignore[call-arg]
    try:
        probe.unlock(reg.identity.name, passphrase)
    finally:
        probe.close()
    keyring_set(reg.registry_id, reg.identity.name, passphrase)
    echo(f"Stored the passphrase of {reg.identity.name} in the OS keyring.")


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The identity whose passphrase (or key) may have leaked.")],
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option("--new-passphrase-file", help="Read its new passphrase from this 0600 file."),
    ] = None,
    no_tasks: Annotated[
        bool,
        typer.Option(
            "--no-tasks",
            help="Open no rotation tasks (only when no copy of the registry can have leaked with the passphrase).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Give an identity a new key pair and passphrase, and re-key every domain it held.

    What to do after a leaked passphrase: `identity passwd` only re-seals the same key, so the old
    passphrase still opens any older copy of the registry (the automatic backups beside it).
    After `rotate`, the old passphrase and every older copy open only retired keys. Needs an
    administrator; a backup is taken first. Rotation tasks are opened for every escrowed account the
    identity could read (whoever had the passphrase and a copy could have read them).

    Examples:

        auditor identity rotate jsmith

        auditor identity rotate it-nightly --new-passphrase-file /etc/auditor/nightly.pass.new --yes
    """
    import os

    reg = app_context(ctx).registry(admin=True)
    passphrase = new_passphrase(new_passphrase_file, name)
    if not yes and not typer.confirm(f"Give {name} a new key pair and re-key the registry?"):
        raise typer.Exit(1)
    result = rotate_identity(
        reg,
        name,
        passphrase,
        kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "default"),
        open_tasks=not no_tasks,
    )
    _report_rotation(name, result)


def _report_rotation(name: str, result: object) -> None:

    assert isinstance(result, RekeyResult)
    echo(f"Gave {name} a new key pair. Backup taken first: {result.backup}")
    echo(
        f"Re-keyed {', '.join(result.domains)} ({result.records} records re-encrypted; key versions "
        f"{', '.join(f'{d} {v}' for d, v in result.key_versions.items())}). The old passphrase and older "
        "copies of the registry open only retired keys."
    )
    if result.tasks:
        echo(f"Opened {len(result.tasks)} rotation task(s); `auditor task list` shows them.")


@app.command("passwd")
def passwd(
    ctx: typer.Context,
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option("--new-passphrase-file", help="Read the new passphrase from this 0600 file."),
    ] = None,
    rotate_keys: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="Also replace the key pair and re-key (after a leak: see `identity rotate`; administrators).",
        ),
    ] = False,
) -> None:
    """Change the unlocking identity's passphrase (the current one is asked for again).

    Only this identity's sealed private key changes: no record is re-encrypted and the other
    identities are untouched, so the old passphrase still opens older copies of the registry
    (backups). If the old passphrase leaked, use --rotate (or `identity rotate NAME`). A passphrase
    remembered in the OS keyring is updated too.

    Examples:

        auditor --identity jsmith identity passwd

        auditor --identity jsmith identity passwd --rotate

        auditor --identity it-nightly --passphrase-file /etc/auditor/nightly.pass identity passwd --new-passphrase-file /etc/auditor/nightly.pass.new
    """
    import os
    import sys

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
    new = new_passphrase(new_passphrase_file, name)
    if rotate_keys:
        reg.require_admin("Rotating keys (--rotate)")
        reg.check_passphrase(name, current.secret)  # as for a plain change: the current one again
        result = rotate_identity(reg, name, new, kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "default"))
        _report_rotation(name, result)
    else:
        reg.change_passphrase(
            current.secret, new, kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "default")
        )
    if current.source == "keyring":
        keyring_set(reg.registry_id, name, new)
        echo(f"Changed the passphrase of {name} and updated the OS keyring.")
    else:
        echo(f"Changed the passphrase of {name}.")


# Removing an identity is an escrow workflow (re-keying, rotation tasks): it lives with offboard.
app.command("remove")(remove_identity)
