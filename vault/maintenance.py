"""Whole-registry checks and restore: `auditor registry check` and `auditor registry restore`.

The check runs the database's own integrity check, then decrypts every record it holds the key for
and names each one that fails. Restore validates the backup before touching anything, keeps a
backup of the registry it replaces, and swaps files atomically.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from vault.errors import RecordTamperedError, RegistryDamagedError, VaultError
from vault.registry import ESCROW, INVENTORY, Registry

# Record kinds encrypted under the escrow key; everything else is under the inventory key.
ESCROW_KINDS = frozenset({"credential"})


def domain_of(kind: str) -> str:
    return ESCROW if kind in ESCROW_KINDS else INVENTORY


@dataclass
class CheckReport:
    database_problems: list[str] = field(default_factory=list)
    tampered: list[RecordTamperedError] = field(default_factory=list)
    records_ok: dict[str, int] = field(default_factory=dict)
    skipped_kinds: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.database_problems and not self.tampered


def check_registry(registry: Registry) -> CheckReport:
    report = CheckReport(database_problems=registry.backend.integrity_check())
    with registry.snapshot():
        for kind in registry.backend.kinds():
            domain = domain_of(kind)
            if not registry.has_domain(domain):
                report.skipped_kinds.append(kind)
                continue
            ok = 0
            for rec in registry.scan(kind, domain):
                if isinstance(rec, RecordTamperedError):
                    report.tampered.append(rec)
                else:
                    ok += 1
            report.records_ok[kind] = ok
    return report


def restore_sqlite(backup: Path, target: Path, *, allow_other_registry: bool) -> str:
    """Replace the registry at `target` with `backup`. Returns the path of the safety copy."""
    from vault.backup import take_backup
    from vault.sqlite import SQLiteBackend

    probe = Registry.open(SQLiteBackend(backup))
    backup_id = probe.registry_id
    probe.close()
    safety = ""
    if target.exists():
        try:
            current = Registry.open(SQLiteBackend(target))
        except RegistryDamagedError:
            # A damaged registry is kept aside, byte for byte, rather than overwritten.
            aside = target.with_name(target.name + ".damaged")
            n = 1
            while aside.exists():
                aside = target.with_name(f"{target.name}.damaged.{n}")
                n += 1
            shutil.copy2(target, aside)
            safety = str(aside)
        else:
            try:
                if current.registry_id != backup_id and not allow_other_registry:
                    raise VaultError(
                        f"{backup} is a backup of a different registry",
                        "Pass --force if you really mean to replace this registry with another one.",
                    )
                safety = take_backup(current, "before-restore")
            finally:
                current.close()
    tmp = target.with_name(target.name + ".restoring")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out, open(backup, "rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(tmp, target)
    return safety
