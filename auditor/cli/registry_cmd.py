"""`auditor registry ...`: health, backups and restore of the registry itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context, is_server_url, make_backend
from auditor.cli.output import OutputFormat
from auditor.model.errors import UsageError
from auditor.model.safetext import inert
from auditor.services import registry_admin
from vault.maintenance import check_registry
from vault.registry import FORMAT_VERSION

app = typer.Typer(
    help="The registry itself: check, back up, restore, upgrade, migrate between SQLite and PostgreSQL.",
    no_args_is_help=True,
)


@app.command("info")
def info(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False) -> None:
    """Show where the registry is and its format, without unlocking it.

    Example:

        auditor registry info
    """

    app_ctx = app_context(ctx)
    data = registry_admin.describe(make_backend(app_ctx.location), app_ctx.location)
    if pick_format(fmt, as_json) is OutputFormat.JSON:
        echo(json.dumps({"schema": "auditor/registry-info", "version": 1, "item": data}, indent=2))
    else:
        for k, v in data.items():
            echo(f"{k.replace('_', ' '):<26} {v}")


@app.command("check")
def check(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False) -> None:
    """Check everything someone with write access to the database could have changed.

    The database's own integrity check; the header, identities, wrapped keys and break-glass
    metadata against the registry's authenticated manifests; every kind's records against its
    authenticated head (replayed, deleted or inserted rows); every record decrypted; orphaned
    credential versions; the log's chain and head. Exit code 0 when healthy, 1 when anything is
    wrong. An auditor identity checks everything but the credentials. Example:

        auditor registry check
    """

    reg = app_context(ctx).registry(tolerant=True)
    report = check_registry(reg)
    if pick_format(fmt, as_json) is OutputFormat.JSON:
        echo(
            json.dumps(
                {
                    "schema": "auditor/registry-check",
                    "version": 2,
                    "healthy": report.healthy,
                    "database_problems": report.database_problems,
                    "tampered": [{"kind": t.kind, "id": t.record_id} for t in report.tampered],
                    "problems": [
                        {"kind": type(p).__name__, "subject": getattr(p, "subject", ""), "message": p.message}
                        for p in report.problems
                    ],
                    "records_ok": report.records_ok,
                    "not_checked": report.skipped_kinds,
                    "log": report.log,
                },
                indent=2,
            )
        )
    else:
        echo("Database integrity: " + ("ok" if not report.database_problems else "PROBLEMS"))
        for problem in report.database_problems:
            echo(f"  {inert(problem)}")
        for kind, n in sorted(report.records_ok.items()):
            echo(f"{kind:<14} {n} record(s) decrypted and authenticated")
        for t in report.tampered:
            echo(f"TAMPERED       {t.kind} {t.record_id}")
        for kind in report.skipped_kinds:
            echo(f"{kind:<14} not checked: needs an admin identity")
        if report.log:
            echo(f"Log: {report.log}")
        for p in report.problems:
            echo(f"PROBLEM        {inert(p.message)}")
        echo(
            "Registry is healthy."
            if report.healthy
            else "Registry has problems: restore a backup taken before them (`auditor registry restore`)."
        )
    if not report.healthy:
        raise typer.Exit(1)


@app.command("backup")
def backup(
    ctx: typer.Context,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="A folder, or a file name where {date} and {time} become today's (default: backups/ beside the registry).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file of that name.")] = False,
    keep: Annotated[
        int | None,
        typer.Option("--keep", min=1, help="Then delete all but the newest N backups of the same series."),
    ] = None,
) -> None:
    """Write a consistent, still-encrypted copy of the registry (mode 0600).

    A file that exists is never overwritten unless --force is given; for a nightly job name a
    folder or put {date} in the name, and prune with --keep.

    Example:

        auditor registry backup -o /mnt/backup/registry-{date}.db --keep 30

        auditor registry backup -o /mnt/backup/          (a dated file in the folder)
    """

    result = registry_admin.backup(app_context(ctx).registry(), output, force=force, keep=keep)
    echo(f"Backup written to {result.path}")
    for old in result.pruned:
        echo(f"Deleted old backup {old}")


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

    Unlocks the backup as an administrator to record the restore in it (a `restore` event), so
    machines that saw the newer registry accept the older state instead of reporting a rollback.

    Example:

        auditor registry restore ~/.local/share/auditor/backups/registry-20261121T101500Z-manual.db
    """

    app_ctx = app_context(ctx)
    if is_server_url(app_ctx.location):
        raise UsageError(
            "restore replaces an SQLite file; a PostgreSQL registry is restored by copying the backup "
            "into an empty database",
            "auditor registry migrate --from BACKUP.db --to postgresql://USER@HOST/NEWDB, then point "
            "AUDITOR_REGISTRY at the new database (docs/postgres.md, Backups).",
        )
    if not backup_file.exists():
        raise UsageError(f"{backup_file} does not exist")
    if not yes and not typer.confirm(f"Replace {app_ctx.location} with {backup_file}?"):
        raise typer.Exit(1)
    safety = registry_admin.restore(
        backup_file,
        make_backend(str(backup_file)),
        Path(app_ctx.location),
        app_ctx.passphrase,
        force=force,
    )
    echo(f"Restored {app_ctx.location} from {backup_file}")
    if safety:
        echo(f"The previous registry was kept at {safety}")


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Bring the registry's format up to this version of auditor (a backup is taken first).

    Database schema steps run first, then format steps. A format step that needs keys (format 2
    authenticates the key metadata as it stands) unlocks as an administrator, with the usual
    passphrase sources. Example:

        auditor --identity it-admin registry upgrade
    """

    app_ctx = app_context(ctx)
    result = registry_admin.upgrade(
        make_backend(app_ctx.location), app_ctx.passphrase, lambda line: echo(f"Upgraded {line}")
    )
    if not result.backup:  # no backup taken: nothing was to do
        echo(f"Registry is at format {FORMAT_VERSION}, the current one; nothing to do.")
        return
    echo(f"Backup of the previous format: {result.backup}")


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Option("--from", help="The registry to copy: an SQLite file or a postgresql:// URL.")
    ],
    dest: Annotated[
        str,
        typer.Option("--to", help="Where to copy it: a new SQLite file or an empty PostgreSQL database."),
    ],
    no_decrypt: Annotated[
        bool,
        typer.Option(
            "--no-decrypt", help="Verify rows byte for byte only; do not unlock to decrypt every record."
        ),
    ] = False,
) -> None:
    """Copy a registry to another backend in one transaction, then verify every row of the copy.

    The destination must be empty. After the row-by-row comparison, the copy is unlocked (with the
    usual passphrase sources) to decrypt every record and verify the log chain. Progress goes to
    stderr; exit code 1 if anything differs. Examples:

        auditor registry migrate --from ~/.local/share/auditor/registry.db --to postgresql://auditor_owner@db.d203.org/auditor

        auditor registry migrate --from postgresql://auditor_app@db.d203.org/auditor --to /mnt/backup/registry.db
    """

    app_ctx = app_context(ctx)
    result = registry_admin.migrate(
        make_backend(source),
        lambda: make_backend(dest),
        app_ctx.passphrase,
        decrypt=not no_decrypt,
        progress=lambda line: typer.echo(line, err=True),
    )
    if no_decrypt:
        tail = "every row verified"
    elif result.decrypted:
        tail = "every row verified, every record decrypted, log chain verified"
    else:
        tail = "every row verified (records not decrypted: no passphrase available)"
    echo(f"Migrated to {result.location}: {result.copied.summary()}; {tail}.")
