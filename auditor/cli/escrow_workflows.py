"""Administrators' recovery workflow: `auditor offboard`, `auditor recover`, `auditor identity remove`.

`offboard` is what an administrator runs when a staff member leaves: it reassigns their accounts,
marks them departed, opens rotation tasks, removes their identity (re-keying) and prints a
per-platform checklist. `recover` is the one command to get into an account whose owner is gone.
`identity remove` re-keys every domain the identity could unwrap. Logic lives in
auditor/services/escrow.py and vault/rekey.py; these commands parse, confirm and render.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from auditor.cli.common import echo
from auditor.cli.context import app_context
from auditor.model.errors import UsageError
from auditor.services.escrow import offboard as do_offboard
from auditor.services.escrow import plan_offboard, recover_account
from vault.rekey import remove_identity as do_remove


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise UsageError("confirmation needed and there is no terminal to ask on", "Pass --yes to go ahead.")
    if not typer.confirm(question, default=False):
        raise UsageError("cancelled; nothing was changed")


def offboard(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="The person leaving: email, id or unique name.")],
    to: Annotated[
        str | None, typer.Option("--to", help="New owner of the accounts they own (email).")
    ] = None,
    co_manager: Annotated[
        str | None, typer.Option("--co-manager", help="Add this person as co-manager of their accounts.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Offboard a staff member: list their accounts, reassign ownership (to --to, else each
    account's first active co-manager), mark them departed, open rotation tasks for every account
    whose credentials they knew, remove their identity (re-keying), and print a checklist per
    platform. A backup is taken first; everything is logged.

    Example:

        auditor offboard jdoe@d203.org --to mlee@d203.org

        auditor offboard jdoe@d203.org --co-manager praman@d203.org --yes
    """

    reg = app_context(ctx).registry(admin=True)
    plan = plan_offboard(reg, person)
    p = plan.person
    echo(f"Offboarding {p.name} <{p.email}>")
    for title, accounts in (
        ("Owns", plan.owned),
        ("Co-manages", plan.co_managed),
        ("Student-manages", plan.student_managed),
        ("Could reveal (escrow access through their identity)", plan.revealable),
    ):
        echo(f"{title}: {len(accounts)}")
        for a in accounts:
            echo(f"  {a.label}")
    echo("Identities to remove: " + (", ".join(plan.identities) or "none"))
    echo(f"Rotation tasks to open: {len(plan.knew)}")
    if not yes:
        _confirm(f"Offboard {p.name} now?")
    result = do_offboard(reg, plan, new_owner_ref=to, co_manager_ref=co_manager)
    echo(f"Backup taken first: {result.backup}")
    for account in plan.owned:
        echo(f"{account.label}: owner is now {result.new_owners.get(account.id, '(none)')}")
    echo(f"Marked {p.name} departed.")
    for name in result.removed_identities:
        echo(f"Removed identity {name}; the keys it could unwrap were replaced.")
    echo(f"Opened {len(result.tasks)} rotation task(s); `auditor task list` shows them.")
    if result.checklist:
        echo("")
        echo("Checklist (on each platform):")
        for platform, lines in sorted(result.checklist.items()):
            echo(f"{platform}")
            for line in lines:
                echo(f"  {line}")


def recover(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="The account: PLATFORM:HANDLE, @handle or id.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (mandatory; logged before anything is shown).")
    ],
) -> None:
    """Recover an account whose owner is gone: who owned it, the escrowed credential (logged
    first), the current TOTP code, and the rotation task to complete.

    Example:

        auditor recover instagram:@lincolnhs_athletics --reason "coach left mid-season; ticket 4521"
    """

    if not reason.strip():
        raise UsageError("--reason must say why", 'For example: --reason "owner left; ticket 4521"')
    result = recover_account(app_context(ctx).registry(admin=True), account, reason.strip())
    a = result.account
    echo(a.label)
    if result.owner:
        echo(f"Owner: {result.owner.name} <{result.owner.email}> ({result.owner.status.value})")
    else:
        echo("Owner: none on record")
    if result.co_managers:
        echo("Co-managers: " + ", ".join(f"{p.name} ({p.status.value})" for p in result.co_managers))
    echo("")
    echo("Escrowed credential (this reveal is logged):")
    for line in result.bundle.reveal_lines():
        echo(f"  {line}")
    if result.totp:
        code, left = result.totp
        echo(f"Current TOTP code: {code} (valid for {left} more seconds)")
    echo("")
    if result.tasks:
        for task in result.tasks:
            echo(f"Rotation task {task.id} ({'opened now' if result.task_opened else 'open'}): {task.reason}")
            echo(f"  To do: {', '.join(task.kinds)}. It closes when you store the new credentials:")
            echo(f"  auditor secret set {a.platform.value}:{a.handle.lstrip('@')}")
    else:
        echo("No rotation task is open for this account.")


def remove_identity(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The identity to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an identity and re-key: every domain key it could unwrap is replaced, re-wrapped for
    the remaining identities, and every record re-encrypted (one transaction, after an automatic
    backup). A rotation task is opened for every escrowed account it could read. The last
    administrator cannot be removed.

    Example:

        auditor identity remove jdoe --yes
    """

    reg = app_context(ctx).registry(admin=True)
    if not yes:
        _confirm(f"Remove identity {name} and re-key the registry?")
    result = do_remove(reg, name)
    echo(f"Removed identity {name}. Backup taken first: {result.backup}")
    echo(
        f"Re-keyed {', '.join(result.domains) or 'nothing'} ({result.records} records re-encrypted; "
        f"key versions {', '.join(f'{d} {v}' for d, v in result.key_versions.items())})."
    )
    echo(f"Opened {len(result.tasks)} rotation task(s); `auditor task list` shows them.")
