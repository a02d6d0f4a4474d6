"""Field-by-field differences between two versions of a record, as the dry runs print them and the
change history keeps them (issue 13: "the dry run prints, per record, each field that would change:
old -> new (redacted where sensitive), and the same diff lands in the change history").

A diff compares the records' stored forms (`to_dict()`), so what it says changed is exactly what the
registry would write. Nested records (an account's approval) are compared field by field and named
`approval.renewal_due`. Bookkeeping (ids, timestamps, provenance) is never a change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Stored, but never a change a user made: left out of every diff.
BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "managers_changed_at", "sources", "version"})
# Shown as changed without their values (a student's birth date is personal data).
SENSITIVE = frozenset({"birth_date"})
HIDDEN = "(hidden)"
# Fields that hold person ids, shown under the names the lists use, with people by email.
PERSON_REFS = {
    "owner_id": "owner",
    "co_manager_ids": "co_managers",
    "student_manager_ids": "student_managers",
    "comment_monitor_ids": "comment_monitors",
}
EMPTY = "(empty)"


@dataclass(frozen=True)
class FieldDiff:
    """One field that changes: its name and the old and new values as text (redacted if sensitive)."""

    field: str
    old: str
    new: str

    def line(self) -> str:
        return f"{self.field}: {self.old} -> {self.new}"

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "old": self.old, "new": self.new}


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not prefix and key in BOOKKEEPING:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def show(value: Any) -> str:
    """A stored value as a person reads it: empty, yes/no, a list joined by '; '."""
    if value is None or value == "" or value == [] or value == ():
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def diff(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], *, names: Mapping[str, str] | None = None
) -> tuple[FieldDiff, ...]:
    """The fields of `new` (a stored form) that differ from `old` (None: every field given a value).
    `names` turns person ids into what a reader recognises (their email) in the fields that name
    people, which are shown as `owner`, `co_managers`... (as `account list` names them)."""
    before = _flat(old) if old is not None else {}
    after = _flat(new)
    out: list[FieldDiff] = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a == b or (old is None and show(b) == EMPTY):
            continue
        if name in SENSITIVE:
            out.append(FieldDiff(name, HIDDEN if a not in (None, "") else EMPTY, HIDDEN if b else EMPTY))
            continue
        if name in PERSON_REFS:
            if names is not None:
                a, b = _named(a, names), _named(b, names)
            out.append(FieldDiff(PERSON_REFS[name], show(a), show(b)))
            continue
        out.append(FieldDiff(name, show(a), show(b)))
    return tuple(out)


def _named(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, list | tuple):
        return [names.get(str(v), str(v)) for v in value]
    if isinstance(value, str) and value:
        return names.get(value, value)
    return value


@dataclass(frozen=True)
class RecordChange:
    """What one command changed on one record (or would change, in a dry run)."""

    kind: str  # "person" | "account"
    record_id: str  # "" for a record a dry run would create
    label: str  # "Ana Diaz <ana@d203.org>", "Instagram @lincolnhs"
    action: str  # "created" | "updated"
    fields: tuple[FieldDiff, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.record_id,
            "label": self.label,
            "action": self.action,
            "fields": [f.to_dict() for f in self.fields],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordChange:
        return cls(
            kind=str(data.get("kind", "")),
            record_id=str(data.get("id", "")),
            label=str(data.get("label", "")),
            action=str(data.get("action", "")),
            fields=tuple(
                FieldDiff(str(f.get("field", "")), str(f.get("old", "")), str(f.get("new", "")))
                for f in data.get("fields") or ()
                if isinstance(f, Mapping)
            ),
        )


@dataclass(frozen=True)
class KeptField:
    """A field an import left alone because a roster sync or an offboarding set it."""

    record_id: str
    label: str
    line: int  # the import file's line, 0 when not from a file
    field: str
    current: str
    offered: str
    why: str  # "set by roster sis on 2026-11-30"

    def sentence(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return (
            f"{where}{self.label}: {self.field} kept as {self.current} (the file says {self.offered}; "
            f"{self.why})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.record_id,
            "label": self.label,
            "line": self.line,
            "field": self.field,
            "current": self.current,
            "offered": self.offered,
            "why": self.why,
        }
