"""The shared PostgreSQL backend: the same rows as the SQLite file, on a server several people use.

The server stores only what `vault/backends/storage.py` describes: opaque encrypted blobs (`bytea`), hashed
identity names and blind indexes. Every key stays in the client (vault/registry.py), so neither the
database administrators nor a `pg_dump` see a name, handle or secret (issue 7).

Behaviour mirrors `vault/backends/sqlite.py`:

* All tables live in their own schema, `auditor`, and every statement names it, so a hostile
  `search_path` cannot redirect us. `meta.schema_version` versions the SQL schema; schema steps
  (`SCHEMA_STEPS`) are applied by `auditor registry upgrade`, as format steps are.
* `open()` never writes. A database without our schema is "not found" (with the `auditor init`
  hint); a half-made schema is "damaged"; a newer schema is refused (NewerFormatError).
* Writes run in explicit transactions that first take one transaction-scoped advisory lock, so
  writers are serialised exactly like SQLite's `BEGIN IMMEDIATE` (the reveal log's chain and the
  re-key code read-then-write under that assumption). Readers never wait for it.
* `put()` is optimistic: `UPDATE ... WHERE version = expected` touching no row is a
  ConcurrentEditError; a clash on the primary key is a ConcurrentEditError, on the blind index a
  DuplicateKeyError. Each such statement inside a transaction runs under a SAVEPOINT so that, as in
  SQLite, a caught error does not poison the rest of the transaction.
* `snapshot()` is a REPEATABLE READ READ ONLY transaction: an audit sees one consistent state while
  others commit.
* The log refuses UPDATE, DELETE and TRUNCATE through a plpgsql trigger; the application role
  documented in vault/backends/sql/postgres-role.sql cannot drop it because it owns nothing.

Connection strings: a password in the URL is refused (it would sit in shell history, the process
list and every error message). Use ~/.pgpass, PGPASSFILE, PGPASSWORD or a libpq service file.
`location` is therefore always printable. Connection failures become VaultError subclasses with a
hint; psycopg's messages are reduced to their first line and never carry the password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from vault.backends.migrate import copy_registry
from vault.backends.sqlite import SQLiteBackend
from vault.backends.storage import (
    Backend,
    DuplicateKeyError,
    IdentityRow,
    LogRow,
    RecordRow,
    StampRow,
    StorageError,
    WrapRow,
)
from vault.errors import (
    ConcurrentEditError,
    NeedsUpgradeError,
    NewerFormatError,
    RegistryDamagedError,
    RegistryExistsError,
    RegistryNotFoundError,
    VaultError,
)

if TYPE_CHECKING:
    import psycopg

SCHEMA = "auditor"
SCHEMA_VERSION = 2
TABLES = ("meta", "identities", "wraps", "records", "log")
# Any constant works; it only has to be the same for every auditor process on the database.
WRITE_LOCK_KEY = 0x61756469746F72  # "auditor"

SCHEMA_SQL = """
CREATE SCHEMA auditor;
CREATE TABLE auditor.meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE auditor.identities (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,          -- a hash of the name: identity names identify people
    role text NOT NULL,
    public_key bytea NOT NULL,
    sealed_private bytea NOT NULL,
    created_at text NOT NULL
);
CREATE TABLE auditor.wraps (
    identity_id text NOT NULL REFERENCES auditor.identities(id) ON DELETE CASCADE,
    domain text NOT NULL,
    key_version integer NOT NULL,
    stanza bytea NOT NULL,
    check_tag bytea NOT NULL,
    PRIMARY KEY (identity_id, domain)
);
CREATE TABLE auditor.records (
    kind text NOT NULL,
    id text NOT NULL,
    version integer NOT NULL,
    lookup text,
    blob bytea NOT NULL,
    stamp bytea,                        -- the blob's nonce, for the authenticated head (vault/heads.py)
    CONSTRAINT records_pkey PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX records_lookup ON auditor.records (kind, lookup) WHERE lookup IS NOT NULL;
CREATE TABLE auditor.log (seq bigint PRIMARY KEY, blob bytea NOT NULL);
CREATE FUNCTION auditor.log_append_only() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog AS $$
BEGIN
    RAISE EXCEPTION 'the log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER log_no_update BEFORE UPDATE ON auditor.log
    FOR EACH ROW EXECUTE FUNCTION auditor.log_append_only();
CREATE TRIGGER log_no_delete BEFORE DELETE ON auditor.log
    FOR EACH ROW EXECUTE FUNCTION auditor.log_append_only();
CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON auditor.log
    FOR EACH STATEMENT EXECUTE FUNCTION auditor.log_append_only();
"""

LOG_TRIGGERS = ("log_no_update", "log_no_delete", "log_no_truncate")

# from_version -> (description, SQL taking the schema to from_version + 1). Version 1 is the first.
SCHEMA_STEPS: dict[int, tuple[str, str]] = {
    1: (
        "records get a stamp column (each blob's nonce) for the authenticated record head",
        "ALTER TABLE auditor.records ADD COLUMN stamp bytea; "
        "UPDATE auditor.records SET stamp = substring(blob from 1 for 12)",
    ),
}

_CREDENTIALS_HINT = (
    "Keep the password out of the URL: put it in ~/.pgpass (mode 0600) or the file PGPASSFILE names, "
    "set PGPASSWORD for a service, or use a libpq service (postgresql:///DB?service=NAME). "
    "See docs/postgres.md."
)


class RegistryServerError(VaultError, StorageError):
    """The PostgreSQL server could not be reached or refused us (network, authentication, TLS)."""


class RegistryBusyError(RegistryServerError):
    """Another writer held the registry longer than lock_timeout_ms."""


class RegistryAuthError(RegistryServerError):
    """The server rejected the role or its password."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    for prefix in ("connection failed: ", "FATAL:  ", "ERROR:  "):
        line = line.replace(prefix, "")
    line = re.sub(r"^connection to server (at|on socket) .*? failed: ", "", line)
    secret = os.environ.get("PGPASSWORD")
    if secret:
        line = line.replace(secret, "****")
    return line.strip()


def check_url(url: str) -> dict[str, Any]:
    """Parse a libpq URL; refuse one that carries a password. Returns the connection parameters."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception:  # psycopg.ProgrammingError; its text may repeat the URL
        raise VaultError(
            "the registry URL is not a valid PostgreSQL connection URL",
            "The form is postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=verify-full] "
            "or postgresql:///DATABASE?service=NAME.",
        ) from None
    if params.get("password") or params.get("sslpassword"):
        raise VaultError("the registry URL contains a password; it was not used", _CREDENTIALS_HINT)
    return params


def printable(url: str) -> str:
    """The URL with anything after a ':' in the user-info part masked (belt and braces)."""
    return re.sub(r"^(postgres(?:ql)?://[^:/@]*):[^@/]*@", r"\1:****@", url)


class PostgresBackend(Backend):
    schema_unmarked = 0

    allow_older_schema = False
    # How long a writer waits for another writer's transaction before giving up (SQLite: 30 s).
    lock_timeout_ms = 30_000

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = printable(url)
        self._conn: psycopg.Connection[Any] | None = None
        self._depth = 0
        self._sp = 0
        self._has_stamp = True

    # -- connection ---------------------------------------------------------------------------------
    def _connect(self) -> None:
        if self._conn is not None:
            return
        self._conn = self.new_session()

    def new_session(self, application_name: str | None = None) -> psycopg.Connection[Any]:
        """A new autocommit connection to the registry's database, made the way the backend's own is
        (the URL checked, its TLS settings, a connect timeout; errors become the same VaultErrors).
        The caller owns and closes it. `application_name` replaces the URL's: the audit lock
        (auditor/services/runlock.py) holds a session of its own named after its host and pid."""
        import psycopg

        params = check_url(self.url)
        extra: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = 10
        if application_name is not None:
            extra["application_name"] = application_name
        elif "application_name" not in params:
            extra["application_name"] = "auditor"
        try:
            return psycopg.connect(self.url, **extra)
        except psycopg.Error as exc:
            raise self._connect_error(exc, params) from None

    def _connect_error(self, exc: Exception, params: dict[str, Any]) -> VaultError:
        line = _first_line(exc)
        low = line.lower()
        where = self.location
        if (
            "password authentication failed" in low
            or "no password supplied" in low
            or ("authentication failed" in low)
        ):
            return RegistryAuthError(
                f"the PostgreSQL server refused the login for registry {where}: {line}", _CREDENTIALS_HINT
            )
        if "role" in low and "does not exist" in low:
            return RegistryAuthError(
                f"the PostgreSQL server has no such role for registry {where}: {line}",
                "Check the user name in the URL; docs/postgres.md shows how to create the auditor_app role.",
            )
        if "database" in low and "does not exist" in low:
            return RegistryNotFoundError(
                f"no database for registry {where}: {line}",
                "Ask the database administrator to create it (createdb -O auditor_owner DB, see "
                "docs/postgres.md), then run `auditor init --registry URL`.",
            )
        if "permission denied for database" in low or "not permitted to log in" in low:
            return RegistryAuthError(
                f"the PostgreSQL server refused access to registry {where}: {line}",
                "GRANT CONNECT on the database to the role (docs/postgres.md).",
            )
        if "ssl" in low or "certificate" in low:
            return RegistryServerError(
                f"a TLS problem with the PostgreSQL server of registry {where}: {line}",
                "With sslmode=verify-full, the server certificate must match the host name and be "
                "signed by the CA in ~/.postgresql/root.crt (or sslrootcert=...).",
            )
        if "could not translate host name" in low or "name or service not known" in low:
            return RegistryServerError(
                f"cannot find the PostgreSQL server of registry {where}: {line}",
                "Check the host name in the URL.",
            )
        return RegistryServerError(
            f"cannot connect to the PostgreSQL server of registry {where}: {line}",
            "Is the server running and reachable on that host and port? (`pg_isready -h HOST -p PORT`)",
        )

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise RuntimeError("backend is not open")
        return self._conn

    def _x(self, sql: str, args: Sequence[Any] | None = None) -> Any:
        """Execute one statement; a lost connection becomes a RegistryServerError."""
        import psycopg

        try:
            return self.conn.execute(sql, args)
        except psycopg.OperationalError as exc:
            if self.conn.closed or self.conn.broken:
                raise RegistryServerError(
                    f"lost the connection to the PostgreSQL server of registry {self.location}: "
                    f"{_first_line(exc)}",
                    "Nothing was committed by the interrupted command; run it again.",
                ) from None
            raise
        except psycopg.errors.DeadlockDetected as exc:
            raise ConcurrentEditError(
                "another administrator's change collided with this one; nothing was saved",
                "Run the command again.",
            ) from exc

    # -- life cycle ---------------------------------------------------------------------------------
    def _schema_tables(self) -> set[str]:
        rows = self._x(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (SCHEMA,)
        ).fetchall()
        return {r[0] for r in rows}

    def _schema_present(self) -> bool:
        row = self._x("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone()
        return row is not None

    def exists(self) -> bool:
        """Our schema exists in the target database (a missing database counts as no registry)."""
        was_open = self._conn is not None
        try:
            self._connect()
        except RegistryNotFoundError:
            return False
        try:
            return self._schema_present()
        finally:
            if not was_open:
                self.close()

    def create(self) -> None:
        self._connect()
        if self._schema_present():
            self.close()
            raise RegistryExistsError(
                f"a registry already exists in {self.location}",
                "Use it as it is, or point --registry at another (empty) database.",
            )
        try:
            # Only module constants are sent here: no input reaches this SQL.
            with self.conn.transaction():
                self._x(SCHEMA_SQL)
                self._x(
                    "INSERT INTO auditor.meta(name, value) VALUES ('schema_version', %s)",
                    (str(SCHEMA_VERSION),),
                )
        except BaseException as exc:
            import psycopg

            self.close()
            if isinstance(exc, psycopg.errors.InsufficientPrivilege):
                raise VaultError(
                    f"the role in {self.location} may not create the registry's tables: {_first_line(exc)}",
                    "Run `auditor init` (or migrate) as the owner role; the auditor_app role only uses "
                    "the tables (docs/postgres.md).",
                ) from None
            raise

    def open(self) -> None:
        self._connect()
        try:
            self._check_schema()
            self._has_stamp = self._stamp_column()
        except BaseException:
            self.close()
            raise

    def _check_schema(self) -> None:
        import psycopg

        try:
            if not self._schema_present():
                raise RegistryNotFoundError(
                    f"no registry in {self.location}: the database has no auditor schema",
                    "Create one with `auditor init --registry URL`, or copy one in with "
                    "`auditor registry migrate --from FILE.db --to URL`. Nothing was written.",
                )
            missing = set(TABLES) - self._schema_tables()
            if missing:
                raise RegistryDamagedError(
                    f"registry {self.location} is damaged: tables missing: " + ", ".join(sorted(missing)),
                    "Nothing was written to it. Restore a backup with `auditor registry migrate --from "
                    "BACKUP.db --to URL` into an empty database.",
                )
            row = self._x("SELECT value FROM auditor.meta WHERE name = 'schema_version'").fetchone()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise RegistryServerError(
                f"the role in {self.location} may not read the registry: {_first_line(exc)}",
                "Grant it the privileges in vault/backends/sql/postgres-role.sql (docs/postgres.md).",
            ) from None
        try:
            version = int(row[0]) if row else 0
        except ValueError:
            version = 0
        if version < 1:
            raise RegistryDamagedError(
                f"registry {self.location} is damaged: its schema version is missing",
                "Nothing was written to it.",
            )
        if version > SCHEMA_VERSION:
            raise NewerFormatError(
                f"registry {self.location} uses database schema {version}; this version of auditor knows "
                f"schema {SCHEMA_VERSION} at most",
                "Upgrade auditor (pip install --upgrade district-social-auditor); the registry was not changed.",
            )
        if version < SCHEMA_VERSION and not self.allow_older_schema:
            raise NeedsUpgradeError(
                f"registry {self.location} uses database schema {version}; this version of auditor uses "
                f"schema {SCHEMA_VERSION}",
                "Run `auditor registry upgrade` as the owner role.",
            )

    def discard_created(self) -> None:
        if self._conn is not None:
            # Only ever the schema created moments ago by create() in this same call.
            self._x("DROP SCHEMA IF EXISTS auditor CASCADE")
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
                self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._x("BEGIN")
        self._depth = 1
        try:
            # Writers queue here, one at a time, like SQLite's BEGIN IMMEDIATE (see module doc).
            self._x("SELECT set_config('lock_timeout', %s, true)", (f"{int(self.lock_timeout_ms)}ms",))
            self._lock()
            yield
        except BaseException:
            self._depth = 0
            if self._conn is not None and not self._conn.closed:
                self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self._x("COMMIT")

    def _lock(self) -> None:
        import psycopg

        try:
            self._x("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
        except psycopg.errors.LockNotAvailable:
            raise RegistryBusyError(
                f"registry {self.location} is busy: another administrator's change has held it for "
                f"{self.lock_timeout_ms / 1000:g} s; nothing was changed",
                "Run the command again in a moment.",
            ) from None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._depth:
            yield
            return
        self._x("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            if self._conn is not None and not self._conn.closed:
                self._conn.execute("COMMIT")

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        """Inside a transaction, a failing statement rolls back only itself (SQLite semantics)."""
        if not self._depth:
            yield
            return
        self._sp += 1
        name = f"sp{self._sp}"
        self._x(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self._conn is not None and not self._conn.closed:
                self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        finally:
            self._sp -= 1
        self._x(f"RELEASE SAVEPOINT {name}")

    # -- meta ---------------------------------------------------------------------------------------
    def meta_get(self, name: str) -> str | None:
        row = self._x("SELECT value FROM auditor.meta WHERE name = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    def meta_set(self, name: str, value: str) -> None:
        self._x(
            "INSERT INTO auditor.meta(name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def meta_delete(self, name: str) -> None:
        self._x("DELETE FROM auditor.meta WHERE name = %s", (name,))

    def meta_items(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._x("SELECT name, value FROM auditor.meta ORDER BY name")]

    # -- identities ---------------------------------------------------------------------------------
    def identities(self) -> list[IdentityRow]:
        rows = self._x(
            "SELECT id, name, role, public_key, sealed_private, created_at FROM auditor.identities "
            "ORDER BY created_at, id"
        ).fetchall()
        return [IdentityRow(r[0], r[1], r[2], bytes(r[3]), bytes(r[4]), r[5]) for r in rows]

    def add_identity(self, row: IdentityRow) -> None:
        import psycopg

        try:
            with self._savepoint():
                self._x(
                    "INSERT INTO auditor.identities(id, name, role, public_key, sealed_private, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (row.id, row.name, row.role, row.public_key, row.sealed_private, row.created_at),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateKeyError("identity") from exc

    def update_identity(self, row: IdentityRow) -> None:
        self._x(
            "UPDATE auditor.identities SET name = %s, role = %s, public_key = %s, sealed_private = %s "
            "WHERE id = %s",
            (row.name, row.role, row.public_key, row.sealed_private, row.id),
        )

    def delete_identity(self, identity_id: str) -> None:
        self._x("DELETE FROM auditor.wraps WHERE identity_id = %s", (identity_id,))
        self._x("DELETE FROM auditor.identities WHERE id = %s", (identity_id,))

    def wraps(self, identity_id: str | None = None) -> list[WrapRow]:
        sql = "SELECT identity_id, domain, key_version, stanza, check_tag FROM auditor.wraps"
        args: tuple[str, ...] = ()
        if identity_id is not None:
            sql += " WHERE identity_id = %s"
            args = (identity_id,)
        sql += " ORDER BY identity_id, domain"
        return [WrapRow(r[0], r[1], int(r[2]), bytes(r[3]), bytes(r[4])) for r in self._x(sql, args)]

    def put_wrap(self, row: WrapRow) -> None:
        self._x(
            "INSERT INTO auditor.wraps(identity_id, domain, key_version, stanza, check_tag) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (identity_id, domain) DO UPDATE SET "
            "key_version = excluded.key_version, stanza = excluded.stanza, check_tag = excluded.check_tag",
            (row.identity_id, row.domain, row.key_version, row.stanza, row.check),
        )

    # -- records ------------------------------------------------------------------------------------
    @property
    def _cols(self) -> str:
        # Schema 1 (the release before) has no stamp column: a backup and the upgrade still read it.
        return f"kind, id, version, lookup, blob, {'stamp' if self._has_stamp else 'NULL'}"

    @staticmethod
    def _row(r: Sequence[Any]) -> RecordRow:
        return RecordRow(r[0], r[1], int(r[2]), r[3], bytes(r[4]), None if r[5] is None else bytes(r[5]))

    def get(self, kind: str, record_id: str) -> RecordRow | None:
        r = self._x(
            f"SELECT {self._cols} FROM auditor.records WHERE kind = %s AND id = %s",  # noqa: S608 (constant)
            (kind, record_id),
        ).fetchone()
        return None if r is None else self._row(r)

    def find(self, kind: str, lookup: str) -> RecordRow | None:
        r = self._x(
            f"SELECT {self._cols} FROM auditor.records WHERE kind = %s AND lookup = %s",  # noqa: S608 (constant)
            (kind, lookup),
        ).fetchone()
        return None if r is None else self._row(r)

    def scan(self, kind: str) -> Iterator[RecordRow]:
        rows = self._x(
            f"SELECT {self._cols} FROM auditor.records WHERE kind = %s ORDER BY id",  # noqa: S608 - our column list
            (kind,),
        ).fetchall()
        for r in rows:
            yield self._row(r)

    def stamps(self, kind: str) -> list[StampRow]:
        return [
            StampRow(r[0], int(r[1]), r[2], None if r[3] is None else bytes(r[3]))
            for r in self._x(
                f"SELECT id, version, lookup, {'stamp' if self._has_stamp else 'NULL'} "  # noqa: S608 (constant)
                "FROM auditor.records WHERE kind = %s",
                (kind,),
            )
        ]

    def kinds(self) -> list[str]:
        return [r[0] for r in self._x("SELECT DISTINCT kind FROM auditor.records ORDER BY kind")]

    _UPSERT = (
        "INSERT INTO auditor.records(kind, id, version, lookup, blob, stamp) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, lookup = excluded.lookup, "
        "blob = excluded.blob, stamp = excluded.stamp"
    )

    def put(self, row: RecordRow, expected_version: int | None) -> None:
        import psycopg

        values = (row.kind, row.id, row.version, row.lookup, row.blob, row.stamp)
        try:
            with self._savepoint():
                if expected_version == 0:
                    self._x(
                        "INSERT INTO auditor.records(kind, id, version, lookup, blob, stamp) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        values,
                    )
                    return
                if expected_version is None:
                    self._x(self._UPSERT, values)
                    return
                cur = self._x(
                    "UPDATE auditor.records SET version = %s, lookup = %s, blob = %s, stamp = %s "
                    "WHERE kind = %s AND id = %s AND version = %s",
                    (row.version, row.lookup, row.blob, row.stamp, row.kind, row.id, expected_version),
                )
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name == "records_pkey":
                raise ConcurrentEditError(
                    f"{row.kind} {row.id} was created by someone else meanwhile"
                ) from exc
            raise DuplicateKeyError(row.kind) from exc
        if cur.rowcount != 1:
            raise ConcurrentEditError(
                f"{row.kind} {row.id} was changed by someone else since you read it",
                "Run the command again to apply your change on top of theirs.",
            )

    def put_many(self, rows: Sequence[RecordRow]) -> None:
        import psycopg

        if not rows:
            return
        try:
            with self._savepoint(), self.conn.cursor() as cur:
                # executemany pipelines the statements: one round trip per batch, not per row.
                cur.executemany(
                    self._UPSERT, [(r.kind, r.id, r.version, r.lookup, r.blob, r.stamp) for r in rows]
                )
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateKeyError(rows[0].kind) from exc

    def delete(self, kind: str, record_id: str) -> None:
        self._x("DELETE FROM auditor.records WHERE kind = %s AND id = %s", (kind, record_id))

    # -- log ----------------------------------------------------------------------------------------
    def log_append(self, row: LogRow) -> None:
        self._x("INSERT INTO auditor.log(seq, blob) VALUES (%s, %s)", (row.seq, row.blob))

    def log_rows(self, since_seq: int = 0) -> list[LogRow]:
        return [
            LogRow(int(r[0]), bytes(r[1]))
            for r in self._x("SELECT seq, blob FROM auditor.log WHERE seq > %s ORDER BY seq", (since_seq,))
        ]

    def log_tail(self) -> LogRow | None:
        r = self._x("SELECT seq, blob FROM auditor.log ORDER BY seq DESC LIMIT 1").fetchone()
        return None if r is None else LogRow(int(r[0]), bytes(r[1]))

    # -- schema upgrades ----------------------------------------------------------------------------
    def schema_plan(self) -> tuple[int, Mapping[int, tuple[str, str]]]:
        return SCHEMA_VERSION, SCHEMA_STEPS

    def run_schema_sql(self, sql: str) -> None:
        self._x(sql)
        self._has_stamp = self._stamp_column()

    def _stamp_column(self) -> bool:
        return bool(
            self._x(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = 'records' "
                "AND column_name = 'stamp'",
                (SCHEMA,),
            ).fetchone()
        )

    # -- maintenance --------------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        problems: list[str] = []
        missing = set(TABLES) - self._schema_tables()
        problems += [f"table auditor.{t} is missing" for t in sorted(missing)]
        triggers = {
            r[0]: r[1]
            for r in self._x(
                "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 'log' "
                "AND NOT t.tgisinternal",
                (SCHEMA,),
            )
        }
        for name in LOG_TRIGGERS:
            state = triggers.get(name)
            if state is None:
                problems.append(f"trigger {name} on auditor.log is missing: the log is not append-only")
            elif state in ("D", b"D"):
                problems.append(f"trigger {name} on auditor.log is disabled: the log is not append-only")
        index = self._x(
            "SELECT indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 'records_lookup'",
            (SCHEMA,),
        ).fetchone()
        if index is None or not index[0]:
            problems.append("unique index auditor.records_lookup is missing: natural keys are not unique")
        invalid = self._x(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT i.indisvalid",
            (SCHEMA,),
        ).fetchall()
        problems += [f"index auditor.{r[0]} is invalid" for r in invalid]
        try:
            version = self.schema_version()
        except ValueError:
            version = 0
        if version != SCHEMA_VERSION:
            problems.append(f"schema version is {version}, expected {SCHEMA_VERSION}")
        return problems

    def backup_to(self, path: str) -> None:
        """A consistent SQLite copy (one REPEATABLE READ snapshot), so backups work the same for both."""

        target = SQLiteBackend(path)
        if target.exists():
            raise RegistryExistsError(f"{path} already exists; backups never overwrite a file")
        copy_registry(self, target)
        # Like SQLite's own backups: one self-contained file, no -wal beside it.
        target.conn.execute("PRAGMA journal_mode=DELETE")
        target.close()
