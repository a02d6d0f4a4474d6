"""Administering the registry itself: describe, back up, restore, upgrade, migrate.

Each function takes opened backends and a way to get credentials (`Credentials`: who unlocks a
given registry and with what, from the CLI's usual passphrase sources) and reports progress
through a callback; the CLI parses options, renders and picks the exit code.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.model.errors import UsageError
from auditor.model.types import Role, Secret
from auditor.services.history import convert_run_storage
from vault import upgrades
from vault.backends.migrate import CopyResult, copy_registry, verify_rows
from vault.backends.storage import Backend
from vault.backup import backup_stem, log_backup, take_backup
from vault.errors import AccessDeniedError, VaultError
from vault.maintenance import restore_sqlite, verify_decrypt
from vault.registry import FORMAT_VERSION, Registry, utcnow
from vault.stores.audits import AuditStore

Credentials = Callable[[Registry], tuple[str | None, Secret]]
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def describe(backend: Backend, location: str) -> dict[str, Any]:
    """Where the registry is and its format, without unlocking it (an older one too)."""
    backend.allow_older_schema = True  # info describes an older registry too: it says to upgrade
    reg = Registry.open(backend, allow_older=True)
    try:
        pending = (
            reg.format_version < FORMAT_VERSION
            or backend.schema_pending()
            or AuditStore(reg).conversion_pending()
        )
        return {
            "location": location,
            "registry_id": reg.registry_id,
            "format_version": reg.format_version,
            "supported_format_version": FORMAT_VERSION,
            "schema_version": backend.schema_version(),
            "needs_upgrade": pending,
            "identities": len(reg.identity_rows()),
            "created_at": reg.backend.meta_get("created_at"),
        }
    finally:
        reg.close()


@dataclass(frozen=True)
class BackupResult:
    path: str
    pruned: tuple[str, ...] = ()


def backup(
    reg: Registry, output: Path | str | None, *, force: bool = False, keep: int | None = None
) -> BackupResult:
    """A consistent, still-encrypted copy, for a nightly job as much as by hand.

    `output`: none (the backups folder beside the registry), a folder (a dated file in it), or a
    file name, where `{date}` and `{time}` become today's UTC date and time. An existing file is
    replaced only with `force` (atomically: the old copy stays until the new one is complete).
    `keep`: afterwards, delete all but the newest `keep` backups of the same series (the folder's
    backups of this registry, or the files matching the name's pattern).
    """
    if keep is not None and keep < 1:
        raise UsageError("--keep must be at least 1")
    folder = output is not None and (str(output).endswith(("/", os.sep)) or Path(output).is_dir())
    if output is None or folder:
        path = Path(take_backup(reg, "manual", directory=Path(output) if output is not None else None))
        series = sorted(path.parent.glob(f"{backup_stem(reg)}-*.db"))
    else:
        now = utcnow()
        text = str(output)
        path = Path(
            text.replace("{date}", now.strftime("%Y-%m-%d")).replace("{time}", now.strftime("%H%M%S"))
        )
        if path.exists() and not force:
            raise UsageError(
                f"{path} already exists; a backup never overwrites a file unless told to",
                "Pass --force to replace it, name a folder, or put {date} in the name "
                "(e.g. -o /mnt/backup/registry-{date}.db).",
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_backup(reg, str(path), "manual")  # first, so the copy's own log says it was taken
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            reg.backend.backup_to(str(partial))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        pattern = Path(text.replace("{date}", "*").replace("{time}", "*"))
        series = sorted(pattern.parent.glob(pattern.name)) if pattern != Path(text) else [path]
    pruned: list[str] = []
    if keep is not None:
        newest_first = sorted(series, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
        for old in newest_first[keep:]:
            if old != path:
                old.unlink(missing_ok=True)
                pruned.append(str(old))
    return BackupResult(str(path), tuple(pruned))


def _restorer(backup_backend: Backend, name: str, credentials: Credentials) -> tuple[str | None, Secret]:
    """Who is restoring, settled on the backup before anything is written (not even the safety
    copy of the current registry): an administrator of the backup, the identity that will record
    the restore in it."""
    probe = Registry.open(backup_backend, allow_older=True)
    try:
        found = credentials(probe)
        role = probe.check_passphrase(*found)
    finally:
        probe.close()
    if role is not Role.ADMIN:
        raise AccessDeniedError(
            f"restoring a backup needs an admin identity; {found[0] or 'this identity'!r} is an "
            f"{role.value} identity in {name}",
            "Run the command as an administrator (--identity NAME). Nothing was written.",
        )
    return found


def restore(
    backup_file: Path, backup_backend: Backend, current: Path, credentials: Credentials, *, force: bool
) -> str:
    """Replace the SQLite registry at `current` with a backup; returns where the previous one was kept."""
    found = _restorer(backup_backend, backup_file.name, credentials)

    def unlock(copy: Registry) -> None:
        copy.unlock(*found)
        copy.require_admin("Restoring a backup")

    return restore_sqlite(backup_file, current, allow_other_registry=force, unlock=unlock)


@dataclass(frozen=True)
class UpgradeResult:
    done: tuple[str, ...]  # one line per step, "" when nothing was to do
    backup: str = ""


def upgrade(backend: Backend, credentials: Credentials, progress: Progress = _quiet) -> UpgradeResult:
    """Database schema steps (per backend) first, then the registry format steps; both versioned,
    both after one backup. A step that needs keys unlocks as an administrator, settled before
    anything changes."""
    backend.allow_older_schema = True
    reg = Registry.open(backend, allow_older=True)
    try:
        schema_pending = backend.schema_pending()
        # Audit runs stored with every finding and profile (before issue 17): converted to runs
        # stored by change, under the key, after the format steps (auditor/services/history.py).
        runs_pending = AuditStore(reg).conversion_pending()
        if reg.format_version == FORMAT_VERSION and not schema_pending and not runs_pending:
            return UpgradeResult(())
        steps = upgrades.pending(reg.format_version, FORMAT_VERSION)
        found = None
        if any(step.needs_admin for step in steps) or runs_pending:
            found = credentials(reg)
            if reg.check_passphrase(*found) is not Role.ADMIN:
                raise AccessDeniedError(
                    f"upgrading to format {FORMAT_VERSION} needs an admin identity: an administrator vouches "
                    "for the registry's key metadata as it stands",
                    "Run it as an administrator (--identity NAME).",
                )
        backup_path = take_backup(reg, f"before-upgrade-from-{reg.format_version}")
        done: list[str] = []
        if schema_pending:
            for line in backend.upgrade_schema():
                progress(line)
                done.append(line)
        if steps:
            if found is not None:
                reg.unlock(*found)
            for line in upgrades.upgrade(reg, reg.format_version, FORMAT_VERSION):
                progress(line)
                done.append(line)
        if runs_pending and found is not None:
            if reg.identity is None:
                reg.unlock(*found)
            converted = convert_run_storage(reg)
            line = f"audit runs: {converted} run(s) stored by change (summaries, changes, chunked ledger and profiles)"
            progress(line)
            done.append(line)
        return UpgradeResult(tuple(done), backup_path)
    finally:
        reg.close()


@dataclass(frozen=True)
class MigrateResult:
    copied: CopyResult
    location: str
    decrypted: bool  # False: rows verified only (--no-decrypt, or no passphrase at hand)


def migrate(
    source: Backend,
    open_dest: Callable[[], Backend],
    credentials: Credentials,
    *,
    decrypt: bool = True,
    progress: Progress = _quiet,
) -> MigrateResult:
    """Copy a registry to another (empty) backend in one transaction, then prove the copy: every
    row byte for byte, then (when `decrypt` and a passphrase is at hand) every record decrypted and
    the log chain verified. Raises VaultError naming what differs; the source is never changed."""
    src_reg = Registry.open(source)
    target = open_dest()
    try:
        result = copy_registry(src_reg.backend, target, progress)
        progress(f"copied {result.summary()} to {target.location}")
        if not target.exists():
            raise VaultError(f"the copy at {target.location} cannot be found after the copy")
        target.close()
        copied = Registry.open(open_dest())
        try:
            problems = verify_rows(src_reg.backend, copied.backend, progress)
            if problems:
                raise VaultError(
                    f"the copy at {target.location} differs from {src_reg.backend.location}: "
                    + "; ".join(problems),
                    "Do not use the copy; remove it and run the migration again. The source was not changed.",
                )
            if not decrypt or not _try_unlock(copied, credentials, progress):
                return MigrateResult(result, target.location, decrypted=False)
            problems = verify_decrypt(copied, progress)
            if problems:
                raise VaultError(
                    f"the copy at {target.location} does not decrypt cleanly: " + "; ".join(problems[:5]),
                    "Run `auditor registry check` on the source; the source was not changed.",
                )
            return MigrateResult(result, target.location, decrypted=True)
        finally:
            copied.close()
    finally:
        src_reg.close()
        target.close()


def _try_unlock(reg: Registry, credentials: Credentials, progress: Progress) -> bool:
    """Unlock the copy with the usual passphrase sources; False (with a note) when none is at hand."""
    try:
        identity, secret = credentials(reg)
    except VaultError as exc:
        progress(f"not decrypting the copy: {exc.message}")
        return False
    reg.unlock(identity, secret)
    return True
