"""`auditor audit`: run the audit (what IT schedules), and read its history.

`auditor audit` with options runs one audit and stores it; `audit history` lists the stored runs and
`audit diff RUN1 RUN2` compares two. Exit codes (STYLE.md): 0 clean, 3 when an active finding is at or
above --fail-on, 1 on an operational error. The library does the work (auditor/services/audit.py); this module
turns options into `AuditOptions`, draws the progress bar on stderr when it is a terminal, renders.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import TABLE_LIMIT, FormatOpt, JsonOpt, LimitOpt, echo, echo_err, pick_format
from auditor.cli.context import app_context
from auditor.cli.finding import FINDING_COLUMNS, finding_row, parse_severity, sort_findings, table_first
from auditor.cli.output import OutputFormat, json_envelope, render_rows, write_rows
from auditor.engine.evaluate import fail_on as fails
from auditor.engine.ledger import diff_runs, finding_id
from auditor.model.errors import InputError, UsageError
from auditor.model.types import Platform, Role
from auditor.services.audit import AuditOptions, compact_runs, parse_candidates, run_audit, run_history
from auditor.services.notify.attachments import DEFAULT_ATTACH, parse_attach
from auditor.services.notify.dispatch import notify_run
from auditor.services.notify.errors import NotifyError
from auditor.services.notify.summary import NotifyMode
from auditor.services.runlock import audit_lock
from connectors.http import RUN_DEADLINE_REASON, Budget

# A nightly run stops asking the platforms after an hour: whatever is left is profile.unknown, the run
# is stored and the lock released, so one hung platform never blocks the next night (issue 11).
DEFAULT_DEADLINE = 3600.0

app = typer.Typer(
    help="Audit the inventory against the district policy; `audit history` and `audit diff` read past runs.",
    invoke_without_command=True,
)


class _Progress:
    """A one-line progress bar per step on stderr (only drawn on a terminal)."""

    def __init__(self) -> None:
        self.open = False

    def __call__(self, label: str, done: int, total: int) -> None:
        width = 28
        filled = width if not total else int(width * done / total)
        sys.stderr.write(f"\r{label[:26]:<26} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _platforms(values: list[str] | None) -> tuple[Platform, ...]:
    out: list[Platform] = []
    for v in values or ():
        try:
            out.append(Platform.parse(v))
        except ValueError as exc:
            raise UsageError(f"--platform: {exc}") from None
    return tuple(dict.fromkeys(out))


def run_summary(run: Any, notes: Any, discovery: Any = ()) -> dict[str, Any]:
    """The `run` object of `audit --format json` (docs/json.md)."""
    return {
        "id": run.id,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "identity": run.identity,
        "policy": run.policy,
        "offline": run.offline,
        "platforms": list(run.platforms),
        "checks": list(run.checks),
        "accounts_checked": run.accounts_checked,
        "profiles_unknown": run.profiles_unknown,
        "active_by_severity": run.counts_by_severity(),
        "errors": list(run.errors),
        "notes": list(notes),
        "discovery": [u.to_dict() for u in discovery],
    }


@app.callback()
def audit(
    ctx: typer.Context,
    platform: Annotated[
        list[str] | None,
        typer.Option("--platform", "-p", metavar="PLATFORM", help="Only this platform (repeatable)."),
    ] = None,
    check: Annotated[
        list[str] | None,
        typer.Option(
            "--check", "-c", metavar="ID", help="Only this check id or family, e.g. escrow (repeatable)."
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="No network: run only the checks that need none.")
    ] = False,
    candidates: Annotated[
        Path | None,
        typer.Option(
            "--candidates",
            metavar="FILE",
            help="File of handles to score as look-alikes, one PLATFORM:HANDLE a line.",
        ),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Exit 3 when an active finding is at or above: info, low, medium, high, critical.",
        ),
    ] = "high",
    as_role: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="ROLE",
            help="Unlock with this role's keys only: `auditor` (inventory key, for scheduled jobs).",
        ),
    ] = None,
    notify: Annotated[
        str,
        typer.Option(
            "--notify",
            metavar="WHEN",
            help="After the run, send the summary to the configured email/webhooks: on-new (only when "
            "something new was found; what `auditor schedule` uses), always, never.",
        ),
    ] = "never",
    attach: Annotated[
        list[str] | None,
        typer.Option(
            "--attach",
            metavar="KIND:FORMAT",
            help="Report attached to the email (repeatable; default findings:html and findings:csv; none).",
        ),
    ] = None,
    deadline: Annotated[
        float,
        typer.Option(
            "--deadline",
            metavar="SECONDS",
            help="Stop asking the platforms this long after the audit started; what is left is reported "
            "profile.unknown (not checked) and the run is still stored.",
        ),
    ] = DEFAULT_DEADLINE,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
    limit: LimitOpt = TABLE_LIMIT,
) -> None:
    """Audit every account against the district policy, store the run, print the findings.

    Each finding is new, open (seen before), waived, or resolved (fixed since the last run). Exit code
    0 when clean, 3 when a new or open finding is at or above --fail-on, 1 on an error (or when the
    run was clean but a notification failed), 75 when another audit is running on this registry.
    Platform lookups stop at --deadline (default an hour); the lock is always released. Look-alike
    discovery searches and probes every platform within the policy's [impersonation] probe_budget
    and search_budget, and prints what each platform used ("Discovery: X: 212 of 400 look-alike
    probes ..."; in JSON under run.discovery).

    Example:

        auditor audit --as auditor --fail-on high --notify on-new --format json > /var/log/auditor/latest.json
    """
    if ctx.invoked_subcommand is not None:
        return

    if not deadline > 0 or deadline == float("inf"):
        raise UsageError(f"--deadline: {deadline:g} is not a positive number of seconds")
    run_deadline = Budget(deadline, reason=RUN_DEADLINE_REASON)  # counted from the start of the command
    threshold = parse_severity(fail_on, "--fail-on")
    role: Role | None = None
    if as_role is not None:
        try:
            role = Role.parse(as_role)
        except ValueError as exc:
            raise UsageError(f"--as: {exc}") from None
    pairs: tuple[tuple[Platform, str], ...] = ()
    if candidates is not None:
        try:
            text = candidates.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {candidates}: {type(exc).__name__}") from None
        pairs = parse_candidates(text, str(candidates))
    options = AuditOptions(
        platforms=_platforms(platform),
        checks=tuple(check or ()),
        offline=offline,
        candidates=pairs,
    )
    mode, specs = _notify_options(notify, attach)
    actx = app_context(ctx)
    with contextlib.ExitStack() as stack:
        if actx.registry_exists():
            # Before unlocking (Argon2id takes a while): a second audit leaves at once, exit 75. The
            # lock is released however the block ends (an error, Ctrl-C, the deadline).
            stack.enter_context(audit_lock(actx.location, on_takeover=lambda m: echo_err(f"warning: {m}")))
        reg = actx.registry(as_role=role)
        outcome = run_audit(
            reg, options, progress=_Progress() if sys.stderr.isatty() else None, deadline=run_deadline
        )
        exit_code = _report_run(outcome, output=pick_format(fmt, as_json), threshold=threshold, limit=limit)
        # The run is stored before anything is sent: a failed notification never loses it.
        if (
            mode.value != "never"
            and _notify(reg, outcome, mode, specs, verbose=actx.verbose)
            and exit_code == 0
        ):
            exit_code = 1  # docs/notify.md, "Exit codes": findings (3) outrank a failed notification
    if exit_code:
        raise typer.Exit(exit_code)


def _notify_options(notify: str, attach: list[str] | None) -> tuple[Any, tuple[Any, ...]]:
    """--notify and --attach, checked before the audit runs (usage errors first)."""

    try:
        mode = NotifyMode(notify.strip().lower())
    except ValueError:
        raise UsageError(f"--notify: {notify!r} is not one of on-new, always, never") from None
    try:
        specs = parse_attach(attach or DEFAULT_ATTACH)
    except NotifyError as exc:
        raise UsageError(exc.message, exc.hint) from None
    return mode, specs


def _notify(reg: Any, outcome: Any, mode: Any, specs: tuple[Any, ...], *, verbose: int) -> bool:
    """Send the notification; report each channel on stderr. True when a channel failed."""

    result = notify_run(reg, outcome, mode, specs)
    if not result.sent:
        if verbose:
            echo_err(f"notify: nothing sent ({result.reason}).")
        return False
    for problem in result.problems:
        echo_err(f"warning: {problem}")
    for d in result.deliveries:
        if d.ok:
            echo_err(f"notify: {d.channel}: {d.detail}.")
        else:
            echo_err(f"error: notification via {d.channel} failed: {d.detail}")
            if d.hint:
                echo_err(f"hint: {d.hint}")
    return result.failed


def _report_run(outcome: Any, *, output: OutputFormat, threshold: Any, limit: int = TABLE_LIMIT) -> int:
    """Print the run (stdout) and its summary and notes (stderr); return 3 or 0 for --fail-on."""

    run = outcome.run
    findings = sort_findings(run.findings, table_first(output, limit))
    run_info = run_summary(run, outcome.notes, outcome.discovery) if output is OutputFormat.JSON else None
    write_rows(
        map(finding_row, findings),
        FINDING_COLUMNS,
        output,
        schema="auditor/audit",
        total=len(run.findings),
        limit=limit,
        what="findings",
        empty="No findings.",
        extra={"run": run_info} if run_info is not None else None,
    )
    for note in outcome.notes:
        echo_err(f"warning: {note}")
    for use in outcome.discovery:  # what look-alike discovery spent of the policy's budget
        echo_err(f"Discovery: {use.line()}")
    for w in outcome.expired_waivers:
        echo_err(
            f"note: the waiver for finding {finding_id(w.fingerprint)} expired on {w.until.isoformat()}; "
            "it is open again."
        )
    counts = run.counts_by_severity()
    summary = ", ".join(f"{n} {s}" for s, n in reversed(counts.items()) if n) or "none"
    echo_err(
        f"Run {run.id}: {run.accounts_checked} accounts, {len(run.checks)} checks, "
        f"active findings: {summary}."
    )
    return 3 if fails(run.findings, threshold) else 0


HISTORY_COLUMNS = [
    ("id", "Run"),
    ("started_at", "Started"),
    ("identity", "By"),
    ("mode", "Mode"),
    ("accounts_checked", "Accounts"),
    ("new", "New"),
    ("open", "Open"),
    ("resolved", "Resolved"),
    ("waived", "Waived"),
    ("high_or_above", "High+"),
]


@app.command("history")
def history(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show the latest N runs (0: all).")] = 20,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """List stored audit runs, newest first.

    Example:

        auditor audit history --limit 5
    """

    reg = app_context(ctx).registry()
    with reg.snapshot():
        stored = run_history(reg).runs  # summaries only: no finding is read
    rows = []
    for summary in list(reversed(stored))[: limit or None]:
        r = summary.run
        states = {s: summary.tally.get("states", {}).get(s, 0) for s in ("new", "open", "resolved", "waived")}
        counts = summary.tally.get("severity", {})
        mode = "offline" if r.offline else "online"
        if r.platforms:
            mode += " " + ",".join(r.platforms)
        rows.append(
            {
                "id": r.id,
                "started_at": r.started_at.isoformat()[:19],
                "identity": r.identity,
                "mode": mode,
                "accounts_checked": r.accounts_checked,
                **states,
                "high_or_above": counts.get("high", 0) + counts.get("critical", 0),
                "checks": list(r.checks),
                "profiles_unknown": r.profiles_unknown,
                "errors": list(r.errors),
            }
        )
    echo(
        render_rows(
            rows,
            HISTORY_COLUMNS,
            pick_format(fmt, as_json),
            schema="auditor/audit-runs",
            empty="No audit runs yet.",
        )
    )


@app.command("compact")
def compact_cmd(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say which runs would be compacted; change nothing.")
    ] = False,
) -> None:
    """Drop the detail of runs older than the policy's [audit] retention (admin; logged).

    Every run's summary stays (history, trend); only the findings of compacted runs can no longer
    be shown or compared. The reveal log is never touched.

    Example:

        auditor audit compact --dry-run
    """

    result = compact_runs(app_context(ctx).registry(), dry_run=dry_run)
    verb = "would compact" if dry_run else "compacted"
    echo(
        f"{verb} {len(result.runs)} run(s) ({result.records} change record(s)); "
        f"{result.kept} run(s) keep their detail."
    )


DIFF_COLUMNS = [
    ("change", "Change"),
    ("id", "Id"),
    ("severity", "Severity"),
    ("check_id", "Check"),
    ("message", "Message"),
]


@app.command("diff")
def diff(
    ctx: typer.Context,
    run1: Annotated[str, typer.Argument(help="The earlier run (id, prefix, `previous`).")],
    run2: Annotated[str, typer.Argument(help="The later run (id, prefix, `latest`).")] = "latest",
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """What changed between two runs: findings added, removed, or changed in severity or wording.

    Only what both runs checked is compared: after a `--check` or `--platform` run, the other
    checks' findings are counted as not compared rather than shown as removed.

    Example:

        auditor audit diff previous latest
    """

    reg = app_context(ctx).registry()
    with reg.snapshot():
        history = run_history(reg)  # the two runs' findings: the ledger walked back to them
        runs = history.full_runs([history.index(run1), history.index(run2)])
    a, b = runs[history.index(run1)], runs[history.index(run2)]
    d = diff_runs(a, b)
    rows: list[dict[str, Any]] = []
    for change, items in (("added", d.added), ("removed", d.removed)):
        for f in items:
            rows.append({"change": change, **finding_row(f)})
    for before, after in d.changed:
        row = {"change": "changed", **finding_row(after)}
        row["before"] = {"severity": before.severity.value, "message": before.message}
        rows.append(row)
    rows.sort(key=lambda r: (r["change"], r["check_id"], r["subject"]))
    output = pick_format(fmt, as_json)
    if output is OutputFormat.JSON:
        echo(
            json_envelope(
                "auditor/audit-diff",
                rows,
                before=a.id,
                after=b.id,
                unchanged=d.unchanged,
                not_compared=d.not_compared,
            )
        )
        return
    echo(render_rows(rows, DIFF_COLUMNS, output, schema="auditor/audit-diff", empty="No differences."))
    if output is OutputFormat.TABLE:
        echo(
            f"{a.id} -> {b.id}: {len(d.added)} added, {len(d.removed)} removed, "
            f"{len(d.changed)} changed, {d.unchanged} unchanged."
            + (
                f" {d.not_compared} finding(s) of checks or platforms only one of the runs covered "
                "were not compared."
                if d.not_compared
                else ""
            )
        )
