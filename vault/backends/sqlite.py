"""The embedded SQLite backend: one file, WAL journal, `synchronous=FULL`, mode 0600.

Opening never writes: a file that is not an SQLite database, or lacks our schema, is reported as
damaged and left exactly as it was. Writes happen in `BEGIN IMMEDIATE` transactions so a process
killed at any moment leaves the previous or the next state, never a mixture. The log table refuses
UPDATE and DELETE through triggers, as the PostgreSQL backend does.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,          -- a hash of the name: identity names identify people
    role TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_private BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE wraps (
    identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    stanza BLOB NOT NULL,
    check_tag BLOB NOT NULL,
    PRIMARY KEY (identity_id, domain)
);
CREATE TABLE records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    lookup TEXT,
    blob BLOB NOT NULL,
    stamp BLOB,                         -- the blob's nonce, for the authenticated head (vault/heads.py)
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX records_lookup ON records (kind, lookup) WHERE lookup IS NOT NULL;
CREATE INDEX records_stamps ON records (kind, id, version, lookup, stamp);
CREATE TABLE log (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL);
CREATE TRIGGER log_no_update BEFORE UPDATE ON log BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"""

# from_version -> (description, SQL script taking the schema to from_version + 1). Schema 1 is the
# first; `auditor registry upgrade` applies pending steps (see upgrade_schema).
SCHEMA_STEPS: dict[int, tuple[str, str]] = {
    1: (
        "records get a stamp column (each blob's nonce) for the authenticated record head",
        "ALTER TABLE records ADD COLUMN stamp BLOB; UPDATE records SET stamp = substr(blob, 1, 12)",
    ),
}

# The head of a kind is checked over its rows' (id, version, lookup, stamp) alone (`stamps`). The
# stamp column comes after the blob in a row, so without this covering index SQLite walks every
# blob's overflow pages to reach it: 617 MB for the change records of a 100,000-account registry,
# read by every audit that stored a change. An index changes no layout an older auditor reads, so
# it is not a schema step: a registry made before it gets it in its next write transaction
# (opening never writes), and `registry check` does not depend on it.
STAMPS_INDEX = "CREATE INDEX IF NOT EXISTS records_stamps ON records (kind, id, version, lookup, stamp)"

_SQLITE_MAGIC = b"SQLite format 3\x00"


class RegistryBusyError(VaultError, StorageError):
    """Another process held the registry's write lock longer than we wait (30 s)."""


class RegistryReadOnlyError(VaultError, StorageError):
    """The registry file, or the folder it lives in, cannot be written by this user."""


class RegistryCorruptError(RegistryDamagedError, StorageError):
    """SQLite found a damaged page while reading or writing."""


BUSY_TIMEOUT_S = 30


def translate(path: Path, exc: sqlite3.Error) -> VaultError:
    """One clear line for what SQLite says went wrong (issue 11: these used to be tracebacks)."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return RegistryBusyError(
            f"registry {path} is busy: another auditor process has held it for more than {BUSY_TIMEOUT_S} s; "
            "nothing was changed",
            "Run the command again when the other one (an import, an audit, a re-key) has finished.",
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text or "cannot open" in text:
        folder = path.parent
        if not os.access(folder, os.W_OK):
            return RegistryReadOnlyError(
                f"the folder {folder} is not writable for this user: SQLite must create {path.name}-wal and "
                f"{path.name}-shm beside the registry; nothing was changed",
                "Run the command as the registry's owner, or give the owner write access to the folder "
                "again (chmod 700).",
            )
        if path.exists() and not os.access(path, os.W_OK):
            return RegistryReadOnlyError(
                f"registry {path} is read-only for this user: nothing was changed",
                f"Run the command as the registry's owner, or give the owner write access again "
                f"(chmod 600 {path.name}).",
            )
        return RegistryReadOnlyError(f"registry {path} cannot be written ({exc}); nothing was changed")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return RegistryCorruptError(
            f"registry {path} is damaged: SQLite found a corrupted page ({exc}); nothing was written to it",
            "Restore a backup with `auditor registry restore BACKUP` (the damaged file is kept aside).",
        )
    if "disk is full" in text or "database or disk is full" in text:
        return RegistryReadOnlyError(f"the disk holding registry {path} is full; nothing was changed")
    return RegistryDamagedError(f"registry {path}: SQLite failed ({exc})")


class _Connection(sqlite3.Connection):
    """Every statement's sqlite3 error becomes one of ours, naming the registry."""

    registry_path: Path = Path()

    def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.IntegrityError:
            raise  # uniqueness clashes are handled where they happen
        except sqlite3.Error as exc:
            raise translate(self.registry_path, exc) from None

    def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        try:
            return super().executemany(*args, **kwargs)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise translate(self.registry_path, exc) from None

    def executescript(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        try:
            return super().executescript(*args, **kwargs)
        except sqlite3.Error as exc:
            raise translate(self.registry_path, exc) from None


def _damaged(path: Path, why: str) -> RegistryDamagedError:
    return RegistryDamagedError(
        f"registry {path} is damaged: {why}",
        "Nothing was written to it. Run `auditor registry check`, or restore a backup with "
        "`auditor registry restore BACKUP`.",
    )


class SQLiteBackend(Backend):
    schema_unmarked = 1

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._conn: sqlite3.Connection | None = None
        self._depth = 0
        self._has_stamp = True
        self._stamps_indexed = True  # a registry this version creates has it (SCHEMA); open() looks

    # -- life cycle -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def create(self) -> None:
        if self.path.exists():
            raise RegistryExistsError(
                f"a registry already exists at {self.path}", "Choose another path with --registry."
            )
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Create the file ourselves so it is 0600 from its first byte; SQLite gives the -wal and
        # -shm files the database file's permissions.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        try:
            self._connect()
            # executescript() commits any open transaction itself, so the script carries its own.
            # Only module constants are joined here: no input reaches this SQL.
            script = f"BEGIN IMMEDIATE;{SCHEMA}INSERT INTO meta(name, value) VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;"  # noqa: S608
            self.conn.executescript(script)
        except BaseException:
            self.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            raise

    def open(self) -> None:
        if not self.path.exists():
            raise RegistryNotFoundError(
                f"no registry at {self.path}",
                "Create one with `auditor init`, or point to yours with --registry or AUDITOR_REGISTRY.",
            )
        if self.path.is_dir():
            raise _damaged(self.path, "it is a directory")
        try:
            with open(self.path, "rb") as fh:
                header = fh.read(len(_SQLITE_MAGIC))
        except PermissionError as exc:
            raise RegistryNotFoundError(f"cannot read registry {self.path}: permission denied") from exc
        if header != _SQLITE_MAGIC:
            raise _damaged(self.path, "it is not an SQLite database (bad header)")
        self._connect()
        try:
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except RegistryCorruptError as exc:
            self.close()
            raise _damaged(self.path, f"SQLite cannot read it ({exc.message})") from None
        except VaultError:
            self.close()
            raise
        missing = {"meta", "identities", "wraps", "records", "log"} - tables
        if missing:
            self.close()
            raise _damaged(self.path, "tables missing: " + ", ".join(sorted(missing)))
        try:
            self._check_schema_version()
        except BaseException:
            self.close()
            raise
        self._has_stamp = self.schema_version() >= 2
        self._stamps_indexed = (
            self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='index' AND name='records_stamps'"
            ).fetchone()
            is not None
        )

    def _check_schema_version(self) -> None:
        # A file written before schema versions were checked has schema 1 (the only one then).
        try:
            version = self.schema_version()
        except ValueError as exc:
            raise _damaged(self.path, "its schema version is unreadable") from exc
        if version > SCHEMA_VERSION:
            raise NewerFormatError(
                f"registry {self.path} uses database schema {version}; this version of auditor knows "
                f"schema {SCHEMA_VERSION} at most",
                "Upgrade auditor (pip install --upgrade district-social-auditor); the registry was not changed.",
            )
        if version < SCHEMA_VERSION and not self.allow_older_schema:
            raise NeedsUpgradeError(
                f"registry {self.path} uses database schema {version}; this version of auditor uses "
                f"schema {SCHEMA_VERSION}",
                "Run `auditor registry upgrade` (it takes a backup first).",
            )

    def _connect(self) -> None:
        uri = f"file:{self.path}?mode=rw"
        try:
            conn = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_S,
                check_same_thread=False,
                factory=_Connection,
            )
        except sqlite3.Error as exc:
            raise translate(self.path, exc) from None
        assert isinstance(conn, _Connection)
        conn.registry_path = self.path
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal" and os.access(self.path, os.W_OK):
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except RegistryCorruptError as exc:
            conn.close()
            raise _damaged(self.path, f"SQLite cannot open it ({exc.message})") from None
        except VaultError:
            conn.close()
            raise
        self._conn = conn

    def discard_created(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("backend is not open")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            indexing = self._has_stamp and not self._stamps_indexed
            if indexing:
                self.conn.execute(STAMPS_INDEX)
            yield
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")
        if indexing:
            self._stamps_indexed = True

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._depth:
            yield
            return
        self.conn.execute("BEGIN")
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self.conn.execute("COMMIT")

    # -- meta -------------------------------------------------------------------------------------
    def meta_get(self, name: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def meta_set(self, name: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            (name, value),
        )

    def meta_delete(self, name: str) -> None:
        self.conn.execute("DELETE FROM meta WHERE name=?", (name,))

    def meta_items(self) -> list[tuple[str, str]]:
        return [
            (str(r[0]), str(r[1])) for r in self.conn.execute("SELECT name, value FROM meta ORDER BY name")
        ]

    # -- identities -------------------------------------------------------------------------------
    def identities(self) -> list[IdentityRow]:
        rows = self.conn.execute(
            "SELECT id, name, role, public_key, sealed_private, created_at FROM identities ORDER BY created_at, id"
        ).fetchall()
        return [IdentityRow(r[0], r[1], r[2], bytes(r[3]), bytes(r[4]), r[5]) for r in rows]

    def add_identity(self, row: IdentityRow) -> None:
        try:
            self.conn.execute(
                "INSERT INTO identities(id, name, role, public_key, sealed_private, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row.id, row.name, row.role, row.public_key, row.sealed_private, row.created_at),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError("identity") from exc

    def update_identity(self, row: IdentityRow) -> None:
        self.conn.execute(
            "UPDATE identities SET name=?, role=?, public_key=?, sealed_private=? WHERE id=?",
            (row.name, row.role, row.public_key, row.sealed_private, row.id),
        )

    def delete_identity(self, identity_id: str) -> None:
        self.conn.execute("DELETE FROM wraps WHERE identity_id=?", (identity_id,))
        self.conn.execute("DELETE FROM identities WHERE id=?", (identity_id,))

    def wraps(self, identity_id: str | None = None) -> list[WrapRow]:
        sql = "SELECT identity_id, domain, key_version, stanza, check_tag FROM wraps"
        args: tuple[str, ...] = ()
        if identity_id is not None:
            sql += " WHERE identity_id=?"
            args = (identity_id,)
        sql += " ORDER BY identity_id, domain"
        return [
            WrapRow(r[0], r[1], int(r[2]), bytes(r[3]), bytes(r[4])) for r in self.conn.execute(sql, args)
        ]

    def put_wrap(self, row: WrapRow) -> None:
        self.conn.execute(
            "INSERT INTO wraps(identity_id, domain, key_version, stanza, check_tag) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(identity_id, domain) DO UPDATE SET key_version=excluded.key_version, "
            "stanza=excluded.stanza, check_tag=excluded.check_tag",
            (row.identity_id, row.domain, row.key_version, row.stanza, row.check),
        )

    # -- records ----------------------------------------------------------------------------------
    @property
    def _cols(self) -> str:
        # Schema 1 (the release before) has no stamp column: read it as NULL so a backup and the
        # upgrade can read an old file; schema step 1 -> 2 adds and fills it.
        stamp = "CAST(stamp AS BLOB)" if self._has_stamp else "NULL"
        return f"kind, id, version, lookup, CAST(blob AS BLOB), {stamp}"

    @staticmethod
    def _row(r: tuple[Any, ...]) -> RecordRow:
        return RecordRow(r[0], r[1], int(r[2]), r[3], bytes(r[4]), None if r[5] is None else bytes(r[5]))

    def get(self, kind: str, record_id: str) -> RecordRow | None:
        r = self.conn.execute(
            f"SELECT {self._cols} FROM records WHERE kind=? AND id=?",  # noqa: S608 (constant)
            (kind, record_id),
        ).fetchone()
        return None if r is None else self._row(r)

    def find(self, kind: str, lookup: str) -> RecordRow | None:
        r = self.conn.execute(
            f"SELECT {self._cols} FROM records WHERE kind=? AND lookup=?",  # noqa: S608 (constant)
            (kind, lookup),
        ).fetchone()
        return None if r is None else self._row(r)

    def scan(self, kind: str) -> Iterator[RecordRow]:
        cur = self.conn.execute(
            f"SELECT {self._cols} FROM records WHERE kind=? ORDER BY id",  # noqa: S608 (constant)
            (kind,),
        )
        for r in cur.fetchall():
            yield self._row(r)

    def stamps(self, kind: str) -> list[StampRow]:
        stamp = "CAST(stamp AS BLOB)" if self._has_stamp else "NULL"
        return [
            StampRow(str(r[0]), int(r[1]), r[2], None if r[3] is None else bytes(r[3]))
            for r in self.conn.execute(
                f"SELECT id, version, lookup, {stamp} FROM records WHERE kind=?",  # noqa: S608 (constant)
                (kind,),
            )
        ]

    def kinds(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT kind FROM records ORDER BY kind")]

    _UPSERT = (
        "INSERT INTO records(kind, id, version, lookup, blob, stamp) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(kind, id) DO UPDATE SET version=excluded.version, lookup=excluded.lookup, "
        "blob=excluded.blob, stamp=excluded.stamp"
    )

    def put(self, row: RecordRow, expected_version: int | None) -> None:
        try:
            if expected_version == 0:
                self.conn.execute(
                    "INSERT INTO records(kind, id, version, lookup, blob, stamp) VALUES (?, ?, ?, ?, ?, ?)",
                    (row.kind, row.id, row.version, row.lookup, row.blob, row.stamp),
                )
                return
            if expected_version is None:
                self.conn.execute(
                    self._UPSERT, (row.kind, row.id, row.version, row.lookup, row.blob, row.stamp)
                )
                return
            cur = self.conn.execute(
                "UPDATE records SET version=?, lookup=?, blob=?, stamp=? WHERE kind=? AND id=? AND version=?",
                (row.version, row.lookup, row.blob, row.stamp, row.kind, row.id, expected_version),
            )
        except sqlite3.IntegrityError as exc:
            if "records.kind, records.id" in str(exc):
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
        try:
            self.conn.executemany(
                self._UPSERT, [(r.kind, r.id, r.version, r.lookup, r.blob, r.stamp) for r in rows]
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError(rows[0].kind if rows else "record") from exc

    def delete(self, kind: str, record_id: str) -> None:
        self.conn.execute("DELETE FROM records WHERE kind=? AND id=?", (kind, record_id))

    # -- log --------------------------------------------------------------------------------------
    def log_append(self, row: LogRow) -> None:
        self.conn.execute("INSERT INTO log(seq, blob) VALUES (?, ?)", (row.seq, row.blob))

    def log_rows(self, since_seq: int = 0) -> list[LogRow]:
        return [
            LogRow(int(r[0]), bytes(r[1]))
            for r in self.conn.execute(
                "SELECT seq, CAST(blob AS BLOB) FROM log WHERE seq > ? ORDER BY seq", (since_seq,)
            )
        ]

    def log_tail(self) -> LogRow | None:
        r = self.conn.execute("SELECT seq, CAST(blob AS BLOB) FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        return None if r is None else LogRow(int(r[0]), bytes(r[1]))

    # -- schema upgrades ---------------------------------------------------------------------------
    def schema_plan(self) -> tuple[int, Mapping[int, tuple[str, str]]]:
        return SCHEMA_VERSION, SCHEMA_STEPS

    def run_schema_sql(self, sql: str) -> None:
        for statement in (part.strip() for part in sql.split(";")):
            if statement:
                self.conn.execute(statement)
        self._has_stamp = "stamp" in {r[1] for r in self.conn.execute("PRAGMA table_info(records)")}

    # -- maintenance ------------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        try:
            rows = [str(r[0]) for r in self.conn.execute("PRAGMA integrity_check")]
        except VaultError as exc:
            return [f"SQLite integrity check failed: {exc.message}"]
        return [] if rows == ["ok"] else rows

    def backup_to(self, path: str) -> None:
        target = Path(path)
        if target.exists():
            raise RegistryExistsError(f"{target} already exists; backups never overwrite a file")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        dest = sqlite3.connect(str(target))
        try:
            with dest:
                self.conn.backup(dest)
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
        os.chmod(target, stat.S_IRUSR | stat.S_IWUSR)
