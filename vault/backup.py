"""Backups of the registry: automatic before imports, re-keys and removals, and on request.

A backup is a complete, consistent copy (SQLite's online backup API), still encrypted, written to a
new 0600 file in a `backups/` folder beside the registry (or a folder the operator names). Backups
never overwrite anything; restore refuses to replace a registry that is newer than the backup
without being told to.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from vault.registry import Registry


def backup_dir(registry: Registry) -> Path:
    override = os.environ.get("AUDITOR_BACKUP_DIR")
    if override:
        return Path(override)
    return Path(registry.backend.location).expanduser().resolve().parent / "backups"


def take_backup(registry: Registry, reason: str, directory: Path | None = None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    safe = "".join(c if c.isalnum() else "-" for c in reason)[:32].strip("-") or "manual"
    folder = directory or backup_dir(registry)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = Path(registry.backend.location).stem or "registry"
    target = folder / f"{stem}-{stamp}-{safe}.db"
    registry.backend.backup_to(str(target))
    return str(target)
