"""Rotation tasks: the work owed after someone who knew an account's secrets lost access.

A task is a `models.RotationTask` stored as a record of kind "rotation-task" under the inventory
key, so the nightly audit (check `escrow.rotation_overdue`) sees open tasks without the escrow
key. Identity removal, offboarding and break-glass open tasks; a task closes only when a new
credential version is stored for its account (issue 3, "A task closes only when a new credential
version is stored"). One open task per account: a second reason is appended to the open one
rather than creating a duplicate the administrator would have to close twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime

from auditor.model.types import RotationTask, TaskKind
from vault.errors import RecordTamperedError
from vault.registry import Registry, new_id, utcnow

TASK_KIND = "rotation-task"
ALL_KINDS: tuple[str, ...] = (
    TaskKind.ROTATE_PASSWORD.value,
    TaskKind.REGENERATE_RECOVERY_CODES.value,
    TaskKind.REENROL_TOTP.value,
)


def all_tasks(registry: Registry) -> list[RotationTask]:
    out = [
        RotationTask.from_dict(rec.data)
        for rec in registry.scan(TASK_KIND)
        if not isinstance(rec, RecordTamperedError)
    ]
    return sorted(out, key=lambda t: (t.opened_at, t.id))


def open_tasks(registry: Registry) -> list[RotationTask]:
    return [t for t in all_tasks(registry) if t.is_open]


def open_task(
    registry: Registry,
    account_id: str,
    reason: str,
    *,
    kinds: Iterable[str] = ALL_KINDS,
    opened_by: str = "",
    now: datetime | None = None,
    due_on: date | None = None,
) -> tuple[RotationTask, bool]:
    """Open (or extend) the task for `account_id`. Returns (task, created)."""
    return _open(
        registry, account_id, reason, kinds, opened_by, now, due_on, _by_account(open_tasks(registry))
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
        task, created = _open(registry, account_id, reason, ALL_KINDS, opened_by, now, None, current)
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
    kinds: Iterable[str],
    opened_by: str,
    now: datetime | None,
    due_on: date | None,
    current: dict[str, RotationTask],
) -> tuple[RotationTask, bool]:
    when = now or utcnow()
    wanted = tuple(dict.fromkeys(str(k) for k in kinds))
    task = current.get(account_id)
    if task is not None:
        merged_kinds = tuple(dict.fromkeys((*task.kinds, *wanted)))
        merged_reason = task.reason if reason in task.reason else f"{task.reason}; {reason}"
        updated = dataclasses.replace(task, kinds=merged_kinds, reason=merged_reason)
        if updated != task:
            rec = registry.get(TASK_KIND, task.id)
            registry.put(TASK_KIND, task.id, updated.to_dict(), expected_version=rec.version if rec else None)
        return updated, False
    task = RotationTask(
        id=new_id("t"),
        account_id=account_id,
        reason=reason,
        opened_at=when,
        due_on=due_on,
        opened_by=opened_by,
        kinds=wanted,
    )
    registry.put(TASK_KIND, task.id, task.to_dict(), expected_version=0)
    return task, True


def close_for_account(
    registry: Registry, account_id: str, version: int, now: datetime | None = None
) -> list[RotationTask]:
    """Close every open task of the account because credential `version` was stored."""
    closed = []
    when = now or utcnow()
    for task in open_tasks(registry):
        if task.account_id != account_id:
            continue
        done = dataclasses.replace(task, closed_at=when, closed_by_version=version)
        rec = registry.get(TASK_KIND, task.id)
        registry.put(TASK_KIND, task.id, done.to_dict(), expected_version=rec.version if rec else None)
        closed.append(done)
    return closed


def age_days(task: RotationTask, today: date) -> int:
    return (today - task.opened_at.date()).days
