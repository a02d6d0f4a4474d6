"""Report kinds: one module per kind, each with `build(registry, *, run, since, person, now) -> Report`.

`KIND_MODULES` maps a kind's name to its module (imported when a report is built, so the CLI starts
fast); tests check that every name in `reports.KINDS` has a module with a `build` function.
"""

from __future__ import annotations

import importlib
from types import ModuleType

KIND_MODULES = {
    "inventory": "reports.kinds.inventory",
    "findings": "reports.kinds.findings",
    "escrow": "reports.kinds.escrow",
    "activity": "reports.kinds.activity",
    "offboarding": "reports.kinds.offboarding",
}


def kind_module(kind: str) -> ModuleType:
    return importlib.import_module(KIND_MODULES[kind])
