"""`auditor task ...`: rotation tasks opened by offboarding, identity removal, break-glass,
recovery and `secret generate`.

A task is a checklist (password, totp, recovery-codes, platform-admins, sessions) and closes only
when every item is confirmed with `task confirm` (vault/escrow/rotation.py says what proves each);
the audit reports open tasks as `escrow.rotation_pending` and, past their deadline,
`escrow.rotation_overdue`.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, render_record, render_rows
from auditor.model.errors import UsageError
from auditor.model.types import RotationTask, TaskItem
from auditor.services.escrow import escrow_policy, step_text
from vault.escrow.rotation import Rotation
from vault.escrow.store import Escrow
from vault.registry import utcnow
from vault.stores import tasks
from vault.stores.inventory import Inventory

app = typer.Typer(
    help="Rotation tasks: the steps owed after someone who knew an account's credentials lost access.",
    no_args_is_help=True,
)

TaskArg = Annotated[str, typer.Argument(help="The task id (`auditor task list` shows them).")]


def _row(task: RotationTask, label: str, due: str, today: Any) -> dict[str, Any]:
    return {
        "id": task.id,
        "account_id": task.account_id,
        "account": label,
        "status": task.status,
        "opened_at": task.opened_at.isoformat(timespec="seconds"),
        "age_days": tasks.age_days(task, today),
        "due": due,
        "opened_by": task.opened_by,
        "reason": task.reason,
        "outstanding": [i.value for i in task.outstanding],
        "confirmed": [s.item.value for s in task.items if s.done],
        "pending": list(task.pending_fields),
        "closed_at": task.closed_at.isoformat(timespec="seconds") if task.closed_at else None,
        "closed_by_version": task.closed_by_version or None,
        "cancel_reason": task.cancel_reason or None,
    }


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include done and cancelled tasks.")] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """List open rotation tasks with their age, deadline and the steps still to confirm (oldest first).

    Example:

        auditor task list

        auditor task list --all --format json
    """

    reg = app_context(ctx).registry()
    labels = {a.id: a.label for a in Inventory(reg).accounts()}
    today = utcnow().date()
    deadline = escrow_policy(reg).rotation_deadline
    rows = [
        _row(t, labels.get(t.account_id, t.account_id), t.due(deadline).isoformat(), today)
        for t in (tasks.all_tasks(reg) if all_ else tasks.open_tasks(reg))
    ]
    cols = [
        ("id", "Task"),
        ("account", "Account"),
        ("status", "Status"),
        ("age_days", "Age (days)"),
        ("due", "Due"),
        ("reason", "Reason"),
        ("outstanding", "To confirm"),
    ]
    echo(
        render_rows(
            rows, cols, pick_format(fmt, as_json), schema="auditor/tasks", empty="No open rotation tasks."
        )
    )


@app.command("show")
def show(
    ctx: typer.Context, task_id: TaskArg, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False
) -> None:
    """Show one task: its account, why it was opened, its deadline, and each step with its state and
    the command that confirms it.

    Example:

        auditor task show t_3f2a9c

        auditor task show t_3f2a9c --format json
    """

    reg = app_context(ctx).registry()
    task, _ = tasks.get_task(reg, task_id)
    inv = Inventory(reg)
    account = inv.get_account(task.account_id)
    label = account.label if account else task.account_id
    row = _row(task, label, task.due(escrow_policy(reg).rotation_deadline).isoformat(), utcnow().date())
    steps = []
    for s in task.items:
        steps.append(
            {
                "item": s.item.value,
                "state": "confirmed" if s.done else ("cancelled" if task.cancelled else "to do"),
                "confirmed_at": s.confirmed_at.isoformat(timespec="seconds") if s.confirmed_at else None,
                "confirmed_by": s.confirmed_by,
                "evidence": s.evidence,
                "how": ""
                if s.done or account is None or not task.is_open
                else step_text(s.item, account, task.id, pending=task.pending_fields),
            }
        )
    chosen = pick_format(fmt, as_json)
    if chosen is not OutputFormat.TABLE:
        echo(render_record({**row, "steps": steps}, chosen, schema="auditor/task"))
        return
    echo(f"Task {task.id}: {label} ({task.status})")
    echo(f"Opened {row['opened_at']} by {task.opened_by or 'the auditor'}: {task.reason}")
    echo(f"Due {row['due']}" + (f"; closed {row['closed_at']}" if task.closed_at else ""))
    if task.cancelled:
        echo(f"Cancelled by {task.cancelled_by}: {task.cancel_reason}")
    if task.pending_fields:
        echo("Pending (not yet current): " + ", ".join(f.replace("_", " ") for f in task.pending_fields))
    echo("")
    for step in steps:
        mark = "x" if step["state"] == "confirmed" else " "
        echo(f"[{mark}] {step['item']}: {step['state']}")
        if step["evidence"]:
            echo(f"      {step['confirmed_at']} by {step['confirmed_by']}: {step['evidence']}")
        if step["how"]:
            echo(f"      {step['how']}")


def _read_code(stdin: bool) -> str:
    if stdin:
        return typer.get_text_stream("stdin").readline().strip()
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the code on", "Pipe it with --stdin.")
    value: str = typer.prompt("Current code of the NEW key (from the authenticator app)", hide_input=True)
    return value.strip()


@app.command("confirm")
def confirm(
    ctx: typer.Context,
    task_id: TaskArg,
    item: Annotated[
        TaskItem, typer.Argument(help="The step: password, totp, recovery-codes, platform-admins, sessions.")
    ],
    note: Annotated[
        str, typer.Option("--note", help="What you did (platform-admins and sessions: mandatory; logged).")
    ] = "",
    stdin: Annotated[
        bool, typer.Option("--stdin", help="totp: read the code from stdin instead of a prompt.")
    ] = False,
) -> None:
    """Confirm one step of a rotation task with its evidence; the task closes when every step is
    confirmed. Each confirmation is in the reveal log.

    password: makes the pending password (`secret generate`, `secret set --pending`) current; do it
    once the platform accepts it. totp: asks for the code the NEW key shows (a code of the old key is
    refused). recovery-codes: makes the pending new set current. platform-admins, sessions: your
    attestation, with --note.

    Example:

        auditor task confirm t_3f2a9c password

        auditor task confirm t_3f2a9c totp

        auditor task confirm t_3f2a9c platform-admins --note "removed jdoe from Page access; ticket 4521"
    """

    reg = app_context(ctx).registry(escrow=True)
    code = _read_code(stdin) if item is TaskItem.TOTP else ""
    result = Rotation(Escrow(reg)).confirm(task_id, item, code=code, note=note)
    made = f"; credential version {result.version} is now current" if result.version else ""
    echo(f"Confirmed {item.value} of task {result.task.id}{made}.")
    if result.closed:
        echo(f"Task {result.task.id} is done: every step is confirmed.")
    else:
        echo(
            "Still to confirm: "
            + ", ".join(i.value for i in result.task.outstanding)
            + f" (`auditor task show {result.task.id}`)."
        )


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    task_id: TaskArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (mandatory; logged).")],
    pending_only: Annotated[
        bool,
        typer.Option(
            "--pending-only", help="Only discard the pending credential (roll back); the task stays open."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Roll back a rotation: discard the pending credential (the current one is untouched) and close
    the task as cancelled, or with --pending-only keep the task open to try again.

    Example:

        auditor task cancel t_3f2a9c --pending-only --reason "the platform refused the password"

        auditor task cancel t_3f2a9c --reason "opened by mistake: the coach never had the password" --yes
    """

    reg = app_context(ctx).registry(escrow=True)
    if not pending_only and not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "confirmation needed and there is no terminal to ask on", "Pass --yes to go ahead."
            )
        if not typer.confirm(
            f"Cancel rotation task {task_id}? Its steps will no longer be asked for.", default=False
        ):
            raise UsageError("cancelled; nothing was changed")
    task = Rotation(Escrow(reg)).cancel(task_id, reason, pending_only=pending_only)
    if pending_only:
        echo(
            f"Discarded the pending credential of task {task.id}; the current one is unchanged and the task stays open."
        )
    else:
        echo(f"Cancelled task {task.id}; any pending credential was discarded.")
