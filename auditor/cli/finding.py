"""`auditor finding ...`: the findings as they stand now, one finding in detail, and waivers.

"Now" is the ledger (auditor/services/audit.py): the latest result per finding over every stored run, with
waivers applied as of today, so a waiver granted since the last run shows at once and an expired one
shows the finding open again. Waiving needs an admin identity and is recorded (who, when, why, until).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import typer

from auditor.cli.common import TABLE_LIMIT, FormatOpt, JsonOpt, LimitOpt, day, echo, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, render_record, write_rows
from auditor.engine.evaluate import filter_findings
from auditor.engine.ledger import apply_waivers_now, find_finding, finding_history, finding_id
from auditor.model.errors import UsageError
from auditor.model.types import Finding, FindingState, Severity, to_plain
from auditor.services.audit import (
    current_ledger,
    has_runs,
    load_runs,
    load_waivers,
    waive,
    waiver_records,
)

app = typer.Typer(help="Findings of the audits: list, show one, waive one.", no_args_is_help=True)

FINDING_COLUMNS = [
    ("id", "Id"),
    ("severity", "Severity"),
    ("check_id", "Check"),
    ("state", "State"),
    ("message", "Message"),
]


def sort_findings(findings: Iterable[Finding], first: int = 0) -> list[Finding]:
    """Active first, then most severe, then by check and subject (stable output for diffs).
    `first` > 0: only the first that many, as the sorted list begins (`heapq.nsmallest` is
    documented to equal `sorted(...)[:n]`): a table of 50 out of 280,000 findings need not sort
    them all (a second of a 100,000-account audit)."""
    if first > 0:
        return heapq.nsmallest(first, findings, key=Finding.display_key)
    return sorted(findings, key=Finding.display_key)


def table_first(fmt: OutputFormat, limit: int) -> int:
    """How many findings a command's output shows in order: the table's `limit`, or all (0)."""
    return limit if fmt is OutputFormat.TABLE and limit > 0 else 0


def finding_row(f: Finding) -> dict[str, Any]:
    return {
        "id": finding_id(f.fingerprint),
        "severity": f.severity.value,
        "check_id": f.check_id,
        "state": f.state.value,
        "message": f.message,
        "subject": f.subject,
        "fingerprint": f.fingerprint,
        "account_id": f.account_id,
        "person_id": f.person_id,
        "platform": f.platform.value if f.platform else "",
        "building": f.building,
        "clauses": list(f.clauses),
        "remediation": f.remediation,
        "waived_until": f.waived_until.isoformat() if f.waived_until else "",
        "waiver_reason": f.waiver_reason,
        "evidence": _plain(f.evidence),
    }


def _plain(value: Any) -> Any:

    return to_plain(value)


def parse_severity(value: str, option: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def parse_states(values: Sequence[str] | None) -> list[FindingState] | None:
    if not values:
        return None
    try:
        return [FindingState.parse(v) for v in values]
    except ValueError as exc:
        raise UsageError(f"--state: {exc}") from None


def current_findings(ctx: typer.Context) -> tuple[list[Finding], Any]:
    """The ledger with today's waivers, and the open registry."""
    from datetime import UTC, datetime

    reg = app_context(ctx).registry()
    with reg.snapshot():
        if not has_runs(reg):
            raise UsageError("no audit has been run yet", "Run `auditor audit` first.")
        findings = current_ledger(reg)
        waivers = load_waivers(reg)
    return apply_waivers_now(findings, waivers, datetime.now(UTC).date()), reg


@app.command("list")
def list_(
    ctx: typer.Context,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            metavar="STATE",
            help="new, open, waived or resolved (repeatable). Default: all but resolved.",
        ),
    ] = None,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", metavar="ID", help="A check id or family, e.g. escrow (repeatable)."),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option("--platform", metavar="PLATFORM", help="Only this platform (repeatable)."),
    ] = None,
    severity: Annotated[
        str | None,
        typer.Option("--severity", metavar="SEVERITY", help="Only findings at or above this severity."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved findings.")] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
    limit: LimitOpt = TABLE_LIMIT,
) -> None:
    """List the findings as they stand now (latest run of each check, waivers as of today).

    The table shows the first --limit findings (50) and how many there are; JSON and CSV give all.

    Example:

        auditor finding list --severity high --platform instagram

        auditor finding list --format csv > findings.csv
    """

    findings, _ = current_findings(ctx)
    states = parse_states(state)
    if states is None and not all_:
        states = [FindingState.NEW, FindingState.OPEN, FindingState.WAIVED]
    try:
        chosen = filter_findings(findings, check, platform, states)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if severity is not None:
        floor = parse_severity(severity, "--severity").rank
        chosen = [f for f in chosen if f.severity.rank >= floor]
    output = pick_format(fmt, as_json)
    write_rows(
        map(finding_row, sort_findings(chosen, table_first(output, limit))),
        FINDING_COLUMNS,
        output,
        schema="auditor/findings",
        total=len(chosen),
        limit=limit,
        what="findings",
        empty="No findings match.",
    )


@app.command("show")
def show(
    ctx: typer.Context,
    finding: Annotated[str, typer.Argument(help="Finding id (from `finding list`) or CHECK|SUBJECT.")],
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Show one finding: message, clauses quoted, remediation, evidence, waiver and history.

    Example:

        auditor finding show f3a9c1e07
    """

    findings, reg = current_findings(ctx)
    f = find_finding(findings, finding)
    row = finding_row(f)
    clauses = f.evidence.get("clauses") if isinstance(f.evidence, dict) else None
    row["clause_text"] = [f'{c.get("id")}: {c.get("citation")}: "{c.get("text")}"' for c in clauses or []]
    with reg.snapshot():
        history = finding_history(load_runs(reg), f.fingerprint)
        waiver = waiver_records(reg).get(f.fingerprint)
    row["history"] = [f"{started.isoformat()[:19]} {run_id} {state}" for run_id, started, state in history]
    if waiver is not None:
        row["waiver"] = (
            f"until {waiver.until.isoformat()} by {waiver.by} on {waiver.at[:10]}: {waiver.reason}"
        )
    fmt = pick_format(fmt, as_json)
    if fmt is OutputFormat.TABLE:
        row.pop("evidence")
        row["evidence"] = {k: v for k, v in _plain(f.evidence).items() if k != "clauses"}
    echo(render_record(row, fmt, schema="auditor/finding"))


@app.command("waive")
def waive_(
    ctx: typer.Context,
    finding: Annotated[str, typer.Argument(help="Finding id (from `finding list`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the finding is accepted, and who decided.")],
    until: Annotated[str, typer.Option("--until", help="YYYY-MM-DD: the finding reopens after this date.")],
) -> None:
    """Accept a finding until a date (admin; recorded with who, when and why).

    A waived finding no longer fails `auditor audit --fail-on`; after --until it reopens.

    Example:

        auditor finding waive f3a9c1e07 --reason "Board approved the exception on 2026-09-14" --until 2026-12-31
    """

    until_day = day(until, "--until")
    if until_day is None:
        raise UsageError("--until needs a date", "Use YYYY-MM-DD, e.g. 2026-12-31.")
    reg = app_context(ctx).registry(admin=True)
    f, w = waive(reg, finding, reason, until_day)
    echo(f"Waived {finding_id(f.fingerprint)} ({f.check_id}) until {w.until.isoformat()}: {f.message}")
