"""Registry format upgrades: one step per format version, applied in order by `auditor registry upgrade`.

Each step takes a registry from format N to N+1 inside one transaction, after a backup. A step
works on the backend's rows (it may need no key at all, e.g. a new table) and states in one line
what it changes. Opening a registry whose format is older than this version refuses with a hint to
run the upgrade, so an old file is never half-understood; a newer one is refused outright
(NewerFormatError).

To add a format version: raise `vault.registry.FORMAT_VERSION`, add `STEPS[old] = Step(...)`
here, and a test that upgrades a registry written in the old format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vault.storage import Backend


@dataclass(frozen=True)
class Step:
    from_version: int
    description: str
    apply: Callable[[Backend], None]


# from_version -> the step to from_version + 1. Format 1 is the first; nothing to upgrade yet.
STEPS: dict[int, Step] = {}


def pending(current: int, target: int) -> list[Step]:
    steps = []
    for version in range(current, target):
        step = STEPS.get(version)
        if step is None:
            raise LookupError(f"no upgrade step from format {version} to {version + 1}")
        steps.append(step)
    return steps


def upgrade(backend: Backend, current: int, target: int) -> list[str]:
    """Apply every pending step in one transaction; returns what was done, one line per step."""
    steps = pending(current, target)
    done = []
    with backend.transaction():
        for step in steps:
            step.apply(backend)
            backend.meta_set("format_version", str(step.from_version + 1))
            done.append(f"format {step.from_version} → {step.from_version + 1}: {step.description}")
    return done
