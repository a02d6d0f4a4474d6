"""Platforms the tool cannot read (Snapchat): an administrator's recorded check stands in for the API.

Without an attestation the account is `profile.unknown` (never compliant); with one, the profile
checks run on what the administrator recorded, and the nightly auditor identity reads it too.
"""

from __future__ import annotations

import json

from tests.e2e.conftest import Cli

AUDIT = [
    "audit",
    "--platform",
    "snapchat",
    "--check",
    "profile",
    "--check",
    "affiliation.missing",
    "--format",
    "json",
    "--fail-on",
    "critical",
]


def _found(cli: Cli) -> dict[str, str]:
    items = json.loads(cli.ok(*AUDIT).stdout)["items"]
    return {f["check_id"]: f["message"] for f in items if f["state"] != "resolved"}


def test_an_attested_snapchat_profile_is_audited_instead_of_unknown(cli: Cli) -> None:
    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")
    cli.ok(
        "person",
        "add",
        "--name",
        "Priya Raman",
        "--email",
        "praman@naperville203.org",
        "--role",
        "Athletic Director",
        "--building",
        "nnhs",
    )
    cli.ok(
        "account",
        "add",
        "snapchat",
        "nnhs.huskies",
        "--owner",
        "praman@naperville203.org",
        "--purpose",
        "athletics",
        "--building",
        "nnhs",
    )

    before = _found(cli)
    assert set(before) == {"profile.unknown"}
    assert "no manual check recorded" in before["profile.unknown"]

    out = cli.ok(
        "profile",
        "attest",
        "snapchat",
        "nnhs.huskies",
        "--display-name",
        "Huskies",
        "--bio",
        "Go Huskies!",
        "--checked-on",
        "2026-11-20",
    ).stdout
    assert "Recorded" in out and "2026-11-20" in out
    after = _found(cli)
    assert set(after) == {"affiliation.missing"}
    assert "Snapchat account @nnhs.huskies" in after["affiliation.missing"]

    shown = json.loads(cli.ok("profile", "fetch", "snapchat", "nnhs.huskies", "--format", "json").stdout)
    assert shown["source"] == "manual" and shown["bio"] == "Go Huskies!"

    cli.ok(
        "profile",
        "attest",
        "snapchat",
        "@nnhs.huskies",
        "--display-name",
        "NNHS Huskies",
        "--bio",
        "Official Snapchat of Naperville North High School athletics, Naperville 203. "
        "Run by Athletic Director Priya Raman.",
    )
    assert _found(cli) == {}


def test_attest_help_has_an_example(cli: Cli) -> None:
    assert "Example: auditor profile attest" in cli.ok("profile", "attest", "--help").stdout


def test_an_attestation_can_be_removed_and_never_blocks_a_re_key(cli: Cli) -> None:
    """Issue 11: one `profile attest` record made every re-key fail, and nothing deleted it."""
    import os

    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")
    cli.ok("person", "add", "--name", "Priya Raman", "--email", "praman@naperville203.org")
    cli.ok("account", "add", "snapchat", "nnhs.huskies", "--owner", "praman@naperville203.org")
    cli.ok("profile", "attest", "snapchat", "nnhs.huskies", "--display-name", "Huskies", "--bio", "Go!")
    nightly = cli.file("nightly.pass", "nightly auditor passphrase\n")
    os.chmod(nightly, 0o600)
    cli.ok("identity", "add", "it-nightly", "--role", "auditor", "--new-passphrase-file", str(nightly))
    as_auditor = cli(
        "--identity",
        "it-nightly",
        "profile",
        "attest",
        "snapchat",
        "nnhs.huskies",
        "--remove",
        passfile=nightly,
    )
    assert as_auditor.exit_code == 1 and "needs an admin identity" in as_auditor.output

    removed = cli.ok("--identity", "it-admin", "identity", "remove", "it-nightly", "--yes").stdout
    assert "Removed identity it-nightly" in removed  # the re-key handles attestation records

    assert (
        "Removed the attestation of Snapchat NNHS.Huskies"
        in cli.ok(
            "--identity", "it-admin", "profile", "attest", "snapchat", "@NNHS.Huskies", "--remove"
        ).stdout
    )
    assert set(_found(cli)) == {"profile.unknown"}
    again = cli("--identity", "it-admin", "profile", "attest", "snapchat", "nnhs.huskies", "--remove")
    assert again.exit_code == 1 and "no attestation of Snapchat nnhs.huskies is stored" in again.output
    actions = [
        e["action"]
        for e in json.loads(cli.ok("--identity", "it-admin", "log", "show", "--json").stdout)["items"]
    ]
    assert actions.count("attest") == 1 and actions.count("attest-remove") == 1
    assert "Registry is healthy." in cli.ok("--identity", "it-admin", "registry", "check").stdout
