"""Command groups load lazily: click's "lazily loading subcommands" pattern.

`auditor --help` must start in well under 0.3 s, so the root group knows each command by name and
the first paragraph of its help (`COMMANDS`, below) and imports the module only when the command
runs or its own help is asked for. A test (tests/e2e/test_cli_help.py) checks that every entry's
help is the command's own, so the table cannot drift from the docstrings.

Adding a command group: write auditor/cli/NAME.py with `app = typer.Typer(help=...)` and add a row
here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperGroup

try:  # typer 0.2x vendors its own copy of click; its commands and contexts are of that copy
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer uses click itself
    import click  # type: ignore[no-redef]

make_default_short_help = click.utils.make_default_short_help


@dataclass(frozen=True)
class Lazy:
    """Where a root command lives: `module:attribute` (a Typer app, or a function for a single
    command) and the first paragraph of its help as listed by `auditor --help`."""

    target: str
    help: str


# In the order `auditor --help` lists them.
COMMANDS: dict[str, Lazy] = {
    "init": Lazy(
        "auditor.cli.setup:init", "Create a new, empty, encrypted registry and its first administrator."
    ),
    "demo": Lazy(
        "auditor.cli.setup:demo",
        "Tell a sample district's whole story: registry, roster, escrow, an audit, a report.",
    ),
    "offboard": Lazy(
        "auditor.cli.escrow_workflows:offboard",
        "Offboard a staff member: list their accounts, reassign ownership (to --to, else each account's first active co-manager), mark them departed, open rotation tasks for every account whose credentials they knew, remove their identity (re-keying), and print a checklist per platform. A backup is taken first; everything is logged.",
    ),
    "recover": Lazy(
        "auditor.cli.escrow_workflows:recover",
        "Recover an account whose owner is gone: who owned it, what is escrowed, and the rotation task with each step to confirm. Nothing secret is printed unless asked for, one field at a time (--field), on the screen or with --copy on the clipboard; each is logged first with your reason.",
    ),
    "person": Lazy(
        "auditor.cli.person", "People: employees, students, volunteers who manage district accounts."
    ),
    "account": Lazy(
        "auditor.cli.account", "Accounts: every social-media account that represents the district."
    ),
    "identity": Lazy(
        "auditor.cli.identity",
        "Identities: district administrators (every escrow scope), building administrators (their "
        "schools' credentials), auditors (scheduled audits) and compliance (inventory, log and reports).",
    ),
    "registry": Lazy(
        "auditor.cli.registry_cmd",
        "The registry itself: check, back up, restore, upgrade, migrate between SQLite and PostgreSQL.",
    ),
    "policy": Lazy(
        "auditor.cli.policy",
        "The district policy: which rules the audit applies, each mapped to a clause of the district's document.",
    ),
    "audit": Lazy(
        "auditor.cli.audit",
        "Audit the inventory against the district policy; `audit history` and `audit diff` read past runs.",
    ),
    "finding": Lazy("auditor.cli.finding", "Findings of the audits: list, show one, waive one."),
    "watch": Lazy(
        "auditor.cli.watch",
        "The watchlist: handles staff reported as possible impostors, looked at by every audit.",
    ),
    "check": Lazy("auditor.cli.check", "The checks the audit can run."),
    "connector": Lazy(
        "auditor.cli.connector:connector_app",
        "Platform connectors: which are configured, test one, store an API token.",
    ),
    "profile": Lazy("auditor.cli.connector:profile_app", "What a platform shows publicly for one handle."),
    "roster": Lazy(
        "auditor.cli.roster",
        "Roster sources (OneRoster, Microsoft Graph, Google Directory, HR exports) and `roster sync`, which keeps people's status and role in step with the district's directory.",
    ),
    "secret": Lazy(
        "auditor.cli.secret",
        "Escrowed credentials: store, generate, reveal (logged), history, export and import.",
    ),
    "log": Lazy("auditor.cli.log", "The reveal log: who saw or changed which credential, when and why."),
    "task": Lazy(
        "auditor.cli.task",
        "Rotation tasks: the steps owed after someone who knew an account's credentials lost access.",
    ),
    "breakglass": Lazy(
        "auditor.cli.breakglass",
        "Break-glass: k-of-n sealed-envelope shares that open the registry in an emergency.",
    ),
    "report": Lazy(
        "auditor.cli.report",
        "Compliance reports for people who do not run the tool: inventory, findings, escrow, activity, offboarding, access (as a table, CSV, JSON, HTML or XLSX), and evidence packs.",
    ),
    "notify": Lazy("auditor.cli.notify", "Where audit results go: email (SMTP) and webhooks (Teams, Slack)."),
    "schedule": Lazy("auditor.cli.schedule", "Run the audit unattended: systemd timer or cron line."),
}


def load(target: str, name: str) -> click.Command:
    """Import `module:attribute` and make the click command `auditor NAME` runs."""
    module_name, _, attribute = target.partition(":")
    obj: Any = getattr(importlib.import_module(module_name), attribute or "app")
    if isinstance(obj, typer.Typer):
        # As `add_typer` on the root did: plain help, no rich boxes, the root's conventions.
        obj.rich_markup_mode = None
        obj._add_completion = False  # the root alone offers --install-completion
        command: click.Command = typer.main.get_group(obj)  # a group even with one command
    else:
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(name)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A group whose subcommands are imported on first use; its own help lists them from the table."""

    lazy_commands: ClassVar[dict[str, Lazy]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.lazy_commands]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.lazy_commands:
            return found
        command = load(self.lazy_commands[cmd_name].target, cmd_name)
        self.commands[cmd_name] = command  # imported once per process
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but from the table: listing the commands imports none of them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                rows.append((name, make_default_short_help(self.lazy_commands[name].help, limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
