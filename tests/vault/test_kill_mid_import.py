"""A process killed with SIGKILL in the middle of an import leaves all or none of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from auditor.model.types import Secret
from tests.vault.conftest import PASSPHRASE
from vault.backends.sqlite import SQLiteBackend
from vault.registry import Registry
from vault.stores.inventory import Inventory

N = 4000

SCRIPT = textwrap.dedent(
    """
    import sys
    from auditor.model.types import Account, Platform, Secret
    from vault.stores.inventory import Inventory
    from vault.registry import Registry
    from vault.backends.sqlite import SQLiteBackend

    reg = Registry.open(SQLiteBackend(sys.argv[1]))
    reg.unlock(None, Secret(sys.argv[2]))
    inv = Inventory(reg)
    accounts = [Account(id="", platform=Platform.X, handle=f"school_{i}") for i in range({n})]
    with reg.transaction():
        print("started", flush=True)
        for chunk in range(0, len(accounts), 50):
            inv.upsert_accounts(accounts[chunk:chunk + 50])
        print("writing done", flush=True)
        sys.stdin.readline()   # hold the transaction open until killed
    """
).replace("{n}", str(N))


def _count(path: Path) -> int:
    reg = Registry.open(SQLiteBackend(path))
    try:
        reg.unlock(None, Secret(PASSPHRASE))
        return len(Inventory(reg).accounts())
    finally:
        reg.close()


def test_sigkill_mid_import_leaves_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    Registry.create(SQLiteBackend(path), "admin", Secret(PASSPHRASE), kdf_profile="floor").close()
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    for kill_after in ("started", "writing done"):
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(path), PASSPHRASE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.strip() == kill_after:
                break
        if kill_after == "started":
            time.sleep(0.3)  # let it write part of the rows
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _count(path) == 0, f"partial import visible after a kill at {kill_after!r}"
    # And the same import, allowed to commit, is all there.
    reg = Registry.open(SQLiteBackend(path))
    reg.unlock(None, Secret(PASSPHRASE))
    from auditor.model.types import Account, Platform

    with reg.transaction():
        Inventory(reg).upsert_accounts(
            [Account(id="", platform=Platform.X, handle=f"school_{i}") for i in range(N)]
        )
    reg.close()
    assert _count(path) == N
