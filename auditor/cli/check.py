"""`auditor check list`: the check catalogue (id, severity, passing state, clauses per preset).

Needs no registry: it reads the check registry and the shipped presets, so an operator can look up a
check id from a report or a waiver anywhere. docs/checks.md is the same catalogue in prose.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.output import OutputFormat, render_record, render_rows
from auditor.engine.checks import CHECKS, get_check
from auditor.engine.policy import PRESETS, load_preset

app = typer.Typer(help="The checks the audit can run.", no_args_is_help=True)


def catalogue_rows() -> list[dict[str, Any]]:

    presets = {name: load_preset(name) for name in PRESETS}
    rows = []
    for cid, cls in CHECKS.items():
        notes = [n for n, on in (("network", cls.needs_network), ("best practice", cls.best_practice)) if on]
        row: dict[str, Any] = {
            "id": cid,
            "severity": cls.severity.value,
            "title": cls.title,
            "network": cls.needs_network,
            "best_practice": cls.best_practice,
            "notes": ", ".join(notes),
            "risk": cls.risk,
            "remediation": cls.remediation,
        }
        row["clauses"] = {name: [r.id for r in p.clauses_for(cid)] for name, p in presets.items()}
        for name, p in presets.items():
            row[name] = ", ".join(r.id for r in p.clauses_for(cid)) or "-"
        rows.append(row)
    return rows


@app.command("list")
def list_(
    network: Annotated[
        bool | None,
        typer.Option("--network/--no-network", help="Only checks that need (or do not need) the network."),
    ] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """List every check with its severity, passing state and the clauses each preset maps to it.

    `--no-network` lists what `auditor audit --offline` runs.

    Example:

        auditor check list --format csv > checks.csv
    """

    rows = [r for r in catalogue_rows() if network is None or r["network"] is network]
    output = pick_format(fmt, as_json)
    columns = [("id", "Id"), ("severity", "Severity")]
    if output is not OutputFormat.TABLE:
        columns.append(("title", "Title"))
    columns += [(name, name) for name in PRESETS] + [("notes", "Notes")]
    if output is OutputFormat.JSON:
        for r in rows:
            for name in PRESETS:
                r.pop(name, None)
    echo(render_rows(rows, columns, output, schema="auditor/checks", empty="No checks match."))


@app.command("show")
def show(
    check_id: Annotated[str, typer.Argument(help="A check id, e.g. escrow.stale.")],
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Show one check: passing state, risk, remediation, and the clauses citing it.

    Example:

        auditor check show impersonation.suspected
    """

    get_check(check_id)  # a usage error naming the id when unknown
    row = next(r for r in catalogue_rows() if r["id"] == check_id)
    for name in PRESETS:
        row.pop(name, None)
    echo(render_record(row, pick_format(fmt, as_json), schema="auditor/check"))
