"""What only the PostgreSQL backend has to prove: real concurrency between OS processes, snapshots
while others commit, the INSERT-only log under the least-privilege role from vault/backends/sql/postgres-role.sql,
all-or-nothing after a kill, and a database that is not ours left untouched."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from auditor.model.types import Account, Person, Platform, Secret
from tests.pgcluster import PgCluster
from tests.vault.conftest import PASSPHRASE
from vault.backends.postgres import PostgresBackend
from vault.errors import (
    ConcurrentEditError,
    LogWriteError,
    RegistryDamagedError,
    RegistryNotFoundError,
    RollbackError,
)
from vault.registry import Registry
from vault.revealog import RevealLog
from vault.stores.inventory import Inventory

ROLE_SQL = Path(__file__).resolve().parents[2] / "vault" / "backends" / "sql" / "postgres-role.sql"
FORK = multiprocessing.get_context("fork")


def _create(url: str) -> tuple[Registry, Account]:
    reg = Registry.create(PostgresBackend(url), "admin", Secret(PASSPHRASE), kdf_profile="floor")
    inv = Inventory(reg)
    owner = inv.add_person(Person(id="", name="Marcus Lee", email="mlee@d203.org"))
    account = inv.add_account(
        Account(id="", platform=Platform.INSTAGRAM, handle="nnhs_athletics", owner_id=owner.id)
    )
    return reg, account


def _open(url: str, *, tolerant: bool = False) -> Registry:
    reg = Registry.open(PostgresBackend(url))
    reg.unlock(None, Secret(PASSPHRASE), tolerant=tolerant)
    return reg


# -- two processes, one account ---------------------------------------------------------------------


def _editor(url: str, account_id: str, field: str, value: str, barrier: Any, results: Any) -> None:
    reg = _open(url)
    inv = Inventory(reg)
    current = inv.get_account(account_id)
    assert current is not None
    barrier.wait(timeout=30)  # both have read version 1 before either writes
    try:
        changes: dict[str, Any] = {field: value}
        inv.save_account(dataclasses.replace(current, **changes))
        results.put((field, "saved", ""))
    except ConcurrentEditError as exc:
        results.put((field, "conflict", f"{exc.message} / {exc.hint}"))
        fresh = inv.get_account(account_id)
        assert fresh is not None
        inv.save_account(dataclasses.replace(fresh, **changes))
        results.put((field, "retried", ""))
    reg.close()


def test_two_processes_editing_one_account_never_lose_an_update(pg_url: str) -> None:
    reg, account = _create(pg_url)
    reg.close()
    barrier, results = FORK.Barrier(2), FORK.Queue()
    procs = [
        FORK.Process(target=_editor, args=(pg_url, account.id, "notes", "from IT", barrier, results)),
        FORK.Process(target=_editor, args=(pg_url, account.id, "building", "North", barrier, results)),
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    outcomes = [results.get(timeout=5) for _ in range(3)]
    statuses = sorted(o[1] for o in outcomes)
    assert statuses == ["conflict", "retried", "saved"], outcomes
    conflict = next(o for o in outcomes if o[1] == "conflict")
    assert f"account {account.id} was changed by someone else since you read it" in conflict[2]
    assert "Run the command again" in conflict[2]
    final = Inventory(_open(pg_url)).get_account(account.id)
    assert final is not None and final.notes == "from IT" and final.building == "North" and final.version == 3


def _committer(url: str, account_id: str, ready: Any, done: Any) -> None:
    reg = _open(url)
    inv = Inventory(reg)
    ready.wait(timeout=30)
    current = inv.get_account(account_id)
    assert current is not None
    with reg.transaction():
        inv.save_account(dataclasses.replace(current, notes="changed meanwhile"))
        inv.add_account(Account(id="", platform=Platform.X, handle="new_during_audit"))
    reg.close()
    done.set()


def test_a_snapshot_sees_one_state_while_another_process_commits(pg_url: str) -> None:
    reg, account = _create(pg_url)
    inv = Inventory(reg)
    ready, done = FORK.Event(), FORK.Event()
    proc = FORK.Process(target=_committer, args=(pg_url, account.id, ready, done))
    proc.start()
    with reg.snapshot():
        first = inv.accounts()
        ready.set()
        assert done.wait(30)  # the other process has committed by now
        second = inv.accounts()
        assert second == first and [a.notes for a in second] == [""]
    proc.join(30)
    after = inv.accounts()
    assert {a.handle for a in after} == {"nnhs_athletics", "new_during_audit"}
    assert next(a for a in after if a.id == account.id).notes == "changed meanwhile"
    reg.close()


# -- the least-privilege role -----------------------------------------------------------------------


def _as_app(cluster: PgCluster, url: str) -> str:
    db = url.rsplit("/", 1)[1]
    with cluster.connect(db) as conn:
        conn.execute(ROLE_SQL.read_text())
    return cluster.url(db, user="auditor_app")


def test_the_app_role_appends_to_the_log_but_cannot_change_or_unguard_it(
    pg_cluster: PgCluster, pg_url: str
) -> None:
    reg, account = _create(pg_url)
    RevealLog(reg).append("reveal", account_id=account.id, reason="ticket 1")
    reg.close()
    app_url = _as_app(pg_cluster, pg_url)
    # The tool works as auditor_app: unlock, edit, and a reveal-log event is appended.
    app = _open(app_url)
    inv = Inventory(app)
    mine = inv.get_account(account.id)
    assert mine is not None
    inv.save_account(dataclasses.replace(mine, notes="as app"))
    RevealLog(app).append("reveal", account_id=account.id, reason="ticket 2")
    assert RevealLog(app).verify().ok
    assert app.backend.integrity_check() == []
    app.close()
    with psycopg.connect(app_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM auditor.log").fetchone()[0] == 2  # type: ignore[index]
        conn.execute("INSERT INTO auditor.log(seq, blob) VALUES (99, 'x')")
        for statement in (
            "UPDATE auditor.log SET blob = 'y' WHERE seq = 1",
            "DELETE FROM auditor.log WHERE seq = 1",
            "TRUNCATE auditor.log",
            "DROP TRIGGER log_no_update ON auditor.log",
            "ALTER TABLE auditor.log DISABLE TRIGGER ALL",
            "DROP TABLE auditor.records",
            "CREATE TABLE auditor.sneaky (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    # Even the owner cannot edit the log while the trigger is there.
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="the log is append-only"):
            conn.execute("UPDATE auditor.log SET blob = 'y' WHERE seq = 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="the log is append-only"):
            conn.execute("DELETE FROM auditor.log")
        conn.execute("ALTER TABLE auditor.log DISABLE TRIGGER log_no_delete")
    # The row auditor_app could append by hand is refused at the next unlock: it is past the
    # authenticated head. `registry check` (a tolerant unlock) names it, and notices when someone
    # with ownership switched the trigger off.
    with pytest.raises(RollbackError, match="continues past the recorded head"):
        _open(pg_url)
    check = _open(pg_url, tolerant=True)
    assert [p.message for p in check.problems] == [
        "The log continues past the recorded head (event 2) to event 99: events were appended outside auditor."
    ]
    assert check.backend.integrity_check() == [
        "trigger log_no_delete on auditor.log is disabled: the log is not append-only"
    ]
    check.close()


def test_the_app_role_cannot_create_a_registry(pg_cluster: PgCluster, pg_url: str) -> None:
    reg, _ = _create(pg_url)
    reg.close()
    app_url = _as_app(pg_cluster, pg_url)
    empty = pg_cluster.new_database()
    pg_cluster.sql(f"GRANT CONNECT ON DATABASE {empty} TO auditor_app")
    pg_cluster.sql(f"REVOKE CREATE ON DATABASE {empty} FROM PUBLIC")
    try:
        from vault.errors import VaultError

        with pytest.raises(VaultError, match="may not create the registry's tables"):
            Registry.create(
                PostgresBackend(app_url.rsplit("/", 1)[0] + "/" + empty),
                "x",
                Secret(PASSPHRASE),
                kdf_profile="floor",
            )
    finally:
        pg_cluster.drop_database(empty)


# -- not our database, half a schema, a busy writer ------------------------------------------------------


def _dump(cluster: PgCluster, db: str) -> str:
    out = cluster.run("pg_dump", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", db).stdout
    # pg_dump's \restrict line carries a random key per run (CVE-2025-8714 fix); the rest is the data.
    return "\n".join(line for line in out.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def test_a_database_without_our_schema_is_refused_and_left_untouched(
    pg_cluster: PgCluster, pg_url: str
) -> None:
    db = pg_url.rsplit("/", 1)[1]
    pg_cluster.sql(
        "CREATE TABLE payroll (id int, amount numeric); INSERT INTO payroll VALUES (1, 10)", dbname=db
    )
    before = _dump(pg_cluster, db)
    with pytest.raises(RegistryNotFoundError, match="has no auditor schema") as info:
        Registry.open(PostgresBackend(pg_url))
    assert "auditor init" in info.value.hint
    assert not PostgresBackend(pg_url).exists()
    assert _dump(pg_cluster, db) == before


def test_half_a_schema_is_damaged_and_left_untouched(pg_cluster: PgCluster, pg_url: str) -> None:
    db = pg_url.rsplit("/", 1)[1]
    pg_cluster.sql("CREATE SCHEMA auditor; CREATE TABLE auditor.meta (name text, value text)", dbname=db)
    before = _dump(pg_cluster, db)
    with pytest.raises(RegistryDamagedError, match="tables missing: identities, log, records, wraps"):
        Registry.open(PostgresBackend(pg_url))
    assert _dump(pg_cluster, db) == before


def test_reveal_fails_closed_when_another_writer_holds_the_registry(pg_url: str) -> None:
    reg, account = _create(pg_url)
    log = RevealLog(reg)
    log.append("reveal", account_id=account.id, reason="first")
    assert isinstance(reg.backend, PostgresBackend)
    reg.backend.lock_timeout_ms = 100
    holder = _open(pg_url)
    shown: list[str] = []
    with (
        holder.transaction(),  # another administrator's long write
        pytest.raises(LogWriteError, match="nothing was shown"),
        log.reveal("reveal", account_id="a", reason="r"),
    ):
        shown.append("the secret")
    assert shown == [] and len(log.events()) == 1
    holder.close()
    reg.close()


# -- a kill in the middle of an import --------------------------------------------------------------

N = 3000
SCRIPT = textwrap.dedent(
    """
    import sys
    from auditor.model.types import Account, Platform, Secret
    from vault.stores.inventory import Inventory
    from vault.backends.postgres import PostgresBackend
    from vault.registry import Registry

    reg = Registry.open(PostgresBackend(sys.argv[1]))
    reg.unlock(None, Secret(sys.argv[2]))
    inv = Inventory(reg)
    accounts = [Account(id="", platform=Platform.X, handle=f"school_{i}") for i in range({n})]
    with reg.transaction():
        print("started", flush=True)
        for chunk in range(0, len(accounts), 100):
            inv.upsert_accounts(accounts[chunk:chunk + 100])
        print("writing done", flush=True)
        sys.stdin.readline()   # hold the transaction open until killed
    """
).replace("{n}", str(N))


def test_sigkill_mid_import_leaves_all_or_nothing(pg_url: str) -> None:
    reg, _ = _create(pg_url)
    reg.close()
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    for kill_after in ("started", "writing done"):
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, pg_url, PASSPHRASE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.stdout.readline().strip() != kill_after:
            pass
        if kill_after == "started":
            time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        check = _open(pg_url)
        assert len(Inventory(check).accounts()) == 1, f"partial import visible after a kill at {kill_after!r}"
        check.close()
