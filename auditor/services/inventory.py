"""Inventory operations behind the CLI: imports with automatic backups, all in one transaction.

The CLI only parses options and prints; what is written, in which transaction, after which backup,
lives here where tests reach it without the command line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.model.changes import KeptField, RecordChange
from auditor.model.errors import UsageError
from auditor.model.types import Account, Person
from vault.backup import take_backup
from vault.stores.changes import history as change_history
from vault.stores.changes import record_changes
from vault.stores.inventory import BulkResult, ImportPlan, Inventory


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    backup: str = ""
    # Per record created or updated: each field that changes, old -> new (the dry run prints them).
    changes: list[RecordChange] = field(default_factory=list)
    # Roster facts left alone (a roster sync or an offboarding set them; see --override-roster).
    kept: list[KeptField] = field(default_factory=list)
    history: str = ""  # the change-history entry written, "" for a dry run or no change


def _result(bulk: BulkResult, backup: str = "", history: str = "") -> ImportResult:
    return ImportResult(
        bulk.created, bulk.updated, bulk.unchanged, backup, list(bulk.changes), list(bulk.kept), history
    )


def import_source(file: str | Path) -> str:
    """How an import names itself as the source of the values it sets: `import:FILE` (the name only:
    a home directory's path is nobody's business in the history)."""
    return f"import:{Path(file).name}" if file else "import"


def import_people(
    inv: Inventory,
    people: Sequence[Person],
    *,
    dry_run: bool,
    source: str = "",
    given: Sequence[frozenset[str]] | None = None,
    lines: Sequence[int] = (),
    override_roster: bool = False,
) -> ImportResult:
    """Create or update people; with `given` (from `imports.read_people`) an existing person keeps
    every field its row does not give, and a roster fact (status, role, building) that a roster sync
    or an offboarding set stays unless `override_roster`. The change history records every field."""
    plan = ImportPlan(import_source(source), lines, override_roster)
    return _import(
        inv,
        "Importing people",
        "before-person-import",
        lambda: inv.preview_people(people, given, plan=plan),
        lambda: inv.upsert_people(people, given, plan=plan),
        plan,
        dry_run=dry_run,
    )


def import_accounts(
    inv: Inventory,
    accounts: Sequence[Account],
    *,
    dry_run: bool,
    source: str = "",
    given: Sequence[frozenset[str]] | None = None,
    lines: Sequence[int] = (),
) -> ImportResult:
    """Create or update accounts; `given` as for `import_people`."""
    plan = ImportPlan(import_source(source), lines)
    return _import(
        inv,
        "Importing accounts",
        "before-account-import",
        lambda: inv.preview_accounts(accounts, given, plan=plan),
        lambda: inv.upsert_accounts(accounts, given, plan=plan),
        plan,
        dry_run=dry_run,
    )


def _import(
    inv: Inventory,
    action: str,
    backup_label: str,
    preview: Callable[[], BulkResult],
    upsert: Callable[[], BulkResult],
    plan: ImportPlan,
    *,
    dry_run: bool,
) -> ImportResult:
    """A dry run plans in a transaction rolled back; otherwise an admin check, a read-only preview
    (nothing to write: no backup either, as for a nightly re-import of the same file), a backup,
    then the write and its change-history entry in one transaction."""
    if dry_run:
        return _plan(inv, upsert)
    inv.registry.require_admin(action)  # before the preview, the backup and its log event
    planned = preview()
    if not (planned.created or planned.updated):
        return _result(planned)
    backup = take_backup(inv.registry, backup_label)
    with inv.registry.transaction():
        bulk = upsert()
        entry = record_changes(inv.registry, plan.by, bulk.changes, bulk.kept)
    return _result(bulk, backup, entry)


class _Rollback(Exception):
    pass


def _plan(inv: Inventory, run: Callable[[], BulkResult]) -> ImportResult:
    """Run the real upsert inside a transaction that is always rolled back: the dry run sees exactly
    what the import would do, and nothing is written."""
    holder: list[ImportResult] = []
    try:
        with inv.registry.transaction():
            holder.append(_result(run()))
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


def history_rows(inv: Inventory, record_id: str) -> list[dict[str, Any]]:
    """One row per field change of one record, oldest first: when, who, from where, old -> new (and
    the roster facts an import left alone), for `person history` and `account history`."""
    rows: list[dict[str, Any]] = []
    for entry in change_history(inv.registry, record_id):
        base = {"at": entry.at[:19].replace("T", " "), "by": entry.by, "source": entry.source}
        for record in entry.records:
            for f in record.fields:
                rows.append({**base, "action": record.action, **f.to_dict()})
        for kept in entry.kept:
            rows.append(
                {
                    **base,
                    "action": "kept",
                    "field": kept.get("field", ""),
                    "old": kept.get("current", ""),
                    "new": f"{kept.get('offered', '')} (not applied: {kept.get('why', '')})",
                }
            )
    return rows
