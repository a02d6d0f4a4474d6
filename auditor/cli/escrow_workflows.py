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

from auditor.cli import clipboard
from auditor.cli.common import echo
from auditor.cli.context import app_context
from auditor.model.errors import UsageError
from auditor.model.types import escrow_scope as scope_name
from auditor.services.escrow import (
    OffboardPlan,
    account_ref,
    escrow_policy,
    plan_offboard,
    recover_account,
    step_text,
)
from auditor.services.escrow import offboard as do_offboard
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

    A building administrator offboards the accounts of its own escrow scopes only: the others, the
    person's identities and, for someone who also works elsewhere, the person's record are listed
    for a district administrator, whose offboarding of the same person finishes the job.

    Example:

        auditor offboard jdoe@d203.org --to mlee@d203.org

        auditor offboard jdoe@d203.org --co-manager praman@d203.org --yes

        auditor offboard jdoe@d203.org --to mlee@d203.org --identity lincoln-principal
    """

    reg = app_context(ctx).registry(escrow=True)
    plan = plan_offboard(reg, person)
    p = plan.person
    echo(f"Offboarding {p.name} <{p.email}>")
    if plan.scopes:
        echo(
            f"As building administrator of {', '.join(plan.scopes)}: only these scopes' accounts are changed."
        )
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
    _left_for_district(plan, "Left for a district administrator")
    if not yes:
        _confirm(f"Offboard {p.name} now?")
    result = do_offboard(reg, plan, new_owner_ref=to, co_manager_ref=co_manager)
    echo(f"Backup taken first: {result.backup}")
    for account in plan.owned:
        echo(f"{account.label}: owner is now {result.new_owners.get(account.id, '(none)')}")
    if plan.mark_departed:
        echo(f"Marked {p.name} departed.")
    for name in result.removed_identities:
        echo(f"Removed identity {name}; the keys it could unwrap were replaced.")
    echo(f"Opened {len(result.tasks)} rotation task(s); `auditor task list` shows them.")
    if plan.partial:
        echo(
            "Not done here (listed above under 'Left for a district administrator'); a district "
            f"administrator finishes it with: auditor offboard {p.email or p.id} --identity NAME"
        )
    if result.checklist:
        echo("")
        echo("Checklist (on each platform):")
        for platform, lines in sorted(result.checklist.items()):
            echo(f"{platform}")
            for line in lines:
                echo(f"  {line}")


def _left_for_district(plan: OffboardPlan, title: str) -> None:
    if not plan.partial:
        return
    echo(f"{title}:")
    for a in plan.left:
        echo(f"  {a.label} (escrow scope {scope_name(a.building)})")
    for name in plan.left_identities:
        echo(f"  identity {name}: removing it re-keys the district's keys")
    if not plan.mark_departed:
        where = ", ".join(scope_name(b) for b in plan.person.all_buildings or ("",))
        echo(f"  marking {plan.person.name} departed: they work at {where}")


def recover(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="The account: PLATFORM:HANDLE, @handle or id.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (mandatory; logged before anything is shown).")
    ],
    field: Annotated[
        str,
        typer.Option(
            "--field",
            help="One credential field: password, login, totp (the current code) or recovery-code (an unused one).",
        ),
    ] = "",
    copy: Annotated[
        bool,
        typer.Option(
            "--copy",
            help="Put the field on the clipboard instead of the screen; cleared after the policy's seconds.",
        ),
    ] = False,
) -> None:
    """Recover an account whose owner is gone: who owned it, what is escrowed, and the rotation task
    with each step to confirm. Nothing secret is printed unless asked for, one field at a time
    (--field), on the screen or with --copy on the clipboard; each is logged first with your reason.

    Example:

        auditor recover instagram:@lincolnhs_athletics --reason "coach left mid-season; ticket 4521"

        auditor recover instagram:@lincolnhs_athletics --reason "ticket 4521" --field password --copy

        auditor recover instagram:@lincolnhs_athletics --reason "ticket 4521" --field totp
    """

    if not reason.strip():
        raise UsageError("--reason must say why", 'For example: --reason "owner left; ticket 4521"')
    if copy and not field:
        raise UsageError(
            "--copy needs --field: one field goes on the clipboard", "For example: --field password --copy"
        )
    board = clipboard.check() if copy else None  # before anything is read or logged
    reg = app_context(ctx).registry(escrow=True)
    result = recover_account(reg, account, reason.strip(), field=field.strip())
    a = result.account
    ref = account_ref(a)
    if field:
        assert result.value is not None
        what = {
            "password": "password",
            "login": "login name",
            "totp": "current TOTP code",
            "recovery-code": "unused recovery code",
        }[result.field]
        if board is not None:
            echo(f"{a.label}: the {what} goes on the clipboard.")
            if result.field == "totp":
                echo(f"It is valid for {result.seconds_left} more seconds.")
            seconds = escrow_policy(reg).clipboard_seconds
            clipboard.copy_then_clear(
                board, result.value, min(seconds, result.seconds_left or seconds), say=echo
            )
        else:
            left = f" (valid for {result.seconds_left} more seconds)" if result.field == "totp" else ""
            echo(f"{what}: {result.value.reveal_str()}{left}")
        if result.field == "recovery-code":
            echo(f"Once it is used, mark it spent: auditor secret use-code {ref}")
        return
    echo(a.label)
    if result.owner:
        echo(f"Owner: {result.owner.name} <{result.owner.email}> ({result.owner.status.value})")
    else:
        echo("Owner: none on record")
    if result.co_managers:
        echo("Co-managers: " + ", ".join(f"{p.name} ({p.status.value})" for p in result.co_managers))
    echo("")
    cred = result.ref
    if cred is None or not cred.escrowed:
        echo("Nothing is escrowed for this account: recover it through the platform's own account recovery.")
    else:
        held = [n for n, has in (("password", cred.has_password), ("TOTP key", cred.has_totp)) if has]
        if cred.recovery_codes_total:
            held.append(f"{cred.recovery_codes_unused} of {cred.recovery_codes_total} recovery codes unused")
        stored = f"{cred.set_at:%Y-%m-%d} by {cred.set_by}" if cred.set_at else "earlier"
        echo(f"Escrowed: version {cred.version}, stored {stored}: {', '.join(held) or 'no secret field'}.")
        echo("One field at a time (each is logged with your reason; --copy keeps it off the screen):")
        fields = ["login"] + ["password"] * cred.has_password + ["totp"] * cred.has_totp
        fields += ["recovery-code"] * (cred.recovery_codes_unused > 0)
        for f in fields:
            echo(f'  auditor recover {ref} --reason "..." --field {f} --copy')
    echo("")
    if not result.tasks:
        echo("No rotation task is open for this account.")
    for task in result.tasks:
        echo(f"Rotation task {task.id} ({'opened now' if result.task_opened else 'open'}): {task.reason}")
        for s in task.items:
            mark = "x" if s.done else " "
            echo(
                f"  [{mark}] {s.item.value}"
                + ("" if s.done else f": {step_text(s.item, a, task.id, pending=task.pending_fields)}")
            )
        echo(f"  It closes when every step is confirmed: auditor task show {task.id}")


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
