"""The escrow report: coverage of credential escrow, without a single secret.

Which active accounts have no escrowed credentials, whose credentials are stale (changed before a
manager left or changed role, or older than the policy allows), and the open rotation tasks with
their deadlines. It reads `credential-meta` and `rotation-task` records (inventory key: metadata
only, docs/escrow.md "Two key domains"), so a report can never contain a password, code or seed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from auditor.model.types import AccountStatus, Person
from reports.input import ReportInput
from reports.kinds._common import Kind, building_name, day, load, task_due, task_steps
from reports.kinds.inventory import ESCROWED, MISSING, STALE, escrow_status
from reports.model import Figure, Report, Section, columns, count_phrase


def build(
    data: ReportInput,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: Person | None = None,
    now: datetime,
) -> Report:
    source = load(data, now)
    status = escrow_status(source)
    live = [a for a in source.snapshot.accounts if a.status is not AccountStatus.RETIRED]
    creds = source.snapshot.credentials

    def base(a: Any) -> dict[str, Any]:
        return {
            "account": a.label,
            "building": building_name(source, a.building),
            "owner": source.person_label(a.owner_id) if a.owner_id else "",
        }

    missing = tuple(
        {**base(a), "co_managers": source.people_labels(a.co_manager_ids)}
        for a in live
        if status[a.id][0] == MISSING
    )
    stale = tuple(
        {
            **base(a),
            "last_changed": day(creds[a.id].rotated_at or creds[a.id].set_at),
            "why": status[a.id][1],
        }
        for a in live
        if status[a.id][0] == STALE
    )
    coverage = []
    for a in live:
        ref = creds.get(a.id)
        coverage.append(
            {
                **base(a),
                "status": status[a.id][0],
                "version": ref.version if ref and ref.escrowed else None,
                "set_at": day(ref.set_at) if ref else "",
                "set_by": ref.set_by if ref else "",
                "rotated_at": day(ref.rotated_at) if ref else "",
                "password": ref.has_password if ref else False,
                "totp": ref.has_totp if ref else False,
                "recovery_codes": f"{ref.recovery_codes_unused} of {ref.recovery_codes_total} unused"
                if ref and ref.recovery_codes_total
                else "",
            }
        )
    tasks = []
    overdue = 0
    for task in sorted(source.snapshot.rotation_tasks, key=lambda t: (t.opened_at, t.id)):
        if not task.is_open:
            continue
        due = task_due(task, source)
        late = (source.today - due).days
        overdue += late > 0
        tasks.append(
            {
                "task": task.id,
                "account": source.account_label(task.account_id),
                "reason": task.reason,
                "to_do": [i.value for i in task.outstanding],
                "steps": task_steps(task),
                "opened": day(task.opened_at),
                "opened_by": task.opened_by,
                "due": day(due),
                "overdue": f"{late} days overdue" if late > 0 else "",
            }
        )
    escrowed = sum(1 for a in live if status[a.id][0] in (ESCROWED, STALE))
    summary = (
        f"{escrowed} of {count_phrase(len(live), 'active account')} have their credentials escrowed with "
        f"the district: {len(missing)} missing, {len(stale)} stale. "
        f"{count_phrase(len(tasks), 'rotation task')} open, {overdue} past {'its' if overdue == 1 else 'their'}"
        " deadline."
    )
    if not missing and not stale and not tasks:
        summary += " Nothing needs attention."
    figures = (
        Figure("accounts", "Active accounts", len(live)),
        Figure("escrowed", "Escrowed", escrowed),
        Figure("missing", "Escrow missing", len(missing)),
        Figure("stale", "Stale credentials", len(stale)),
        Figure("open_tasks", "Open rotation tasks", len(tasks)),
        Figure("overdue_tasks", "Overdue tasks", overdue),
    )
    return Report(
        kind="escrow",
        title="Credential escrow coverage",
        generated_at=source.now,
        district=source.district,
        policy=source.policy_label,
        scope={},
        summary=summary,
        figures=figures,
        sections=(
            Section(
                "missing",
                "Accounts without escrowed credentials",
                columns(
                    ("account", "Account"),
                    ("building", "Building"),
                    ("owner", "Owner"),
                    ("co_managers", "Co-managers"),
                ),
                missing,
                description="If the manager leaves, the district cannot get into these accounts.",
                empty="Every active account has escrowed credentials.",
            ),
            Section(
                "stale",
                "Stale credentials",
                columns(
                    ("account", "Account"),
                    ("building", "Building"),
                    ("owner", "Owner"),
                    ("last_changed", "Last changed"),
                    ("why", "Why it is stale"),
                ),
                stale,
                description="Someone who no longer manages these accounts may still know the password.",
                empty="No escrowed credential is stale.",
            ),
            Section(
                "tasks",
                "Open rotation tasks",
                columns(
                    ("task", "Task"),
                    ("account", "Account"),
                    ("reason", "Reason"),
                    ("to_do", "To do"),
                    ("opened", "Opened"),
                    ("opened_by", "Opened by"),
                    ("due", "Due"),
                    ("overdue", "Overdue"),
                ),
                tuple(tasks),
                description="Credentials to change because someone who knew them lost access.",
                empty="No rotation task is open.",
            ),
            Section(
                "coverage",
                "Escrow by account",
                columns(
                    ("account", "Account"),
                    ("building", "Building"),
                    ("owner", "Owner"),
                    ("status", "Escrow"),
                    ("version", "Version"),
                    ("set_at", "Stored"),
                    ("set_by", "Stored by"),
                    ("rotated_at", "Password changed"),
                    ("password", "Password"),
                    ("totp", "TOTP"),
                    ("recovery_codes", "Recovery codes"),
                ),
                tuple(coverage),
                description="What is escrowed for each active account (which parts, never their values).",
                empty="The inventory has no active accounts.",
            ),
        ),
    )


KIND = Kind("escrow", build, "accounts without escrowed credentials, stale credentials, rotation tasks")
