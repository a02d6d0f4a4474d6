"""`auditor task ...`: rotation tasks opened by identity removal, offboarding and break-glass.

A task closes only when a new credential version is stored (`auditor secret set` or `generate`);
the audit check `escrow.rotation_overdue` reports tasks past their deadline.
"""

from __future__ import annotations

from typing import Annotated

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, render_rows
from vault.registry import utcnow
from vault.stores import tasks
from vault.stores.inventory import Inventory

app = typer.Typer(
    help="Rotation tasks: credentials to change after someone who knew them lost access.",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include closed tasks.")] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """List open rotation tasks with their age (oldest first).

    Example:

        auditor task list

        auditor task list --all --format json
    """

    reg = app_context(ctx).registry()
    labels = {a.id: a.label for a in Inventory(reg).accounts()}
    today = utcnow().date()
    rows = []
    for task in tasks.all_tasks(reg) if all_ else tasks.open_tasks(reg):
        rows.append(
            {
                "id": task.id,
                "account_id": task.account_id,
                "account": labels.get(task.account_id, task.account_id),
                "status": "open" if task.is_open else "closed",
                "opened_at": task.opened_at.isoformat(timespec="seconds"),
                "age_days": tasks.age_days(task, today),
                "opened_by": task.opened_by,
                "reason": task.reason,
                "kinds": list(task.kinds),
                "closed_at": task.closed_at.isoformat(timespec="seconds") if task.closed_at else None,
                "closed_by_version": task.closed_by_version or None,
            }
        )
    cols = [
        ("id", "Task"),
        ("account", "Account"),
        ("status", "Status"),
        ("age_days", "Age (days)"),
        ("reason", "Reason"),
        ("kinds", "To do"),
    ]
    echo(
        render_rows(
            rows, cols, pick_format(fmt, as_json), schema="auditor/tasks", empty="No open rotation tasks."
        )
    )
