"""Inventory operations behind the CLI: imports with automatic backups, all in one transaction.

The CLI only parses options and prints; what is written, in which transaction, after which backup,
lives here where tests reach it without the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.model.types import Account, Person
from vault.backup import take_backup
from vault.stores.inventory import Inventory


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    backup: str = ""


def import_people(
    inv: Inventory, people: Sequence[Person], *, dry_run: bool, source: str = ""
) -> ImportResult:

    if dry_run:
        return _plan(inv, lambda: inv.upsert_people(people))
    inv.registry.require_admin("Importing people")  # before the backup and its log event
    backup = take_backup(inv.registry, "before-person-import") if people else ""
    with inv.registry.transaction():
        bulk = inv.upsert_people(people)
    return ImportResult(bulk.created, bulk.updated, bulk.unchanged, backup)


def import_accounts(
    inv: Inventory, accounts: Sequence[Account], *, dry_run: bool, source: str = ""
) -> ImportResult:

    if dry_run:
        return _plan(inv, lambda: inv.upsert_accounts(accounts))
    inv.registry.require_admin("Importing accounts")  # before the backup and its log event
    backup = take_backup(inv.registry, "before-account-import") if accounts else ""
    with inv.registry.transaction():
        bulk = inv.upsert_accounts(accounts)
    return ImportResult(bulk.created, bulk.updated, bulk.unchanged, backup)


class _Rollback(Exception):
    pass


def _plan(inv: Inventory, run) -> ImportResult:  # type: ignore[no-untyped-def]
    """Run the real upsert inside a transaction that is always rolled back: the dry run sees exactly
    what the import would do, and nothing is written."""
    holder: list[ImportResult] = []
    try:
        with inv.registry.transaction():
            bulk = run()
            holder.append(ImportResult(bulk.created, bulk.updated, bulk.unchanged))
            raise _Rollback
    except _Rollback:
        pass
    return holder[0]
