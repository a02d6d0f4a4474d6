"""Factories for registries on both backends: a real SQLite file in the test's temporary directory,
and a fresh database on a throwaway PostgreSQL cluster (tests/pgcluster.py).

`make_registry` and `reopen` are parametrised over ["sqlite", "postgres"], so every test using them
runs on both. A test that also asks for `registry_path` works on the file itself and runs on SQLite
only (its PostgreSQL variant is skipped). `raw` gives direct SQL access to the stored rows on either
backend, for tests that tamper with them the way someone with database access could.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.model.types import Secret
from tests.pgcluster import PgCluster
from vault.backends.storage import Backend
from vault.registry import Registry

PASSPHRASE = "correct horse battery staple"
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database of its own for this test."""
    name = pg_cluster.new_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def registry_location(backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend_kind == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "data" / "registry.db")


@pytest.fixture
def new_backend(registry_location: str, backend_kind: str) -> Callable[[], Backend]:
    def factory() -> Backend:
        if backend_kind == "postgres":
            from vault.backends.postgres import PostgresBackend

            return PostgresBackend(registry_location)
        from vault.backends.sqlite import SQLiteBackend

        return SQLiteBackend(registry_location)

    return factory


@pytest.fixture
def registry_path(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    if "backend_kind" in request.fixturenames and request.getfixturevalue("backend_kind") == "postgres":
        pytest.skip("works on the SQLite file itself")
    return tmp_path / "data" / "registry.db"


@pytest.fixture
def make_registry(new_backend: Callable[[], Backend]) -> Iterator[Callable[..., Registry]]:
    opened: list[Registry] = []

    def factory(admin: str = "admin", passphrase: str = PASSPHRASE) -> Registry:
        reg = Registry.create(new_backend(), admin, Secret(passphrase), kdf_profile="floor")
        opened.append(reg)
        return reg

    yield factory
    for reg in opened:
        reg.close()


@pytest.fixture
def reopen(new_backend: Callable[[], Backend]) -> Iterator[Callable[..., Registry]]:
    opened: list[Registry] = []

    def factory(identity: str | None = None, passphrase: str = PASSPHRASE, **kw: object) -> Registry:
        reg = Registry.open(new_backend())
        opened.append(reg)
        reg.unlock(identity, Secret(passphrase), **kw)  # type: ignore[arg-type]
        return reg

    yield factory
    for reg in opened:
        reg.close()


class RawDb:
    """Direct SQL on the stored rows, as someone with write access to the database (not the tool).

    SQL uses `?` placeholders and unqualified table names on both backends. With
    `bypass_log_guard`, the log's append-only triggers are dropped (SQLite) or not fired
    (PostgreSQL superuser, session_replication_role = replica): an attacker with full access.
    """

    def __init__(self, kind: str, location: str) -> None:
        self.kind = kind
        self.location = location

    def __call__(
        self, sql: str, params: tuple[Any, ...] = (), *, bypass_log_guard: bool = False
    ) -> list[Any]:
        if self.kind == "sqlite":
            db = sqlite3.connect(self.location, isolation_level=None)
            try:
                if bypass_log_guard:
                    db.execute("DROP TRIGGER IF EXISTS log_no_update")
                    db.execute("DROP TRIGGER IF EXISTS log_no_delete")
                return db.execute(sql, params).fetchall()
            finally:
                db.close()
        import psycopg

        with psycopg.connect(self.location, autocommit=True) as conn:
            conn.execute("SET search_path TO auditor")
            if bypass_log_guard:
                conn.execute("SET session_replication_role = replica")
            cur = conn.execute(sql.replace("?", "%s"), params)
            return list(cur.fetchall()) if cur.description else []


@pytest.fixture
def raw(backend_kind: str, registry_location: str) -> RawDb:
    return RawDb(backend_kind, registry_location)


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def load_into_postgres(src: Path, url: str, *, schema1: bool = False, replace: bool = False) -> None:
    """Put every row of the SQLite registry file `src` into the PostgreSQL database at `url`, as
    the rows stand (no re-encryption, no stamps recomputed). `schema1` first creates the schema of
    the release before (no `stamp` column), as a district's server registry from it holds; with
    `replace` the existing schema's rows are deleted first (the log trigger bypassed), as someone
    putting an older copy back would."""
    import psycopg

    from vault.backends.postgres import SCHEMA_SQL

    db = sqlite3.connect(src)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            if replace:
                conn.execute("SET session_replication_role = replica")
                for table in ("wraps", "identities", "records", "meta", "log"):
                    conn.execute(f"DELETE FROM auditor.{table}")  # noqa: S608 (constant)
            else:
                conn.execute(SCHEMA_SQL)
                if schema1:
                    conn.execute("ALTER TABLE auditor.records DROP COLUMN stamp")
            stamp = "" if schema1 else ", CAST(stamp AS BLOB)"
            columns = "kind, id, version, lookup, blob" + ("" if schema1 else ", stamp")
            for name, value in db.execute("SELECT name, value FROM meta"):
                conn.execute("INSERT INTO auditor.meta VALUES (%s, %s)", (name, value))
            for row in db.execute(
                "SELECT id, name, role, public_key, sealed_private, created_at FROM identities"
            ):
                conn.execute("INSERT INTO auditor.identities VALUES (%s, %s, %s, %s, %s, %s)", row)
            for row in db.execute("SELECT identity_id, domain, key_version, stanza, check_tag FROM wraps"):
                conn.execute("INSERT INTO auditor.wraps VALUES (%s, %s, %s, %s, %s)", row)
            marks = ", ".join(["%s"] * (5 if schema1 else 6))
            for row in db.execute(
                f"SELECT kind, id, version, lookup, CAST(blob AS BLOB){stamp} FROM records"  # noqa: S608
            ):
                conn.execute(f"INSERT INTO auditor.records({columns}) VALUES ({marks})", row)  # noqa: S608
            for row in db.execute("SELECT seq, CAST(blob AS BLOB) FROM log"):
                conn.execute("INSERT INTO auditor.log VALUES (%s, %s)", row)
    finally:
        db.close()
