"""`auditor notify`: where audit results go: email (SMTP) and webhooks (Teams, Slack, generic).

Settings are stored encrypted in the registry (auditor/services/notify/config.py) so the nightly `auditor`
identity can read them; changing them needs an admin identity. Secrets (the SMTP password, webhook
URLs) are read from a hidden prompt or `--stdin`, never from an argument, and never shown: `notify
show` prints a webhook's host only. `notify test` sends a test message to every channel. Details and
provider recipes: docs/notify.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import JsonOpt, echo, echo_err
from auditor.cli.context import app_context
from auditor.model.errors import NotFoundError, UsageError
from auditor.model.types import Secret
from auditor.services.notify import config as cfg
from auditor.services.notify.dispatch import send_test
from auditor.services.notify.errors import NotifyError

app = typer.Typer(
    help="Where audit results go: email (SMTP) and webhooks (Teams, Slack).", no_args_is_help=True
)
email_app = typer.Typer(help="SMTP relay settings and password.", no_args_is_help=True)
webhook_app = typer.Typer(help="Incoming webhooks (Teams, Slack, generic JSON).", no_args_is_help=True)
app.add_typer(email_app, name="email")
app.add_typer(webhook_app, name="webhook")


def _read_secret(stdin: bool, label: str) -> Secret:
    """One line from stdin (--stdin) or a hidden prompt; never an argument (shell history, ps)."""
    if stdin:
        value = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        value = typer.prompt(label, hide_input=True).strip()
    else:
        raise UsageError(f"{label} is needed but there is no terminal to ask on", "Pipe it with --stdin.")
    if not value:
        raise UsageError(f"no {label.lower()} given", "Type it at the prompt or pipe one line with --stdin.")
    return Secret(value)


def _as_usage(exc: Any) -> UsageError:
    return UsageError(exc.message, exc.hint)


@email_app.command("set")
def email_set(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="SMTP relay, e.g. smtp.office365.com.")],
    sender: Annotated[str, typer.Option("--from", help="Sender address (the mailbox the relay allows).")],
    to: Annotated[list[str], typer.Option("--to", help="Recipient (repeatable, or comma-separated).")],
    security: Annotated[
        str, typer.Option("--security", help="starttls (port 587), tls (port 465) or none.")
    ] = "starttls",
    port: Annotated[
        int | None,
        typer.Option("--port", help="Default: 587 starttls, 465 tls, 25 none.", show_default=False),
    ] = None,
    username: Annotated[
        str, typer.Option("--username", help="SMTP AUTH user name; empty: no AUTH (relay by IP).")
    ] = "",
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file", metavar="FILE", help="PEM CA bundle to trust for the relay (an internal CA)."
        ),
    ] = None,
) -> None:
    """Set the SMTP relay the audit emails through (admin). The password is set separately.

    Example:

        auditor notify email set --host smtp.office365.com --username auditor@naperville203.org \\
            --from auditor@naperville203.org --to it-alerts@naperville203.org
        printf '%s\\n' "$SMTP_PASSWORD" | auditor notify email password --stdin
    """

    try:
        sec = cfg.parse_security(security)
        recipients: list[str] = []
        for item in to:
            for part in item.split(","):
                if part.strip():
                    recipients.append(cfg.check_address(part, "--to"))
        settings = cfg.EmailSettings(
            host=cfg.check_host(host),
            port=cfg.check_port(port if port is not None else cfg.DEFAULT_PORTS[sec]),
            security=sec,
            sender=cfg.check_address(sender, "--from"),
            recipients=tuple(dict.fromkeys(recipients)),
            username=username.strip(),
            ca_file=str(ca_file.expanduser().absolute()) if ca_file else "",
        )
        if ca_file is not None and not ca_file.is_file():
            raise NotifyError(f"--ca-file: {ca_file} does not exist")
    except NotifyError as exc:
        raise _as_usage(exc) from None
    reg = app_context(ctx).registry(admin=True)
    cfg.set_email(reg, settings)
    echo(
        f"Email notifications: {settings.security.value} to {settings.host}:{settings.port}, "
        f"from {settings.sender} to {', '.join(settings.recipients)}."
    )
    if settings.username and not cfg.password_source(reg):
        typer.echo("note: no SMTP password is stored yet: `auditor notify email password --stdin`.", err=True)
    if settings.security is cfg.Security.NONE and settings.username:
        typer.echo("warning: --security none sends the SMTP password in clear text.", err=True)


@email_app.command("password")
def email_password(
    ctx: typer.Context,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the password from standard input.")] = False,
    keyring: Annotated[
        bool, typer.Option("--keyring", help="Keep it in the OS keyring instead of the encrypted registry.")
    ] = False,
) -> None:
    """Store the SMTP password (admin), from a hidden prompt or --stdin; never an argument.

    The registry (default) is readable by the nightly `auditor` identity on any machine; the OS
    keyring only by this user on this machine.

    Example:

        printf '%s\\n' "$SMTP_PASSWORD" | auditor notify email password --stdin
    """

    reg = app_context(ctx).registry(admin=True)
    password = _read_secret(stdin, "SMTP password")
    where = cfg.set_smtp_password(reg, password, keyring=keyring)
    echo(f"SMTP password stored in the {'OS keyring' if where == 'keyring' else 'encrypted registry'}.")


@webhook_app.command("set")
def webhook_set(
    ctx: typer.Context,
    flavour: Annotated[str, typer.Option("--flavour", "--flavor", help="teams, slack or generic.")],
    name: Annotated[
        str | None, typer.Option("--name", help="A name for this webhook (default: the flavour).")
    ] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the URL from standard input.")] = False,
) -> None:
    """Add or replace a webhook (admin). The URL is a secret (it embeds a token): --stdin or a prompt.

    Example:

        printf '%s\\n' "$TEAMS_WEBHOOK_URL" | auditor notify webhook set --flavour teams --stdin
    """

    try:
        kind = cfg.parse_flavour(flavour)
        key = cfg.check_webhook_name(name or kind.value)
    except NotifyError as exc:
        raise _as_usage(exc) from None
    reg = app_context(ctx).registry(admin=True)
    url = _read_secret(stdin, "Webhook URL")
    hook = cfg.set_webhook(reg, key, kind, url)
    echo(f"Webhook {hook.name!r} ({hook.flavour.value}) to {hook.host} stored in the encrypted registry.")


@webhook_app.command("remove")
def webhook_remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The webhook's name (see `notify show`).")]
) -> None:
    """Remove a webhook (admin).

    Example:

        auditor notify webhook remove slack
    """

    reg = app_context(ctx).registry(admin=True)
    if not cfg.remove_webhook(reg, name):
        raise NotFoundError(f"no webhook named {name!r}", "`auditor notify show` lists them.")
    echo(f"Webhook {name!r} removed.")


@app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show the notification settings. Secrets are never shown: a webhook by its host only.

    Example:

        auditor notify show
    """
    import json

    reg = app_context(ctx).registry()
    config = cfg.load_config(reg)
    source = cfg.password_source(reg) if config.email else ""
    if as_json:
        data = config.to_dict()
        del data["format"]
        if data["email"] is not None:
            data["email"]["password"] = source or None
        echo(json.dumps({"schema": "auditor/notify-settings", "version": 1, "item": data}, indent=2))
        return
    if config.empty:
        echo("No notifications configured. Set one up: `auditor notify email set ...` (docs/notify.md).")
        return
    lines: list[str] = []
    if config.email is not None:
        e = config.email
        lines += [
            "Email:",
            f"  relay:      {e.host}:{e.port} ({e.security.value})",
            f"  username:   {e.username or '(none: no AUTH)'}",
            f"  password:   {'stored in the ' + source if source else '(none)'}",
            f"  from:       {e.sender}",
            f"  recipients: {', '.join(e.recipients)}",
        ]
        if e.ca_file:
            lines.append(f"  CA file:    {e.ca_file}")
    else:
        lines.append("Email: not configured.")
    if config.webhooks:
        lines.append("Webhooks:")
        lines += [f"  {w.name}: {w.flavour.value}, host {w.host}" for w in config.webhooks]
    else:
        lines.append("Webhooks: none.")
    echo("\n".join(lines))


@app.command("test")
def test(ctx: typer.Context) -> None:
    """Send a test message to every configured channel; exit 1 if any fails.

    Example:

        auditor --identity auditor notify test
    """

    reg = app_context(ctx).registry()
    result = send_test(reg)
    failed = False
    for d in result.deliveries:
        if d.ok:
            echo(f"{d.channel}: {d.detail}.")
        else:
            failed = True
            echo_err(f"error: {d.channel}: {d.detail}")
            if d.hint:
                echo_err(f"hint: {d.hint}")
    if failed:
        raise typer.Exit(1)


@app.command("clear")
def clear(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Forget every notification setting and secret (admin).

    Example:

        auditor notify clear --yes
    """

    reg = app_context(ctx).registry(admin=True)
    if not yes and sys.stdin.isatty() and not typer.confirm("Remove every notification setting?"):
        raise typer.Exit(1)
    cfg.clear(reg)
    echo("Notification settings removed.")
