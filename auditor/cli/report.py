"""`auditor report`: Compliance reports: inventory, findings, escrow, activity, offboarding; evidence packs."""

from __future__ import annotations

import typer

app = typer.Typer(help="Compliance reports: inventory, findings, escrow, activity, offboarding; evidence packs.", no_args_is_help=True)
