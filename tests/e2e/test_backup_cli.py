"""`registry backup` as a nightly job (issue 13, "Backups that suit a nightly job")."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.conftest import Cli


def _is_registry_copy(path: Path) -> bool:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT value FROM meta WHERE name = 'registry_id'").fetchone() is not None


def test_the_second_night_into_the_same_file_is_refused_unless_forced(cli: Cli) -> None:
    cli.init()
    target = cli.tmp / "nightly.db"
    cli.ok("registry", "backup", "-o", str(target))
    first = target.stat().st_mtime_ns
    refused = cli("registry", "backup", "-o", str(target))
    assert refused.exit_code == 2
    assert "already exists" in refused.output and "--force" in refused.output and "{date}" in refused.output
    assert target.stat().st_mtime_ns == first
    cli.ok("person", "add", "--name", "Ann Lee", "--email", "ann@d203.org")
    cli.ok("registry", "backup", "-o", str(target), "--force")
    assert target.stat().st_mtime_ns != first and _is_registry_copy(target)
    assert (os.stat(target).st_mode & 0o777) == 0o600
    assert [p.name for p in cli.tmp.iterdir() if p.name.startswith(".nightly")] == []  # no partial left


def test_a_date_pattern_and_keep_make_a_rotating_series(cli: Cli) -> None:
    cli.init()
    folder = cli.tmp / "nightly"
    folder.mkdir()
    for day in ("2026-11-28", "2026-11-29", "2026-11-30"):  # earlier nights
        cli.ok("registry", "backup", "-o", str(folder / f"registry-{day}.db"))
        os.utime(folder / f"registry-{day}.db", (0, datetime.fromisoformat(day).timestamp()))
    (folder / "notes.txt").write_text("not a backup")
    out = cli.ok("registry", "backup", "-o", str(folder / "registry-{date}.db"), "--keep", "2").output
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert f"registry-{today}.db" in out
    assert sorted(p.name for p in folder.iterdir()) == [
        "notes.txt",
        "registry-2026-11-30.db",
        f"registry-{today}.db",
    ]
    assert "Deleted old backup" in out and "registry-2026-11-28.db" in out


def test_a_folder_gets_a_dated_file_and_keep_prunes_that_registrys_backups(cli: Cli) -> None:
    cli.init()
    folder = cli.tmp / "vault-backups"
    folder.mkdir()
    for _ in range(3):
        cli.ok("registry", "backup", "-o", str(folder))
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 3 and all(n.startswith("registry-") and n.endswith("-manual.db") for n in names)
    cli.ok("registry", "backup", "-o", str(folder), "--keep", "2")
    assert len(list(folder.iterdir())) == 2
    assert cli("registry", "backup", "--keep", "0").exit_code == 2


def test_a_folder_that_does_not_exist_yet_is_made_when_named_with_a_trailing_slash(cli: Cli) -> None:
    cli.init()
    cli.ok("registry", "backup", "-o", f"{cli.tmp / 'new-folder'}/")
    made = list((cli.tmp / "new-folder").iterdir())
    assert len(made) == 1 and made[0].name.endswith("-manual.db") and _is_registry_copy(made[0])
