"""Rotation tasks: the work owed after someone who knew an account's secrets lost access.

A task is a `RotationTask` stored as a record of kind "rotation-task" under the inventory key, so
the nightly audit (checks `escrow.rotation_pending` and `escrow.rotation_overdue`) sees open tasks
without the escrow key. Identity removal, offboarding, break-glass, recovery and `secret
generate` open tasks. A task holds a checklist (`TaskItem`): it closes only when every item is
confirmed with its evidence (`Escrow.confirm`, vault/escrow/store.py; issue 18, "Rotation that is
closed by proof"), or when an administrator cancels it with a reason. One open task per account:
a second reason is appended to the open one, and the items it needs are added to its checklist,
rather than creating a duplicate the administrator would have to close twice.

Storing a credential no longer closes a task: a password stored in the escrow is not yet a
password changed on the platform.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime

from auditor.model.errors import NotFoundError
from auditor.model.types import CHECKLIST, ItemState, RotationTask, TaskItem
from vault.errors import RecordTamperedError
from vault.registry import Registry, new_id, utcnow

TASK_KIND = "rotation-task"
_CREDENTIAL_META = "credential-meta"  # vault/escrow/store.py (which imports this module)
_ACCOUNT = "account"


def all_tasks(registry: Registry) -> list[RotationTask]:
    out = [
        RotationTask.from_dict(rec.data)
        for rec in registry.scan(TASK_KIND)
        if not isinstance(rec, RecordTamperedError)
    ]
    return sorted(out, key=lambda t: (t.opened_at, t.id))


def open_tasks(registry: Registry) -> list[RotationTask]:
    return [t for t in all_tasks(registry) if t.is_open]


def get_task(registry: Registry, task_id: str) -> tuple[RotationTask, int]:
    """The task and its record version (for `save`); NotFoundError names the way to list them."""
    rec = registry.get(TASK_KIND, task_id.strip())
    if rec is None:
        raise NotFoundError(f"no rotation task {task_id.strip()!r}", "`auditor task list --all` lists them.")
    return RotationTask.from_dict(rec.data), rec.version


def open_task_for(registry: Registry, account_id: str) -> RotationTask | None:
    return next((t for t in open_tasks(registry) if t.account_id == account_id), None)


def save(registry: Registry, task: RotationTask, version: int) -> None:
    registry.put(TASK_KIND, task.id, task.to_dict(), expected_version=version)


def checklist_for(registry: Registry, account_id: str) -> tuple[TaskItem, ...]:
    """What a task for the account must confirm: the password, the platform admins and the other
    sessions always; two-factor and recovery codes where the escrow holds a TOTP key or recovery
    codes, or the inventory says two-factor is on (or nothing is escrowed, so nobody can say)."""
    meta = registry.get(_CREDENTIAL_META, account_id)
    account = registry.get(_ACCOUNT, account_id)
    two_factor = bool(account is not None and account.data.get("two_factor"))
    if meta is None or not meta.data.get("escrowed"):
        return CHECKLIST
    has_totp = bool(meta.data.get("has_totp")) or two_factor
    has_codes = has_totp or int(meta.data.get("recovery_codes_total", 0)) > 0
    return tuple(
        item
        for item in CHECKLIST
        if (item is not TaskItem.TOTP or has_totp) and (item is not TaskItem.RECOVERY_CODES or has_codes)
    )


def _current_version(registry: Registry, account_id: str) -> int:
    meta = registry.get(_CREDENTIAL_META, account_id)
    return int(meta.data.get("version", 0)) if meta is not None and meta.data.get("escrowed") else 0


def open_task(
    registry: Registry,
    account_id: str,
    reason: str,
    *,
    items: Iterable[TaskItem] | None = None,
    opened_by: str = "",
    now: datetime | None = None,
    due_on: date | None = None,
) -> tuple[RotationTask, bool]:
    """Open (or extend) the task for `account_id`; `items` defaults to `checklist_for` the
    account. Returns (task, created)."""
    return _open(
        registry, account_id, reason, items, opened_by, now, due_on, _by_account(open_tasks(registry))
    )


def open_many(
    registry: Registry,
    account_ids: Iterable[str],
    reason: str,
    *,
    opened_by: str = "",
    now: datetime | None = None,
) -> list[tuple[RotationTask, bool]]:
    """`open_task` for many accounts, reading the open tasks once (a re-key opens one per escrowed
    account: one scan each made it quadratic)."""
    current = _by_account(open_tasks(registry))
    out = []
    for account_id in account_ids:
        task, created = _open(registry, account_id, reason, None, opened_by, now, None, current)
        current[account_id] = task
        out.append((task, created))
    return out


def _by_account(tasks: list[RotationTask]) -> dict[str, RotationTask]:
    """The oldest open task of each account (the one a new reason is added to)."""
    out: dict[str, RotationTask] = {}
    for task in tasks:
        out.setdefault(task.account_id, task)
    return out


def _open(
    registry: Registry,
    account_id: str,
    reason: str,
    items: Iterable[TaskItem] | None,
    opened_by: str,
    now: datetime | None,
    due_on: date | None,
    current: dict[str, RotationTask],
) -> tuple[RotationTask, bool]:
    when = now or utcnow()
    wanted = tuple(dict.fromkeys(items if items is not None else checklist_for(registry, account_id)))
    task = current.get(account_id)
    if task is not None:
        # The same reason again changes nothing, but an item confirmed before someone else lost
        # access proves nothing about them: it is asked for again.
        new_reason = reason not in task.reason
        merged_reason = f"{task.reason}; {reason}" if new_reason else task.reason
        updated = dataclasses.replace(with_steps(task, wanted, reset=new_reason), reason=merged_reason)
        if updated != task:
            rec = registry.get(TASK_KIND, task.id)
            save(registry, updated, rec.version if rec else 0)
        return updated, False
    task = RotationTask(
        id=new_id("t"),
        account_id=account_id,
        reason=reason,
        opened_at=when,
        due_on=due_on,
        opened_by=opened_by,
        items=tuple(ItemState(i) for i in wanted),
        opened_version=_current_version(registry, account_id),
    )
    save(registry, task, 0)
    return task, True


def with_steps(task: RotationTask, steps: Iterable[TaskItem], *, reset: bool) -> RotationTask:
    """`task` with `steps` on its checklist (added where missing, in checklist order); with
    `reset`, those of them already confirmed are asked for again."""
    wanted = set(steps)
    have = {s.item for s in task.items}
    kept = [ItemState(s.item) if reset and s.item in wanted else s for s in task.items]
    kept += [ItemState(i) for i in CHECKLIST if i in wanted and i not in have]
    return dataclasses.replace(task, items=tuple(sorted(kept, key=lambda s: CHECKLIST.index(s.item))))


def age_days(task: RotationTask, today: date) -> int:
    return (today - task.opened_at.date()).days
