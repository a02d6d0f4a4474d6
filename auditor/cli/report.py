"""`auditor report`: compliance reports (inventory, findings, escrow, activity, offboarding, access)
and evidence packs.

Each kind is a command that turns its options into `auditor.services.reporting.build_report`,
renders with `reports.render` and writes to stdout or, with `--output`, to a file (atomic, mode 0600:
reports name people and accounts), printing the path. Without `--format`, an output file's extension
names the format (`findings.html`: html; `reports.formats.format_for_path`); the choices and help of
`--format` are `reports.formats.FORMATS`. Reports read the registry under the inventory key, so the
nightly `auditor` identity can make every one of them; none can contain a secret.
"""

from __future__ import annotations

import enum
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.common import day, echo, echo_err
from auditor.cli.context import app_context
from auditor.cli.output import use_color
from auditor.model.errors import UsageError
from auditor.services.reporting import build_evidence_pack, build_report
from reports import render, verify_evidence_pack, write_report
from reports.evidence import manifest_digest, sha256
from reports.formats import FORMATS, format_for_path

app = typer.Typer(
    help=(
        "Compliance reports for people who do not run the tool: inventory, findings, escrow, "
        "activity, offboarding, access (as a table, CSV, JSON, HTML or XLSX), and evidence packs."
    ),
    no_args_is_help=True,
)

DEFAULT_FORMAT = "table"
# Typer offers the members of an Enum as choices: this one is made from FORMATS, so `--format`
# accepts (and its help lists) exactly the registered formats. Type checkers see the `str` each
# member is.
if TYPE_CHECKING:
    FormatName = str
else:
    FormatName = enum.StrEnum("FormatName", {name: name for name in FORMATS})


def _format_help() -> str:
    """`table (terminal), csv, json, html, or xlsx (needs --output).`: every format, as FORMATS has them."""
    names = [
        f"{f.name} ({f.note or 'needs --output'})" if f.note or f.binary else f.name for f in FORMATS.values()
    ]
    return ", ".join(names[:-1]) + ", or " + names[-1] + "."


FormatArg = Annotated[
    FormatName,
    typer.Option("--format", "-f", case_sensitive=False, help=_format_help()),
]
OutputArg = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file (mode 0600) and print its path.", dir_okay=False),
]


ForceArg = Annotated[
    bool, typer.Option("--force", help="Replace the --output file if it exists (default: refuse).")
]


def _refuse_overwrite(output: Path | None, force: bool) -> None:
    """Before any work: an existing --output file is replaced only with --force (a report written
    over last month's, or over the HTML one asked for earlier, is lost)."""
    if output is not None and not force and (output.exists() or output.is_symlink()):
        raise UsageError(
            f"{output} exists; nothing was written",
            "Pass --force to replace it, or choose another --output.",
        )


def _emit(
    ctx: typer.Context,
    kind: str,
    name: str,
    output: Path | None,
    *,
    force: bool = False,
    run: str | None = None,
    since: date | None = None,
    person: str | None = None,
) -> None:

    _refuse_overwrite(output, force)
    fmt = FORMATS[name]
    source = ctx.get_parameter_source("fmt")
    if output is not None and source is not None and source.name == "DEFAULT":
        fmt = format_for_path(output) or fmt  # `--output findings.html` alone means html
    if fmt.binary and output is None:
        raise UsageError(
            f"{fmt.name} is a binary format and cannot go to the terminal",
            f"Add --output FILE, e.g. --output {kind}.{fmt.extension}",
        )
    report = build_report(kind, app_context(ctx).registry(), run=run, since=since, person=person)
    if output is not None:
        echo(str(write_report(report, fmt.name, output)))
        return
    data = render(report, fmt.name, color=use_color())
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@app.command("inventory")
def inventory(
    ctx: typer.Context, fmt: FormatArg = DEFAULT_FORMAT, output: OutputArg = None, force: ForceArg = False
) -> None:
    """Every account: platform, handle, building, purpose, owner, co-managers, approval and renewal
    dates, escrow status (escrowed, missing or stale; never a value) and the last audit result.

    Example:

        auditor report inventory --format xlsx --output inventory.xlsx
    """
    _emit(ctx, "inventory", fmt, output, force=force)


@app.command("findings")
def findings(
    ctx: typer.Context,
    fmt: FormatArg = DEFAULT_FORMAT,
    output: OutputArg = None,
    force: ForceArg = False,
    run: Annotated[
        str | None,
        typer.Option("--run", metavar="ID", help="A run id or prefix, latest or previous (default: latest)."),
    ] = None,
) -> None:
    """An audit run's findings with severity, policy clauses, remediation and state (new, open,
    resolved, waived with reason and date); counts by severity, building and platform; the trend
    across past runs. HTML draws the counts and the trend as charts.

    Example:

        auditor report findings --format html --output findings.html

        auditor report findings --run previous --format csv > findings.csv
    """
    _emit(ctx, "findings", fmt, output, force=force, run=run)


@app.command("escrow")
def escrow(
    ctx: typer.Context, fmt: FormatArg = DEFAULT_FORMAT, output: OutputArg = None, force: ForceArg = False
) -> None:
    """Escrow coverage: accounts without escrowed credentials, stale credentials, and open rotation
    tasks with their deadlines. Never a password, code or seed.

    Example:

        auditor report escrow --format html --output escrow.html
    """
    _emit(ctx, "escrow", fmt, output, force=force)


@app.command("activity")
def activity(
    ctx: typer.Context,
    fmt: FormatArg = DEFAULT_FORMAT,
    output: OutputArg = None,
    force: ForceArg = False,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="First day of the period (YYYY-MM-DD); default: all."),
    ] = None,
) -> None:
    """The reveal log for a period (who saw or changed which credential, when and why) and the
    result of verifying the whole log chain.

    Example:

        auditor report activity --since 2026-01-01 --format html --output activity.html
    """
    _emit(ctx, "activity", fmt, output, force=force, since=day(since, "--since"))


@app.command("offboarding")
def offboarding(
    ctx: typer.Context,
    fmt: FormatArg = DEFAULT_FORMAT,
    output: OutputArg = None,
    force: ForceArg = False,
    person: Annotated[
        str | None,
        typer.Option(
            "--person", metavar="EMAIL", help="The departed person (default: every departed person)."
        ),
    ] = None,
) -> None:
    """For a departed person: their accounts, who took them over, and the credential rotations done
    and pending.

    Example:

        auditor report offboarding --person tokafor@naperville203.org --format html --output tokafor.html
    """
    _emit(ctx, "offboarding", fmt, output, force=force, person=person)


@app.command("access")
def access(
    ctx: typer.Context, fmt: FormatArg = DEFAULT_FORMAT, output: OutputArg = None, force: ForceArg = False
) -> None:
    """The access review: for each account, who can reveal its credentials now (identities and the
    break-glass set), through which escrow scope, granted when and by whom, and when each last
    revealed it; every identity with its last use. Flags grants to people who left or changed role
    (by email, from the roster), identities unused past the policy's [escrow] identity_unused_after,
    and accounts no active identity but the owner's can recover. Never a secret.

    Example:

        auditor report access --format html --output access-review.html
    """
    _emit(ctx, "access", fmt, output, force=force)


@app.command("evidence")
def evidence(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The pack to write (a .zip, mode 0600).", dir_okay=False)
    ],
    force: ForceArg = False,
) -> None:
    """An evidence pack: every report (inventory, findings, escrow, activity, offboarding, access) as
    HTML, CSV and JSON, the reveal-log verification, the policy in force, and MANIFEST.sha256
    (`sha256sum -c` format) plus manifest.json. Prints the digest of the manifest: record it where
    the pack is filed, to show later nothing changed.

    Example:

        auditor report evidence --output evidence-2026-06.zip
    """

    _refuse_overwrite(output, force)
    path = build_evidence_pack(app_context(ctx).registry(), output)
    echo(str(path))
    echo(f"Evidence digest (the SHA-256 of its MANIFEST.sha256): {manifest_digest(path)}")
    echo(
        "Record this digest where the pack is filed; `auditor report verify PACK --expect DIGEST` "
        "checks the pack against it later."
    )


@app.command("verify")
def verify(
    pack: Annotated[Path, typer.Argument(help="The evidence pack (.zip).", exists=True, dir_okay=False)],
    expect: Annotated[
        str | None,
        typer.Option(
            "--expect", metavar="SHA256", help="The manifest digest recorded when the pack was filed."
        ),
    ] = None,
) -> None:
    """Recompute every file's SHA-256 in an evidence pack and compare with its manifest. Exit 1
    naming each altered, damaged, missing or added file. With --expect (the evidence digest
    printed when the pack was made, or the file's own SHA-256), also that this is the pack that was
    filed; without it, the output says that was not checked. Needs no registry.

    Example:

        auditor report verify evidence-2026-06.zip --expect 3f5a...
    """

    problems = verify_evidence_pack(pack)
    if problems:
        for line in problems:
            echo_err(f"ALTERED: {line}")
        raise typer.Exit(1)
    matches = f"OK: every file in {pack.name} matches MANIFEST.sha256"
    if expect is None:
        echo(f"{matches}.")
        echo(
            "Not checked: that this is the pack that was filed (a rebuilt manifest would match too); "
            "pass --expect with the evidence digest recorded when it was filed."
        )
        return
    wanted = expect.strip().lower()
    digest = manifest_digest(pack)
    if wanted == digest:
        echo(f"{matches}, and MANIFEST.sha256 is the one recorded (the evidence digest matches).")
    elif wanted == sha256(pack.read_bytes()):
        echo(f"{matches}, and the file is byte for byte the one recorded (its SHA-256 matches).")
    else:
        echo_err(
            f"MISMATCH: {expect.strip()} is neither this pack's evidence digest ({digest}) nor the "
            "SHA-256 of the file: it is not the pack that was filed, or the digest was mistyped"
        )
        raise typer.Exit(1)
