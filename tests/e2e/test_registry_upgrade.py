"""The format upgrade path: an older registry is refused until upgraded, then opens as usual."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.models import Secret
from tests.e2e.conftest import PASSPHRASE, Cli
from vault import registry as registry_module
from vault import upgrades
from vault.errors import NeedsUpgradeError
from vault.registry import Registry
from vault.sqlite import SQLiteBackend


def test_older_format_is_refused_then_upgraded_with_a_backup(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.init()
    cli.ok("person", "add", "--name", "Ann Lee", "--email", "ann@d203.org")
    # Pretend this build uses format 2, with a step from 1 that adds a meta entry.
    monkeypatch.setattr(registry_module, "FORMAT_VERSION", 2)
    monkeypatch.setitem(
        upgrades.STEPS, 1, upgrades.Step(1, "record when people were last reviewed",
                                         lambda b: b.meta_set("people_reviewed", "never"))
    )
    with pytest.raises(NeedsUpgradeError, match="format 1; this version of auditor uses format 2"):
        Registry.open(SQLiteBackend(cli.registry))
    result = cli("person", "list")
    assert result.exit_code == 1 and "auditor registry upgrade" in result.output

    out = cli.ok("registry", "upgrade").output
    assert "Upgraded format 1 → 2: record when people were last reviewed" in out
    backups = list((cli.registry.parent / "backups").glob("*before-upgrade-from-1*"))
    assert len(backups) == 1 and (os.stat(backups[0]).st_mode & 0o777) == 0o600
    reg = Registry.open(SQLiteBackend(cli.registry))
    assert reg.backend.meta_get("people_reviewed") == "never" and reg.format_version == 2
    reg.unlock(None, Secret(PASSPHRASE))
    reg.close()
    assert "ann@d203.org" in cli.ok("person", "list").output
    assert "nothing to do" in cli.ok("registry", "upgrade").output
