"""Backups of the registry: automatic before imports, re-keys and removals, and on request.

A backup is a complete, consistent copy (SQLite's online backup API), still encrypted, written to a
new 0600 file in a `backups/` folder beside the registry (or a folder the operator names). Backups
never overwrite anything; restore refuses to replace a registry that is newer than the backup
without being told to.

A registry on a PostgreSQL server has no folder of its own: its backups (SQLite files holding the
same rows, see PostgresBackend.backup_to) go to AUDITOR_BACKUP_DIR, or `backups/` in the user data
directory of whoever runs the command, named after the database.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from vault.kinds import INVENTORY
from vault.registry import Registry
from vault.revealog import RevealLog


def _is_server(registry: Registry) -> bool:
    return registry.backend.location.startswith(("postgresql://", "postgres://"))


def backup_dir(registry: Registry) -> Path:
    override = os.environ.get("AUDITOR_BACKUP_DIR")
    if override:
        return Path(override)
    if _is_server(registry):
        from platformdirs import user_data_dir

        return Path(user_data_dir("auditor", appauthor=False)) / "backups"
    return Path(registry.backend.location).expanduser().resolve().parent / "backups"


def backup_stem(registry: Registry) -> str:
    """The start of every backup file name of this registry (`<stem>-<UTC stamp>-<reason>.db`)."""
    if _is_server(registry):
        from urllib.parse import urlsplit

        parts = urlsplit(registry.backend.location)
        db = parts.path.strip("/") or "registry"
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{parts.hostname or 'local'}-{db}")
        return f"pg-{name}"[:64]
    return Path(registry.backend.location).stem or "registry"


def take_backup(registry: Registry, reason: str, directory: Path | None = None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    safe = "".join(c if c.isalnum() else "-" for c in reason)[:32].strip("-") or "manual"
    folder = directory or backup_dir(registry)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = backup_stem(registry)
    target = folder / f"{stem}-{stamp}-{safe}.db"
    log_backup(registry, str(target), reason)  # first, so the copy's own log says it was taken
    registry.backend.backup_to(str(target))
    return str(target)


def log_backup(registry: Registry, path: str, reason: str) -> None:
    """A backup is a full copy of the ciphertext: it goes in the log. A registry opened without
    unlocking (the copy kept before a restore, the upgrader's first backup) cannot log."""

    if registry.legacy or not registry.has_domain(INVENTORY):
        return
    RevealLog(registry).append("backup", details={"file": Path(path).name, "why": reason})
