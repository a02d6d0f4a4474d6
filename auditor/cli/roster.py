"""`auditor roster ...`: configure the staff directories and sync people's status and role from them.

Thin by design (STYLE.md "The CLI is thin"): options become arguments to `auditor.services.roster`, the
result is rendered, and the exit code picked. Secrets (client secrets, access tokens) are read from
a hidden prompt or, with `--secret-stdin`, from standard input; never from an argument, where they
would land in shell history and `ps` output. Heavy modules are imported inside the commands so
`auditor --help` stays fast.
"""

from __future__ import annotations

import enum
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, json_text, render_rows
from auditor.model.errors import UsageError
from auditor.model.types import Secret
from auditor.services import roster as roster_ops

if TYPE_CHECKING:
    from auditor.services.roster import SyncOutcome

app = typer.Typer(
    help=(
        "Roster sources (OneRoster, Microsoft Graph, Google Directory, HR exports) and `roster sync`, "
        "which keeps people's status and role in step with the district's directory."
    ),
    no_args_is_help=True,
)


class SyncFormat(str, enum.Enum):
    TABLE = "table"
    JSON = "json"


def _read_secret(label: str, from_stdin: bool) -> Secret:
    """One line from stdin, or a hidden prompt on a terminal. The value is never echoed."""
    if from_stdin:
        lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
        if not lines:
            raise UsageError(f"no {label} on standard input", "Pipe exactly one line into --secret-stdin.")
        if len(lines) > 1:
            raise UsageError(f"expected one line (the {label}) on standard input, got {len(lines)}")
        return Secret(lines[0].strip())
    if not sys.stdin.isatty():
        raise UsageError(
            f"the {label} is needed but there is no terminal to ask on",
            "Pipe it in with --secret-stdin, e.g. `printf '%s' \"$SECRET\" | auditor roster add ... --secret-stdin`.",
        )
    value = typer.prompt(f"{label[:1].upper()}{label[1:]}", hide_input=True)
    return Secret(value)


def _plural(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name for the source, e.g. sis or entra.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            "-k",
            help="oneroster-csv, oneroster-rest, msgraph, google (Directory) or csv (HR export).",
        ),
    ],
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            metavar="KEY=VALUE",
            help="A source option (repeatable), e.g. tenant=d203.org; see docs/roster.md. Never a secret.",
        ),
    ] = None,
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin", help="Read the client secret / access token from standard input (one line)."
        ),
    ] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a source of the same name.")] = False,
) -> None:
    """Configure a roster source; its secret goes to the encrypted registry.

    The options are checked now, so a typo fails here rather than in tonight's sync. Sources that
    need a secret (oneroster-rest and msgraph: the client secret; google: an access token) ask for
    it on a hidden prompt, or read it from standard input with --secret-stdin.

    Example:

        auditor roster add sis --kind oneroster-csv --option path=/srv/exports/oneroster.zip

        printf '%s' "$ENTRA_SECRET" | auditor roster add entra --kind msgraph --option tenant=d203.org --option client_id=0000-1111 --secret-stdin
    """
    member = roster_ops.parse_kind(kind)
    source_name = roster_ops.check_source_name(name)
    options = roster_ops.parse_options(member, option or [])
    config = roster_ops.SourceConfig(source_name, member.value, options)
    roster_ops.validate_source(config)  # before any prompt: bad options fail first
    wants_secret = roster_ops.needs_secret(member)
    if secret_stdin and not wants_secret:
        raise UsageError(f"a {member.value} source takes no secret; leave out --secret-stdin")
    reg = app_context(ctx).registry()
    if source_name in roster_ops.configured_sources(reg) and not replace:
        raise UsageError(
            f"a roster source named {source_name!r} already exists",
            f"Remove it first (`auditor roster remove {source_name}`) or pass --replace.",
        )
    secret = _read_secret(roster_ops.secret_label(member), secret_stdin) if wants_secret else None
    roster_ops.add_source(reg, source_name, member, options, secret, replace=replace)
    stored = f"; its {roster_ops.secret_label(member)} is stored encrypted in the registry" if secret else ""
    echo(f"Added roster source {source_name} ({member.value}){stored}.")
    echo(f"Next: `auditor roster sync {source_name} --dry-run` shows what it would change.")


@app.command("set-secret")
def set_secret(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The configured source.")],
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the secret from standard input (one line).")
    ] = False,
) -> None:
    """Replace a source's client secret or access token (after rotating it).

    Example:

        printf '%s' "$NEW_SECRET" | auditor roster set-secret entra --secret-stdin
    """
    reg = app_context(ctx).registry()
    config = roster_ops.get_source(reg, name)
    if not roster_ops.needs_secret(config.kind):
        raise UsageError(f"roster source {config.name} ({config.kind}) takes no secret")
    secret = _read_secret(roster_ops.secret_label(config.kind), secret_stdin)
    roster_ops.set_source_secret(reg, config.name, secret)
    echo(f"Stored a new {roster_ops.secret_label(config.kind)} for roster source {config.name}.")


def _options_text(options: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={json.dumps(v, separators=(',', ':')) if isinstance(v, dict | list) else v}"
        for k, v in options.items()
    )


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False) -> None:
    """List configured roster sources and whether each has its secret (never the secret itself).

    Example:

        auditor roster list --format json
    """
    rows = roster_ops.source_rows(app_context(ctx).registry())
    out_fmt = pick_format(fmt, as_json)
    if out_fmt is not OutputFormat.JSON:
        rows = [
            {**r, "options": _options_text(r["options"]), "added_at": r["added_at"][:19].replace("T", " ")}
            for r in rows
        ]
    echo(
        render_rows(
            rows,
            [
                ("name", "Name"),
                ("kind", "Kind"),
                ("options", "Options"),
                ("secret", "Secret"),
                ("added_at", "Added"),
            ],
            out_fmt,
            schema="auditor/roster-sources",
            empty="No roster sources. Add one with `auditor roster add NAME --kind KIND --option KEY=VALUE`.",
        )
    )


@app.command("remove")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The configured source.")]) -> None:
    """Forget a roster source and its stored secret. People and the sync history are kept.

    Example:

        auditor roster remove entra
    """
    config = roster_ops.remove_source(app_context(ctx).registry(), name)
    echo(f"Removed roster source {config.name} ({config.kind}).")


@app.command("sync")
def sync(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="A configured source name, or the path of a OneRoster CSV folder or zip.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; write nothing.")] = False,
    create_missing: Annotated[
        bool, typer.Option("--create-missing", help="Add roster people who are not in the registry yet.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Apply even when the plan has warnings (e.g. over 20% departures)."),
    ] = False,
    fmt: Annotated[
        SyncFormat,
        typer.Option("--format", "-f", help="table for people, json for scripts.", case_sensitive=False),
    ] = SyncFormat.TABLE,
) -> None:
    """Update people's status, role and building from a roster; record what changed.

    Departures (the roster says so, or a complete roster no longer lists someone) mark the person
    departed with a date; nobody is ever deleted. Role and building changes are dated. A plan with
    warnings (more than 20% of people departing, duplicates) is shown but not applied without
    --force. Otherwise the registry is backed up and the changes are written in one transaction,
    with a history record (`auditor roster history`). Running it again changes nothing.

    Example:

        auditor roster sync sis --dry-run

        auditor roster sync /srv/exports/oneroster.zip --format json
    """
    reg = app_context(ctx).registry()
    roster = roster_ops.open_source(reg, source)
    outcome = roster_ops.sync(reg, roster, dry_run=dry_run, create_missing=create_missing, force=force)
    if fmt is SyncFormat.JSON:
        echo(json_text({"schema": "auditor/roster-sync", "version": 1, **outcome.to_dict()}))
    else:
        echo(render_outcome(outcome))
    if outcome.refused:
        raise roster_ops.SyncRefusedError(
            f"the plan has {_plural(len(outcome.plan.warnings), 'warning')}; nothing was applied",
            "Check the roster export; rerun with --force to apply anyway.",
        )


def render_outcome(o: SyncOutcome) -> str:
    plan = o.plan
    summary = plan.summary
    scope = "complete roster" if o.full_snapshot else "changes only"
    matched = summary.matched if summary else 0
    lines = [
        f"Roster {o.source} ({o.kind}, {scope}): {_plural(o.entries, 'entry', 'entries')}, "
        f"{matched} matched in the registry."
    ]
    if o.previous_sync_at:
        lines.append(f"Previous sync of this source: {o.previous_sync_at}.")
    if plan.baseline:
        lines.append(
            f"First sync of this source: a baseline. {_plural(matched, 'person', 'people')} matched; "
            "roles and buildings are taken from the roster where they compare, and later syncs report "
            "what the roster changes."
        )
    if plan.differing:
        lines.append(
            f"{_plural(len(plan.differing), 'role or building')} kept as the registry has them, though the "
            "roster says otherwise (not comparable, or unchanged in the roster since its last sync; see "
            "docs/roster.md, 'Roles'):"
        )
        lines.extend(
            f"  = {name}: {mine} (roster: {theirs})" for _pid, name, mine, theirs in plan.differing[:10]
        )
        if len(plan.differing) > 10:
            lines.append(f"  ... and {len(plan.differing) - 10} more (--format json lists them)")
    changes = o.changes
    if not changes:
        lines.append("No changes: the registry already matches the roster.")
    else:
        lines.extend(f"  - {line}" for line in changes)
        counts = o.counts
        lines.append(
            f"{_plural(counts['departures'], 'departure')}, {_plural(counts['role_changes'], 'role change')}, "
            f"{_plural(counts['updates'], 'other update')}, {_plural(counts['created'], 'new person', 'new people')}."
        )
    if plan.unmatched:
        lines.append(
            f"{_plural(len(plan.unmatched), 'roster entry', 'roster entries')} match nobody in the registry; "
            "--create-missing adds them."
        )
    if plan.warnings:
        lines.append("Warnings:")
        lines.extend(f"  ! {w}" for w in plan.warnings)
    if o.notes:
        lines.append("Source notes (the sync still applies):")
        lines.extend(f"  ! {n}" for n in o.notes)
    if o.dry_run:
        lines.append("Dry run: nothing was written.")
    elif o.refused:
        lines.append("Nothing was applied.")
    elif o.applied and not plan.is_empty:
        lines.append(f"Applied in one transaction. Backup taken before the sync: {o.backup}")
    return "\n".join(lines)


@app.command("history")
def history(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only syncs of this source.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show the latest N syncs.")] = 20,
    changes: Annotated[
        bool, typer.Option("--changes", help="List each sync's changes as sentences.")
    ] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """List past roster syncs: when, from which source, and what changed.

    Example:

        auditor roster history --source sis --changes
    """
    records = roster_ops.history(app_context(ctx).registry(), source=source)[-limit:]
    out_fmt = pick_format(fmt, as_json)
    if out_fmt is OutputFormat.JSON:
        rows: list[dict[str, Any]] = [r.to_dict() for r in records]
    else:
        rows = [
            {"at": r.at[:19].replace("T", " "), "source": r.source, "kind": r.kind, "by": r.by,
             **{k: r.counts.get(k, 0) for k in ("departures", "role_changes", "updates", "created")},
             "forced": r.forced}
            for r in records
        ]  # fmt: skip
    echo(
        render_rows(
            rows,
            [
                ("at", "When (UTC)"),
                ("source", "Source"),
                ("departures", "Departures"),
                ("role_changes", "Role changes"),
                ("updates", "Updates"),
                ("created", "New"),
                ("forced", "Forced"),
                ("by", "By"),
            ],
            out_fmt,
            schema="auditor/roster-history",
            empty="No roster syncs yet. Run `auditor roster sync SOURCE`.",
        )
    )
    if changes and out_fmt is OutputFormat.TABLE:
        for r in records:
            if r.changes:
                echo(f"\n{r.at[:19].replace('T', ' ')} {r.source}:")
                for line in r.changes:
                    echo(f"  - {line}")
