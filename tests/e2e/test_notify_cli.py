"""Notifications through the CLI: settings in the registry, email and webhooks after `auditor audit`.

A real SMTP server (aiosmtpd, STARTTLS with a throwaway CA, AUTH) and webhook receivers run on
127.0.0.1. The district is the sample one of test_audit_cli.py, audited `--offline` (fast, and its
findings are deterministic). Assertions are on what IT and compliance see: who got mail, the subject,
the body, the attached findings report, the exit code, and that no secret is ever printed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from tests.auditor.notify.servers import SmtpServer, WebhookServer, free_port, make_ca_and_cert
from tests.e2e.conftest import Cli
from tests.e2e.test_audit_cli import ACCOUNTS, PEOPLE

SMTP_USER = "auditor@naperville203.org"
SMTP_PASSWORD = "Smtp-relay-Pa55-never-shown"
HOOK_TOKEN = "s3cr3t-webhook-token"
NIGHTLY_PASS = "nightly job passphrase"


@pytest.fixture(autouse=True)
def _admin_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two identities: commands unlock as the admin unless they say `--identity nightly`."""
    monkeypatch.setenv("AUDITOR_IDENTITY", "it-admin")


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[SmtpServer, Path]]:
    ca, cert, key = make_ca_and_cert(tmp_path)
    with SmtpServer(user=SMTP_USER, password=SMTP_PASSWORD, cert=(cert, key)) as server:
        yield server, ca


def district(cli: Cli) -> Path:
    """The sample district with its policy and a nightly `auditor` identity; returns its passfile."""
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    cli.ok("policy", "init", "--preset", "naperville-203")
    nightly = cli.file("nightly.pass", NIGHTLY_PASS + "\n")
    nightly.chmod(0o600)
    cli.ok("identity", "add", "nightly", "--role", "auditor", "--new-passphrase-file", str(nightly))
    return nightly


def configure_email(cli: Cli, port: int, ca: Path) -> None:
    cli.ok(
        "notify", "email", "set", "--host", "127.0.0.1", "--port", str(port), "--security", "starttls",
        "--username", SMTP_USER, "--from", SMTP_USER, "--ca-file", str(ca),
        "--to", "it-alerts@naperville203.org,compliance@naperville203.org",
    )  # fmt: skip
    cli.ok("notify", "email", "password", "--stdin", input=SMTP_PASSWORD + "\n")


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SMTP_PASSWORD not in text and HOOK_TOKEN not in text and "/hooks/" not in text


def test_settings_are_admin_only_readable_by_the_nightly_identity_and_never_show_a_secret(
    cli: Cli, smtp: tuple[SmtpServer, Path]
) -> None:
    server, ca = smtp
    nightly = district(cli)
    assert "No notifications configured" in cli.ok("notify", "show").output
    configure_email(cli, server.port, ca)
    with WebhookServer() as hook:
        set_hook = cli.ok(
            "notify", "webhook", "set", "--flavour", "slack", "--stdin", input=hook.url() + "\n"
        )
        assert set_hook.output == "Webhook 'slack' (slack) to 127.0.0.1 stored in the encrypted registry.\n"
        shown = cli.ok("notify", "show").output
        assert shown == (
            "Email:\n"
            f"  relay:      127.0.0.1:{server.port} (starttls)\n"
            f"  username:   {SMTP_USER}\n"
            "  password:   stored in the registry\n"
            f"  from:       {SMTP_USER}\n"
            "  recipients: it-alerts@naperville203.org, compliance@naperville203.org\n"
            f"  CA file:    {ca}\n"
            "Webhooks:\n"
            "  slack: slack, host 127.0.0.1\n"
        )
        as_json = json.loads(cli.ok("notify", "show", "--json").output)
        assert as_json["schema"] == "auditor/notify-settings"  # docs/json.md: scripts key on it
        assert as_json["item"]["email"]["password"] == "registry"
        assert as_json["item"]["webhooks"] == [{"name": "slack", "flavour": "slack", "host": "127.0.0.1"}]

        # The nightly identity reads the settings (and sends), but cannot change them.
        as_nightly = cli("--identity", "nightly", "notify", "show", passfile=nightly)
        assert as_nightly.exit_code == 0 and "stored in the registry" in as_nightly.output
        denied = cli(
            "--identity", "nightly", "notify", "email", "password", "--stdin", input="x\n", passfile=nightly
        )
        assert denied.exit_code == 1
        assert "needs an admin identity; 'nightly' is unlocked as auditor" in denied.output
        tested = cli("--identity", "nightly", "notify", "test", passfile=nightly)
        assert tested.exit_code == 0, tested.output
        assert tested.output == "email: sent to 2 recipients.\nwebhook slack: 127.0.0.1 answered HTTP 200.\n"
    [mail] = server.messages
    assert mail.message["Subject"] == "[auditor] Naperville 203: test message"
    assert hook.hits[0].body == {
        "text": "*[auditor] Naperville 203: test message*\n"
        "Test message from auditor for Naperville 203: notifications reach this channel."
    }
    no_secret(shown, tested.output, set_hook.output, json.dumps(as_json))
    # The secrets are encrypted at rest.
    raw = cli.registry.read_bytes()
    assert SMTP_PASSWORD.encode() not in raw and HOOK_TOKEN.encode() not in raw

    assert cli.ok("notify", "webhook", "remove", "slack").output == "Webhook 'slack' removed.\n"
    cli.ok("notify", "clear", "--yes")
    assert "No notifications configured" in cli.ok("notify", "show").output
    assert cli("notify", "test").exit_code == 1


def test_bad_settings_are_usage_errors(cli: Cli) -> None:
    district(cli)
    bad_addr = cli(
        "notify", "email", "set", "--host", "smtp.example.org", "--from", "nobody", "--to", "a@b.org"
    )
    assert bad_addr.exit_code == 2 and "--from: 'nobody' is not an email address" in bad_addr.output
    http = cli(
        "notify",
        "webhook",
        "set",
        "--flavour",
        "teams",
        "--stdin",
        input=f"http://example.org/{HOOK_TOKEN}\n",
    )
    assert http.exit_code == 1 and "uses plain http" in http.output
    no_secret(http.output)
    assert (
        cli("notify", "webhook", "set", "--flavour", "discord", "--stdin", input="https://x.org/\n").exit_code
        == 2
    )
    # No OS keyring on this machine (the tests' fail backend): a clear error, nothing stored.
    keyring = cli("notify", "email", "password", "--keyring", "--stdin", input="pw-for-keyring\n")
    assert keyring.exit_code == 1 and "error: no OS keyring is available on this machine" in keyring.output
    assert "pw-for-keyring" not in keyring.output
    assert cli("notify", "email", "password", "--stdin", input="\n").exit_code == 2  # empty
    assert cli("audit", "--offline", "--notify", "sometimes").exit_code == 2
    assert cli("audit", "--offline", "--attach", "findings:docx").exit_code == 2


def test_an_attachment_in_a_format_that_does_not_exist_is_refused_before_the_audit_runs(cli: Cli) -> None:
    district(cli)
    refused = cli("audit", "--offline", "--notify", "always", "--attach", "findings:pdf")
    assert refused.exit_code == 2, refused.output
    assert "--attach: 'findings:pdf': there is no report format 'pdf'" in refused.output
    assert "formats: table, csv, json, html, xlsx" in refused.output
    assert cli("audit", "history").output == "No audit runs yet.\n"  # refused before anything ran


def test_on_new_mails_the_first_run_not_an_identical_second_and_always_mails_both(
    cli: Cli, smtp: tuple[SmtpServer, Path]
) -> None:
    server, ca = smtp
    nightly = district(cli)
    configure_email(cli, server.port, ca)

    def audit(notify: str) -> Result:
        return cli("--identity", "nightly", "audit", "--as", "auditor", "--offline", "--notify", notify,
                   "--json", passfile=nightly)  # fmt: skip

    first = audit("on-new")
    assert first.exit_code == 3, first.output  # findings at or above high, and the mail went out
    run = json.loads(first.stdout)
    run_id = run["run"]["id"]
    findings = run["items"]
    assert "notify: email: sent to 2 recipients." in first.stderr
    [mail] = server.messages
    assert mail.rcpt_tos == ["it-alerts@naperville203.org", "compliance@naperville203.org"]
    assert mail.authenticated_as == SMTP_USER and mail.tls
    msg = mail.message
    high = sum(1 for f in findings if f["severity"] == "high")
    assert msg["Subject"] == f"[auditor] Naperville 203: {len(findings)} new findings ({high} high)"
    assert msg["From"] == SMTP_USER
    body = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert f"Audit run {run_id} for Naperville 203" in body and "as nightly)." in body
    assert f"States: {len(findings)} new, 0 open, 0 waived, 0 resolved since the last run." in body
    assert "Profiles unknown this run: none; every profile was checked." in body
    login = next(f for f in findings if f["check_id"] == "login.non_district_email")
    assert (
        f"7. [MEDIUM] {login['message']}\n   Finding {login['id']}, check login.non_district_email.\n" in body
    )
    assert (
        "\n\n1. [HIGH] " in body and "[HIGH] X account @naperville203 has no escrowed credentials.\n" in body
    )
    assert "   Policy clause: N203-SMR-3\n" in body
    assert "   Fix: Escrow the credentials with `auditor secret set x:naperville203`" in body
    # The attachments: the findings report of this run, as HTML and CSV.
    parts = {p.get_filename(): p for p in msg.iter_attachments()}
    assert set(parts) == {f"findings-{run_id}.html", f"findings-{run_id}.csv"}
    html = parts[f"findings-{run_id}.html"]
    assert html.get_content_type() == "text/html"
    html_text = html.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert html_text.lstrip().lower().startswith("<!doctype html")
    assert run_id in html_text and "login.non_district_email" in html_text
    csv_part = parts[f"findings-{run_id}.csv"]
    assert csv_part.get_content_type() == "text/csv"
    raw_csv = csv_part.get_payload(decode=True).decode("utf-8-sig")  # type: ignore[union-attr]
    rows = list(csv.DictReader(io.StringIO(raw_csv)))
    assert {f["id"] for f in findings} <= {r["id"] for r in rows}  # every finding of the run is in it
    assert f"Attached: findings-{run_id}.html, findings-{run_id}.csv." in body

    # The same state again: nothing new, no mail (say so with -v).
    second = cli("-v", "--identity", "nightly", "audit", "--as", "auditor", "--offline", "--notify", "on-new",
                 passfile=nightly)  # fmt: skip
    assert second.exit_code == 3
    assert "notify: nothing sent (no new findings this run (--notify on-new))." in second.stderr
    assert len(server.messages) == 1
    # always: every run.
    third = audit("always")
    assert third.exit_code == 3 and len(server.messages) == 2
    assert server.messages[1].message["Subject"] == (
        f"[auditor] Naperville 203: no new findings ({len(findings)} open)"
    )
    # --attach none: the summary only.
    cli("audit", "--offline", "--notify", "always", "--attach", "none")
    assert list(server.messages[2].message.iter_attachments()) == []
    no_secret(first.output, second.output, third.output)


def test_failed_notifications_are_reported_and_the_run_is_still_stored(cli: Cli) -> None:
    district(cli)
    down = free_port()
    cli.ok("notify", "email", "set", "--host", "127.0.0.1", "--port", str(down), "--security", "none",
           "--from", "auditor@naperville203.org", "--to", "it-alerts@naperville203.org")  # fmt: skip
    with WebhookServer(status=500) as hook, WebhookServer() as generic:
        cli.ok("notify", "webhook", "set", "--flavour", "teams", "--stdin", input=hook.url() + "\n")
        cli.ok("notify", "webhook", "set", "--flavour", "generic", "--name", "siem", "--stdin",
               input=generic.url("/ingest/" + HOOK_TOKEN) + "\n")  # fmt: skip
        # Nothing at or above critical: the failed notification decides the exit code (1).
        clean = cli("audit", "--offline", "--notify", "always", "--fail-on", "critical")
        # Findings at or above high: they outrank the failed notification (3).
        findings = cli("audit", "--offline", "--notify", "always")
    assert clean.exit_code == 1, clean.output
    assert findings.exit_code == 3, findings.output
    for result in (clean, findings):
        assert (
            f"error: notification via email failed: SMTP relay 127.0.0.1:{down} refused the connection"
            in (result.stderr)
        )
        assert (
            "error: notification via webhook teams failed: webhook 'teams' (127.0.0.1) answered HTTP 500"
            in (result.stderr)
        )
        assert "notify: webhook siem: 127.0.0.1 answered HTTP 200." in result.stderr
        no_secret(result.output)
    # Teams got an Adaptive Card, the generic endpoint the versioned envelope; both runs are stored.
    assert hook.hits[0].body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    envelope = generic.hits[0].body
    assert (envelope["schema"], envelope["version"]) == ("auditor/notification", 1)
    history = json.loads(cli.ok("audit", "history", "--json").output)["items"]
    assert len(history) == 2
    assert {envelope["run"]["id"]} <= {h["id"] for h in history}


def test_a_due_notification_with_no_channel_configured_fails_a_clean_run(cli: Cli) -> None:
    district(cli)
    result = cli("audit", "--offline", "--notify", "always", "--fail-on", "critical")
    assert result.exit_code == 1
    assert "error: notification via settings failed: a notification was due but no channel is configured" in (
        result.stderr
    )
    assert len(json.loads(cli.ok("audit", "history", "--json").output)["items"]) == 1
