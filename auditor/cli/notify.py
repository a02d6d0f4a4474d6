"""`auditor notify`: Where audit results go: email (SMTP) and webhooks (Teams, Slack)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Where audit results go: email (SMTP) and webhooks (Teams, Slack).", no_args_is_help=True)
