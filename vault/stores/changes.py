"""The change history: what each command changed on people and accounts, field by field.

Every write that changes inventory records (an import, a roster sync, `person edit`, `account
edit`, an offboarding) stores one "change" record: when, by which identity, from which source
(`import:staff.csv`, `roster:sis`, `command:person edit`, `offboard`), and per record the fields
that changed, old -> new, with sensitive values hidden as the dry run shows them
(`auditor.model.changes`). It is written in the same transaction as the change itself, so the
history never claims a change that did not land, nor misses one that did. `person history` and
`account history` read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditor.model.changes import KeptField, RecordChange
from vault.errors import RecordTamperedError
from vault.registry import Registry, new_id, utcnow

CHANGE_KIND = "change"


@dataclass(frozen=True)
class ChangeEntry:
    id: str
    at: str
    by: str  # the identity that ran the command
    source: str  # where the values came from
    records: tuple[RecordChange, ...]
    kept: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "by": self.by,
            "source": self.source,
            "records": [r.to_dict() for r in self.records],
            "kept": list(self.kept),
        }


def record_changes(
    registry: Registry,
    source: str,
    changes: Sequence[RecordChange],
    kept: Sequence[KeptField] = (),
    *,
    at: datetime | None = None,
) -> str:
    """Store one history entry (nothing when nothing changed and nothing was kept); its id."""
    if not changes and not kept:
        return ""
    moment = at or utcnow()
    identity = registry.identity
    entry_id = f"c_{moment.strftime('%Y%m%dT%H%M%S%f')}_{new_id('')[1:]}"
    registry.put(
        CHANGE_KIND,
        entry_id,
        {
            "at": moment.isoformat(),
            "by": identity.name if identity else "",
            "source": source,
            "records": [c.to_dict() for c in changes],
            "kept": [k.to_dict() for k in kept],
        },
        expected_version=0,
    )
    return entry_id


def history(registry: Registry, record_id: str | None = None) -> list[ChangeEntry]:
    """Every entry (only those touching `record_id`, with only its changes), oldest first. An entry
    that fails its integrity check raises: the history is evidence, a silent gap would hide a change."""
    out = []
    for rec in registry.scan(CHANGE_KIND):
        if isinstance(rec, RecordTamperedError):
            raise rec
        data = rec.data
        records = tuple(RecordChange.from_dict(r) for r in data.get("records") or ())
        kept = tuple(k for k in data.get("kept") or () if isinstance(k, dict))
        if record_id is not None:
            records = tuple(r for r in records if r.record_id == record_id)
            kept = tuple(k for k in kept if k.get("id") == record_id)
            if not records and not kept:
                continue
        out.append(
            ChangeEntry(
                rec.id,
                str(data.get("at", "")),
                str(data.get("by", "")),
                str(data.get("source", "")),
                records,
                kept,
            )
        )
    return sorted(out, key=lambda e: (e.at, e.id))
