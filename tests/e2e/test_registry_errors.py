"""Every registry error is one clear line and changes nothing (issue 11): a write lock held past the
wait, a read-only file, a read-only folder, a corrupted page.

Read-only cases run the real `auditor` in a subprocess. As root, file permissions do not apply, so
there the subprocess runs without CAP_DAC_OVERRIDE (util-linux `setpriv`), as an unprivileged
owner of the file would.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

AUDITOR = str(Path(sys.executable).with_name("auditor"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_error(output: str, expected: str) -> None:
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], output


def _as_unprivileged_owner(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without util-linux setpriv to drop CAP_DAC_OVERRIDE")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    env = {**os.environ, "AUDITOR_KDF_PROFILE": "floor"}
    return subprocess.run(
        [*prefix, AUDITOR, "--registry", str(cli.registry), "--passphrase-file", str(cli.passfile), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_write_lock_held_past_the_wait_is_one_clear_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.backends import sqlite as sqlite_backend

    cli.init()
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_S", 1)
    holder = sqlite3.connect(cli.registry, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before = _digest(cli.registry)
        result = cli("person", "add", "--name", "Ann Lee", "--email", "ann@d203.org")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    _one_error(
        result.output, "is busy: another auditor process has held it for more than 1 s; nothing was changed"
    )
    assert _digest(cli.registry) == before
    cli.ok("person", "add", "--name", "Ann Lee", "--email", "ann@d203.org")  # and it works once freed


def test_a_read_only_registry_file_reads_but_refuses_writes_clearly(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "add", "--name", "Ann Lee", "--email", "ann@d203.org")
    os.chmod(cli.registry, 0o400)
    try:
        before = _digest(cli.registry)
        listed = _as_unprivileged_owner(cli, "person", "list")
        assert listed.returncode == 0 and "ann@d203.org" in listed.stdout, listed.stderr
        added = _as_unprivileged_owner(cli, "person", "add", "--name", "Bo Kim", "--email", "bo@d203.org")
        assert added.returncode == 1
        _one_error(added.stderr, "is read-only for this user: nothing was changed")
        assert "chmod 600 registry.db" in added.stderr
        assert _digest(cli.registry) == before
    finally:
        os.chmod(cli.registry, 0o600)


def test_a_read_only_folder_is_named_as_the_folder_not_as_damage(cli: Cli) -> None:
    cli.init()
    folder = cli.registry.parent
    os.chmod(folder, 0o500)
    try:
        added = _as_unprivileged_owner(cli, "person", "add", "--name", "Bo Kim", "--email", "bo@d203.org")
        assert added.returncode == 1
        _one_error(added.stderr, f"the folder {folder} is not writable for this user")
        assert "damaged" not in added.stderr
    finally:
        os.chmod(folder, 0o700)


def test_a_corrupted_page_is_reported_as_damage_and_the_file_is_left_alone(cli: Cli) -> None:
    cli.init()
    for i in range(40):
        cli.ok("person", "add", "--name", f"Person {i}", "--email", f"p{i}@d203.org")
    with sqlite3.connect(cli.registry) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'records'").fetchone()[0]
    data = bytearray(cli.registry.read_bytes())
    start = (root - 1) * page_size
    data[start : start + 64] = b"\xff" * 64  # the records table's root page header
    cli.registry.write_bytes(bytes(data))
    before = _digest(cli.registry)
    for args in (("person", "list"), ("person", "add", "--name", "Bo Kim", "--email", "bo@d203.org")):
        result = cli(*args)
        assert result.exit_code == 1
        _one_error(result.output, "is damaged: SQLite found a corrupted page")
    assert _digest(cli.registry) == before
