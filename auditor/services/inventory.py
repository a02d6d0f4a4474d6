"""Inventory operations behind the CLI: imports with automatic backups, all in one transaction.

The CLI only parses options and prints; what is written, in which transaction, after which backup,
lives here where tests reach it without the command line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.model.errors import UsageError
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
    inv: Inventory,
    people: Sequence[Person],
    *,
    dry_run: bool,
    source: str = "",
    given: Sequence[frozenset[str]] | None = None,
) -> ImportResult:
    """Create or update people; with `given` (from `imports.read_people`) an existing person keeps
    every field its row does not give."""
    if dry_run:
        return _plan(inv, lambda: inv.upsert_people(people, given))
    inv.registry.require_admin("Importing people")  # before the preview, the backup and its log event
    preview = inv.preview_people(people, given)
    if not (preview.created or preview.updated):
        # Nothing to write: no backup either (a nightly re-import of the same file).
        return ImportResult(preview.created, preview.updated, preview.unchanged)
    backup = take_backup(inv.registry, "before-person-import")
    with inv.registry.transaction():
        bulk = inv.upsert_people(people, given)
    return ImportResult(bulk.created, bulk.updated, bulk.unchanged, backup)


def import_accounts(
    inv: Inventory,
    accounts: Sequence[Account],
    *,
    dry_run: bool,
    source: str = "",
    given: Sequence[frozenset[str]] | None = None,
) -> ImportResult:
    """Create or update accounts; `given` as for `import_people`."""
    if dry_run:
        return _plan(inv, lambda: inv.upsert_accounts(accounts, given))
    inv.registry.require_admin("Importing accounts")  # before the preview, the backup and its log event
    preview = inv.preview_accounts(accounts, given)
    if not (preview.created or preview.updated):
        return ImportResult(preview.created, preview.updated, preview.unchanged)  # nothing to write
    backup = take_backup(inv.registry, "before-account-import")
    with inv.registry.transaction():
        bulk = inv.upsert_accounts(accounts, given)
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


@dataclass(frozen=True)
class AccountEdit:
    """What `account edit` changes: only what is given. People are named by email, id or name.

    `fields` replaces Account fields outright (already validated: handle, display_name, profile_url,
    platform_id, building, purpose, login_email, two_factor, public_comments, status, notes);
    `approval` replaces fields of the approval record; the tuples add to or remove from lists.
    """

    fields: Mapping[str, Any] = field(default_factory=dict)
    owner: str | None = None  # "" clears the owner
    add_co_managers: tuple[str, ...] = ()
    remove_co_managers: tuple[str, ...] = ()
    add_student_managers: tuple[str, ...] = ()
    remove_student_managers: tuple[str, ...] = ()
    add_monitors: tuple[str, ...] = ()
    add_tags: tuple[str, ...] = ()
    approval: Mapping[str, Any] = field(default_factory=dict)


def people_ids(inv: Inventory, refs: Sequence[str]) -> tuple[str, ...]:
    return tuple(inv.resolve_person(r).id for r in refs)


def edit_account(inv: Inventory, ref: str, edit: AccountEdit) -> tuple[Account, list[str]]:
    """Apply `edit` to the account `ref` names; returns it as saved and the fields changed."""
    account = inv.resolve_account(ref)
    changes: dict[str, Any] = dict(edit.fields)
    if edit.owner is not None:
        changes["owner_id"] = inv.resolve_person(edit.owner).id if edit.owner else ""

    def merged(current: tuple[str, ...], add: Sequence[str], remove: Sequence[str]) -> tuple[str, ...]:
        out = list(current)
        for pid in people_ids(inv, add):
            if pid not in out:
                out.append(pid)
        for pid in people_ids(inv, remove):
            if pid in out:
                out.remove(pid)
        return tuple(out)

    if edit.add_co_managers or edit.remove_co_managers:
        changes["co_manager_ids"] = merged(
            account.co_manager_ids, edit.add_co_managers, edit.remove_co_managers
        )
    if edit.add_student_managers or edit.remove_student_managers:
        changes["student_manager_ids"] = merged(
            account.student_manager_ids, edit.add_student_managers, edit.remove_student_managers
        )
    if edit.add_monitors:
        changes["comment_monitor_ids"] = merged(account.comment_monitor_ids, edit.add_monitors, ())
    if edit.add_tags:
        changes["tags"] = tuple(dict.fromkeys((*account.tags, *edit.add_tags)))
    if edit.approval:
        changes["approval"] = dataclasses.replace(account.approval, **edit.approval)
    if not changes:
        raise UsageError("nothing to change", "Give at least one option, e.g. --owner EMAIL.")
    saved = inv.save_account(dataclasses.replace(account, **changes))
    return saved, sorted(changes)
