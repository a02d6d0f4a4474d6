"""Whole-registry checks and restore: `auditor registry check` and `auditor registry restore`.

The check runs the database's own integrity check, verifies the key metadata and heads against the
authenticated manifests (vault/heads.py), then decrypts every record it holds the key for and names
each one that fails. Restore validates the backup before touching anything, keeps a
backup of the registry it replaces, and swaps files atomically.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.model.errors import AuditorError
from vault import kinds as kinds_mod
from vault.backends.sqlite import SQLiteBackend
from vault.backup import take_backup
from vault.errors import (
    NeedsUpgradeError,
    RecordTamperedError,
    RegistryDamagedError,
    RollbackError,
    VaultError,
)
from vault.escrow.store import CREDENTIAL, CREDENTIAL_META
from vault.registry import Registry
from vault.revealog import RevealLog


def domain_of(kind: str) -> str:
    return kinds_mod.domain_of(kind)


@dataclass
class CheckReport:
    database_problems: list[str] = field(default_factory=list)
    tampered: list[RecordTamperedError] = field(default_factory=list)
    # Key metadata, heads, orphans, the log: each a clear sentence naming what was changed.
    problems: list[VaultError] = field(default_factory=list)
    records_ok: dict[str, int] = field(default_factory=dict)
    skipped_kinds: list[str] = field(default_factory=list)
    log: str = ""

    @property
    def healthy(self) -> bool:
        return not self.database_problems and not self.tampered and not self.problems


def check_registry(registry: Registry) -> CheckReport:
    """Everything `auditor registry check` looks at (docs/escrow.md, "Threat model"): the database's
    own integrity check; the header, identities, wrapped keys and break-glass metadata against the
    authenticated manifests; every kind's rows against its authenticated head; every record
    decrypted; credential versions without their metadata (or the reverse); the log's chain and
    head; and whether this machine saw a newer state before."""

    report = CheckReport(database_problems=registry.backend.integrity_check())
    was_tolerant = registry.tolerant
    registry.tolerant = True
    # What a tolerant unlock found only then (a key this identity pinned, domain or scope): the
    # re-check below cannot see it again without the identity's sealed pins.
    found_at_unlock = list(registry.problems)
    registry.problems = []
    try:
        with registry.snapshot():
            registry.recheck()
            # A kind whose rows were all deleted is no longer in the table, but still in its head.
            for kind in sorted(set(registry.backend.kinds()) | registry.recorded_kinds()):
                spec = kinds_mod.KINDS.get(kind)
                if spec is None:
                    report.problems.append(
                        RollbackError(
                            f"the registry holds records of kind {kind!r}, which auditor never writes: they were "
                            "inserted outside auditor",
                            subject=kind,
                        )
                    )
                    continue
                if not registry.has_domain(spec.domain):
                    report.skipped_kinds.append(kind)
                    continue
                ok = 0
                for rec in registry.scan(kind):
                    if isinstance(rec, RecordTamperedError):
                        report.tampered.append(rec)
                    elif isinstance(rec, VaultError):
                        report.problems.append(rec)
                    else:
                        ok += 1
                report.records_ok[kind] = ok
            first: dict[str, VaultError] = {}
            for problem in (*found_at_unlock, *registry.problems):
                first.setdefault(str(problem), problem)  # the re-check may find one again
            report.problems[:0] = list(first.values())
            report.problems += _orphans(registry)
            try:
                result = RevealLog(registry).verify()
            except VaultError as exc:
                report.problems.append(exc)
            else:
                report.log = result.message
                if not result.ok:
                    report.problems.append(RollbackError(result.message, subject="log"))
    finally:
        registry.tolerant = was_tolerant
        registry.problems = []
    return report


def _orphans(registry: Registry) -> list[VaultError]:
    """Credential versions with no metadata saying they exist, and metadata whose versions are gone.
    Record ids are in clear (`<account id>:v<n>`), so this needs no escrow key."""

    stored: dict[str, set[int]] = {}
    for row in registry.backend.stamps(CREDENTIAL):
        account, _, version = row.id.rpartition(":v")
        if account and version.isdigit():
            stored.setdefault(account, set()).add(int(version))
        else:
            stored.setdefault(row.id, set()).add(-1)
    problems: list[VaultError] = []
    latest: dict[str, int] = {}
    for rec in registry.scan(CREDENTIAL_META):
        if isinstance(rec, VaultError):
            continue  # already reported by the kind's own scan
        latest[rec.id] = int(rec.data.get("version", 0) or 0)
    for account, versions in sorted(stored.items()):
        newest = latest.get(account)
        if newest is None:
            problems.append(
                RollbackError(
                    f"{len(versions)} credential version(s) of account {account} have no escrow metadata: they "
                    "are orphaned (the metadata was deleted, or the versions were planted)",
                    subject=f"credential {account}",
                )
            )
            continue
        beyond = sorted(v for v in versions if v > newest or v < 1)
        if beyond:
            problems.append(
                RollbackError(
                    f"account {account} has credential version(s) {', '.join(map(str, beyond))} beyond the "
                    f"version {newest} its escrow metadata records: the metadata was rolled back",
                    subject=f"credential {account}",
                )
            )
    for account, newest in sorted(latest.items()):
        if newest and newest not in stored.get(account, set()):
            problems.append(
                RollbackError(
                    f"account {account}'s escrow metadata records credential version {newest}, which is "
                    "missing: it was deleted",
                    subject=f"credential {account}",
                )
            )
    return problems


def record_restore(registry: Registry, backup: str) -> None:
    """Mark an unlocked (admin) registry as restored on purpose and log it: its older state is then
    accepted by every machine that saw a newer one (vault/registry.py, "the last state this
    machine saw"), where a copy put back without this is reported as a rollback."""

    with registry.transaction():
        registry.mark_restored()
        RevealLog(registry).append("restore", details={"backup": Path(backup).name})


def restore_sqlite(
    backup: Path,
    target: Path,
    *,
    allow_other_registry: bool,
    unlock: Callable[[Registry], None] | None = None,
) -> str:
    """Replace the registry at `target` with `backup`. Returns the path of the safety copy.

    With `unlock` (which unlocks the copy as an administrator), the copy is marked restored and
    the restore logged before anything else is written (`record_restore`); a backup in an older
    format is marked by `auditor registry upgrade` instead. Then the current registry is kept
    (a backup, or a byte-for-byte copy aside when it is damaged) and the copy swapped in, so a
    process killed at any point leaves the old registry or the restored one, and the same
    restore can simply be run again."""

    probe = Registry.open(_older_ok(SQLiteBackend(backup)), allow_older=True)
    backup_id = probe.registry_id
    probe.close()
    current: Registry | None = None
    damaged = False
    if target.exists():
        try:
            current = Registry.open(_older_ok(SQLiteBackend(target)), allow_older=True)
        except RegistryDamagedError:
            damaged = True
        else:
            if current.registry_id != backup_id and not allow_other_registry:
                current.close()
                raise VaultError(
                    f"{backup} is a backup of a different registry",
                    "Pass --force if you really mean to replace this registry with another one.",
                )
    try:
        tmp = target.with_name(target.name + ".restoring")
        for suffix in ("", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)  # a copy left by an interrupted restore
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out, open(backup, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        if unlock is not None:
            _mark_copy(tmp, backup, unlock)
        safety = ""
        if damaged:
            # A damaged registry is kept aside, byte for byte, rather than overwritten.
            aside = target.with_name(target.name + ".damaged")
            n = 1
            while aside.exists():
                aside = target.with_name(f"{target.name}.damaged.{n}")
                n += 1
            shutil.copy2(target, aside)
            safety = str(aside)
        elif current is not None:
            safety = take_backup(current, "before-restore")
    finally:
        if current is not None:
            current.close()
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(tmp, target)
    return safety


def _older_ok(backend: SQLiteBackend) -> SQLiteBackend:
    backend.allow_older_schema = True  # a backup of an earlier release restores; `upgrade` follows
    return backend


def _mark_copy(tmp: Path, backup: Path, unlock: Callable[[Registry], None]) -> None:
    try:
        copy = Registry.open(SQLiteBackend(tmp))
    except NeedsUpgradeError:
        return  # an older format: `registry upgrade` starts a new lineage instead
    # The copy is older than what this machine saw of the registry, on purpose: no rollback check
    # for it, and nothing remembered of its temporary path.
    copy.track_seen = False
    try:
        unlock(copy)
        record_restore(copy, str(backup))
    except BaseException:
        copy.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
        raise
    copy.close()


def verify_decrypt(registry: Registry, progress: Callable[[str], None] = lambda _: None) -> list[str]:
    """Decrypt every record the unlocked registry holds keys for, and verify the log chain (the
    second proof of `registry migrate`, after `vault.backends.migrate.verify_rows`)."""
    problems: list[str] = []
    count = 0
    for kind in registry.backend.kinds():
        spec = kinds_mod.KINDS.get(kind)
        if spec is None:
            problems.append(f"records of kind {kind!r}, which auditor never writes")
            continue
        if not registry.has_domain(spec.domain):
            progress(f"{kind}: not decrypted (needs an admin identity)")
            continue
        for rec in registry.scan(kind):
            if isinstance(rec, VaultError):
                problems.append(rec.message)
            else:
                count += 1
    try:
        result = RevealLog(registry).verify()
    except AuditorError as exc:
        problems.append(f"log: {exc.message}")
    else:
        if not result.ok:
            problems.append(f"log: {result.message}")
    progress(f"decrypted {count} record(s) and verified the log chain")
    return problems
