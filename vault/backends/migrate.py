"""Copying a registry between backends (`auditor registry migrate`) and proving the copy is exact.

The copy works on raw rows: meta (registry id, format version, key versions, log head), identities,
wrapped keys, every encrypted record and the log. Nothing is decrypted or re-encrypted, so the copy
needs no key and stays bound to the same registry id (record associated data names it). Rows are
read in one snapshot of the source and written in one transaction on the destination, which must be
empty (a fresh SQLite path or a database without the auditor schema); a failed copy removes what it
created. `verify_rows` then compares every row of both sides byte for byte; `vault.maintenance.verify_decrypt`
(when the user can unlock) decrypts every record and verifies the log chain on the copy.

The backend-specific `schema_version` meta row is not copied: each side keeps its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vault.backends.storage import Backend, IdentityRow, LogRow, RecordRow, WrapRow
from vault.errors import RegistryExistsError

Progress = Callable[[str], None]
BACKEND_META = frozenset({"schema_version"})
BATCH = 2000


@dataclass
class Rows:
    meta: list[tuple[str, str]] = field(default_factory=list)
    identities: list[IdentityRow] = field(default_factory=list)
    wraps: list[WrapRow] = field(default_factory=list)
    records: dict[str, list[RecordRow]] = field(default_factory=dict)
    log: list[LogRow] = field(default_factory=list)

    @property
    def record_count(self) -> int:
        return sum(len(v) for v in self.records.values())


@dataclass(frozen=True)
class CopyResult:
    meta: int
    identities: int
    wraps: int
    records: int
    log: int

    def summary(self) -> str:
        return (
            f"{self.records} record(s), {self.identities} identit(y/ies), {self.wraps} wrapped key(s), "
            f"{self.log} log event(s), {self.meta} meta value(s)"
        )


def read_rows(backend: Backend) -> Rows:
    """Every row, read in one consistent snapshot."""
    rows = Rows()
    with backend.snapshot():
        rows.meta = sorted((k, v) for k, v in backend.meta_items() if k not in BACKEND_META)
        rows.identities = sorted(backend.identities(), key=lambda r: r.id)
        rows.wraps = sorted(backend.wraps(), key=lambda r: (r.identity_id, r.domain))
        for kind in backend.kinds():
            rows.records[kind] = sorted(backend.scan(kind), key=lambda r: r.id)
        rows.log = backend.log_rows(0)
    return rows


def _quiet(_: str) -> None:
    pass


def copy_registry(source: Backend, dest: Backend, progress: Progress = _quiet) -> CopyResult:
    """Copy every row of the open `source` into a new registry at `dest` (which must not exist)."""
    if dest.exists():
        raise RegistryExistsError(
            f"the destination {dest.location} already holds a registry; migrate only copies into an "
            "empty one",
            "Choose a new file path, or an empty database (no auditor schema).",
        )
    rows = read_rows(source)
    progress(
        f"read {rows.record_count} record(s), {len(rows.identities)} identit(y/ies), "
        f"{len(rows.log)} log event(s) from {source.location}"
    )
    dest.create()
    try:
        with dest.transaction():
            for name, value in rows.meta:
                dest.meta_set(name, value)
            for ident in rows.identities:
                dest.add_identity(ident)
            for wrap in rows.wraps:
                dest.put_wrap(wrap)
            done = 0
            for records in rows.records.values():
                for start in range(0, len(records), BATCH):
                    chunk = records[start : start + BATCH]
                    dest.put_many(chunk)
                    done += len(chunk)
                    progress(f"copied {done}/{rows.record_count} record(s)")
            for event in rows.log:
                dest.log_append(event)
            progress(f"copied {len(rows.log)} log event(s); committing")
    except BaseException:
        dest.discard_created()
        raise
    return CopyResult(len(rows.meta), len(rows.identities), len(rows.wraps), rows.record_count, len(rows.log))


def verify_rows(source: Backend, dest: Backend, progress: Progress = _quiet) -> list[str]:
    """Every difference between the two registries' rows (empty when identical byte for byte)."""
    a, b = read_rows(source), read_rows(dest)
    problems: list[str] = []
    if a.meta != b.meta:
        names = sorted({k for k, _ in a.meta} ^ {k for k, _ in b.meta}) or sorted(
            k for (k, v) in a.meta if (k, v) not in b.meta
        )
        problems.append("meta differs: " + ", ".join(names))
    if a.identities != b.identities:
        problems.append("identities differ")
    if a.wraps != b.wraps:
        problems.append("wrapped keys differ")
    for kind in sorted(set(a.records) | set(b.records)):
        left, right = a.records.get(kind, []), b.records.get(kind, [])
        if left == right:
            continue
        right_by_id = {r.id: r for r in right}
        left_ids = {r.id for r in left}
        bad = [r.id for r in left if right_by_id.get(r.id) != r] + [
            r.id for r in right if r.id not in left_ids
        ]
        problems.append(f"{kind}: {len(bad)} record(s) differ, e.g. {', '.join(bad[:3])}")
    if a.log != b.log:
        problems.append(f"log differs ({len(a.log)} event(s) in the source, {len(b.log)} in the copy)")
    progress(
        f"verified {b.record_count} record(s), {len(b.identities)} identit(y/ies), {len(b.wraps)} wrapped "
        f"key(s), {len(b.log)} log event(s) byte for byte"
    )
    return problems
