"""Scheduled operation: `schedule show` / `schedule install`, an unattended run, and the audit lock.

`show` is compared with golden text (the executable path and the registry substituted). `install`
writes into tmp_path; `crontab` and `systemctl` are small fake scripts put first on PATH that record
what they were given. The unattended run is a real `auditor` process started the way the systemd
unit starts it (`$CREDENTIALS_DIRECTORY/auditor-passphrase`, `AUDITOR_REGISTRY`, the unit's ExecStart)
with one platform unreachable (a loopback port with nothing listening). The lock is tested with two
real processes.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.services.schedule import ScheduleSpec, auditor_executable
from tests.auditor.notify.servers import WebhookServer, free_port
from tests.e2e.conftest import Cli
from tests.e2e.test_audit_cli import ACCOUNTS, PEOPLE

SERVICE = """\
# Written by `auditor schedule install --systemd`. No secret is stored here: the passphrase
# is read from the file named in LoadCredential= by systemd and handed to the service.
# Exit codes: 0 clean, 3 findings at or above --fail-on, 1 error, 75 another audit running.
[Unit]
Description=District social-media account audit (auditor)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
TimeoutStartSec=75min
User=auditor-svc
ExecStart={exe} --identity it-nightly audit --as auditor --notify on-new --fail-on medium
Environment=AUDITOR_REGISTRY={registry}
LoadCredential=auditor-passphrase:/etc/auditor/nightly.pass
UMask=0077
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=read-only
ProtectKernelTunables=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
ReadWritePaths={registry_dir}
"""
TIMER = """\
# Written by `auditor schedule install --systemd`.
# Check it with: systemctl list-timers auditor-audit.timer
[Unit]
Description=Nightly district social-media account audit (auditor)

[Timer]
OnCalendar=*-*-* 02:30:00
Persistent=true
RandomizedDelaySec=5min
Unit=auditor-audit.service

[Install]
WantedBy=timers.target
"""


def golden(cli: Cli, text: str) -> str:
    return text.format(exe=auditor_executable(), registry=cli.registry, registry_dir=cli.registry.parent)


def test_show_prints_the_systemd_units_and_the_cron_line(cli: Cli) -> None:
    shown = cli.ok("schedule", "show", "--systemd", "--system", "--at", "02:30", "--identity", "it-nightly",
                   "--passphrase-file", "/etc/auditor/nightly.pass", "--fail-on", "medium",
                   "--run-as", "auditor-svc")  # fmt: skip
    assert shown.output == (
        "# auditor-audit.service\n" + golden(cli, SERVICE) + "\n# auditor-audit.timer\n" + TIMER
    )
    # User units leave out what needs the system manager, and never name a User=.
    user = cli.ok("schedule", "show", "--systemd", "--user", "--run-as", "x").output
    assert "User=" not in user and "ProtectSystem" not in user and "NoNewPrivileges=yes" in user
    assert "LoadCredential=auditor-passphrase:/etc/auditor/auditor.pass\n" in user  # the default file
    assert f"ExecStart={auditor_executable()} --identity auditor audit --as auditor --notify on-new" in user

    cron = cli.ok("schedule", "show", "--cron", "--at", "7:05", "--passphrase-file", "/etc/auditor/a b.pass")
    assert cron.output == (
        "# BEGIN auditor-audit (managed by `auditor schedule install --cron`; re-install replaces it)\n"
        f"5 7 * * * AUDITOR_REGISTRY={cli.registry} AUDITOR_PASSPHRASE_FILE='/etc/auditor/a b.pass' "
        f"{auditor_executable()} --identity auditor audit --as auditor --notify on-new --fail-on high "
        f">> {cli.registry.parent / 'audit.log'} 2>&1\n"
        "# END auditor-audit\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "25:00"], "--at: '25:00' is not a time of day"),
        (["--at", "2am"], "--at: '2am' is not a time of day"),
        (["--notify", "sometimes"], "--notify: 'sometimes' is not one of on-new, always, never"),
        (["--fail-on", "severe"], "--fail-on: 'severe' is not one of info, low, medium, high, critical"),
        (["--identity", "bad name"], "--identity: 'bad name' is not an identity name"),
    ],
)
def test_bad_schedule_options_are_usage_errors(cli: Cli, args: list[str], message: str) -> None:
    result = cli("schedule", "show", "--systemd", *args)
    assert result.exit_code == 2 and f"error: {message}" in result.output
    assert cli("schedule", "show").exit_code == 2  # neither --systemd nor --cron
    assert cli("schedule", "show", "--systemd", "--cron").exit_code == 2


def test_a_registry_url_with_a_password_is_never_written_into_a_unit(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app

    url = "postgresql://auditor:pg-Secret-pw@db.example.org/auditor"
    result = CliRunner().invoke(app, ["--registry", url, "schedule", "show", "--systemd"])
    assert result.exit_code == 2 and "pg-Secret-pw" not in result.output
    assert "the registry URL contains a password" in result.output


def fake_tool(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_install_systemd_writes_units_and_enables_the_timer(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "units"
    common = ["schedule", "install", "--systemd", "--system", "--dest", str(dest), "--at", "02:30",
              "--identity", "it-nightly", "--passphrase-file", "/etc/auditor/nightly.pass",
              "--fail-on", "medium", "--run-as", "auditor-svc"]  # fmt: skip
    written = cli.ok(*common, "--no-enable")
    assert written.stdout == (
        f"Wrote {dest / 'auditor-audit.service'}\nWrote {dest / 'auditor-audit.timer'}\n"
        "To activate it, run:\n  systemctl daemon-reload\n  systemctl enable --now auditor-audit.timer\n"
    )
    assert "warning: the passphrase file /etc/auditor/nightly.pass does not exist yet." in written.stderr
    for name, text in (("auditor-audit.service", golden(cli, SERVICE)), ("auditor-audit.timer", TIMER)):
        assert (dest / name).read_text() == text
        assert stat.S_IMODE((dest / name).stat().st_mode) == 0o644  # config, no secret: world-readable
    assert sorted(p.name for p in dest.iterdir()) == ["auditor-audit.service", "auditor-audit.timer"]

    # With systemctl available (a fake that records its arguments), install enables the timer.
    log = tmp_path / "systemctl.log"
    fake_tool(tmp_path / "bin", "systemctl", f'echo "$@" >> {log}\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    passfile = cli.file("nightly.pass", "nightly\n")
    passfile.chmod(0o644)
    user_dest = tmp_path / "user-units"
    enabled = cli.ok("schedule", "install", "--systemd", "--user", "--dest", str(user_dest),
                     "--passphrase-file", str(passfile))  # fmt: skip
    assert log.read_text() == "--user daemon-reload\n--user enable --now auditor-audit.timer\n"
    assert (
        "Ran: systemctl --user daemon-reload; systemctl --user enable --now auditor-audit.timer"
        in enabled.stdout
    )
    assert f"warning: the passphrase file {passfile} is readable by other users (mode 644)" in enabled.stderr
    # systemctl failing is an error naming the command; the units are still written.
    fake_tool(tmp_path / "bin", "systemctl", "echo 'Failed to connect to bus' >&2\nexit 1\n")
    failed = cli("schedule", "install", "--systemd", "--user", "--dest", str(user_dest))
    assert failed.exit_code == 1
    assert (
        "error: `systemctl --user daemon-reload` failed (exit 1): Failed to connect to bus" in failed.stderr
    )


def test_cron_install_is_idempotent_and_keeps_other_lines(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "crontab.txt"
    fake_tool(
        tmp_path / "bin",
        "crontab",
        f'if [ "$1" = "-l" ]; then\n  [ -f {state} ] && exec cat {state}\n  echo "no crontab for root" >&2\n'
        f'  exit 1\nfi\nif [ "$1" = "-" ]; then cat > {state}; exit 0; fi\nexit 2\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    passfile = cli.file("nightly.pass", "nightly\n")
    passfile.chmod(0o600)
    first = cli.ok("schedule", "install", "--cron", "--at", "01:15", "--passphrase-file", str(passfile))
    assert first.stderr == ""  # the passphrase file is fine: no warning
    assert "Installed the nightly audit at 01:15 in your crontab" in first.stdout
    block = cli.ok("schedule", "show", "--cron", "--at", "01:15", "--passphrase-file", str(passfile)).output
    assert state.read_text() == block
    # Someone else's job added later stays; re-installing at another time replaces ours.
    state.write_text(
        "MAILTO=it@naperville203.org\n" + state.read_text() + "30 5 * * 1 /usr/local/bin/backup\n"
    )
    cli.ok("schedule", "install", "--cron", "--at", "03:45", "--passphrase-file", str(passfile))
    cli.ok("schedule", "install", "--cron", "--at", "03:45", "--passphrase-file", str(passfile))
    text = state.read_text()
    assert text.count("# BEGIN auditor-audit") == 1 and text.count("--identity auditor audit") == 1
    assert text.startswith("MAILTO=it@naperville203.org\n30 5 * * 1 /usr/local/bin/backup\n\n# BEGIN")
    assert "\n45 3 * * * AUDITOR_REGISTRY=" in text and "15 1 * * *" not in text

    # --dest: a file for /etc/cron.d, with the user column.
    cron_d = tmp_path / "cron.d"
    cli.ok("schedule", "install", "--cron", "--dest", str(cron_d), "--run-as", "auditor-svc",
           "--passphrase-file", str(passfile))  # fmt: skip
    written = (cron_d / "auditor-audit").read_text()
    assert written.startswith("SHELL=/bin/sh\nPATH=/usr/local/bin:/usr/bin:/bin\n# BEGIN auditor-audit")
    assert f"\n0 2 * * * auditor-svc AUDITOR_REGISTRY={cli.registry} " in written
    assert stat.S_IMODE((cron_d / "auditor-audit").stat().st_mode) == 0o644


# --------------------------------------------------------------------------------------------------
# The unattended run and the lock


def nightly_district(cli: Cli) -> Path:
    """The sample district, a nightly `auditor` identity, and its passphrase as systemd hands it over."""
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    cli.ok("policy", "init", "--preset", "naperville-203")
    passfile = cli.file("auditor.pass", "nightly job passphrase\n")
    passfile.chmod(0o600)
    cli.ok("--identity", "it-admin", "identity", "add", "auditor", "--role", "auditor",
           "--new-passphrase-file", str(passfile))  # fmt: skip
    creds = cli.tmp / "credentials"
    creds.mkdir(mode=0o700)
    (creds / "auditor-passphrase").write_bytes(passfile.read_bytes())
    (creds / "auditor-passphrase").chmod(0o600)
    return creds


def test_unattended_run_with_an_unreachable_platform_completes_and_reports_unknown_profiles(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = nightly_district(cli)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with WebhookServer() as hook:
        cli.ok("--identity", "it-admin", "notify", "webhook", "set", "--flavour", "generic", "--stdin",
               input=hook.url() + "\n")  # fmt: skip
        # Exactly what the unit runs: its ExecStart, its environment, the credential systemd provides.
        spec = ScheduleSpec(executable=auditor_executable(), registry=str(cli.registry)).validate()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
        env.update(
            AUDITOR_REGISTRY=str(cli.registry),
            CREDENTIALS_DIRECTORY=str(creds),
            AUDITOR_KDF_PROFILE="floor",
            AUDITOR_X_BASE_URL=dead,
            AUDITOR_X_RETRIES="0",
            AUDITOR_BLUESKY_BASE_URL=dead,
            AUDITOR_BLUESKY_RETRIES="0",
        )
        done = subprocess.run(
            spec.audit_argv(), env=env, capture_output=True, text=True, timeout=120, check=False
        )
    # Findings at or above high exist (escrow, a departed owner): exit 3, after a complete, stored run.
    assert done.returncode == 3, done.stderr
    assert "notify: webhook generic: 127.0.0.1 answered HTTP 200." in done.stderr
    [run] = json.loads(cli.ok("--identity", "it-admin", "audit", "history", "--json").output)["items"]
    assert run["identity"] == "auditor" and run["accounts_checked"] == 4
    assert run["profiles_unknown"] == 4
    listed = json.loads(
        cli.ok("--identity", "it-admin", "finding", "list", "--json", "--check", "profile").output
    )
    unknown = [f for f in listed["items"] if f["check_id"] == "profile.unknown"]
    assert len(unknown) == 4
    assert all("could not be checked this run" in f["message"] for f in unknown)
    envelope = hook.hits[0].body
    assert envelope["run"]["id"] == run["id"] and envelope["run"]["profiles_unknown"] == 4
    assert envelope["subject"].endswith("; 4 profiles not checked")


HOLDER = """
import sys, time
from auditor.services.runlock import audit_lock
with audit_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_audit_exits_75_while_one_runs_and_a_crash_releases_the_lock(cli: Cli) -> None:
    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")
    holder = subprocess.Popen(  # another audit, in another process
        [sys.executable, "-c", HOLDER, str(cli.registry)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        lock = Path(f"{cli.registry}.audit-lock")
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
        busy = subprocess.run(
            [auditor_executable(), "--registry", str(cli.registry), "--passphrase-file", str(cli.passfile),
             "audit", "--offline"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert busy.returncode == 75, busy.stderr
        assert busy.stderr.startswith(
            f"error: another audit is already running on this registry (pid {holder.pid}, started "
        )
        assert "hint: Wait for it to finish; a scheduler may simply retry (exit code 75)." in busy.stderr
        assert busy.stdout == ""
        # Other commands are not blocked by a running audit.
        cli.ok("audit", "history")
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: the kernel drops the flock
        holder.wait(timeout=30)
    after = cli("audit", "--offline")
    assert after.exit_code == 0, after.output
    assert len(json.loads(cli.ok("audit", "history", "--json").output)["items"]) == 1


def test_lock_location_for_a_server_registry_never_shows_the_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from auditor.services.runlock import lock_path

    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))
    a = lock_path("postgresql://auditor:pw@db.example.org/district")
    b = lock_path("postgresql://auditor:pw@db.example.org/other")
    assert a.parent == tmp_path / "run" and a != b
    assert "pw" not in a.name and "example" not in a.name
    assert lock_path(str(tmp_path / "registry.db")) == tmp_path / "registry.db.audit-lock"
