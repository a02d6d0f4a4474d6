"""The storage interface the registry is written against, and its raw row types.

A backend stores opaque rows: it never sees a key, a name or a handle. The SQLite backend
(`vault/backends/sqlite.py`) is the embedded default; a PostgreSQL backend implements the same interface.
Rows:

* `meta`: name → text (registry id, format version, creation time).
* `identities`: one row per person or service that can unlock (public key, encrypted private key).
* `wraps`: one row per (identity, key domain): the domain key wrapped for that identity.
* `records`: every encrypted record, by (kind, id), with a version for optimistic concurrency and
  an optional blind index (`lookup`) that enforces uniqueness without revealing the value.
* `log`: the append-only event log.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class IdentityRow:
    id: str
    name: str
    role: str
    public_key: bytes
    sealed_private: bytes  # JSON: kdf params, key check, encrypted private key
    created_at: str


@dataclass(frozen=True)
class WrapRow:
    identity_id: str
    domain: str
    key_version: int
    stanza: bytes
    check: bytes


@dataclass(frozen=True)
class RecordRow:
    kind: str
    id: str
    version: int
    lookup: str | None
    blob: bytes
    # The `records.stamp` column as read back (None for rows built to be written): the registry
    # checks it equals `stamp`, so the head computed over the column describes these very blobs.
    column_stamp: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def stamp(self) -> bytes:
        """What the registry's authenticated record head counts for this row: its AEAD nonce, unique
        to each write. Backends store it in a column of its own (`records.stamp`) so the head can be
        checked without reading every blob."""
        return self.blob[:STAMP_BYTES]


STAMP_BYTES = 12  # the AES-GCM nonce that starts every sealed record (vault/crypto.py)


@dataclass(frozen=True)
class StampRow:
    """A record's identity without its blob: what the authenticated head is computed over."""

    id: str
    version: int
    lookup: str | None
    stamp: bytes | None  # None only where the column was written by hand (never by auditor)


@dataclass(frozen=True)
class LogRow:
    seq: int
    blob: bytes


class Backend(abc.ABC):
    """One registry's storage. All methods are synchronous; writes happen inside `transaction()`."""

    def discard_created(self) -> None:  # noqa: B027 - optional: only creatable backends override it
        """Remove what `create()` made moments ago in this process (after a failed copy)."""

    location: str
    # Set by `auditor registry upgrade` only: open a registry whose database schema is older than
    # this version knows (normally refused with NeedsUpgradeError), so the upgrade can run.
    allow_older_schema: bool = False

    # -- life cycle -------------------------------------------------------------------------------
    @abc.abstractmethod
    def exists(self) -> bool: ...

    @abc.abstractmethod
    def create(self) -> None:
        """Create an empty registry (schema, no rows). Refuses to touch an existing one."""

    @abc.abstractmethod
    def open(self) -> None:
        """Open an existing registry read-write without modifying it."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """All writes in the block commit together or not at all. Nested blocks join the outer one."""

    @abc.abstractmethod
    def snapshot(self) -> AbstractContextManager[None]:
        """A consistent read view for a series of reads (an audit reads while others edit)."""

    # -- meta -------------------------------------------------------------------------------------
    @abc.abstractmethod
    def meta_get(self, name: str) -> str | None: ...

    @abc.abstractmethod
    def meta_set(self, name: str, value: str) -> None: ...

    @abc.abstractmethod
    def meta_delete(self, name: str) -> None: ...

    @abc.abstractmethod
    def meta_items(self) -> list[tuple[str, str]]:
        """Every meta row, by name (migrate and verify copy them all)."""

    # -- identities and wrapped keys --------------------------------------------------------------
    @abc.abstractmethod
    def identities(self) -> list[IdentityRow]: ...

    @abc.abstractmethod
    def add_identity(self, row: IdentityRow) -> None: ...

    @abc.abstractmethod
    def update_identity(self, row: IdentityRow) -> None: ...

    @abc.abstractmethod
    def delete_identity(self, identity_id: str) -> None: ...

    @abc.abstractmethod
    def wraps(self, identity_id: str | None = None) -> list[WrapRow]: ...

    @abc.abstractmethod
    def put_wrap(self, row: WrapRow) -> None: ...

    # -- records ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def get(self, kind: str, record_id: str) -> RecordRow | None: ...

    @abc.abstractmethod
    def find(self, kind: str, lookup: str) -> RecordRow | None: ...

    @abc.abstractmethod
    def scan(self, kind: str) -> Iterator[RecordRow]: ...

    @abc.abstractmethod
    def stamps(self, kind: str) -> list[StampRow]:
        """Every row of a kind as (id, version, lookup, stamp), without reading the blobs."""

    @abc.abstractmethod
    def kinds(self) -> list[str]: ...

    @abc.abstractmethod
    def put(self, row: RecordRow, expected_version: int | None) -> None:
        """Insert (expected_version 0), or update if the stored version equals expected_version.

        expected_version None means "whatever is there" (used by re-keying, never by edits).
        Raises ConcurrentEditError on a mismatch and DuplicateKeyError on a blind-index clash.
        """

    @abc.abstractmethod
    def put_many(self, rows: Sequence[RecordRow]) -> None:
        """Unconditional bulk upsert inside the current transaction (imports, re-keys)."""

    @abc.abstractmethod
    def delete(self, kind: str, record_id: str) -> None: ...

    # -- log --------------------------------------------------------------------------------------
    @abc.abstractmethod
    def log_append(self, row: LogRow) -> None: ...

    @abc.abstractmethod
    def log_rows(self, since_seq: int = 0) -> list[LogRow]: ...

    @abc.abstractmethod
    def log_tail(self) -> LogRow | None: ...

    # -- database schema (the SQL layout; distinct from the registry's format_version) -------------
    schema_unmarked: int = 1  # the version of a database with no schema_version row

    def schema_version(self) -> int:
        return int(self.meta_get("schema_version") or str(self.schema_unmarked))

    def schema_pending(self) -> bool:
        """Whether the database schema is older than this version of auditor writes."""
        return self.schema_version() < self.schema_plan()[0]

    def upgrade_schema(self) -> list[str]:
        """Apply pending schema steps in one transaction; one line per step applied."""
        target, steps = self.schema_plan()
        done = []
        with self.transaction():
            current = self.schema_version()
            for version in range(current, target):
                step = steps.get(version)
                if step is None:
                    raise LookupError(f"no schema step from schema {version} to {version + 1}")
                description, sql = step
                self.run_schema_sql(sql)
                self.meta_set("schema_version", str(version + 1))
                done.append(f"database schema {version} → {version + 1}: {description}")
        return done

    @abc.abstractmethod
    def schema_plan(self) -> tuple[int, Mapping[int, tuple[str, str]]]:
        """The schema version this backend writes, and its steps: from version N, (description, SQL)."""

    @abc.abstractmethod
    def run_schema_sql(self, sql: str) -> None:
        """Run one schema step's SQL inside the current transaction."""

    # -- maintenance ------------------------------------------------------------------------------
    @abc.abstractmethod
    def integrity_check(self) -> list[str]:
        """Problems found by the database's own integrity check (empty when healthy)."""

    @abc.abstractmethod
    def backup_to(self, path: str) -> None:
        """Write a consistent copy of the whole registry to a new file at `path` (mode 0600)."""


class StorageError(Exception):
    """The database refused or lost an operation (backends raise subclasses; fail-closed paths
    such as the reveal log catch it)."""


class DuplicateKeyError(Exception):
    """A record with the same natural key exists (raised by backends, translated by the registry)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
