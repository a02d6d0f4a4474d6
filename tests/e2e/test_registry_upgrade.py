"""The format upgrade path through the CLI: an older registry is refused until upgraded, then opens
as usual. The previous release's own file (tests/vault/data/format1.db) is upgraded for real; a
pretend future step shows a format step that needs no key."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from auditor.services import registry_admin
from tests.e2e.conftest import Cli
from vault import registry as registry_module
from vault import upgrades
from vault.backends.sqlite import SQLiteBackend
from vault.errors import NeedsUpgradeError
from vault.registry import FORMAT_VERSION, Registry

DATA = Path(__file__).parents[1] / "vault" / "data"


def test_the_previous_release_is_refused_then_upgraded_by_an_admin(cli: Cli, tmp_path: Path) -> None:
    fixture = json.loads((DATA / "format1.json").read_text())
    shutil.copy(DATA / "format1.db", cli.registry)
    admin = cli.file("admin1.pass", fixture["admin_passphrase"] + "\n")
    nightly = cli.file("nightly1.pass", fixture["auditor_passphrase"] + "\n")
    os.chmod(admin, 0o600)
    os.chmod(nightly, 0o600)
    refused = cli("--identity", "it-admin", "person", "list", passfile=admin)
    assert (
        refused.exit_code == 1
        and "uses database schema 1; this version of auditor uses schema 2" in refused.output
    )
    assert "auditor registry upgrade" in refused.output
    # An auditor identity cannot vouch for the registry's key metadata.
    as_auditor = cli("--identity", "it-nightly", "registry", "upgrade", passfile=nightly)
    assert as_auditor.exit_code == 1 and "needs an admin identity" in as_auditor.output

    out = cli.ok("--identity", "it-admin", "registry", "upgrade", passfile=admin).output
    assert (
        "Upgraded database schema 1 → 2" in out
        and "Upgraded format 1 → 2: authenticated key manifests" in out
    )
    backups = list((cli.registry.parent / "backups").glob("*before-upgrade-from-1*"))
    assert backups and all((os.stat(b).st_mode & 0o777) == 0o600 for b in backups)
    assert "ann@d203.org" in cli.ok("--identity", "it-nightly", "person", "list", passfile=nightly).output
    check = cli.ok("--identity", "it-admin", "registry", "check", passfile=admin).output
    assert "Registry is healthy." in check and "attestation" in check
    assert "nothing to do" in cli.ok("--identity", "it-admin", "registry", "upgrade", passfile=admin).output


def test_a_future_format_step_runs_once_with_a_backup(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.init()
    cli.ok("person", "add", "--name", "Ann Lee", "--email", "ann@d203.org")
    future = FORMAT_VERSION + 1
    monkeypatch.setattr(registry_module, "FORMAT_VERSION", future)
    monkeypatch.setattr(registry_admin, "FORMAT_VERSION", future)  # what the command reports
    monkeypatch.setitem(
        upgrades.STEPS,
        FORMAT_VERSION,
        upgrades.Step(
            FORMAT_VERSION,
            "record when people were last reviewed",
            lambda reg: reg.backend.meta_set("people_reviewed", "never"),
        ),
    )
    with pytest.raises(
        NeedsUpgradeError, match=f"format {FORMAT_VERSION}; this version of auditor uses format {future}"
    ):
        Registry.open(SQLiteBackend(cli.registry))
    result = cli("person", "list")
    assert result.exit_code == 1 and "auditor registry upgrade" in result.output

    out = cli.ok("registry", "upgrade").output
    assert f"Upgraded format {FORMAT_VERSION} → {future}: record when people were last reviewed" in out
    backups = list((cli.registry.parent / "backups").glob(f"*before-upgrade-from-{FORMAT_VERSION}*"))
    assert len(backups) == 1 and (os.stat(backups[0]).st_mode & 0o777) == 0o600
    reg = Registry.open(SQLiteBackend(cli.registry))
    assert reg.backend.meta_get("people_reviewed") == "never" and reg.format_version == future
    reg.close()
    assert "nothing to do" in cli.ok("registry", "upgrade").output
