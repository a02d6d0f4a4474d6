"""`auditor registry ...`: health, backups and restore of the registry itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context, is_server_url, make_backend
from auditor.cli.output import OutputFormat
from auditor.errors import UsageError

app = typer.Typer(help="The registry file: check, back up, restore, upgrade.", no_args_is_help=True)


@app.command("info")
def info(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False) -> None:
    """Show where the registry is and its format, without unlocking it.

    Example:

        auditor registry info
    """
    from vault.registry import FORMAT_VERSION, Registry

    app_ctx = app_context(ctx)
    reg = Registry.open(make_backend(app_ctx.location))
    try:
        data = {
            "location": app_ctx.location,
            "registry_id": reg.registry_id,
            "format_version": reg.format_version,
            "supported_format_version": FORMAT_VERSION,
            "identities": len(reg.identity_rows()),
            "created_at": reg.backend.meta_get("created_at"),
        }
    finally:
        reg.close()
    if pick_format(fmt, as_json) is OutputFormat.JSON:
        echo(json.dumps({"schema": "auditor/registry-info", "version": 1, "item": data}, indent=2))
    else:
        for k, v in data.items():
            echo(f"{k.replace('_', ' '):<26} {v}")


@app.command("check")
def check(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False) -> None:
    """Run the database integrity check and decrypt every record; name each one that fails.

    Exit code 0 when healthy, 1 when anything is wrong. Example:

        auditor registry check
    """
    from vault.maintenance import check_registry

    reg = app_context(ctx).registry()
    report = check_registry(reg)
    if pick_format(fmt, as_json) is OutputFormat.JSON:
        echo(
            json.dumps(
                {
                    "schema": "auditor/registry-check",
                    "version": 1,
                    "healthy": report.healthy,
                    "database_problems": report.database_problems,
                    "tampered": [{"kind": t.kind, "id": t.record_id} for t in report.tampered],
                    "records_ok": report.records_ok,
                    "not_checked": report.skipped_kinds,
                },
                indent=2,
            )
        )
    else:
        echo("Database integrity: " + ("ok" if not report.database_problems else "PROBLEMS"))
        for problem in report.database_problems:
            echo(f"  {problem}")
        for kind, n in sorted(report.records_ok.items()):
            echo(f"{kind:<14} {n} record(s) decrypted and authenticated")
        for t in report.tampered:
            echo(f"TAMPERED       {t.kind} {t.record_id}")
        for kind in report.skipped_kinds:
            echo(f"{kind:<14} not checked: needs an admin identity")
        echo(
            "Registry is healthy."
            if report.healthy
            else "Registry has problems: restore the named records from a backup."
        )
    if not report.healthy:
        raise typer.Exit(1)


@app.command("backup")
def backup(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Backup file to create (must not exist).")
    ] = None,
) -> None:
    """Write a consistent, still-encrypted copy of the registry (mode 0600).

    Example:

        auditor registry backup -o /mnt/backup/registry-2026-11-21.db
    """
    from vault.backup import take_backup

    reg = app_context(ctx).registry()
    if output is not None:
        reg.backend.backup_to(str(output))
        path = str(output)
    else:
        path = take_backup(reg, "manual")
    echo(f"Backup written to {path}")


@app.command("restore")
def restore(
    ctx: typer.Context,
    backup_file: Annotated[
        Path, typer.Argument(help="A backup made by `auditor registry backup` or automatically.")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Allow a backup of a different registry.")] = False,
) -> None:
    """Replace the registry with a backup; the current registry is backed up first.

    Example:

        auditor registry restore ~/.local/share/auditor/backups/registry-20261121T101500Z-manual.db
    """
    from vault.maintenance import restore_sqlite

    app_ctx = app_context(ctx)
    if is_server_url(app_ctx.location):
        raise UsageError("restore works on SQLite registries; use `auditor registry migrate` for PostgreSQL")
    if not backup_file.exists():
        raise UsageError(f"{backup_file} does not exist")
    if not yes and not typer.confirm(f"Replace {app_ctx.location} with {backup_file}?"):
        raise typer.Exit(1)
    safety = restore_sqlite(backup_file, Path(app_ctx.location), allow_other_registry=force)
    echo(f"Restored {app_ctx.location} from {backup_file}")
    if safety:
        echo(f"The previous registry was kept at {safety}")


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Bring the registry's format up to this version of auditor (a backup is taken first).

    Example:

        auditor registry upgrade
    """
    from vault import upgrades
    from vault.backup import take_backup
    from vault.registry import FORMAT_VERSION, Registry

    app_ctx = app_context(ctx)
    reg = Registry.open(make_backend(app_ctx.location), allow_older=True)
    try:
        if reg.format_version == FORMAT_VERSION:
            echo(f"Registry is at format {FORMAT_VERSION}, the current one; nothing to do.")
            return
        backup = take_backup(reg, f"before-upgrade-from-{reg.format_version}")
        for line in upgrades.upgrade(reg.backend, reg.format_version, FORMAT_VERSION):
            echo(f"Upgraded {line}")
        echo(f"Backup of the previous format: {backup}")
    finally:
        reg.close()
