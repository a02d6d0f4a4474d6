"""Unattended audits: the systemd service and timer, or the cron line, that run `auditor audit`.

Issue 6, "Scheduled operation": IT installs the nightly audit with one command. The job unlocks with
the `auditor` identity only (inventory key: it can read the inventory, the API tokens and the
notification settings, never a credential), finds its passphrase through systemd's
`LoadCredential=auditor-passphrase:FILE` (vault/unlock.py reads `$CREDENTIALS_DIRECTORY`) or, under
cron, `AUDITOR_PASSPHRASE_FILE`, and exits with a code the scheduler can act on: 0 clean, 3 findings
at or above `--fail-on`, 1 operational error (or a clean run whose notification failed), 75 another
audit running. Rendering is pure (text from `ScheduleSpec`), so `auditor schedule show` and the tests
see exactly what `install` writes; installing is the only part that touches the system. No secret is
ever written into a unit or a crontab: only the path of the passphrase file.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from auditor.model.errors import AuditorError, UsageError

SERVICE_NAME = "auditor-audit.service"
TIMER_NAME = "auditor-audit.timer"
CRON_FILE_NAME = "auditor-audit"  # /etc/cron.d ignores names with dots
CRON_BEGIN = "# BEGIN auditor-audit (managed by `auditor schedule install --cron`; re-install replaces it)"
CRON_END = "# END auditor-audit"
NOTIFY_MODES = ("on-new", "always", "never")
SEVERITIES = ("info", "low", "medium", "high", "critical")
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_IDENTITY = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class ScheduleError(AuditorError):
    """The schedule cannot be rendered or installed."""


def parse_at(value: str) -> tuple[int, int]:
    m = _AT.match(value.strip())
    if not m:
        raise UsageError(f"--at: {value!r} is not a time of day", "Use HH:MM on a 24-hour clock, e.g. 02:00.")
    return int(m.group(1)), int(m.group(2))


def auditor_executable() -> str:
    """The absolute path of the `auditor` command running now (what the scheduler should run)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "auditor" and argv0.exists():
        return str(argv0.absolute())
    found = shutil.which("auditor")
    if found:
        return str(Path(found).absolute())
    beside = Path(sys.executable).parent / "auditor"  # a virtualenv not on PATH
    if beside.exists():
        return str(beside.absolute())
    raise ScheduleError(
        "cannot find the `auditor` command to schedule",
        "Give its absolute path with --executable, e.g. /opt/auditor/bin/auditor.",
    )


@dataclass(frozen=True)
class ScheduleSpec:
    """What to schedule. `registry` is an absolute path or a postgresql:// URL without a password."""

    executable: str
    registry: str
    identity: str = "auditor"
    passphrase_file: str = "/etc/auditor/auditor.pass"  # noqa: S105 - a path, not a passphrase
    at: str = "02:00"
    notify: str = "on-new"
    fail_on: str = "high"
    user_mode: bool = False  # systemd --user: fewer sandboxing options (see systemd_service)
    run_as: str = ""  # system service: User=; /etc/cron.d: the user column
    log_file: str = ""  # cron only

    def validate(self) -> ScheduleSpec:
        parse_at(self.at)
        if self.notify not in NOTIFY_MODES:
            raise UsageError(f"--notify: {self.notify!r} is not one of {', '.join(NOTIFY_MODES)}")
        if self.fail_on not in SEVERITIES:
            raise UsageError(f"--fail-on: {self.fail_on!r} is not one of {', '.join(SEVERITIES)}")
        if self.run_as and not _IDENTITY.match(self.run_as):
            raise UsageError(f"--run-as: {self.run_as!r} is not a user name")
        if not _IDENTITY.match(self.identity):
            raise UsageError(f"--identity: {self.identity!r} is not an identity name")
        if not Path(self.executable).is_absolute():
            raise UsageError(f"--executable: {self.executable!r} is not an absolute path")
        if not Path(self.passphrase_file).is_absolute():
            raise UsageError(
                f"--passphrase-file: {self.passphrase_file!r} is not an absolute path",
                "The scheduler does not start in your directory.",
            )
        if self.is_server:
            if urlsplit(self.registry).password:
                raise UsageError(
                    "the registry URL contains a password, which would be written into the schedule",
                    "Use a URL without the password and a ~/.pgpass file (mode 0600) or PGPASSFILE.",
                )
        elif not Path(self.registry).is_absolute():
            raise UsageError(f"the registry path {self.registry!r} is not absolute")
        for value in (self.executable, self.registry, self.passphrase_file, self.log_file):
            if any(c in value for c in "\n\r\x00"):
                raise UsageError("paths must not contain line breaks")
        return self

    @property
    def is_server(self) -> bool:
        return self.registry.startswith(("postgresql://", "postgres://"))

    def audit_argv(self) -> list[str]:
        return [
            self.executable,
            "--identity",
            self.identity,
            "audit",
            "--as",
            "auditor",
            "--notify",
            self.notify,
            "--fail-on",
            self.fail_on,
        ]


# --------------------------------------------------------------------------------------------------
# systemd


def _systemd_quote(arg: str) -> str:
    """Quote one ExecStart= word (systemd.syntax: double quotes, backslash escapes; % doubled)."""
    text = arg.replace("%", "%%")
    if text and not any(c in text for c in " \t\"'\\;$"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$") + '"'


def _env_assignment(name: str, value: str) -> str:
    body = f"{name}={value}".replace("%", "%%")
    if any(c in body for c in ' \t"\\'):
        return '"' + body.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return body


def systemd_service(spec: ScheduleSpec) -> str:
    """The oneshot service. Hardening per systemd.exec(5); in --user mode the options that need the
    system manager (or unprivileged user namespaces) are left out rather than made to fail."""
    spec.validate()
    exec_start = " ".join(_systemd_quote(a) for a in spec.audit_argv())
    lines = [
        "# Written by `auditor schedule install --systemd`. No secret is stored here: the passphrase",
        "# is read from the file named in LoadCredential= by systemd and handed to the service.",
        "# Exit codes: 0 clean, 3 findings at or above --fail-on, 1 error, 75 another audit running.",
        "[Unit]",
        "Description=District social-media account audit (auditor)",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        # A backstop behind `audit --deadline` (an hour by default): systemd stops a run that
        # still overran, and the next one takes over its lock (auditor/services/runlock.py).
        "TimeoutStartSec=75min",
        *([f"User={spec.run_as}"] if spec.run_as and not spec.user_mode else []),
        f"ExecStart={exec_start}",
        _kv("Environment", _env_assignment("AUDITOR_REGISTRY", spec.registry)),
        f"LoadCredential=auditor-passphrase:{spec.passphrase_file.replace('%', '%%')}",
        "UMask=0077",
        "NoNewPrivileges=yes",
    ]
    if not spec.user_mode:
        lines += [
            "PrivateTmp=yes",
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            "ProtectKernelTunables=yes",
            "ProtectControlGroups=yes",
            "RestrictSUIDSGID=yes",
        ]
        if spec.is_server:
            lines.append("RuntimeDirectory=auditor")  # the audit lock for a PostgreSQL registry
        else:
            lines.append(f"ReadWritePaths={_systemd_quote(str(Path(spec.registry).parent))}")
    return "\n".join(lines) + "\n"


def _kv(key: str, value: str) -> str:
    return f"{key}={value}"


def systemd_timer(spec: ScheduleSpec) -> str:
    hour, minute = parse_at(spec.at)
    return (
        "\n".join(
            [
                "# Written by `auditor schedule install --systemd`.",
                "# Check it with: systemctl list-timers auditor-audit.timer",
                "[Unit]",
                "Description=Nightly district social-media account audit (auditor)",
                "",
                "[Timer]",
                f"OnCalendar=*-*-* {hour:02d}:{minute:02d}:00",
                "Persistent=true",
                "RandomizedDelaySec=5min",
                f"Unit={SERVICE_NAME}",
                "",
                "[Install]",
                "WantedBy=timers.target",
            ]
        )
        + "\n"
    )


# --------------------------------------------------------------------------------------------------
# cron


def default_log_file(spec: ScheduleSpec) -> str:
    if spec.log_file:
        return spec.log_file
    if spec.is_server:
        from platformdirs import user_log_dir

        return str(Path(user_log_dir("auditor", appauthor=False)) / "audit.log")
    return str(Path(spec.registry).parent / "audit.log")


def cron_command(spec: ScheduleSpec) -> str:
    """The command part of the line: env, the audit, output appended to the log (`%` escaped: cron
    turns a bare % into a newline, crontab(5))."""
    spec.validate()
    env = (
        f"AUDITOR_REGISTRY={shlex.quote(spec.registry)} "
        f"AUDITOR_PASSPHRASE_FILE={shlex.quote(spec.passphrase_file)}"
    )
    argv = " ".join(shlex.quote(a) for a in spec.audit_argv())
    text = f"{env} {argv} >> {shlex.quote(default_log_file(spec))} 2>&1"
    return text.replace("%", "\\%")


def cron_line(spec: ScheduleSpec, *, system: bool = False) -> str:
    """One crontab line; with `system`, the /etc/cron.d form (a user column after the schedule)."""
    hour, minute = parse_at(spec.at)
    who = f"{spec.run_as or 'root'} " if system else ""
    return f"{minute} {hour} * * * {who}{cron_command(spec)}"


def cron_block(spec: ScheduleSpec, *, system: bool = False) -> str:
    return "\n".join([CRON_BEGIN, cron_line(spec, system=system), CRON_END]) + "\n"


def merge_crontab(existing: str, block: str) -> str:
    """`existing` with our block replaced (or appended): re-installing never duplicates the line."""
    out: list[str] = []
    skipping = False
    for line in existing.splitlines():
        if line.startswith("# BEGIN auditor-audit"):
            skipping = True
            continue
        if skipping:
            if line.startswith(CRON_END):
                skipping = False
            continue
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    text = "\n".join(out)
    return (text + "\n\n" if text else "") + block


# --------------------------------------------------------------------------------------------------
# Installing


def passphrase_file_problem(path: str) -> str:
    """'' when the passphrase file exists, is a regular file and mode 0600 (or 0400); else why not."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return f"the passphrase file {path} does not exist yet"
    except PermissionError:
        return f"the passphrase file {path} cannot be read by this user (fine if systemd, as root, reads it)"
    if not stat.S_ISREG(st.st_mode):
        return f"the passphrase file {path} is not a regular file"
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"the passphrase file {path} is readable by other users (mode {stat.S_IMODE(st.st_mode):o}); "
            "the audit will refuse it"
        )
    return ""


@dataclass(frozen=True)
class Installed:
    files: tuple[Path, ...]
    commands: tuple[str, ...]  # what was run (or should be run, when not run)
    ran: bool
    notes: tuple[str, ...] = ()


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Write atomically; units and cron files are world-readable config (they hold no secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fchmod(fd, mode)  # the process umask (0077) would otherwise win
    finally:
        os.close(fd)
    os.replace(tmp, path)


def default_systemd_dir(user_mode: bool) -> Path:
    if not user_mode:
        return Path("/etc/systemd/system")
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def _run(argv: Sequence[str], shown: str) -> None:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScheduleError(f"`{shown}` could not run ({type(exc).__name__})") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ScheduleError(
            f"`{shown}` failed (exit {done.returncode})" + (f": {detail[-1]}" if detail else ""),
            "The unit files were written; fix the cause and run the command yourself.",
        )


def install_systemd(spec: ScheduleSpec, dest: Path | None = None, *, enable: bool = True) -> Installed:
    directory = dest or default_systemd_dir(spec.user_mode)
    service, timer = directory / SERVICE_NAME, directory / TIMER_NAME
    _write(service, systemd_service(spec))
    _write(timer, systemd_timer(spec))
    base = ["systemctl", "--user"] if spec.user_mode else ["systemctl"]
    commands = [[*base, "daemon-reload"], [*base, "enable", "--now", TIMER_NAME]]
    shown = tuple(" ".join(c) for c in commands)
    if not enable:
        return Installed((service, timer), shown, ran=False)
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return Installed(
            (service, timer), shown, ran=False, notes=("systemctl was not found on this machine",)
        )
    for c in commands:
        _run([systemctl, *c[1:]], " ".join(c))
    return Installed((service, timer), shown, ran=True)


def install_cron(spec: ScheduleSpec, dest: Path | None = None) -> Installed:
    """Into the user's crontab (`crontab -l` / `crontab -`), or as a file in `dest` (/etc/cron.d,
    where each line names the user it runs as: `spec.run_as`, default root)."""
    if dest is not None:
        path = dest / CRON_FILE_NAME
        header = "SHELL=/bin/sh\nPATH=/usr/local/bin:/usr/bin:/bin\n"
        _write(path, header + cron_block(spec, system=True))
        return Installed((path,), (), ran=False)
    crontab = shutil.which("crontab")
    if crontab is None:
        raise ScheduleError(
            "the crontab command was not found",
            "Install cron, or write a file for /etc/cron.d with --dest /etc/cron.d.",
        )
    try:
        listed = subprocess.run(  # noqa: S603
            [crontab, "-l"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScheduleError(f"`crontab -l` could not run ({type(exc).__name__})") from None
    # "no crontab for USER" exits 1: that is an empty crontab, not an error.
    existing = listed.stdout if listed.returncode == 0 else ""
    merged = merge_crontab(existing, cron_block(spec))
    try:
        done = subprocess.run(  # noqa: S603
            [crontab, "-"], input=merged, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScheduleError(f"`crontab -` could not run ({type(exc).__name__})") from None
    if done.returncode != 0:
        raise ScheduleError(f"`crontab -` refused the new crontab: {done.stderr.strip()[:200]}")
    return Installed((), ("crontab -l", "crontab -"), ran=True)
