"""`auditor log ...`: read and verify the reveal log (any identity: the log is under the inventory key).

A compliance officer can be given an auditor identity (inventory key only): `auditor log verify`
proves the chain is intact and `auditor log show` lists who revealed what, when and why. Events
never contain a secret value.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from auditor.cli.common import FormatOpt, JsonOpt, day, echo, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, json_envelope, render_rows
from vault.revealog import RevealLog
from vault.stores.inventory import Inventory

app = typer.Typer(
    help="The reveal log: who saw or changed which credential, when and why.", no_args_is_help=True
)


def _details(details: dict[str, Any]) -> str:
    shown = {k: v for k, v in details.items() if k != "log_epoch" and v not in (None, "", [], {})}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


@app.command("show")
def show(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", help="Only events about this account.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only events on or after this date (YYYY-MM-DD).")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action (reveal, totp, export, set, ...).")
    ] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """List log events, oldest first.

    Example:

        auditor log show --account instagram:@lincolnhs_athletics --since 2026-01-01

        auditor log show --format csv > reveal-log.csv
    """

    reg = app_context(ctx).registry()
    inv = Inventory(reg)
    labels = {a.id: a.label for a in inv.accounts()}
    account_id = inv.resolve_account(account).id if account else None
    start = day(since, "--since")
    rows: list[dict[str, Any]] = []
    for event in RevealLog(reg).events():
        if account_id and event.account_id != account_id:
            continue
        if start and event.at.date() < start:
            continue
        if action and event.action != action:
            continue
        rows.append(
            {
                "seq": event.seq,
                "at": event.at.isoformat(timespec="seconds"),
                "identity": event.identity,
                "action": event.action,
                "account_id": event.account_id,
                "account": labels.get(event.account_id, event.account_id),
                "reason": event.reason,
                "details": {k: v for k, v in event.details.items() if k != "log_epoch"},
            }
        )
    fmt = pick_format(fmt, as_json)
    if fmt is OutputFormat.JSON:
        echo(json_envelope("auditor/log", rows))
        return
    for row in rows:
        row["details"] = _details(row["details"])
    cols = [
        ("seq", "#"),
        ("at", "When (UTC)"),
        ("identity", "Who"),
        ("action", "Action"),
        ("account", "Account"),
        ("reason", "Reason"),
        ("details", "Details"),
    ]
    echo(render_rows(rows, cols, fmt, schema="auditor/log", empty="The log is empty."))


@app.command("verify")
def verify(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False) -> None:
    """Check the whole log chain: every event present, in order, unaltered, and the tail matching
    the recorded head. Names the first broken, missing or reordered event. Exit 1 when broken.

    Example:

        auditor --identity compliance log verify
    """

    result = RevealLog(app_context(ctx).registry()).verify()
    if pick_format(fmt, as_json) is OutputFormat.JSON:
        echo(
            json_envelope(
                "auditor/log-verify",
                [],
                ok=result.ok,
                checked=result.checked,
                message=result.message,
                problem=result.problem,
                first_bad_seq=result.first_bad_seq,
                head=str(result.head),
            )
        )
    else:
        echo(("OK: " if result.ok else "BROKEN: ") + result.message)
    if not result.ok:
        raise typer.Exit(1)
