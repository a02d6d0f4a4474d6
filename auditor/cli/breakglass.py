"""`auditor breakglass ...`: k-of-n emergency access to the registry when no administrator can unlock.

`setup` splits a new break-glass key into SLIP-39 word shares, printed ONCE for sealed envelopes
(docs/escrow.md, "Running a ceremony"). `recover` collects K shares interactively, logs a
`break-glass` event, lets the operator reveal credentials or add a new administrator, and then
rotates both domain keys and drops the used set, so the opened envelopes open nothing current.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.common import echo, echo_error
from auditor.cli.context import app_context, make_backend
from auditor.model.errors import UsageError
from auditor.model.types import Role, Secret
from vault.escrow import breakglass as bg
from vault.escrow.store import Escrow
from vault.registry import Registry
from vault.rekey import (
    add_identity,
    breakglass_finish,
    breakglass_info,
    breakglass_session,
    breakglass_setup,
    breakglass_unlock,
)
from vault.stores.inventory import Inventory
from vault.stores.tasks import open_task
from vault.unlock import read_passphrase_file

if TYPE_CHECKING:
    from vault.registry import Registry

app = typer.Typer(
    help="Break-glass: k-of-n sealed-envelope shares that open the registry in an emergency.",
    no_args_is_help=True,
)


@app.command("setup")
def setup(
    ctx: typer.Context,
    shares: Annotated[int | None, typer.Option("--shares", help="Number of shares (envelopes).")] = None,
    threshold: Annotated[int | None, typer.Option("--threshold", help="Shares needed to recover.")] = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help='A group of holders, NAME:KofN (repeatable), e.g. "IT:2of3".'),
    ] = None,
    group_threshold: Annotated[
        int, typer.Option("--group-threshold", help="How many groups must meet their threshold.")
    ] = 1,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace an existing set (its envelopes stop working).")
    ] = False,
) -> None:
    """Create a break-glass set and print every share card ONCE, for sealed envelopes.

    Only public metadata (set number, group layout, a key fingerprint) and the domain keys wrapped
    to the break-glass key are stored. Running it again makes every earlier envelope useless.

    Example:

        auditor breakglass setup --shares 5 --threshold 3

        auditor breakglass setup --group "Superintendent's office:1of2" --group "IT:2of3" --group-threshold 2
    """

    if group:
        if shares is not None or threshold is not None:
            raise UsageError("use either --shares/--threshold or --group, not both")
        groups = tuple(bg.parse_group(g) for g in group)
    else:
        if shares is None or threshold is None:
            raise UsageError("give --shares N --threshold K (or --group NAME:KofN ...)")
        groups = bg.single_group(threshold, shares)
    reg = app_context(ctx).registry(admin=True)
    existing = breakglass_info(reg)
    if existing is not None and not replace:
        raise UsageError(
            f"break-glass set {existing['set_id']} already exists",
            "Pass --replace to make a new set; every envelope of the old set stops working.",
        )
    split = breakglass_setup(reg, groups, group_threshold)
    echo(
        f"Break-glass set {split.set_id}: {split.describe()}. Print each card once and seal it in its envelope."
    )
    for warning in split.warnings:
        echo(f"warning: {warning}")
    for card in split.cards:
        echo("")
        echo("-" * 72)
        echo(card.printable())
    echo("-" * 72)
    echo("These words are not stored anywhere and will not be shown again. Clear the screen and scrollback.")


@app.command("recover")
def recover(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why break-glass is used (logged).")] = "",
    operator: Annotated[str, typer.Option("--operator", help="Who is running the recovery (logged).")] = "",
    reveal: Annotated[
        list[str] | None, typer.Option("--reveal", help="Reveal this account's credential (repeatable).")
    ] = None,
    add_admin: Annotated[
        str | None, typer.Option("--add-admin", help="Create a new administrator identity.")
    ] = None,
    new_passphrase_file: Annotated[
        Path | None, typer.Option("--new-passphrase-file", help="Passphrase file (0600) for --add-admin.")
    ] = None,
) -> None:
    """Open the registry with K shares (typed one per prompt), log it, reveal or add an admin, then
    rotate the keys so the used shares open nothing current.

    Without --reveal/--add-admin you are asked what to do. Afterwards run `breakglass setup` again.

    Example:

        auditor breakglass recover --reason "all admins unavailable; superintendent approved" --operator "R. Diaz"
    """

    if not reason.strip():
        reason = typer.prompt("Reason for using break-glass (logged)").strip()
    if not reason:
        raise UsageError("a reason is required")
    app_ctx = app_context(ctx)
    reg = Registry.open(make_backend(app_ctx.location))
    try:
        session = breakglass_session(reg)
        while not session.is_complete:
            echo(session.progress() if _count(session) else "Enter the shares, one envelope per prompt.")
            words = typer.prompt(f"Share {_count(session) + 1} (words)", hide_input=True)
            try:
                info = session.add(Secret(words))
            except bg.BreakGlassError as exc:
                echo_error(exc)  # a bad share is reported and the next one asked for
                continue
            echo(f"Accepted share {info.member_number} of group {info.group_number}.")
        key = session.finish()
        result = breakglass_unlock(reg, key, reason=reason, operator=operator)
        echo(
            f"Break-glass accepted and logged. Rotated the {' and '.join(result.domains)} keys first: the used "
            f"break-glass set no longer opens anything. Backup taken before: {result.backup}"
        )
        revealed: list[str] = []
        try:
            _act(reg, reason, reveal or (), add_admin, new_passphrase_file, revealed)
        finally:
            finished = breakglass_finish(reg, revealed=revealed)
            for task in finished.tasks:
                echo(f"Opened rotation task {task.id} for {task.account_id}.")
            echo("Run `auditor breakglass setup` again now: this registry has no break-glass set.")
    finally:
        reg.close()


def _act(
    reg: Registry,
    reason: str,
    reveal: list[str] | tuple[str, ...],
    add_admin: str | None,
    new_passphrase_file: Path | None,
    revealed: list[str],
) -> None:
    import os

    inv = Inventory(reg)
    escrow = Escrow(reg)
    actions: list[tuple[str, str]] = [("reveal", a) for a in reveal]
    if add_admin:
        actions.append(("add-admin", add_admin))
    interactive = not actions
    while True:
        if interactive:
            choice = typer.prompt(
                "What now? 'reveal ACCOUNT', 'add-admin NAME' or 'done'", default="done"
            ).strip()
            verb, _, arg = choice.partition(" ")
            if verb == "done" or not verb:
                break
            actions = [(verb, arg.strip())]
        if not actions:
            break
        verb, arg = actions.pop(0)
        if verb == "reveal" and arg:
            account = inv.resolve_account(arg)
            # The rotation task first: a process killed after the reveal must still leave it owed.
            with reg.transaction():
                open_task(reg, account.id, "revealed during a break-glass recovery", opened_by="break-glass")
            bundle = escrow.reveal(account.id, reason, details={"via": "break-glass"})
            revealed.append(account.id)
            echo(account.label)
            for line in bundle.reveal_lines():
                echo(line)
        elif verb == "add-admin" and arg:
            if new_passphrase_file:
                phrase = read_passphrase_file(new_passphrase_file)
            else:
                phrase = Secret(
                    typer.prompt(
                        f"New passphrase for {arg} (12+ characters)",
                        hide_input=True,
                        confirmation_prompt=True,
                    )
                )
            ident = add_identity(
                reg,
                arg,
                Role.ADMIN,
                phrase,
                kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "default"),
                reason=reason,
                details={"via": "break-glass"},
            )
            echo(f"Added administrator {ident.name}.")
        else:
            echo("Say 'reveal ACCOUNT', 'add-admin NAME' or 'done'.")
        if not interactive and not actions:
            break


def _count(session: object) -> int:
    return len(getattr(session, "_shares", ()))
