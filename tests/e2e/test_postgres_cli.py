"""The CLI on a PostgreSQL registry (issue 7): two administrators, migrate both ways with every row
identical, the edit conflict and its retry, backups, upgrades, clear connection errors, and a
`pg_dump` that holds no name, handle or secret. Runs against a throwaway cluster (tests/pgcluster.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSPHRASE, Cli
from tests.e2e.test_escrow_cli import CODE, IG, PASSWORD, SEED, add_identity, setup_district
from tests.pgcluster import PgCluster
from vault.backends.migrate import read_rows


@pytest.fixture
def pg_cli(cli: Cli, pg_cluster: PgCluster, pg_db: str) -> Cli:
    cli.registry = pg_cluster.url(pg_db)  # type: ignore[assignment]
    return cli


def _rows(location: str) -> object:
    from auditor.cli.context import make_backend

    backend = make_backend(location)
    backend.open()
    try:
        return read_rows(backend)
    finally:
        backend.close()


def test_two_administrators_share_one_server_registry(pg_cli: Cli, tmp_path: Path) -> None:
    setup_district(pg_cli)
    second = add_identity(pg_cli, "comms-office")
    # Two terminals: each administrator with their own passphrase file, on the same database.
    pg_cli.ok("--identity", "comms-office", "account", "edit", IG, "--notes", "from comms", passfile=second)
    pg_cli.ok("--identity", "it-admin", "account", "edit", "x:nnhs", "--building", "South")
    out = pg_cli.ok("--identity", "comms-office", "account", "list", "--json", passfile=second).output
    items = {i["handle"]: i for i in json.loads(out)["items"]}
    assert items["nnhs_athletics"]["notes"] == "from comms" and items["nnhs"]["building"] == "South"
    shown = pg_cli.ok("--identity", "it-admin", "secret", "show", IG, "--reason", "season opener").output
    assert PASSWORD in shown
    assert "OK: All" in pg_cli.ok("--identity", "comms-office", "log", "verify", passfile=second).output
    info = pg_cli.ok("registry", "info").output
    assert "postgresql://postgres@127.0.0.1" in info
    assert "Registry is healthy." in pg_cli.ok("--identity", "it-admin", "registry", "check").output


def test_migrate_sqlite_to_postgres_to_sqlite_keeps_every_row(pg_cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    sqlite_cli = Cli(tmp_path / "site")
    setup_district(sqlite_cli)
    sqlite_cli.ok("secret", "show", IG, "--reason", "before the move")
    url = str(pg_cli.registry)
    result = sqlite_cli.ok("registry", "migrate", "--from", str(sqlite_cli.registry), "--to", url)
    assert "every record decrypted, log chain verified" in result.output
    back = tmp_path / "back.db"
    sqlite_cli.ok("registry", "migrate", "--from", url, "--to", str(back))
    original, on_server, returned = _rows(str(sqlite_cli.registry)), _rows(url), _rows(str(back))
    assert original == on_server == returned
    assert original.record_count > 5 and original.log  # type: ignore[attr-defined]
    # The CLI works on both copies with the same passphrase, and the registry id is the same.
    pg_cli.ok("account", "edit", IG, "--notes", "moved to the server")
    back_cli = Cli(tmp_path)
    back_cli.registry = back
    assert "nnhs_athletics" in back_cli.ok("account", "list").output
    assert PASSWORD in back_cli.ok("secret", "show", IG, "--reason", "after the move").output
    ids = {
        json.loads(c.ok("registry", "info", "--json").output)["item"]["registry_id"]
        for c in (pg_cli, back_cli)
    }
    assert len(ids) == 1


def test_migrate_refuses_a_non_empty_destination(pg_cli: Cli, tmp_path: Path) -> None:
    pg_cli.init()
    before = _rows(str(pg_cli.registry))
    (tmp_path / "o").mkdir()
    other = Cli(tmp_path / "o")
    other.init()
    result = other("registry", "migrate", "--from", str(other.registry), "--to", str(pg_cli.registry))
    assert result.exit_code == 1 and "already holds a registry" in result.output
    assert _rows(str(pg_cli.registry)) == before


def test_migrate_reports_a_copy_that_differs(
    pg_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy that came out different (here: one record altered on the way) fails with exit 1."""
    from auditor.services import registry_admin as migrate_module

    (tmp_path / "s").mkdir()
    site = Cli(tmp_path / "s")
    setup_district(site, secret=False)

    def corrupting_copy(source, dest, progress):  # type: ignore[no-untyped-def]
        result = real_copy(source, dest, progress)
        dest._x("UPDATE auditor.records SET version = version + 1 WHERE kind = 'account'")
        return result

    real_copy = migrate_module.copy_registry
    monkeypatch.setattr(migrate_module, "copy_registry", corrupting_copy)
    result = site("registry", "migrate", "--from", str(site.registry), "--to", str(pg_cli.registry))
    assert result.exit_code == 1
    assert "differs from" in result.output and "account: 2 record(s) differ" in result.output


def test_account_edit_conflict_is_reported_and_the_retry_works(
    pg_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone else saves the account between this command's read and its write."""
    from vault.stores.inventory import Inventory

    setup_district(pg_cli, secret=False)
    real_resolve = Inventory.resolve_account
    interfered: list[bool] = []

    def resolve_then_someone_else_edits(self, ref):  # type: ignore[no-untyped-def]
        account = real_resolve(self, ref)
        if not interfered:
            interfered.append(True)
            from auditor.model.types import Secret
            from vault.backends.postgres import PostgresBackend
            from vault.registry import Registry

            other = Registry.open(PostgresBackend(str(pg_cli.registry)))
            other.unlock(None, Secret(PASSPHRASE))
            theirs = Inventory(other).get_account(account.id)
            Inventory(other).save_account(dataclasses.replace(theirs, building="Their building"))
            other.close()
        return account

    monkeypatch.setattr(Inventory, "resolve_account", resolve_then_someone_else_edits)
    result = pg_cli("account", "edit", IG, "--notes", "mine")
    assert result.exit_code == 1
    assert "was changed by someone else since you read it" in result.output
    assert "Run the command again" in result.output
    pg_cli.ok("account", "edit", IG, "--notes", "mine")
    shown = json.loads(pg_cli.ok("account", "show", IG, "--json").output)["item"]
    assert shown["notes"] == "mine" and shown["building"] == "Their building"


def test_pg_dump_holds_no_name_handle_or_secret(pg_cli: Cli, pg_cluster: PgCluster, pg_db: str) -> None:
    setup_district(pg_cli)
    pg_cli.ok("secret", "show", IG, "--reason", "coach Rivera asked")
    dump = pg_cluster.run("pg_dump", "-h", "127.0.0.1", "-p", str(pg_cluster.port), "-U", "postgres", pg_db)
    text = dump.stdout
    assert "CREATE TABLE auditor.records" in text and "COPY auditor.records" in text
    needles = [
        "Priya",
        "Raman",
        "Marcus",
        "praman@d203.org",
        "mlee",
        "d203.org",
        "nnhs_athletics",
        "nnhs",
        "Athletic Director",
        "it-admin",
        "coach Rivera",
        PASSWORD,
        SEED,
        CODE,
        "other-code-9911",
        "nnhs_ath",
    ]
    for needle in needles:
        assert needle.lower() not in text.lower(), needle


def test_backup_of_a_server_registry_is_an_sqlite_copy(pg_cli: Cli, tmp_path: Path) -> None:
    setup_district(pg_cli, secret=False)
    out = pg_cli.ok("registry", "backup").output
    path = Path(out.split("Backup written to ", 1)[1].strip())
    assert path.is_relative_to(Path(os.environ["XDG_DATA_HOME"]))
    assert (os.stat(path).st_mode & 0o777) == 0o600 and path.name.startswith("pg-127-0-0-1-")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert _rows(str(path)) == _rows(str(pg_cli.registry))
    restored = pg_cli("registry", "restore", str(path), "--yes")
    assert restored.exit_code == 2 and "registry migrate --from BACKUP.db" in restored.output


def test_upgrade_applies_a_versioned_schema_step(pg_cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.backends import postgres

    setup_district(pg_cli, secret=False)
    current = postgres.SCHEMA_VERSION
    monkeypatch.setattr(postgres, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(
        postgres.SCHEMA_STEPS,
        current,
        ("index records by version", "CREATE INDEX records_version ON auditor.records (version)"),
    )
    refused = pg_cli("account", "list")
    assert refused.exit_code == 1 and f"uses database schema {current}" in refused.output
    assert "auditor registry upgrade" in refused.output
    out = pg_cli.ok("registry", "upgrade").output
    assert f"Upgraded database schema {current} → {current + 1}: index records by version" in out
    assert "nnhs_athletics" in pg_cli.ok("account", "list").output
    assert "nothing to do" in pg_cli.ok("registry", "upgrade").output


def test_password_in_the_url_is_refused_and_never_printed(cli: Cli, pg_cluster: PgCluster) -> None:
    cli.registry = f"postgresql://postgres:Hunter2-topsecret@127.0.0.1:{pg_cluster.port}/postgres"  # type: ignore[assignment]
    result = cli("account", "list")
    assert result.exit_code == 1
    assert "contains a password" in result.output and "~/.pgpass" in result.output
    assert "Hunter2" not in result.output and "Traceback" not in result.output


def test_connection_problems_are_clear_errors(cli: Cli, pg_cluster: PgCluster, tmp_path: Path) -> None:
    from tests.pgcluster import PASSWORD_ROLE, PASSWORD_ROLE_SECRET

    cli.registry = f"postgresql://postgres@127.0.0.1:{pg_cluster.port + 1}/x"  # type: ignore[assignment]
    down = cli("account", "list")
    assert down.exit_code == 1 and "cannot connect to the PostgreSQL server" in down.output
    assert "pg_isready" in down.output and "Traceback" not in down.output
    cli.registry = pg_cluster.url("no_such_db")  # type: ignore[assignment]
    missing = cli("account", "list")
    assert missing.exit_code == 1 and 'database "no_such_db" does not exist' in missing.output
    cli.registry = pg_cluster.url("postgres", user=PASSWORD_ROLE)  # type: ignore[assignment]
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_cluster.port}:*:{PASSWORD_ROLE}:wrong-{PASSWORD_ROLE_SECRET}\n")
    os.chmod(pgpass, 0o600)
    os.environ["PGPASSFILE"] = str(pgpass)
    try:
        denied = cli("account", "list")
        assert denied.exit_code == 1 and "refused the login" in denied.output and ".pgpass" in denied.output
        assert PASSWORD_ROLE_SECRET not in denied.output
        pgpass.write_text(f"127.0.0.1:{pg_cluster.port}:*:{PASSWORD_ROLE}:{PASSWORD_ROLE_SECRET}\n")
        # The right password from the pgpass file gets in: this database simply has no registry yet.
        empty = cli("account", "list")
        assert empty.exit_code == 1 and "has no auditor schema" in empty.output
        assert "auditor init" in empty.output
    finally:
        del os.environ["PGPASSFILE"]
