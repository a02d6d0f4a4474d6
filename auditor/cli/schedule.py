"""`auditor schedule`: run the audit unattended: a systemd timer or a cron line.

`schedule show` prints exactly what `schedule install` would write, without touching the system.
The rendering and installing live in auditor/services/schedule.py; this module turns options into a
`ScheduleSpec`, prints, and warns about the passphrase file. Details: docs/schedule.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import echo, echo_err
from auditor.cli.context import app_context, is_server_url
from auditor.model.errors import UsageError
from auditor.services.schedule import (
    SERVICE_NAME,
    TIMER_NAME,
    ScheduleSpec,
    auditor_executable,
    cron_block,
    install_cron,
    install_systemd,
    passphrase_file_problem,
    systemd_service,
    systemd_timer,
)

app = typer.Typer(help="Run the audit unattended: systemd timer or cron line.", no_args_is_help=True)

SystemdOpt = Annotated[bool, typer.Option("--systemd", help="A systemd service and timer.")]
CronOpt = Annotated[bool, typer.Option("--cron", help="A crontab line.")]
AtOpt = Annotated[str, typer.Option("--at", metavar="HH:MM", help="Time of day (24-hour, local time).")]
IdentityOpt = Annotated[
    str, typer.Option("--identity", metavar="NAME", help="The auditor identity the job unlocks with.")
]
PassOpt = Annotated[
    str | None,
    typer.Option(
        "--passphrase-file",
        metavar="FILE",
        help="That identity's passphrase file, mode 0600 (default: /etc/auditor/NAME.pass).",
        show_default=False,
    ),
]
NotifyOpt = Annotated[str, typer.Option("--notify", metavar="WHEN", help="on-new, always or never.")]
FailOnOpt = Annotated[str, typer.Option("--fail-on", metavar="SEVERITY", help="Exit 3 at or above this.")]
UserOpt = Annotated[
    bool | None,
    typer.Option(
        "--user/--system",
        help="systemd user manager or system manager (default: --system as root, --user otherwise).",
        show_default=False,
    ),
]
RunAsOpt = Annotated[
    str,
    typer.Option("--run-as", metavar="USER", help="System service / cron.d: the user the audit runs as."),
]
ExeOpt = Annotated[
    str | None,
    typer.Option("--executable", metavar="PATH", help="The auditor command to run (default: this one)."),
]
LogOpt = Annotated[
    str,
    typer.Option("--log", metavar="FILE", help="cron: append output here (default: beside the registry)."),
]


def _kind(systemd: bool, cron: bool) -> str:
    if systemd == cron:
        raise UsageError("choose one of --systemd or --cron")
    return "systemd" if systemd else "cron"


def _spec(
    ctx: typer.Context,
    *,
    at: str,
    identity: str,
    passphrase_file: str | None,
    notify: str,
    fail_on: str,
    user_mode: bool | None,
    run_as: str,
    executable: str | None,
    log: str,
) -> object:

    location = app_context(ctx).location
    if not is_server_url(location):
        location = str(Path(location).expanduser().absolute())
    if user_mode is None:
        user_mode = os.geteuid() != 0
    return ScheduleSpec(
        executable=executable or auditor_executable(),
        registry=location,
        identity=identity,
        passphrase_file=str(Path(passphrase_file or f"/etc/auditor/{identity}.pass").expanduser().absolute()),
        at=at,
        notify=notify.strip().lower(),
        fail_on=fail_on.strip().lower(),
        user_mode=user_mode,
        run_as=run_as,
        log_file=str(Path(log).expanduser().absolute()) if log else "",
    ).validate()


@app.command("show")
def show(
    ctx: typer.Context,
    systemd: SystemdOpt = False,
    cron: CronOpt = False,
    at: AtOpt = "02:00",
    identity: IdentityOpt = "auditor",
    passphrase_file: PassOpt = None,
    notify: NotifyOpt = "on-new",
    fail_on: FailOnOpt = "high",
    user_mode: UserOpt = None,
    run_as: RunAsOpt = "",
    executable: ExeOpt = None,
    log: LogOpt = "",
) -> None:
    """Print the systemd units or the crontab line that `schedule install` would write.

    Example:

        auditor schedule show --systemd --at 02:30 --identity auditor
    """

    kind = _kind(systemd, cron)
    spec = _spec(
        ctx,
        at=at,
        identity=identity,
        passphrase_file=passphrase_file,
        notify=notify,
        fail_on=fail_on,
        user_mode=user_mode,
        run_as=run_as,
        executable=executable,
        log=log,
    )
    assert isinstance(spec, ScheduleSpec)
    if kind == "systemd":
        echo(f"# {SERVICE_NAME}\n{systemd_service(spec)}\n# {TIMER_NAME}\n{systemd_timer(spec)}")
    else:
        echo(cron_block(spec))


@app.command("install")
def install(
    ctx: typer.Context,
    systemd: SystemdOpt = False,
    cron: CronOpt = False,
    at: AtOpt = "02:00",
    identity: IdentityOpt = "auditor",
    passphrase_file: PassOpt = None,
    notify: NotifyOpt = "on-new",
    fail_on: FailOnOpt = "high",
    user_mode: UserOpt = None,
    run_as: RunAsOpt = "",
    executable: ExeOpt = None,
    log: LogOpt = "",
    dest: Annotated[
        Path | None,
        typer.Option(
            "--dest",
            metavar="DIR",
            help="Write the files here (systemd: instead of /etc/systemd/system or ~/.config/systemd/user; "
            "cron: a file for /etc/cron.d instead of your crontab).",
        ),
    ] = None,
    no_enable: Annotated[
        bool, typer.Option("--no-enable", help="systemd: write the units, do not run systemctl.")
    ] = False,
) -> None:
    """Install the nightly audit: systemd units (then `systemctl enable --now`) or a crontab line.

    Re-installing replaces what an earlier install wrote; it never adds a second job.

    Example:

        sudo auditor --registry /var/lib/auditor/registry.db schedule install --systemd --run-as auditor
    """

    kind = _kind(systemd, cron)
    spec = _spec(
        ctx,
        at=at,
        identity=identity,
        passphrase_file=passphrase_file,
        notify=notify,
        fail_on=fail_on,
        user_mode=user_mode,
        run_as=run_as,
        executable=executable,
        log=log,
    )
    assert isinstance(spec, ScheduleSpec)
    problem = passphrase_file_problem(spec.passphrase_file)
    if problem:
        echo_err(f"warning: {problem}.")
        echo_err(
            f"hint: Create it before the first run: `install -m 600 /dev/null {spec.passphrase_file}`, "
            f"then write the {spec.identity!r} identity's passphrase into it."
        )
    if kind == "systemd":
        done = install_systemd(spec, dest, enable=not no_enable)
        for path in done.files:
            echo(f"Wrote {path}")
        if done.ran:
            echo("Ran: " + "; ".join(done.commands))
            echo(
                f"Next run: `systemctl {'--user ' if spec.user_mode else ''}list-timers auditor-audit.timer`."
            )
        else:
            for note in done.notes:
                echo_err(f"warning: {note}.")
            echo("To activate it, run:\n" + "\n".join(f"  {c}" for c in done.commands))
        if spec.user_mode:
            echo("For a user timer to run while you are logged out: `loginctl enable-linger`.")
    else:
        done = install_cron(spec, dest)
        if done.files:
            for path in done.files:
                echo(f"Wrote {path}")
        else:
            echo(f"Installed the nightly audit at {spec.at} in your crontab (`crontab -l` shows it).")
