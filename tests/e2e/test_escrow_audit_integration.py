"""Escrow and audit meet in the registry: storing a credential resolves `escrow.missing`, and the
nightly auditor identity sees that without ever holding the escrow key."""

from __future__ import annotations

import json
import os

from tests.e2e.conftest import Cli


def _findings(output: str) -> set[tuple[str, str]]:
    data = json.loads(output)
    return {(f["check_id"], f["state"]) for f in data["items"]}


def test_escrowing_a_credential_resolves_escrow_missing_for_the_auditor_identity(cli: Cli) -> None:
    cli.init()
    nightly = cli.tmp / "nightly.pass"
    nightly.write_text("nightly audit passphrase\n")
    os.chmod(nightly, 0o600)
    cli.ok("identity", "add", "it-nightly", "--role", "auditor", "--new-passphrase-file", str(nightly))
    admin = ["--identity", "it-admin"]
    cli.ok(*admin, "policy", "init", "--preset", "naperville-203")
    cli.ok(*admin, "person", "add", "--name", "Priya Raman", "--email", "praman@naperville203.org")
    cli.ok(*admin, "account", "add", "instagram", "nnhs_athletics", "--owner", "praman@naperville203.org")

    nightly_audit = [
        "--identity",
        "it-nightly",
        "audit",
        "--as",
        "auditor",
        "--offline",
        "--check",
        "escrow.missing",
        "--format",
        "json",
        "--fail-on",
        "critical",
    ]
    first = cli(*nightly_audit, passfile=nightly)
    assert first.exit_code == 0, first.output
    assert _findings(first.stdout) == {("escrow.missing", "new")}

    cli.ok(
        *admin,
        "secret",
        "set",
        "instagram:@nnhs_athletics",
        "--stdin",
        input="login=nnhs.athletics\npassword=Canary-Pass-123!\n",
    )
    second = cli(*nightly_audit, passfile=nightly)
    assert second.exit_code == 0, second.output
    assert _findings(second.stdout) == {("escrow.missing", "resolved")}
    assert "Canary-Pass-123!" not in first.output + second.output
    # The auditor identity still cannot reveal the credential it just saw as escrowed.
    result = cli(
        "--identity",
        "it-nightly",
        "secret",
        "show",
        "instagram:@nnhs_athletics",
        "--reason",
        "test",
        passfile=nightly,
    )
    assert result.exit_code == 1 and "Canary-Pass-123!" not in result.output


def test_changing_an_accounts_managers_makes_its_escrowed_password_stale_until_rotated(cli: Cli) -> None:
    """A co-manager added after the password was escrowed may know it: rotate (policy: credentials
    shared with administration stay current when managers change)."""
    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")
    for name, email in (("Priya Raman", "praman@naperville203.org"), ("Lee Chan", "lchan@naperville203.org")):
        cli.ok("person", "add", "--name", name, "--email", email)
    cli.ok("account", "add", "instagram", "nnhs_athletics", "--owner", "praman@naperville203.org")
    cli.ok("secret", "set", "instagram:@nnhs_athletics", "--stdin", input="password=First-Pass-123!\n")
    audit = ["audit", "--offline", "--check", "escrow.stale", "--format", "json", "--fail-on", "critical"]
    assert _findings(cli.ok(*audit).stdout) == set()

    cli.ok("account", "edit", "instagram:@nnhs_athletics", "--co-manager", "lchan@naperville203.org")
    stale = json.loads(cli.ok(*audit).stdout)["items"]
    assert [(f["check_id"], f["state"]) for f in stale] == [("escrow.stale", "new")]
    assert "before the account's managers changed on" in stale[0]["message"]

    cli.ok("secret", "generate", "instagram:@nnhs_athletics")
    # Pending until the platform took it: still stale (issue 18, closed by proof).
    assert _findings(cli.ok(*audit).stdout) == {("escrow.stale", "open")}
    task = json.loads(cli.ok("task", "list", "--json").output)["items"][0]["id"]
    cli.ok("task", "confirm", task, "password")
    assert _findings(cli.ok(*audit).stdout) == {("escrow.stale", "resolved")}
