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
from vault.rekey import RekeyResult, add_identity, grant_scopes, revoke_scopes, rotate_identity
from vault.unlock import find_passphrase, keyring_set

app = typer.Typer(
    help="Identities: district administrators (every escrow scope), building administrators (their "
    "schools' credentials), auditors (scheduled audits) and compliance (inventory, log and reports).",
    no_args_is_help=True,
)

ScopeOpt = Annotated[
    list[str],
    typer.Option(
        "--scope",
        metavar="BUILDING",
        help="An escrow scope: a building's name as the accounts give it (e.g. \"Naperville North High "
        'School"), or district. Repeatable.',
    ),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Short name, e.g. jsmith or it-nightly.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            metavar="ROLE",
            help="district-admin (every escrow scope, identities, policy), building-admin (the --scope "
            "buildings' credentials), auditor (inventory only: scheduled audits) or compliance (inventory, "
            "log, reports; no secrets). Required: never a default, since it decides who reads which passwords.",
        ),
    ],
    scope: ScopeOpt = [],  # noqa: B006 (typer reads the default; never mutated)
    email: Annotated[str, typer.Option("--email", help="Contact email of the person or team.")] = "",
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option("--new-passphrase-file", help="Read the new identity's passphrase from this 0600 file."),
    ] = None,
) -> None:
    """Add an identity (needs a district administrator to unlock).

    Examples:

        auditor identity add mlee --role district-admin

        auditor identity add jpark --role building-admin --scope "Naperville North High School"

        auditor identity add it-nightly --role auditor --new-passphrase-file /etc/auditor/nightly.pass
    """
    try:
        wanted = Role.parse(role)
    except ValueError as exc:
        raise UsageError(f"--role: {exc}") from exc
    import os

    reg = app_context(ctx).registry(admin=True)
    passphrase = new_passphrase(new_passphrase_file, name)
    ident = add_identity(
        reg,
        name,
        wanted,
        passphrase,
        scopes=scope,
        kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "default"),
        email=email,
    )
    scopes = f"; escrow scopes: {', '.join(scope)}" if scope else ""
    echo(f"Added identity {ident.name} ({ident.role.label}{scopes})")


@app.command("grant")
def grant(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A building administrator identity.")],
    scope: ScopeOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the log).")] = "",
) -> None:
    """Let a building administrator open the credentials of more buildings (district administrator only).

    The scope's key is wrapped to the identity's public key; the grant is logged.

    Examples:

        auditor identity grant jpark --scope "Naperville Central High School" --reason "covering for spring"
    """
    reg = app_context(ctx).registry(admin=True)
    added = grant_scopes(reg, name, scope, reason=reason)
    if added:
        echo(f"{name} may now open the credentials of: {', '.join(added)}.")
    else:
        echo(f"{name} already held {', '.join(scope)}; nothing was changed.")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A building administrator identity.")],
    scope: ScopeOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the log).")] = "",
) -> None:
    """Take escrow scopes from a building administrator: their keys are replaced (district administrator only).

    Every credential of the scope is re-sealed under a new key the identity never held, after a
    backup, and each account in it with escrowed credentials gets a rotation task: the identity
    could read them, and a re-keyed file does not change the real passwords.

    Examples:

        auditor identity revoke jpark --scope "Naperville North High School" --reason "moved to Central"
    """
    reg = app_context(ctx).registry(admin=True)
    result = revoke_scopes(reg, name, scope, reason=reason)
    echo(f"Revoked {', '.join(result.scopes)} from {name}: new scope key(s), credentials re-sealed.")
    if result.backup:
        echo(f"Backup taken first: {result.backup}")
    if result.tasks:
        echo(f"Opened {len(result.tasks)} rotation task(s): `auditor task list` shows them.")


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
            "role": i.role.label,
            "scopes": "every scope" if i.role is Role.ADMIN else ", ".join(i.scopes),
            "email": i.email,
            "created_at": i.created_at,
            "created_by": i.created_by,
        }
        for i in reg.identities()
    ]
    cols = [
        ("name", "Name"),
        ("role", "Role"),
        ("scopes", "Escrow scopes"),
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
