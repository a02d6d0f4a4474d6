"""`auditor schedule`: Run the audit unattended: systemd timer or cron line."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run the audit unattended: systemd timer or cron line.", no_args_is_help=True)
