"""Report kinds: one module per kind, each with `build(data, *, run, since, person, now) -> Report`
and a `KIND` entry (name, builder, evidence-pack README line, what it reads besides the snapshot).

`KINDS` is the one list of kinds: `auditor report`, `--attach KIND:FORMAT`, evidence packs and the
tests read it.
"""

from __future__ import annotations

from auditor.model.errors import UsageError
from reports.kinds import access, activity, escrow, findings, inventory, offboarding
from reports.kinds._common import Kind

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (inventory.KIND, findings.KIND, escrow.KIND, activity.KIND, offboarding.KIND, access.KIND)
}

__all__ = ["KINDS", "Kind", "kind_named"]


def kind_named(name: str) -> Kind:
    """The kind called `name`; a UsageError listing the kinds when there is none."""
    kind = KINDS.get(name)
    if kind is None:
        raise UsageError(f"unknown report kind {name!r}", "Kinds: " + ", ".join(KINDS) + ".")
    return kind
