"""`auditor demo` end to end (issues 5 and 6): the sample district's whole story through the CLI.

The demo builds a registry, syncs a roster, escrows credentials, starts loopback platform servers,
audits as the nightly auditor identity and writes an HTML report. What a newcomer sees must hold:
every kind of finding appears, each cites a clause of the district's policy, no generated secret is
printed, and the registry it leaves behind works with the commands it suggests.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from auditor.engine.checks.registry import CHECKS
from tests.e2e.conftest import Cli

# The findings the story is written to produce: (check, what it is about).
EXPECTED = {
    ("approval.lapsed", "X account @naperville203"),
    ("approval.missing", "YouTube account @NapervilleNorthHS"),
    ("approval.expiring", "Instagram account @nnhs_athletics"),
    ("escrow.stale", "Facebook account naperville203"),
    ("escrow.rotation_overdue", "Bluesky account nchsband.bsky.social"),
    ("profile.unknown", "Facebook account naperville203"),
    ("login.non_district_email", "Instagram account @nnhs_athletics"),
    ("login.two_factor_off", "Instagram account @nnhs_athletics"),
    ("comments.unmonitored", "Instagram account @nnhs_athletics"),
    ("training.lapsed", "Instagram account @nnhs_athletics"),
    ("owner.departed", "Bluesky account nchsband.bsky.social"),
    ("managers.no_adult_employee", "X account @nchs_yearbook"),
    ("student.under_13", "Mastodon account @kennedyjh@mastodon.example"),
    ("affiliation.missing", "Mastodon account @kennedyjh@mastodon.example"),
    ("agreement.missing", "Mastodon account @kennedyjh@mastodon.example"),
    ("profile.inactive", "Mastodon account @kennedyjh@mastodon.example"),
    ("platform.not_approved", "YouTube account @NapervilleNorthHS"),
    ("profile.not_found", "Instagram account @nchs_robotics"),
    ("profile.suspended", "X account @nchs_yearbook"),
    ("profile.renamed", "X account @nnhs_theatre"),
    ("owner.role_changed", "Snapchat account @nchs_spirit"),
    ("platform.condition_unmet", "Snapchat account @nchs_spirit"),
    ("escrow.missing", "Snapchat account @nchs_spirit"),
    ("escrow.no_secondary_admin", "X account @naperville203"),
    ("impersonation.suspected", "X account @naperville2o3"),
    ("impersonation.suspected", "Bluesky account thereal203superintendent.bsky.social"),
    ("account.unlisted", "Bluesky account nnhsorchestra.bsky.social"),
    ("profile.handle_unverified", "Bluesky account news.naperville203.org"),
}


@pytest.mark.slow
def test_the_demo_tells_the_whole_story_with_every_kind_of_finding(cli: Cli, tmp_path: Path) -> None:
    where = tmp_path / "demo"
    result = cli.ok("demo", "--dir", str(where))
    out = result.stdout

    # Every kind of finding the tool knows, each with a clause of the policy it breaks.
    items = json.loads(
        cli.ok(
            "--registry",
            str(where / "registry.db"),
            "--identity",
            "demo-admin",
            "finding",
            "list",
            "--format",
            "json",
            passfile=where / "passphrase",
        ).stdout
    )["items"]
    assert {f["check_id"] for f in items} == set(CHECKS)
    assert all(f["clauses"] for f in items), [f["check_id"] for f in items if not f["clauses"]]
    for check_id, about in EXPECTED:
        assert any(f["check_id"] == check_id and f["message"].startswith(about) for f in items), (
            check_id,
            about,
        )
    assert f"findings of {len(CHECKS)} kinds" in out

    # The audit ran as the nightly auditor identity, which cannot reveal escrowed passwords.
    history = json.loads(
        cli.ok(
            "--registry",
            str(where / "registry.db"),
            "--identity",
            "demo-admin",
            "audit",
            "history",
            "--format",
            "json",
            passfile=where / "passphrase",
        ).stdout
    )["items"]
    assert [run["identity"] for run in history] == ["demo-nightly"]

    # Files: private, and no generated passphrase or escrowed password in the output.
    for name in ("registry.db", "passphrase", "nightly.passphrase"):
        assert os.stat(where / name).st_mode & 0o777 == 0o600, name
    for secret_file in ("passphrase", "nightly.passphrase"):
        assert (where / secret_file).read_text().strip() not in result.output

    # The HTML report the compliance officer gets, if the reports package is there.
    match = re.search(r"HTML report for compliance: (\S+)", out)
    assert match, out
    report = Path(match.group(1))
    assert report.parent == where and report.exists()
    html = report.read_text(encoding="utf-8")
    assert "naperville2o3" in html and "<svg" in html


def test_demo_help_says_what_it_does(cli: Cli) -> None:
    out = cli.ok("demo", "--help").stdout
    assert "Example" in out and "loopback" in out
